//! Property tests of the cart and the tax engine: exact to the minor unit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod commerce_common;

use commerce_common::table;
use dcs_core::commerce::*;
use dcs_core::{Currency, Money, RoundingMode};
use proptest::prelude::*;

const CATEGORIES: [&str; 3] = ["general", "food", "exempt"];

fn policy() -> impl Strategy<Value = TaxPolicy> {
    (
        prop_oneof![Just(TaxPricing::Exclusive), Just(TaxPricing::Inclusive)],
        prop_oneof![Just(TaxRounding::PerLine), Just(TaxRounding::PerInvoice)],
        prop_oneof![
            Just(RoundingMode::HalfEven),
            Just(RoundingMode::HalfUp),
            Just(RoundingMode::TowardZero),
            Just(RoundingMode::AwayFromZero)
        ],
    )
        .prop_map(|(pricing, rounding, mode)| TaxPolicy { pricing, rounding, mode })
}

fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![Just(Currency::USD), Just(Currency::JPY), Just(Currency::KWD)]
}

/// (price, quantity, category index, line discount: none / percent / amount per mille)
type LineSpec = (i64, u32, usize, u8, u32);

fn cart_strategy() -> impl Strategy<Value = (Currency, Vec<LineSpec>, u8, u32)> {
    (
        currency(),
        prop::collection::vec((0i64..200_000, 1u32..20, 0usize..3, 0u8..3, 0u32..=10_000), 0..8),
        0u8..3,
        0u32..=10_000,
    )
}

fn discount(kind: u8, bps: u32, base: Money) -> Option<Discount> {
    match kind {
        1 => Some(Discount::Percent(bps)),
        2 => Some(Discount::Amount(
            base.mul_ratio(i64::from(bps), 10_000, RoundingMode::TowardZero).unwrap(),
        )),
        _ => None,
    }
}

fn build_cart(currency: Currency, lines: &[LineSpec], kind: u8, bps: u32, pol: TaxPolicy) -> Cart {
    let mut cart = Cart::new(currency);
    for (i, (price, qty, cat, dk, dbps)) in lines.iter().enumerate() {
        let sku = format!("SKU-{i}");
        let unit = Money::from_minor(*price, currency);
        let p = Product::new(&sku, "Item", "misc", unit, CATEGORIES[*cat]).unwrap();
        cart.add(p, *qty).unwrap();
        let ext = unit.checked_mul(i64::from(*qty)).unwrap();
        let sku = Sku::new(sku).unwrap();
        cart.set_line_discount(&sku, discount(*dk, *dbps, ext)).unwrap();
    }
    // An amount cart discount is a fraction of the subtotal after line discounts.
    let priced = cart.totals(&TaxEngine::new(table(), pol)).unwrap();
    let mut base = Money::zero(currency);
    for l in &priced.lines {
        let after = l.extended().unwrap().checked_sub(l.line_discount).unwrap();
        base = base.checked_add(after).unwrap();
    }
    cart.set_cart_discount(discount(kind, bps, base)).unwrap();
    cart
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The totals are the sums of the lines, every line has net + tax == gross, and the
    /// cart discount is allocated exactly.
    #[test]
    fn totals_are_the_sum_of_lines((cur, lines, kind, bps) in cart_strategy(), pol in policy()) {
        let cart = build_cart(cur, &lines, kind, bps, pol);
        let engine = TaxEngine::new(table(), pol);
        let t = cart.totals(&engine).unwrap();
        prop_assert_eq!(t.totals, SaleTotals::of_lines(cur, &t.lines).unwrap());
        prop_assert_eq!(t.totals.net.checked_add(t.totals.tax).unwrap(), t.totals.total);
        let rate_tax = Money::sum(cur, t.taxes.iter().map(|c| &c.tax)).unwrap();
        prop_assert_eq!(rate_tax, t.totals.tax);
        for l in &t.lines {
            prop_assert_eq!(l.net.checked_add(l.tax).unwrap(), l.gross);
            prop_assert!(!l.net.is_negative() && !l.tax.is_negative());
            let taxable = l.extended().unwrap().checked_sub(l.discount().unwrap()).unwrap();
            match pol.pricing {
                TaxPricing::Exclusive => prop_assert_eq!(taxable, l.net),
                TaxPricing::Inclusive => prop_assert_eq!(taxable, l.gross),
            }
        }
        // Cart discount allocation sums exactly to the cart discount.
        let after: Vec<Money> = t.lines.iter()
            .map(|l| l.extended().unwrap().checked_sub(l.line_discount).unwrap())
            .collect();
        let base = Money::sum(cur, &after).unwrap();
        let expected = match cart.discount() {
            Some(d) => d.amount_of(base, pol.mode, "cart").unwrap(),
            None => Money::zero(cur),
        };
        let shares = Money::sum(cur, t.lines.iter().map(|l| &l.cart_discount)).unwrap();
        prop_assert_eq!(shares, expected);
        for (l, a) in t.lines.iter().zip(&after) {
            prop_assert!(l.cart_discount.minor() <= a.minor());
        }
    }

    /// Under per-line rounding each line is taxed exactly as it would be on its own.
    #[test]
    fn line_rounding_is_per_line((cur, lines, kind, bps) in cart_strategy(), pol in policy()) {
        let pol = TaxPolicy { rounding: TaxRounding::PerLine, ..pol };
        let cart = build_cart(cur, &lines, kind, bps, pol);
        let engine = TaxEngine::new(table(), pol);
        let t = cart.totals(&engine).unwrap();
        for (l, cl) in t.lines.iter().zip(cart.lines()) {
            let amount = match pol.pricing {
                TaxPricing::Exclusive => l.net,
                TaxPricing::Inclusive => l.gross,
            };
            let alone = engine.compute(cur, &[(cl.product().tax_category(), amount)]).unwrap();
            prop_assert_eq!(alone.lines[0].tax, l.tax);
        }
    }

    /// Inclusive: tax is the rounded exact share R/(1+R) of the gross, net + tax == gross.
    /// Exclusive: each component is the rounded exact rate of the net.
    #[test]
    fn single_line_tax_is_exact(minor in 0i64..1_000_000_000_000, cur in currency(), cat in 0usize..3, pol in policy()) {
        let engine = TaxEngine::new(table(), pol);
        let category = TaxCategory::new(CATEGORIES[cat]).unwrap();
        let amount = Money::from_minor(minor, cur);
        let r = engine.compute(cur, &[(&category, amount)]).unwrap();
        let line = &r.lines[0];
        prop_assert_eq!(line.net.checked_add(line.tax).unwrap(), line.gross);
        let rates = engine.table().rates(&category).unwrap();
        let combined: i64 = rates.iter().map(|r| i64::from(r.ppm())).sum();
        match pol.pricing {
            TaxPricing::Inclusive => {
                prop_assert_eq!(line.gross, amount);
                let exact = amount.mul_ratio(combined, 1_000_000 + combined, pol.mode).unwrap();
                prop_assert_eq!(line.tax, exact);
            }
            TaxPricing::Exclusive => {
                prop_assert_eq!(line.net, amount);
                for (rate, c) in rates.iter().zip(&line.components) {
                    let exact = amount.mul_ratio(i64::from(rate.ppm()), 1_000_000, pol.mode).unwrap();
                    prop_assert_eq!(*c, exact);
                }
            }
        }
    }

    /// Per-invoice exclusive rounding: each rate's tax over a category is rounded once on
    /// the category's sum.
    #[test]
    fn invoice_rounding_rounds_once(amounts in prop::collection::vec(0i64..100_000, 1..10), mode in policy()) {
        let pol = TaxPolicy { pricing: TaxPricing::Exclusive, rounding: TaxRounding::PerInvoice, mode: mode.mode };
        let engine = TaxEngine::new(table(), pol);
        let general = TaxCategory::new("general").unwrap();
        let lines: Vec<(&TaxCategory, Money)> = amounts.iter()
            .map(|m| (&general, Money::from_minor(*m, Currency::USD)))
            .collect();
        let r = engine.compute(Currency::USD, &lines).unwrap();
        let sum = Money::from_minor(amounts.iter().sum(), Currency::USD);
        for (i, rate) in engine.table().rates(&general).unwrap().iter().enumerate() {
            let got: i64 = r.lines.iter().map(|l| l.components[i].minor()).sum();
            let exact = sum.mul_ratio(i64::from(rate.ppm()), 1_000_000, pol.mode).unwrap();
            prop_assert_eq!(got, exact.minor());
        }
    }
}
