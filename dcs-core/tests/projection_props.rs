//! Property tests of the projections: order-independent folds with exact invariants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod commerce_common;

use std::collections::BTreeMap;

use commerce_common::*;
use dcs_core::commerce::body::{StockAdjustment, StockMovement, StockTransfer};
use dcs_core::commerce::*;
use dcs_core::*;
use proptest::prelude::*;

const SKUS: [(&str, &str); 3] = [("MUG", "general"), ("BREAD", "food"), ("BOOK", "exempt")];
const BRANCHES: [&str; 2] = ["store-1", "store-2"];

type Folded = Vec<(ProjectionContext, EventBody)>;

/// (branch, day, JPY?, quantities per SKU, customer, refund (SKU, quantity), reverse?)
type SaleSpec = (usize, i32, bool, Vec<u32>, Option<u8>, Option<(usize, u32)>, bool);

fn ctx(branch: usize, day: i32) -> ProjectionContext {
    ProjectionContext::new(
        TenantId::new("acme").unwrap(),
        BranchId::new(BRANCHES[branch]).unwrap(),
        BusinessDay::from_days(day),
    )
}

/// Runs the sales of `specs` and returns their events with contexts (refunds a day later).
fn run_sales(specs: &[SaleSpec]) -> Folded {
    let mut out = Vec::new();
    for (n, (b, day, jpy, qty, customer, refund, reverse)) in specs.iter().enumerate() {
        let currency = if *jpy { Currency::JPY } else { Currency::USD };
        let mut cart = Cart::new(currency);
        for ((s, cat), q) in SKUS.iter().zip(qty) {
            if *q > 0 {
                let price = Money::from_minor(1_299, currency);
                cart.add(Product::new(s, s, "misc", price, cat).unwrap(), *q).unwrap();
            }
        }
        if cart.is_empty() {
            continue;
        }
        let priced = cart.totals(&engine()).unwrap();
        let customer = customer.map(|c| CustomerId::new(format!("C{c}")).unwrap());
        let id = SaleId::new(format!("S{n}")).unwrap();
        let (mut sale, started) = Sale::initiate(id, branch(), &priced, customer).unwrap();
        let mut events = vec![started, sale.capture(Tender::Card, priced.totals.total).unwrap()];
        events.extend(sale.complete().unwrap());
        out.extend(events.into_iter().map(|e| (ctx(*b, *day), e.body)));
        let mut later = Vec::new();
        if let Some((i, q)) = refund {
            let items = [(sku(SKUS[*i].0), *q)];
            if let Ok(ev) = sale.refund(rid("R"), &items, Tender::Card, "") {
                later.extend(ev);
            }
        }
        if *reverse && let Ok(ev) = sale.reverse(rid("V"), "") {
            later.extend(ev);
        }
        out.extend(later.into_iter().map(|e| (ctx(*b, day + 1), e.body)));
    }
    out
}

fn sale_specs() -> impl Strategy<Value = Vec<SaleSpec>> {
    prop::collection::vec(
        (
            0usize..2,
            0i32..3,
            any::<bool>(),
            prop::collection::vec(0u32..4, 3),
            prop::option::of(0u8..3),
            prop::option::of((0usize..3, 1u32..4)),
            any::<bool>(),
        ),
        0..10,
    )
}

/// The events of `specs`, and the same events shuffled.
fn sales_and_shuffle() -> impl Strategy<Value = (Folded, Folded)> {
    sale_specs()
        .prop_map(|specs| run_sales(&specs))
        .prop_flat_map(|events| (Just(events.clone()), Just(events).prop_shuffle()))
}

fn fold<P: Projection>(mut p: P, events: &Folded) -> P {
    p.apply_all(events.iter().map(|(c, b)| (c, b))).unwrap();
    p
}

fn program() -> LoyaltyProgram {
    LoyaltyProgram::new(usd(500), 2, &[("silver", 10), ("gold", 40)]).unwrap()
}

/// (branch, SKU, kind: received / sold / out / in / adjusted, quantity)
type Move = (usize, usize, u8, i64);

fn movement_body((b, s, kind, q): Move) -> EventBody {
    let branch = BranchId::new(BRANCHES[b]).unwrap();
    let other = BranchId::new(BRANCHES[1 - b]).unwrap();
    let sku = sku(SKUS[s].0);
    let quantity = q.unsigned_abs() as u32;
    let movement = StockMovement { branch: branch.clone(), sku: sku.clone(), quantity };
    let transfer =
        StockTransfer { branch: branch.clone(), counterparty: other, sku: sku.clone(), quantity };
    match kind {
        0 => EventBody::InventoryReceived(movement),
        1 => EventBody::InventorySold(movement),
        2 => EventBody::InventoryTransferredOut(transfer),
        3 => EventBody::InventoryTransferredIn(transfer),
        _ => EventBody::InventoryAdjusted(StockAdjustment {
            branch,
            sku,
            delta: q,
            reason: String::new(),
        }),
    }
}

fn moves_and_shuffle() -> impl Strategy<Value = (Vec<Move>, Vec<Move>)> {
    prop::collection::vec((0usize..2, 0usize..3, 0u8..5, -50i64..50), 0..40)
        .prop_flat_map(|m| (Just(m.clone()), Just(m).prop_shuffle()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sales_summary_is_order_independent_and_balanced((events, shuffled) in sales_and_shuffle()) {
        let a = fold(SalesSummary::new(), &events);
        let b = fold(SalesSummary::new(), &shuffled);
        prop_assert_eq!(&a, &b);
        let mut gross: BTreeMap<Currency, i64> = BTreeMap::new();
        for (_, body) in &events {
            if let EventBody::SaleCompleted(s) = body {
                *gross.entry(s.totals.total.currency()).or_default() += s.totals.total.minor();
            }
        }
        let mut rows_gross: BTreeMap<Currency, i64> = BTreeMap::new();
        for (key, row) in a.rows() {
            prop_assert_eq!(row.net.checked_add(row.tax).unwrap().checked_add(row.refunds).unwrap(), row.gross);
            prop_assert!(row.refunds.currency() == key.currency);
            *rows_gross.entry(key.currency).or_default() += row.gross.minor();
        }
        gross.retain(|_, v| *v != 0);
        rows_gross.retain(|_, v| *v != 0);
        prop_assert_eq!(gross, rows_gross);
    }

    #[test]
    fn loyalty_is_order_independent((events, shuffled) in sales_and_shuffle()) {
        let a = fold(LoyaltyLedger::new(program()), &events);
        let b = fold(LoyaltyLedger::new(program()), &shuffled);
        prop_assert_eq!(&a, &b);
        for ((tenant, customer), record) in a.customers() {
            prop_assert!(record.net_spend >= 0, "refunds never exceed purchases");
            prop_assert_eq!(a.points(tenant, customer), (record.net_spend / 500) as u64 * 2);
        }
    }

    #[test]
    fn inventory_is_received_minus_sold_minus_out_plus_in((moves, shuffled) in moves_and_shuffle()) {
        let c = ctx(0, 0);
        let events: Folded = moves.iter().map(|m| (c.clone(), movement_body(*m))).collect();
        let shuffled: Folded = shuffled.iter().map(|m| (c.clone(), movement_body(*m))).collect();
        let a = fold(InventoryLevels::new(), &events);
        prop_assert_eq!(&a, &fold(InventoryLevels::new(), &shuffled));
        let mut expected: BTreeMap<(usize, usize), i64> = BTreeMap::new();
        for (b, s, kind, q) in &moves {
            let units = q.abs();
            *expected.entry((*b, *s)).or_default() += match kind {
                0 | 3 => units,
                1 | 2 => -units,
                _ => *q,
            };
        }
        for (b, branch) in BRANCHES.iter().enumerate() {
            for (s, (name, _)) in SKUS.iter().enumerate() {
                let got = a.on_hand(&c.tenant, &BranchId::new(*branch).unwrap(), &sku(name)).unwrap();
                prop_assert_eq!(got, expected.get(&(b, s)).copied().unwrap_or(0));
            }
        }
    }
}
