"""Money, cart and tax from Python: integers only, clear errors."""

import pytest

import dcs


def test_money_arithmetic_and_allocation():
    m = dcs.Money(1000, "USD")
    assert (m + dcs.Money(5, "USD")).minor == 1005
    assert (m - dcs.Money(1, "USD")) == dcs.Money(999, "USD")
    assert (m * 3).minor == 3000
    parts = m.allocate([1, 1, 1])
    assert [p.minor for p in parts] == [334, 333, 333] or sum(p.minor for p in parts) == 1000
    assert sum(p.minor for p in parts) == 1000
    assert str(dcs.Money(1299, "USD")) == "12.99 USD"
    assert str(dcs.Money(1299, "JPY")) == "1299 JPY"
    assert repr(m) == 'Money(1000, "USD")'
    assert len({dcs.Money(1, "USD"), dcs.Money(1, "USD"), dcs.Money(1, "EUR")}) == 2


def test_money_refuses_floats_bad_currencies_mixing_and_overflow():
    with pytest.raises(TypeError):
        dcs.Money(12.99, "USD")
    with pytest.raises(dcs.MoneyError, match="ISO-4217"):
        dcs.Money(1, "DOLLARS")
    with pytest.raises(dcs.MoneyError):
        dcs.Money(1, "USD") + dcs.Money(1, "EUR")
    with pytest.raises(dcs.MoneyError):
        dcs.Money(2**62, "USD") * 4
    assert issubclass(dcs.MoneyError, dcs.CoreError) and issubclass(dcs.CoreError, dcs.DcsError)


def test_cart_totals_and_errors():
    engine = dcs.TaxEngine()
    engine.set_rates("general", [("state", 62_500), ("city", 25_000)])
    cart = dcs.Cart("USD")
    mug = dcs.Product("MUG", "Mug", "home", dcs.Money(1299, "USD"), "general")
    cart.add(mug, 2)
    t = cart.totals(engine)
    assert t.subtotal.minor == 2598
    assert t.total.minor == t.net.minor + t.tax.minor
    cart.set_quantity("MUG", 1)
    cart.set_cart_discount(percent_bps=1000)
    assert cart.totals(engine).discount.minor == 130
    with pytest.raises(dcs.CoreError):
        cart.add(dcs.Product("TEA", "Tea", "food", dcs.Money(100, "EUR"), "general"), 1)
    with pytest.raises(dcs.CoreError):
        cart.remove("NOPE")
    with pytest.raises(ValueError, match="pricing must be one of"):
        dcs.TaxEngine(pricing="sometimes")
    with pytest.raises(ValueError):
        cart.set_cart_discount(percent_bps=10, amount=dcs.Money(1, "USD"))
    unknown = dcs.Cart("USD")
    unknown.add(dcs.Product("X", "X", "x", dcs.Money(1, "USD"), "no-such-category"), 1)
    with pytest.raises(dcs.CoreError):
        unknown.totals(engine)
