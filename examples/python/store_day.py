"""A store day with DCS from Python: open a store, sell two carts, refund part of a sale,
verify every event and the hash chain, and print the daily summary.

Run: `pip install ./bindings/python && python examples/python/store_day.py`.
"""

import os
import tempfile

import dcs


def main() -> None:
    keyring = dcs.Keyring()
    version = keyring.create_kek("acme", "acme/kek")
    mac = dcs.MacKey()
    signer = dcs.Signer("ecdsa-p256")
    registry = dcs.KeyRegistry()
    registry.register("cashier-1", signer)
    pos = dcs.Terminal("acme", "store-1", "pos-1", "cashier-1", "acme/kek", version)

    engine = dcs.TaxEngine(pricing="exclusive", rounding="per_line", mode="half_up")
    engine.set_rates("general", [("state", 62_500), ("city", 25_000)])
    engine.set_rates("food", [("state", 20_000)])
    mug = dcs.Product("MUG", "Mug", "home", dcs.Money(1299, "USD"), "general")
    bread = dcs.Product("BREAD", "Bread", "bakery", dcs.Money(349, "USD"), "food")

    def record(store, stream, facts):
        events = pos.seal(facts, keyring, mac, signer)
        return store.append(stream, events, mac_key=mac, registry=registry, keyring=keyring)

    with tempfile.TemporaryDirectory() as tmp, dcs.Store(
        os.path.join(tmp, "store.db"), loyalty=(dcs.Money(100, "USD"), 1, [("silver", 10)])
    ) as store:
        cart = dcs.Cart("USD")
        cart.add(mug, 2)
        cart.add(bread, 3)
        cart.set_cart_discount(percent_bps=1_000)
        totals = cart.totals(engine)
        print(f"cart 1: {totals!r}")
        sale1, started = dcs.Sale.initiate("S-1", "store-1", totals, customer="C-7")
        record(store, "sale-S-1", [started] + sale1.pay_and_complete("card"))

        cart = dcs.Cart("USD")
        cart.add(mug, 1)
        sale2, started = dcs.Sale.initiate("S-2", "store-1", cart.totals(engine))
        record(store, "sale-S-2", [started] + sale2.pay_and_complete("cash"))

        record(store, "sale-S-1", sale1.refund("R-1", [("BREAD", 1)], "card", "stale"))

        for position, event in store.read_all():
            dcs.verify_event(event, mac, registry)
            dcs.open_event(event, keyring)
            print(f"{position:>3}  {event.event_type:<22} {str(event.amount):>12}  {event.event_id}")
        rows = store.verify_chain()
        print(f"\nhash chain: {rows} rows verified; every MAC, signature and envelope checked")
        projections = store.projections()
        for day in projections.sales:
            print(
                f"daily summary {day.branch} {day.day}: {day.sales_count} sales, "
                f"gross {day.gross}, refunds {day.refunds}, tax {day.tax}, net {day.net}"
            )
        assert store.rebuild_projections(keyring) == projections
        print("projections rebuilt from the log: identical")


if __name__ == "__main__":
    main()
