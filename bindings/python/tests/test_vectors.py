"""The shared vector file through Python: byte-identical CRDT states, identical cart totals."""

import json

import pytest

import dcs
from conftest import VECTORS

DOC = json.loads((VECTORS / "crdt_cart_v1.json").read_text(encoding="utf-8"))
TYPES = {
    "GCounter": dcs.GCounter,
    "PNCounter": dcs.PNCounter,
    "ORSet": dcs.ORSet,
    "LWWRegister": dcs.LWWRegister,
    "BoundedCounter": dcs.BoundedCounter,
    "PNCounterMap": dcs.PNCounterMap,
}


def mutate(state, op):
    kind = op["op"]
    if "key" in op:  # PNCounterMap
        if kind == "remove":
            return state.remove(op["key"])
        return getattr(state, kind)(op["replica"], op["key"], op["amount"])
    if kind == "transfer":
        return state.transfer(op["replica"], op["to"], op["amount"])
    if kind in ("increment", "decrement"):
        return getattr(state, kind)(op["replica"], op["amount"])
    if kind == "add":
        return state.add(op["replica"], op["value"])
    if kind == "remove":
        return state.remove(op["value"])
    if kind == "set":
        return state.set(op["value"], op["time"], op["replica"])
    raise AssertionError(f"unknown op {kind}")


@pytest.mark.parametrize("case", DOC["crdt"], ids=[c["name"] for c in DOC["crdt"]])
def test_crdt_case(case):
    cls = TYPES[case["type"]]
    replicas = {}
    for op in case["ops"]:
        if op["op"] == "merge":
            source = replicas.setdefault(op["from"], cls())
            replicas.setdefault(op["into"], cls()).merge(source)
            continue
        delta = mutate(replicas.setdefault(op["at"], cls()), op)
        assert isinstance(delta, bytes)
        for name in op["deliver"]:
            replicas.setdefault(name, cls()).apply_delta(delta)
    got = {name: {"state_hex": s.to_bytes().hex(), "value": s.value} for name, s in replicas.items()}
    assert got == case["expect"]
    for name, expect in case["expect"].items():
        # Rust's bytes decode in Python to an equal state.
        assert cls.from_bytes(bytes.fromhex(expect["state_hex"])) == replicas[name]


def discount(d):
    if d is None:
        return {}
    if "percent_bps" in d:
        return {"percent_bps": d["percent_bps"]}
    return {"amount": d["amount_minor"]}


@pytest.mark.parametrize("case", DOC["cart"], ids=[c["name"] for c in DOC["cart"]])
def test_cart_case(case):
    cur = case["currency"]
    p = case["policy"]
    engine = dcs.TaxEngine(p["pricing"], p["rounding"], p["mode"])
    for category, rates in case["rates"].items():
        engine.set_rates(category, [(r["name"], r["ppm"]) for r in rates])
    cart = dcs.Cart(cur)

    def disc(d):
        args = discount(d)
        if "amount" in args:
            args["amount"] = dcs.Money(args["amount"], cur)
        return args

    for line in case["lines"]:
        price = dcs.Money(line["unit_minor"], cur)
        cart.add(dcs.Product(line["sku"], line["name"], line["category"], price, line["tax_category"]), line["quantity"])
        cart.set_line_discount(line["sku"], **disc(line["discount"]))
    cart.set_cart_discount(**disc(case["cart_discount"]))
    t = cart.totals(engine)
    got = {"currency": t.total.currency}
    for field in ("subtotal", "discount", "net", "tax", "total"):
        got[field] = getattr(t, field).minor
    assert got == case["expect"]
