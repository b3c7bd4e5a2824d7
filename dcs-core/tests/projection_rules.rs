//! Projections: the rules of each fold.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod commerce_common;

use commerce_common::*;
use dcs_core::commerce::body::{StockAdjustment, StockMovement, StockTransfer};
use dcs_core::commerce::*;
use dcs_core::*;

fn tenant() -> TenantId {
    TenantId::new("acme").unwrap()
}

fn ctx(day: i32) -> ProjectionContext {
    ProjectionContext::new(tenant(), branch(), BusinessDay::from_days(day))
}

fn fold<P: Projection>(p: &mut P, day: i32, events: &[DomainEvent]) {
    let c = ctx(day);
    p.apply_all(events.iter().map(|e| (&c, &e.body))).unwrap();
}

#[test]
fn summary_counts_sales_and_refunds_on_their_own_days() {
    let (mut sale, events) = completed_sale("S1", None);
    let mut s = SalesSummary::new();
    fold(&mut s, 100, &events);
    let refund = sale.refund(rid("R1"), &[(sku("BOOK"), 1)], Tender::Cash, "").unwrap();
    fold(&mut s, 101, &refund);
    let d100 = s.get(&tenant(), &branch(), BusinessDay::from_days(100), Currency::USD).unwrap();
    assert_eq!((d100.sales_count, d100.refund_count), (1, 0));
    assert_eq!(d100.gross, sale.totals().total);
    assert_eq!(d100.tax, sale.totals().tax);
    assert_eq!(d100.net, sale.totals().net);
    assert_eq!(d100.discounts, usd(0));
    let d101 = s.get(&tenant(), &branch(), BusinessDay::from_days(101), Currency::USD).unwrap();
    assert_eq!((d101.sales_count, d101.refund_count), (0, 1));
    assert_eq!((d101.refunds, d101.net, d101.gross), (usd(999), usd(-999), usd(0)));
    assert_eq!(s.rows().count(), 2);
    assert_eq!(
        d101.to_string(),
        "0 sales, 1 refunds: gross 0.00 USD, discounts 0.00 USD, refunds 9.99 USD, tax 0.00 USD, net -9.99 USD"
    );
}

#[test]
fn summary_ignores_voids_and_keeps_currencies_apart() {
    let priced = cart().totals(&engine()).unwrap();
    let (mut open, started) =
        Sale::initiate(SaleId::new("S").unwrap(), branch(), &priced, None).unwrap();
    let void = open.reverse(rid("V"), "walked out").unwrap();
    let mut s = SalesSummary::new();
    fold(&mut s, 1, &[started]);
    fold(&mut s, 1, &void);
    assert_eq!(s.rows().count(), 0);

    let mut yen = Cart::new(Currency::JPY);
    let tea = Product::new("TEA", "Tea", "drinks", Money::from_minor(500, Currency::JPY), "food")
        .unwrap();
    yen.add(tea, 2).unwrap();
    let priced = yen.totals(&engine()).unwrap();
    let (mut sale, _) = Sale::initiate(SaleId::new("J").unwrap(), branch(), &priced, None).unwrap();
    sale.capture(Tender::Card, priced.totals.total).unwrap();
    fold(&mut s, 1, &sale.complete().unwrap());
    fold(&mut s, 1, &completed_sale("U", None).1);
    let keys: Vec<Currency> = s.rows().map(|(k, _)| k.currency).collect();
    assert_eq!(keys, [Currency::JPY, Currency::USD]);
    let jpy = s.get(&tenant(), &branch(), BusinessDay::from_days(1), Currency::JPY).unwrap();
    assert_eq!(jpy.gross, Money::from_minor(1_020, Currency::JPY));
}

#[test]
fn inventory_follows_every_movement() {
    let other = BranchId::new("store-2").unwrap();
    let mug = sku("MUG");
    let moved = |q| StockMovement { branch: branch(), sku: mug.clone(), quantity: q };
    let transfer = |from: &BranchId, to: &BranchId| StockTransfer {
        branch: from.clone(),
        counterparty: to.clone(),
        sku: mug.clone(),
        quantity: 4,
    };
    let events: Vec<DomainEvent> = vec![
        EventBody::InventoryReceived(moved(20)).into(),
        EventBody::InventorySold(moved(3)).into(),
        EventBody::InventoryTransferredOut(transfer(&branch(), &other)).into(),
        EventBody::InventoryTransferredIn(transfer(&other, &branch())).into(),
        EventBody::InventoryAdjusted(StockAdjustment {
            branch: branch(),
            sku: mug.clone(),
            delta: -2,
            reason: "broken".into(),
        })
        .into(),
    ];
    let mut inv = InventoryLevels::new();
    fold(&mut inv, 0, &events);
    assert_eq!(inv.on_hand(&tenant(), &branch(), &mug).unwrap(), 20 - 3 - 4 - 2);
    assert_eq!(inv.on_hand(&tenant(), &other, &mug).unwrap(), 4);
    let level = inv.level(&tenant(), &branch(), &mug);
    assert_eq!((level.received, level.sold, level.transferred_out, level.adjusted), (20, 3, 4, -2));
    assert_eq!(inv.on_hand(&tenant(), &branch(), &sku("NONE")).unwrap(), 0);
    let alerts = inv.low_stock(&tenant(), &branch(), 12).unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].event_type(), EventType::LowStockAlert);
    assert!(inv.low_stock(&tenant(), &branch(), 11).unwrap().is_empty());
}

#[test]
fn inventory_overflow_is_an_error() {
    let mut inv = InventoryLevels::new();
    let adj = |delta| -> DomainEvent {
        EventBody::InventoryAdjusted(StockAdjustment {
            branch: branch(),
            sku: sku("X"),
            delta,
            reason: String::new(),
        })
        .into()
    };
    fold(&mut inv, 0, &[adj(i64::MAX)]);
    let c = ctx(0);
    assert!(matches!(inv.apply(&c, &adj(1).body), Err(CoreError::Overflow(_))));
}

#[test]
fn loyalty_points_and_tiers() {
    let program = LoyaltyProgram::new(usd(1_000), 5, &[("silver", 10), ("gold", 50)]).unwrap();
    let mut l = LoyaltyLedger::new(program);
    let c = CustomerId::new("C1").unwrap();
    assert_eq!(l.tier(&tenant(), &c), None);
    let (mut sale, events) = completed_sale("S1", Some("C1"));
    fold(&mut l, 0, &events);
    // 48.92 spent → 4 whole units of 10.00 → 20 points.
    assert_eq!(l.points(&tenant(), &c), 20);
    assert_eq!(l.tier(&tenant(), &c), Some("silver"));
    fold(&mut l, 0, &sale.refund(rid("R"), &[(sku("MUG"), 2)], Tender::Cash, "").unwrap());
    assert_eq!(l.customer(&tenant(), &c).purchases, 1);
    assert_eq!(l.points(&tenant(), &c), 10);
    fold(&mut l, 0, &sale.reverse(rid("V"), "").unwrap());
    assert_eq!(l.customer(&tenant(), &c).net_spend, 0);
    // Sales without a customer, or in another currency, earn nothing.
    fold(&mut l, 0, &completed_sale("S2", None).1);
    assert_eq!(l.customers().count(), 1);
    let program = LoyaltyProgram::new(Money::from_minor(100, Currency::EUR), 1, &[]).unwrap();
    let mut eur = LoyaltyLedger::new(program);
    fold(&mut eur, 0, &completed_sale("S3", Some("C1")).1);
    assert_eq!(eur.points(&tenant(), &c), 0);
}

#[test]
fn loyalty_program_is_validated() {
    assert!(LoyaltyProgram::new(usd(0), 1, &[]).is_err());
    assert!(LoyaltyProgram::new(usd(100), 1, &[("gold", 50), ("silver", 10)]).is_err());
    assert!(LoyaltyProgram::new(usd(100), 1, &[("a", 10), ("b", 10)]).is_err());
    assert!(LoyaltyProgram::new(usd(100), 1, &[("", 10)]).is_err());
    let p = LoyaltyProgram::new(usd(100), 3, &[("base", 0)]).unwrap();
    assert_eq!(p.points_for(-500), 0);
    assert_eq!(p.points_for(250), 6);
    assert_eq!(p.tier_for(0).map(|t| t.name.as_str()), Some("base"));
}

#[test]
fn context_of_an_event_uses_the_local_day() {
    let e = {
        #[path = "common/mod.rs"]
        mod common;
        common::sample_event()
    };
    let utc = ProjectionContext::of_event(&e, 0).unwrap();
    assert_eq!(utc.tenant.as_str(), e.tenant_id().as_str());
    let ms = e.causality().hlc.unix_ms();
    assert_eq!(utc.day, BusinessDay::from_unix_ms(ms, 0).unwrap());
    assert!(ProjectionContext::of_event(&e, 10_000).is_err());
}
