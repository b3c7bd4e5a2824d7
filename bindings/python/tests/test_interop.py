"""Sealed events across languages: Rust's fixture opens in Python, Python's in Rust.

`DCS_BLESS=1 pytest bindings/python/tests/test_interop.py` writes a new
`bindings/vectors/sealed_event_from_python.json`, which `examples/tests/shared_vectors.rs`
verifies and opens in Rust.
"""

import json
import os

import dcs
from conftest import VECTORS


def check(fixture):
    keyring = dcs.Keyring.from_bytes(bytes.fromhex(fixture["keyring_hex"]))
    mac = dcs.MacKey(bytes.fromhex(fixture["mac_key_hex"]))
    registry = dcs.KeyRegistry()
    registry.register_public_key(fixture["agent"], fixture["algorithm"], bytes.fromhex(fixture["public_key_hex"]))
    event = dcs.Event.from_bytes(bytes.fromhex(fixture["event_hex"]))
    dcs.verify_event(event, mac, registry)
    assert dcs.open_event(event, keyring) == bytes.fromhex(fixture["plaintext_hex"])
    assert event.to_bytes().hex() == fixture["event_hex"]
    return event


def test_a_rust_sealed_event_verifies_and_opens_in_python():
    fixture = json.loads((VECTORS / "sealed_event_from_rust.json").read_text())
    event = check(fixture)
    assert event.event_type == "SALE_COMPLETED" and event.tenant == "acme"


def test_a_python_sealed_event_for_rust():
    path = VECTORS / "sealed_event_from_python.json"
    if os.environ.get("DCS_BLESS"):
        keyring = dcs.Keyring()
        version = keyring.create_kek("acme", "acme/kek")
        secret = bytes([0x33]) * 64
        signer = dcs.Signer("ecdsa-p256")
        term = dcs.Terminal("acme", "store-9", "pos-9", "cashier-9", "acme/kek", version)
        engine = dcs.TaxEngine()
        engine.set_rates("food", [("state", 20_000)])
        cart = dcs.Cart("USD")
        cart.add(dcs.Product("BREAD", "Bread", "bakery", dcs.Money(349, "USD"), "food"), 2)
        _, started = dcs.Sale.initiate("PY-1", "store-9", cart.totals(engine))
        (event,) = term.seal([started], keyring, dcs.MacKey(secret), signer)
        fixture = {
            "algorithm": "ecdsa-p256",
            "agent": "cashier-9",
            "keyring_hex": keyring.to_bytes().hex(),
            "mac_key_hex": secret.hex(),
            "public_key_hex": signer.public_key().hex(),
            "event_hex": event.to_bytes().hex(),
            "plaintext_hex": dcs.open_event(event, keyring).hex(),
        }
        path.write_text(json.dumps(fixture, indent=2) + "\n")
    check(json.loads(path.read_text()))
