//! Property tests of refunds: never more than was sold, and exactly the sale in the end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod commerce_common;

use std::collections::BTreeMap;

use commerce_common::*;
use dcs_core::commerce::body::SaleRefund;
use dcs_core::commerce::*;
use dcs_core::*;
use proptest::prelude::*;

const SKUS: [(&str, &str); 3] = [("MUG", "general"), ("BREAD", "food"), ("BOOK", "exempt")];

fn refund_of(events: &[DomainEvent]) -> &SaleRefund {
    match &events[0].body {
        EventBody::SalePartiallyRefunded(r) | EventBody::SaleReversed(r) => Some(r),
        _ => None,
    }
    .expect("a refund body")
}

/// What has been given back so far, per SKU and in total.
#[derive(Default)]
struct Tally {
    qty: BTreeMap<String, u32>,
    gross: BTreeMap<String, i64>,
    tax: BTreeMap<String, i64>,
    total: i64,
}

impl Tally {
    fn record(&mut self, r: &SaleRefund) {
        for l in &r.lines {
            *self.qty.entry(l.sku.to_string()).or_default() += l.quantity;
            *self.gross.entry(l.sku.to_string()).or_default() += l.gross.minor();
            *self.tax.entry(l.sku.to_string()).or_default() += l.tax.minor();
            assert_eq!(l.net.checked_add(l.tax).unwrap(), l.gross);
            assert!(!l.gross.is_negative() && !l.tax.is_negative());
        }
        self.total += r.total.minor();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn refunds_never_exceed_the_sale(
        prices in prop::collection::vec(1i64..50_000, 3),
        quantities in prop::collection::vec(1u32..6, 3),
        inclusive in any::<bool>(),
        cart_off in 0u32..=5_000,
        requests in prop::collection::vec((0usize..3, 1u32..4), 0..12),
        reverse in any::<bool>(),
    ) {
        let mut cart = Cart::new(Currency::USD);
        for ((sku, cat), (p, q)) in SKUS.iter().zip(prices.iter().zip(&quantities)) {
            cart.add(product(sku, *p, cat), *q).unwrap();
        }
        cart.set_cart_discount(Some(Discount::Percent(cart_off))).unwrap();
        let pricing = if inclusive { TaxPricing::Inclusive } else { TaxPricing::Exclusive };
        let policy = TaxPolicy { pricing, ..TaxPolicy::default() };
        let priced = cart.totals(&TaxEngine::new(table(), policy)).unwrap();
        let (mut sale, started) = Sale::initiate(SaleId::new("S").unwrap(), branch(), &priced, None).unwrap();
        let mut history = vec![started];
        history.push(sale.capture(Tender::Cash, priced.totals.total).unwrap());
        history.extend(sale.complete().unwrap());

        let mut t = Tally::default();
        for (n, (i, q)) in requests.iter().enumerate() {
            let s = sku(SKUS[*i].0);
            let left = sale.refundable_quantity(&s);
            let result = sale.refund(rid(&format!("R{n}")), &[(s, *q)], Tender::Cash, "");
            prop_assert_eq!(result.is_ok(), *q <= left);
            if let Ok(events) = result {
                t.record(refund_of(&events));
                history.extend(events);
            }
        }
        for line in sale.lines() {
            let k = line.sku.to_string();
            prop_assert!(t.qty.get(&k).copied().unwrap_or(0) <= line.quantity);
            prop_assert!(t.gross.get(&k).copied().unwrap_or(0) <= line.gross.minor());
            prop_assert!(t.tax.get(&k).copied().unwrap_or(0) <= line.tax.minor());
        }
        prop_assert!(t.total <= priced.totals.total.minor());
        // The events alone rebuild the same sale.
        let replayed = Sale::replay(branch(), history.iter().map(|e| &e.body)).unwrap();
        prop_assert_eq!(&replayed, &sale);
        prop_assert_eq!(sale.refunded().unwrap().minor(), t.total);
        if reverse && t.total < priced.totals.total.minor() {
            let events = sale.reverse(rid("V"), "").unwrap();
            t.record(refund_of(&events));
            history.extend(events);
            // Everything sold has now been given back, exactly.
            prop_assert_eq!(t.total, priced.totals.total.minor());
            for line in sale.lines() {
                let k = line.sku.to_string();
                prop_assert_eq!(t.qty[&k], line.quantity);
                prop_assert_eq!(t.gross[&k], line.gross.minor());
                prop_assert_eq!(t.tax[&k], line.tax.minor());
            }
            let replayed = Sale::replay(branch(), history.iter().map(|e| &e.body)).unwrap();
            prop_assert_eq!(&replayed, &sale);
        }
    }
}
