//! Shared fixtures of the commerce and projection tests: a small store.
#![allow(dead_code, clippy::unwrap_used)]

use dcs_core::commerce::*;
use dcs_core::*;

/// `minor` US cents.
pub fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

/// A table with `general` (state 6.25 % + city 2.5 %), `food` (2 %) and `exempt`.
pub fn table() -> TaxTable {
    TaxTable::new()
        .with(
            "general",
            vec![TaxRate::new("state", 62_500).unwrap(), TaxRate::new("city", 25_000).unwrap()],
        )
        .unwrap()
        .with("food", vec![TaxRate::new("state", 20_000).unwrap()])
        .unwrap()
        .with("exempt", vec![])
        .unwrap()
}

/// Exclusive prices, per-line half-up rounding.
pub fn engine() -> TaxEngine {
    TaxEngine::new(table(), TaxPolicy::default())
}

/// A product priced in USD.
pub fn product(sku: &str, cents: i64, tax_category: &str) -> Product {
    Product::new(sku, sku, "misc", usd(cents), tax_category).unwrap()
}

/// A cart: 2 × MUG (12.99, general), 3 × BREAD (3.49, food), 1 × BOOK (9.99, exempt).
pub fn cart() -> Cart {
    let mut c = Cart::new(Currency::USD);
    c.add(product("MUG", 1299, "general"), 2).unwrap();
    c.add(product("BREAD", 349, "food"), 3).unwrap();
    c.add(product("BOOK", 999, "exempt"), 1).unwrap();
    c
}

/// A SKU.
pub fn sku(s: &str) -> Sku {
    Sku::new(s).unwrap()
}

/// The branch `store-1`.
pub fn branch() -> BranchId {
    BranchId::new("store-1").unwrap()
}

/// A sale of [`cart`] paid by cash and completed, with all its events.
pub fn completed_sale(id: &str, customer: Option<&str>) -> (Sale, Vec<DomainEvent>) {
    let priced = cart().totals(&engine()).unwrap();
    let customer = customer.map(|c| CustomerId::new(c).unwrap());
    let (mut sale, started) =
        Sale::initiate(SaleId::new(id).unwrap(), branch(), &priced, customer).unwrap();
    let mut events = vec![started];
    events.push(sale.capture(Tender::Cash, priced.totals.total).unwrap());
    events.extend(sale.complete().unwrap());
    (sale, events)
}

/// A refund id.
pub fn rid(s: &str) -> RefundId {
    RefundId::new(s).unwrap()
}
