"""CRDTs from Python: merge laws on examples, deltas, bytes, bad input."""

import pytest

import dcs


def test_merge_is_commutative_associative_idempotent():
    a, b, c = dcs.PNCounter(), dcs.PNCounter(), dcs.PNCounter()
    a.increment(1, 10)
    b.decrement(2, 3)
    c.increment(3, 4)
    ab = a.copy(); ab.merge(b)
    ba = b.copy(); ba.merge(a)
    assert ab == ba and ab.value == 7
    ab_c = ab.copy(); ab_c.merge(c)
    bc = b.copy(); bc.merge(c)
    a_bc = a.copy(); a_bc.merge(bc)
    assert ab_c == a_bc and ab_c.value == 11
    again = ab_c.copy(); again.merge(ab_c)
    assert again == ab_c


def test_deltas_equal_full_merge_and_join():
    src, via_delta, via_joined = dcs.ORSet(), dcs.ORSet(), dcs.ORSet()
    d1 = src.add(1, "SKU-1")
    d2 = src.add(1, "SKU-2")
    d3 = src.remove("SKU-1")
    for d in (d1, d2, d3, d2):  # a duplicate is a no-op
        via_delta.apply_delta(d)
    via_joined.apply_delta(dcs.ORSet.join_deltas(dcs.ORSet.join_deltas(d1, d2), d3))
    assert via_delta == src == via_joined
    assert src.value == ["SKU-2"] and "SKU-2" in src and len(src) == 1


def test_lww_and_gcounter_round_trip_bytes():
    r = dcs.LWWRegister()
    assert r.value is None
    r.set("4.99", 10, 1)
    r.set("3.99", 5, 2)  # older: ignored
    assert r.value == "4.99"
    assert dcs.LWWRegister.from_bytes(r.to_bytes()) == r
    g = dcs.GCounter()
    g.increment(7, 2**40)
    assert dcs.GCounter.from_bytes(g.to_bytes()).value == 2**40
    assert repr(g) == f"GCounter({2**40})"
    assert g != r and g != 5


@pytest.mark.parametrize("cls", [dcs.GCounter, dcs.PNCounter, dcs.ORSet, dcs.LWWRegister])
@pytest.mark.parametrize("data", [b"", b"\x00", b"\x02", b"\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", bytes(range(256))])
def test_malformed_bytes_raise_crdt_error(cls, data):
    with pytest.raises(dcs.CrdtError) as err:
        cls.from_bytes(data)
    assert str(err.value)
    with pytest.raises(dcs.CrdtError):
        cls().apply_delta(data)
    assert issubclass(dcs.CrdtError, dcs.DcsError)


def test_wrong_types_raise_type_errors():
    with pytest.raises(TypeError):
        dcs.GCounter().increment("one", 1)
    with pytest.raises(TypeError):
        dcs.GCounter.from_bytes("not bytes")
    with pytest.raises(OverflowError):
        dcs.GCounter().increment(-1, 1)
    with pytest.raises(TypeError):
        dcs.ORSet().merge(dcs.GCounter())


def test_bounded_counter_never_oversells():
    hq, store = dcs.BoundedCounter(), dcs.BoundedCounter()
    store.apply_delta(hq.increment(1, 10))
    store.apply_delta(hq.transfer(1, 2, 4))
    store.decrement(2, 3)
    with pytest.raises(dcs.CrdtError):
        store.decrement(2, 2)  # only 1 right left at replica 2
    assert store.rights(2) == 1 and store.value == 7
    hq.merge(store)
    assert hq == store and dcs.BoundedCounter.from_bytes(hq.to_bytes()) == hq


def test_stock_map_add_wins_and_bytes():
    a, b = dcs.PNCounterMap(), dcs.PNCounterMap()
    b.apply_delta(a.increment(1, "SKU-1", 10))
    d = b.decrement(2, "SKU-1", 3)
    a.remove("SKU-1")  # concurrent with b's update: the key survives (add wins)
    a.apply_delta(d)
    b.merge(a)
    a.merge(b)
    assert a == b and "SKU-1" in a.value and len(a) == 1
    assert a.get("missing") is None
    assert dcs.PNCounterMap.from_bytes(a.to_bytes()) == a
