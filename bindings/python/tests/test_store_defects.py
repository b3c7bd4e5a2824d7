"""Issue 16, the store's defects as Python reached them: reused idempotency keys, empty and
special paths, facts of another sale, shredded tenants in a rebuild, several processes,
unverified events, read-only stores, the read cap, typed projections."""

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap

import pytest

import dcs


@pytest.fixture()
def pos(tmp_path):
    keyring = dcs.Keyring()
    version = keyring.create_kek("acme", "acme/kek")
    other = keyring.create_kek("globex", "globex/kek")
    signer = dcs.Signer("ed25519")
    registry = dcs.KeyRegistry()
    registry.register("cashier-1", signer)
    mac = dcs.MacKey()
    engine = dcs.TaxEngine()
    engine.set_rates("general", [("state", 62_500)])
    return dict(
        keyring=keyring, signer=signer, registry=registry, mac=mac, engine=engine,
        acme=dcs.Terminal("acme", "store-1", "pos-1", "cashier-1", "acme/kek", version),
        globex=dcs.Terminal("globex", "store-1", "pos-2", "cashier-1", "globex/kek", other),
        path=tmp_path / "store.db",
    )


def sale(p, sale_id, qty, terminal="acme"):
    cart = dcs.Cart("USD")
    cart.add(dcs.Product("MUG", "Mug", "home", dcs.Money(1299, "USD"), "general"), qty)
    s, started = dcs.Sale.initiate(sale_id, "store-1", cart.totals(p["engine"]))
    facts = [started] + s.pay_and_complete("cash")
    return p[terminal].seal(facts, p["keyring"], p["mac"], p["signer"])


def put(p, store, stream, events, **kw):
    return store.append(stream, events, mac_key=p["mac"], registry=p["registry"],
                        keyring=p["keyring"], **kw)


def test_a_different_sale_under_a_used_key_is_refused_not_deduplicated(pos):
    with dcs.Store(pos["path"]) as store:
        first = sale(pos, "S-1", 1)
        put(pos, store, "sale-S-1", first)
        again = put(pos, store, "sale-S-1", first)
        assert again.deduplicated
        with pytest.raises(dcs.StoreError, match="another append"):
            put(pos, store, "sale-S-1b", first)
        assert store.head_position == len(first)


def test_an_empty_path_fifo_or_directory_is_refused(tmp_path):
    with pytest.raises(dcs.StoreError, match="empty"):
        dcs.Store("")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(dcs.StoreError, match="not a regular file"):
        dcs.Store(fifo)
    with pytest.raises(dcs.StoreError, match="directory"):
        dcs.Store(tmp_path)


def test_projections_come_from_the_events_themselves(pos):
    with dcs.Store(pos["path"]) as store:
        events_a = sale(pos, "S-A", 1)
        sale(pos, "S-B", 3)
        with pytest.raises(TypeError):
            # Facts can no longer be given beside the events.
            store.append("sale-S-A", events_a, facts=[], mac_key=pos["mac"],
                         registry=pos["registry"])
        put(pos, store, "sale-S-A", events_a)
        summary = store.projections()
        assert summary.sales[0].sales_count == 1
        assert summary.sales[0].gross == events_a[0].amount
        assert store.rebuild_projections(pos["keyring"]) == summary


def test_rebuild_skips_a_shredded_tenant(pos):
    with dcs.Store(pos["path"]) as store:
        put(pos, store, "sale-A", sale(pos, "S-A", 1))
        put(pos, store, "sale-G", sale(pos, "S-G", 2, terminal="globex"))
        assert {d.tenant for d in store.projections().sales} == {"acme", "globex"}
        pos["keyring"].destroy_tenant("globex")
        rebuilt = store.rebuild_projections(pos["keyring"])
        assert [d.tenant for d in rebuilt.sales] == ["acme"]
        # Other key failures are crypto errors, not "database error".
        with pytest.raises(dcs.CryptoError) as err:
            store.rebuild_projections(dcs.Keyring())
        assert "database error" not in str(err.value)


def test_an_unverified_event_is_refused(pos):
    with dcs.Store(pos["path"]) as store:
        events = sale(pos, "S-1", 1)
        with pytest.raises(dcs.CryptoError, match="fails verification"):
            store.append("s", events, mac_key=dcs.MacKey(), registry=pos["registry"])
        with pytest.raises(dcs.CryptoError, match="fails verification"):
            store.append("s", events, mac_key=pos["mac"], registry=dcs.KeyRegistry())
        assert store.head_position == 0


CHILD = textwrap.dedent("""
    import sys, dcs
    path, n = sys.argv[1], int(sys.argv[2])
    keyring = dcs.Keyring(); v = keyring.create_kek("acme", "acme/kek")
    signer = dcs.Signer("ed25519"); reg = dcs.KeyRegistry(); reg.register("c", signer)
    mac = dcs.MacKey()
    term = dcs.Terminal("acme", "store-1", f"pos-{n}", "c", "acme/kek", v)
    engine = dcs.TaxEngine()
    engine.set_rates("general", [])
    cart = dcs.Cart("USD")
    cart.add(dcs.Product("MUG", "Mug", "home", dcs.Money(100, "USD"), "general"), 1)
    with dcs.Store(path, busy_timeout=10.0) as store:
        for i in range(25):
            s, started = dcs.Sale.initiate(f"S-{n}-{i}", "store-1", cart.totals(engine))
            events = term.seal([started], keyring, mac, signer)
            store.append(f"sale-{n}-{i}", events, mac_key=mac, registry=reg)
""")


def test_several_processes_append_to_one_store(tmp_path):
    path = tmp_path / "shared.db"
    dcs.Store(path).close()
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(n)],
                                 stderr=subprocess.PIPE) for n in range(4)]
    for c in children:
        _, err = c.communicate(timeout=120)
        assert c.returncode == 0, err.decode()
    with dcs.Store(path) as store:
        assert store.verify_chain() == store.head_position == 100


def test_a_read_only_store_reads_and_refuses_appends(pos):
    with dcs.Store(pos["path"]) as store:
        put(pos, store, "sale-S-1", sale(pos, "S-1", 1))
    os.chmod(pos["path"], stat.S_IRUSR | stat.S_IRGRP)
    with dcs.Store(pos["path"], read_only=True) as store:
        assert store.read_only
        assert store.verify_chain() == 4
        with pytest.raises(dcs.StoreError, match="read-only"):
            put(pos, store, "sale-S-2", sale(pos, "S-2", 1))


def test_options_are_checked(pos):
    with pytest.raises(ValueError, match="durability"):
        dcs.Store(pos["path"], durability="fast")
    with pytest.raises(ValueError, match="busy_timeout"):
        dcs.Store(pos["path"], busy_timeout=-1)
    with dcs.Store(pos["path"], durability="normal", busy_timeout=0.5) as store:
        assert store.head_position == 0


def test_read_all_refuses_a_silent_cap_and_iter_all_pages(pos):
    with dcs.Store(os.fspath(pos["path"])) as store:
        for i in range(5):
            put(pos, store, f"sale-{i}", sale(pos, f"S-{i}", 1))
        with pytest.raises(ValueError, match="iter_all"):
            store.read_all(1, 100_001)
        head = store.head_position
        assert head == 20
        paged = list(store.iter_all(2, page_size=3))
        assert [p for p, _ in paged] == list(range(2, head + 1))
        assert [p for p, _ in store] == list(range(1, head + 1))
        assert paged == store.read_all(2)
        with pytest.raises(ValueError, match="page_size"):
            store.iter_all(1, 0)


def test_projections_are_typed(pos):
    with dcs.Store(pos["path"]) as store:
        put(pos, store, "sale-S-1", sale(pos, "S-1", 2))
        p = store.projections()
        assert isinstance(p, dcs.Projections)
        day = p.sales[0]
        assert isinstance(day, dcs.SalesDay)
        assert (day.tenant, day.branch, day.currency) == ("acme", "store-1", "USD")
        assert isinstance(day.gross, dcs.Money) and day.net.minor > 0
        with pytest.raises(AttributeError):
            day.sales_count = 5


def test_a_deleted_stream_row_is_named(pos):
    with dcs.Store(pos["path"]) as store:
        put(pos, store, "sale-S-1", sale(pos, "S-1", 1))
    db = sqlite3.connect(pos["path"])
    db.execute("DELETE FROM streams")
    db.commit()
    db.close()
    with dcs.Store(pos["path"]) as store:
        with pytest.raises(dcs.TamperedError, match="streams"):
            store.verify_chain()
        with pytest.raises(dcs.TamperedError, match="streams table"):
            put(pos, store, "sale-S-1", sale(pos, "S-9", 1), expected_version=3)


def test_a_keyed_chain_needs_its_key(pos):
    with dcs.Store(pos["path"]) as store:
        put(pos, store, "sale-S-1", sale(pos, "S-1", 1))
    # The unkeyed store is verified and re-chained under the tenant's key.
    with dcs.Store(pos["path"], mac_key=pos["mac"]) as store:
        assert store.verify_chain() == 4
        put(pos, store, "sale-S-2", sale(pos, "S-2", 1))
    with pytest.raises(dcs.StoreError, match="keyed chain"):
        dcs.Store(pos["path"])
    with pytest.raises(dcs.StoreError, match="mac_key"):
        dcs.Store(pos["path"], mac_key=dcs.MacKey())
    with dcs.Store(pos["path"], mac_key=pos["mac"]) as store:
        assert store.verify_chain() == 8
