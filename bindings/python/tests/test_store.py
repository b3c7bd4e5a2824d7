"""Sealed events and the SQLite store from Python: a store day, idempotency, conflicts,
tamper evidence, projections, threads."""

import sqlite3
import threading

import pytest

import dcs


@pytest.fixture()
def pos(tmp_path):
    keyring = dcs.Keyring()
    version = keyring.create_kek("acme", "acme/kek")
    signer = dcs.Signer("ecdsa-p256")
    registry = dcs.KeyRegistry()
    registry.register("cashier-1", signer)
    mac = dcs.MacKey()
    term = dcs.Terminal("acme", "store-1", "pos-1", "cashier-1", "acme/kek", version)
    engine = dcs.TaxEngine()
    engine.set_rates("general", [("state", 62_500)])
    cart = dcs.Cart("USD")
    cart.add(dcs.Product("MUG", "Mug", "home", dcs.Money(1299, "USD"), "general"), 2)
    return dict(keyring=keyring, signer=signer, registry=registry, mac=mac, term=term,
                totals=cart.totals(engine), path=tmp_path / "store.db")


def put(p, store, stream, events, **kw):
    """A verifying append that projects the events' own facts."""
    return store.append(stream, events, mac_key=p["mac"], registry=p["registry"],
                        keyring=p["keyring"], **kw)


def sell(p, store, sale_id="S-1"):
    sale, started = dcs.Sale.initiate(sale_id, "store-1", p["totals"], customer="C-1")
    facts = [started] + sale.pay_and_complete("cash")
    events = p["term"].seal(facts, p["keyring"], p["mac"], p["signer"])
    result = put(p, store, f"sale-{sale_id}", events, expected_version="no_stream")
    return sale, facts, events, result


def test_store_day_seal_append_read_verify_open(pos):
    with dcs.Store(pos["path"], loyalty=(dcs.Money(100, "USD"), 1, [("gold", 10)])) as store:
        sale, facts, events, result = sell(pos, store)
        assert result.first_position == 1 and result.last_position == len(events) == 4
        assert [e.event_type for e in events] == [f.event_type for f in facts]
        refund = sale.refund("R-1", [("MUG", 1)], "cash", "chipped")
        sealed = pos["term"].seal(refund, pos["keyring"], pos["mac"], pos["signer"])
        put(pos, store, "sale-S-1", sealed, expected_version=4)
        assert store.verify_chain() == store.head_position == 4 + len(refund)
        for position, event in store.read_all():
            dcs.verify_event(event, pos["mac"], pos["registry"])
            assert dcs.open_event(event, pos["keyring"])
            assert dcs.Event.from_bytes(event.to_bytes()) == event
        summary = store.projections()
        day = summary.sales[0]
        assert day.sales_count == 1 and day.refund_count == 1
        assert day.gross == sale.total and day.refunds == sale.refunded
        assert summary.loyalty[0].customer == "C-1"
        assert store.rebuild_projections(pos["keyring"]) == summary
        assert [e.event_type for e in store.read_stream("sale-S-1", 5)] == [f.event_type for f in refund]


def test_idempotent_retry_and_conflict(pos):
    with dcs.Store(pos["path"]) as store:
        _, facts, events, first = sell(pos, store)
        again = put(pos, store, "sale-S-1", events, expected_version="no_stream")
        assert again.deduplicated and again.first_position == first.first_position
        assert store.head_position == len(events)
        _, more = dcs.Sale.initiate("S-2", "store-1", pos["totals"])
        sealed = pos["term"].seal([more], pos["keyring"], pos["mac"], pos["signer"])
        with pytest.raises(dcs.ConflictError, match="at version 4"):
            put(pos, store, "sale-S-1", sealed, expected_version=1)
        with pytest.raises(ValueError):
            put(pos, store, "sale-S-1", sealed, expected_version="latest")
        assert store.head_position == len(events)


def test_tampering_is_detected(pos):
    with dcs.Store(pos["path"]) as store:
        sell(pos, store)
    db = sqlite3.connect(pos["path"])
    db.execute("UPDATE events SET amount_minor = amount_minor + 1 WHERE position = 2")
    db.commit()
    db.close()
    with dcs.Store(pos["path"]) as store:
        with pytest.raises(dcs.TamperedError, match="2"):
            store.verify_chain()
    # An edited event blob is never served: the read checks each row's hash.
    db = sqlite3.connect(pos["path"])
    (blob,) = db.execute("SELECT event FROM events WHERE position = 3").fetchone()
    edited = bytearray(blob)
    edited[len(edited) // 2] ^= 1
    db.execute("UPDATE events SET event = ? WHERE position = 3", (bytes(edited),))
    db.commit()
    db.close()
    with dcs.Store(pos["path"]) as store:
        with pytest.raises(dcs.TamperedError):
            store.read_all()


def test_crypto_failures_are_clear(pos):
    with dcs.Store(pos["path"]) as store:
        _, _, events, _ = sell(pos, store)
    other = dcs.MacKey()
    with pytest.raises(dcs.CryptoError):
        dcs.verify_event(events[0], other, pos["registry"])
    with pytest.raises(dcs.CryptoError):
        dcs.verify_event(events[0], pos["mac"], dcs.KeyRegistry())
    pos["keyring"].destroy_tenant("acme")
    with pytest.raises(dcs.CryptoError):
        dcs.open_event(events[0], pos["keyring"])
    # Crypto-shredded: the payload is gone, the MAC and signature still verify.
    dcs.verify_event(events[0], pos["mac"], pos["registry"])
    with pytest.raises(dcs.CoreError):
        dcs.Event.from_bytes(b"\x00\x01garbage")
    with pytest.raises(ValueError):
        dcs.Signer("rsa")


def test_closed_store_and_bad_files(pos, tmp_path):
    store = dcs.Store(pos["path"])
    store.close()
    with pytest.raises(dcs.StoreError, match="closed"):
        store.head_position
    foreign = tmp_path / "foreign.db"
    foreign.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(dcs.StoreError):
        dcs.Store(foreign)
    assert foreign.read_bytes().startswith(b"this is not")


def test_store_io_releases_the_gil(pos):
    # Appends from several threads interleave with Python work: the GIL is released
    # during store I/O and sealing, so other threads keep running.
    with dcs.Store(pos["path"]) as store:
        ticks = []
        stop = threading.Event()

        def ticker():
            while not stop.is_set():
                ticks.append(1)

        t = threading.Thread(target=ticker)
        t.start()
        workers = [threading.Thread(target=sell, args=(pos, store, f"T-{i}")) for i in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        stop.set()
        t.join()
        assert store.head_position == 16 and store.verify_chain() == 16
        assert ticks
