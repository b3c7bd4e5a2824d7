"""Issue 16 regressions reachable from Python, outside the store: terminals that collided on
idempotency keys, sealing under destroyed keys, trailing bytes, unauthenticated keyrings, a
ghost map key, missing validation, and the integrators' gaps (identity across restarts,
bytes-like arguments, Money arithmetic)."""

import pytest

import dcs

GHOST_MAP = bytes.fromhex(
    "010201020201000102010105534b552d330205534b552d3101010a01020305534b552d3201010400"
)


@pytest.fixture()
def keys():
    keyring = dcs.Keyring()
    keyring.create_kek("acme", "acme/kek")
    signer = dcs.Signer("ed25519")
    registry = dcs.KeyRegistry()
    registry.register("cashier-1", signer)
    return dict(keyring=keyring, mac=dcs.MacKey(), signer=signer, registry=registry)


def facts():
    engine = dcs.TaxEngine()
    engine.set_rates("general", [("state", 62_500)])
    cart = dcs.Cart("USD")
    cart.add(dcs.Product("MUG", "Mug", "home", dcs.Money(1299, "USD"), "general"), 1)
    sale, started = dcs.Sale.initiate("S-1", "store-1", cart.totals(engine))
    return [started] + sale.pay_and_complete("cash")


def seal(term, k, fs=None, **kw):
    return term.seal(fs or facts(), k["keyring"], k["mac"], k["signer"], **kw)


def test_terminals_of_one_agent_never_share_a_key(keys):
    # 190 of 200 pairs collided with agent/ms/seq keys.
    seen = set()
    for _ in range(200):
        for _ in range(2):
            term = dcs.Terminal("acme", "store-1", "pos-1", "cashier-1")
            for event in seal(term, keys):
                assert event.idempotency_key not in seen
                seen.add(event.idempotency_key)
                assert event.idempotency_key.startswith("pos-1/")


def test_explicit_keys_are_kept_and_counted(keys):
    term = dcs.Terminal("acme", "store-1", "pos-1", "cashier-1")
    fs = facts()
    events = seal(term, keys, fs, keys=[f"R-0042/{i}" for i in range(len(fs))])
    assert [e.idempotency_key for e in events] == [f"R-0042/{i}" for i in range(len(fs))]
    with pytest.raises(ValueError, match="one key per fact"):
        seal(term, keys, fs, keys=["only-one"])


@pytest.mark.parametrize("break_keys", ["destroy", "retire", "empty"])
def test_a_warm_terminal_does_not_seal_under_a_dead_key(keys, break_keys):
    term = dcs.Terminal("acme", "store-1", "pos-1", "cashier-1")
    seal(term, keys)  # warms the data-key cache
    if break_keys == "destroy":
        keys["keyring"].destroy_tenant("acme")
    elif break_keys == "retire":
        keys["keyring"].retire("acme/kek", 1)
    else:
        keys["keyring"] = dcs.Keyring()
    with pytest.raises(dcs.CryptoError):
        seal(term, keys)


def test_a_terminal_follows_rotation_unless_pinned(keys):
    free = dcs.Terminal("acme", "store-1", "pos-1", "cashier-1")
    pinned = dcs.Terminal("acme", "store-1", "pos-2", "cashier-1", "acme/kek", 1)
    seal(free, keys), seal(pinned, keys)
    keys["keyring"].rotate("acme/kek")
    for event in seal(free, keys):
        assert dcs.open_event(event, keys["keyring"])
    with pytest.raises(dcs.CryptoError, match="not the current KEK"):
        seal(pinned, keys)


def test_a_restarted_terminal_keeps_its_identity_and_clocks(keys, tmp_path):
    key_file = tmp_path / "pos-1.key"
    key_file.write_bytes(keys["signer"].to_key_bytes())
    mac_file = tmp_path / "mac.key"
    mac_file.write_bytes(keys["mac"].to_bytes())
    term = dcs.Terminal("acme", "store-1", "pos-1", "cashier-1")
    before = seal(term, keys)
    state = term.state()
    # The process restarts: identity from files, clocks from the saved state.
    signer = dcs.Signer.from_key_bytes(key_file.read_bytes())
    mac = dcs.MacKey(mac_file.read_bytes())
    assert signer.public_key() == keys["signer"].public_key()
    again = dcs.Terminal("acme", "store-1", "pos-1", "cashier-1", state=state)
    after = again.seal(facts(), keys["keyring"], mac, signer)
    for event in before + after:
        dcs.verify_event(event, keys["mac"], keys["registry"])
    with pytest.raises(dcs.CryptoError):
        dcs.Signer.from_key_bytes(key_file.read_bytes()[:-1] + b"\0")
    raw = dcs.Signer.from_secret("ed25519", signer.secret_bytes())
    assert raw.public_key() == signer.public_key() and raw.algorithm == "ed25519"


def test_event_bytes_with_trailing_junk_are_refused(keys):
    event = seal(dcs.Terminal("acme", "store-1", "pos-1", "cashier-1"), keys)[0]
    b = event.to_bytes()
    assert dcs.Event.from_bytes(b) == event
    with pytest.raises(dcs.CoreError, match="trailing bytes"):
        dcs.Event.from_bytes(b + b"junk")


def test_keyring_bytes_are_authenticated(keys):
    b = keys["keyring"].to_bytes()
    with pytest.raises(dcs.CryptoError):
        dcs.Keyring.from_bytes(b + b"x")
    loaded = 0
    for bit in range(len(b) * 8):
        flipped = bytearray(b)
        flipped[bit // 8] ^= 1 << (bit % 8)
        try:
            dcs.Keyring.from_bytes(flipped)
            loaded += 1
        except dcs.CryptoError:
            pass
    assert loaded == 0
    wrap = bytes(range(32))
    sealed = keys["keyring"].to_sealed_bytes(wrap)
    assert dcs.Keyring.from_sealed_bytes(sealed, wrap).to_bytes() == b
    with pytest.raises(dcs.CryptoError):
        dcs.Keyring.from_sealed_bytes(sealed, bytes(32))


def test_a_ghost_map_key_is_refused():
    with pytest.raises(dcs.CrdtError, match="no value"):
        dcs.PNCounterMap.from_bytes(GHOST_MAP)


def test_missing_validation_is_added(keys):
    with pytest.raises(dcs.CryptoError, match="KEK id"):
        keys["keyring"].create_kek("acme", "")
    with pytest.raises(dcs.CryptoError, match="KEK id"):
        dcs.Terminal("acme", "store-1", "pos-1", "cashier-1", "", 1)
    engine = dcs.TaxEngine()
    with pytest.raises(dcs.CoreError, match="100 %"):
        engine.set_rates("general", [("state", 10_000_000)])
    with pytest.raises(dcs.CoreError, match="own name"):
        engine.set_rates("general", [("state", 62_500), ("state", 10_000)])


def test_errors_name_no_rust_api():
    engine = dcs.TaxEngine()
    cart = dcs.Cart("USD")
    cart.add(dcs.Product("MUG", "Mug", "home", dcs.Money(1299, "USD"), "food"), 1)
    with pytest.raises(dcs.CoreError) as err:
        cart.totals(engine)
    assert "::" not in str(err.value) and "tax table" in str(err.value)


def test_bytes_like_arguments_are_accepted(keys):
    event = seal(dcs.Terminal("acme", "store-1", "pos-1", "cashier-1"), keys)[0]
    b = event.to_bytes()
    assert dcs.Event.from_bytes(bytearray(b)) == event
    assert dcs.Event.from_bytes(memoryview(b)) == event
    counter = dcs.GCounter()
    delta = counter.increment(1, 5)
    other = dcs.GCounter()
    other.apply_delta(bytearray(delta))
    assert dcs.GCounter.from_bytes(memoryview(counter.to_bytes())) == counter
    dcs.MacKey(bytearray(64))
    kr = keys["keyring"].to_bytes()
    dcs.Keyring.from_bytes(memoryview(kr))
    with pytest.raises(TypeError, match="bytes-like"):
        dcs.Event.from_bytes("not bytes")


def test_money_arithmetic_and_ordering():
    a, b = dcs.Money(250, "USD"), dcs.Money(100, "USD")
    assert 3 * a == a * 3 == dcs.Money(750, "USD")
    assert sum([a, b, b]) == dcs.Money(450, "USD")
    assert sorted([a, b]) == [b, a] and max(a, b) == a and b < a <= a
    with pytest.raises(dcs.MoneyError):
        _ = a < dcs.Money(1, "EUR")
    assert a != dcs.Money(250, "EUR")
    with pytest.raises(TypeError, match="bool"):
        dcs.Money(True, "USD")
    with pytest.raises(TypeError, match="bool"):
        _ = a * True
    with pytest.raises(TypeError):
        dcs.Money(1.5, "USD")
    assert len({a, dcs.Money(250, "USD")}) == 1


def test_event_amount_matches_the_fact(keys):
    term = dcs.Terminal("acme", "store-1", "pos-1", "cashier-1")
    fs = facts()
    for fact, event in zip(fs, seal(term, keys, fs)):
        assert event.amount == fact.amount


def test_an_impossible_utc_offset_is_refused(tmp_path):
    with pytest.raises(dcs.StoreError, match="utc_offset_minutes"):
        dcs.Store(tmp_path / "s.db", utc_offset_minutes=100_000)
