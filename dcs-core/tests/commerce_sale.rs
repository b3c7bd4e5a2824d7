//! The sale lifecycle: transitions, payments, refunds and reversal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod commerce_common;

use commerce_common::*;
use dcs_core::commerce::*;
use dcs_core::*;

fn types(events: &[DomainEvent]) -> Vec<EventType> {
    events.iter().map(|e| e.event_type).collect()
}

fn started() -> (Sale, CartTotals) {
    let priced = cart().totals(&engine()).unwrap();
    let (sale, ev) = Sale::initiate(SaleId::new("S1").unwrap(), branch(), &priced, None).unwrap();
    assert_eq!(ev.event_type, EventType::SaleInitiated);
    assert_eq!(ev.amount, Some(priced.totals.total));
    (sale, priced)
}

#[test]
fn the_store_cart_prices_as_expected() {
    let t = cart().totals(&engine()).unwrap();
    // MUG 25.98: state 1.62375 → 1.62, city 0.6495 → 0.65; BREAD 10.47 × 2 % = 0.2094 → 0.21.
    assert_eq!(t.lines[0].tax, usd(227));
    assert_eq!(t.lines[1].tax, usd(21));
    assert_eq!(t.lines[2].tax, usd(0));
    assert_eq!(t.totals.net, usd(2598 + 1047 + 999));
    assert_eq!(t.totals.total, usd(4644 + 248));
    let state = t.taxes.iter().find(|c| c.name == "state" && c.rate_ppm == 62_500).unwrap();
    assert_eq!(state.tax, usd(162));
}

#[test]
fn happy_path_card() {
    let (mut sale, priced) = started();
    let total = priced.totals.total;
    let auth = sale.authorize(Tender::Card, total).unwrap();
    assert_eq!(auth.event_type, EventType::PaymentAuthorized);
    assert_eq!(sale.state(), SaleState::Authorized);
    sale.capture(Tender::Card, total).unwrap();
    assert_eq!(sale.state(), SaleState::Captured);
    let done = sale.complete().unwrap();
    assert_eq!(
        types(&done),
        [
            EventType::SaleCompleted,
            EventType::InventorySold,
            EventType::InventorySold,
            EventType::InventorySold
        ]
    );
    assert_eq!(sale.state(), SaleState::Completed);
    match &done[1].body {
        EventBody::InventorySold(m) => assert_eq!((m.sku.as_str(), m.quantity), ("MUG", 2)),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn split_tender_and_limits() {
    let (mut sale, priced) = started();
    let total = priced.totals.total;
    sale.capture(Tender::Cash, usd(1000)).unwrap();
    assert!(sale.complete().is_err(), "not paid in full");
    let over = total.checked_sub(usd(999)).unwrap();
    let err = sale.capture(Tender::Card, over).unwrap_err();
    assert!(matches!(&err, CoreError::Rule(m) if m.contains("capture at most the rest")));
    assert!(sale.authorize(Tender::Card, usd(1)).is_err(), "no auth after capture");
    sale.capture(Tender::Card, total.checked_sub(usd(1000)).unwrap()).unwrap();
    assert_eq!(sale.captured().unwrap(), total);
    sale.complete().unwrap();
}

#[test]
fn invalid_amounts_and_transitions() {
    let (mut sale, priced) = started();
    assert!(sale.capture(Tender::Cash, usd(0)).is_err());
    assert!(sale.capture(Tender::Cash, usd(-5)).is_err());
    let eur = Money::from_minor(100, Currency::EUR);
    assert!(matches!(sale.capture(Tender::Cash, eur), Err(CoreError::CurrencyMismatch { .. })));
    let too_much = priced.totals.total.checked_add(usd(1)).unwrap();
    assert!(sale.authorize(Tender::Card, too_much).is_err());
    assert!(sale.refund(rid("R1"), &[(sku("MUG"), 1)], Tender::Cash, "").is_err());
    sale.capture(Tender::Cash, priced.totals.total).unwrap();
    sale.complete().unwrap();
    let err = sale.complete().unwrap_err();
    assert!(matches!(&err, CoreError::Rule(m) if m.contains("in state Completed")));
    assert!(sale.capture(Tender::Cash, usd(1)).is_err());
    assert!(sale.authorize(Tender::Cash, usd(1)).is_err());
    assert!(sale.fail_payment(Tender::Card, usd(1), "late").is_err());
    sale.reverse(rid("V1"), "customer changed mind").unwrap();
    assert_eq!(sale.state(), SaleState::Reversed);
    assert!(sale.reverse(rid("V2"), "again").is_err());
    assert!(sale.refund(rid("R9"), &[(sku("MUG"), 1)], Tender::Cash, "").is_err());
}

#[test]
fn empty_cart_cannot_start_a_sale() {
    let priced = Cart::new(Currency::USD).totals(&engine()).unwrap();
    assert!(Sale::initiate(SaleId::new("S0").unwrap(), branch(), &priced, None).is_err());
}

#[test]
fn failed_payment_drops_authorization() {
    let (mut sale, priced) = started();
    sale.authorize(Tender::Card, priced.totals.total).unwrap();
    let failed = sale.fail_payment(Tender::Card, priced.totals.total, "declined").unwrap();
    assert_eq!(failed.event_type, EventType::PaymentFailed);
    assert_eq!(sale.state(), SaleState::Initiated);
    // The authorization no longer blocks another tender.
    sale.authorize(Tender::Mobile, priced.totals.total).unwrap();
}

#[test]
fn partial_refunds_never_exceed_what_was_sold() {
    let (mut sale, _) = completed_sale("S2", None);
    let ev = sale.refund(rid("R1"), &[(sku("MUG"), 1)], Tender::Cash, "chipped").unwrap();
    assert_eq!(types(&ev), [EventType::SalePartiallyRefunded, EventType::PaymentRefunded]);
    let EventBody::SalePartiallyRefunded(r) = &ev[0].body else { panic!("wrong body") };
    // Half of the MUG line (25.98 + 2.27 tax = 28.25): round(28.25 / 2) = 14.13 half-up.
    assert_eq!((r.total, r.tax, r.net), (usd(1413), usd(114), usd(1299)));
    assert_eq!(sale.refundable_quantity(&sku("MUG")), 1);
    let err = sale.refund(rid("R2"), &[(sku("MUG"), 2)], Tender::Cash, "").unwrap_err();
    assert!(matches!(&err, CoreError::Rule(m) if m.contains("only 1 of 2 sold are left")));
    // The same SKU twice in one request counts together.
    let twice = [(sku("MUG"), 1), (sku("MUG"), 1)];
    assert!(sale.refund(rid("R3"), &twice, Tender::Cash, "").is_err());
    assert!(sale.refund(rid("R4"), &[(sku("NOPE"), 1)], Tender::Cash, "").is_err());
    assert!(sale.refund(rid("R5"), &[(sku("MUG"), 0)], Tender::Cash, "").is_err());
    assert!(sale.refund(rid("R6"), &[], Tender::Cash, "").is_err());
    assert!(
        sale.refund(rid("R1"), &[(sku("BREAD"), 1)], Tender::Cash, "").is_err(),
        "refund ids are single-use"
    );
    // Refunding the rest gives back exactly the line.
    let ev = sale.refund(rid("R7"), &[(sku("MUG"), 1)], Tender::Cash, "").unwrap();
    let EventBody::SalePartiallyRefunded(r2) = &ev[0].body else { panic!("wrong body") };
    assert_eq!(r.total.checked_add(r2.total).unwrap(), sale.lines()[0].gross);
    assert_eq!(r.tax.checked_add(r2.tax).unwrap(), sale.lines()[0].tax);
}

#[test]
fn refunds_go_back_to_a_tender_that_paid() {
    let (mut sale, _) = completed_sale("S3", None);
    let err = sale.refund(rid("R1"), &[(sku("BOOK"), 1)], Tender::Card, "").unwrap_err();
    assert!(matches!(&err, CoreError::Rule(m) if m.contains("choose another tender")));
}

#[test]
fn reversal_gives_back_what_is_left() {
    let (mut sale, _) = completed_sale("S4", Some("C-1"));
    let first = sale.refund(rid("R1"), &[(sku("BREAD"), 2)], Tender::Cash, "").unwrap();
    let ev = sale.reverse(rid("V1"), "fraud").unwrap();
    assert_eq!(types(&ev), [EventType::SaleReversed, EventType::PaymentRefunded]);
    let EventBody::SaleReversed(rev) = &ev[0].body else { panic!("wrong body") };
    let refunded = first[0].amount.unwrap().checked_add(rev.total).unwrap();
    assert_eq!(refunded, sale.totals().total);
    assert_eq!(ev[1].amount, Some(rev.total));
    assert_eq!(rev.customer.as_ref().map(CustomerId::as_str), Some("C-1"));
    assert_eq!(sale.refunded().unwrap(), sale.totals().total);
}

#[test]
fn a_fully_refunded_sale_cannot_be_reversed() {
    let (mut sale, _) = completed_sale("S5", None);
    let all = [(sku("MUG"), 2), (sku("BREAD"), 3), (sku("BOOK"), 1)];
    sale.refund(rid("R1"), &all, Tender::Cash, "").unwrap();
    assert_eq!(sale.refunded().unwrap(), sale.totals().total);
    assert!(sale.reverse(rid("V1"), "").is_err());
}

#[test]
fn voiding_an_open_sale_refunds_captured_payments() {
    let (mut sale, _) = started();
    sale.capture(Tender::Cash, usd(500)).unwrap();
    let ev = sale.reverse(rid("V1"), "walked out").unwrap();
    assert_eq!(types(&ev), [EventType::SaleReversed, EventType::PaymentRefunded]);
    assert_eq!(ev[0].amount, Some(usd(0)));
    assert_eq!(ev[1].amount, Some(usd(500)));
}

#[test]
fn jpy_and_kwd_sales() {
    for (currency, price) in [(Currency::JPY, 1_055), (Currency::KWD, 1_005)] {
        let table =
            TaxTable::new().with("std", vec![TaxRate::new("VAT", 100_000).unwrap()]).unwrap();
        let mut cart = Cart::new(currency);
        let p = Product::new("X", "X", "misc", Money::from_minor(price, currency), "std").unwrap();
        cart.add(p, 3).unwrap();
        let priced = cart.totals(&TaxEngine::new(table, TaxPolicy::default())).unwrap();
        // 10 % of ¥3 165 = ¥316.5 → ¥317; 10 % of 3.015 KWD = 0.3015 → 0.302 (fils).
        assert_eq!(priced.totals.tax.minor(), if currency == Currency::JPY { 317 } else { 302 });
        let (mut sale, _) =
            Sale::initiate(SaleId::new("S").unwrap(), branch(), &priced, None).unwrap();
        sale.capture(Tender::Card, priced.totals.total).unwrap();
        sale.complete().unwrap();
        let ev = sale.refund(rid("R"), &[(sku("X"), 1)], Tender::Card, "").unwrap();
        let refunded = ev[0].amount.unwrap();
        assert_eq!(refunded.currency(), currency);
        // A third of the line, rounded half-up in the currency's own minor unit.
        let expected = priced.totals.total.mul_ratio(1, 3, RoundingMode::HalfUp).unwrap();
        assert_eq!(refunded, expected);
    }
}

#[test]
fn pay_and_complete_captures_what_is_due() {
    let (mut sale, priced) = started();
    sale.capture(Tender::Card, usd(1_000)).unwrap();
    let events = sale.pay_and_complete(Tender::Cash).unwrap();
    assert_eq!(events[0].event_type, EventType::PaymentCaptured);
    assert_eq!(events[0].amount, Some(priced.totals.total.checked_sub(usd(1_000)).unwrap()));
    assert_eq!(events[1].event_type, EventType::SaleCompleted);
    assert!(sale.pay_and_complete(Tender::Cash).is_err());
}

#[test]
fn replay_rebuilds_the_sale_from_its_events() {
    let (mut sale, priced) = started();
    let mut history =
        vec![Sale::initiate(SaleId::new("S1").unwrap(), branch(), &priced, None).unwrap().1];
    history.push(sale.authorize(Tender::Card, usd(500)).unwrap());
    history.push(sale.fail_payment(Tender::Card, usd(500), "declined").unwrap());
    history.push(sale.authorize(Tender::Mobile, usd(500)).unwrap());
    history.extend(sale.pay_and_complete(Tender::Mobile).unwrap());
    history.extend(sale.refund(rid("R1"), &[(sku("MUG"), 1)], Tender::Mobile, "").unwrap());
    let bodies: Vec<EventBody> = history.iter().map(|e| e.body.clone()).collect();
    let mut other_terminal = Sale::replay(branch(), &bodies).unwrap();
    assert_eq!(other_terminal, sale);
    // The other terminal cannot refund the same unit again.
    assert!(other_terminal.refund(rid("R2"), &[(sku("MUG"), 2)], Tender::Mobile, "").is_err());
    assert!(other_terminal.refund(rid("R1"), &[(sku("BOOK"), 1)], Tender::Mobile, "").is_err());
    other_terminal.refund(rid("R2"), &[(sku("MUG"), 1)], Tender::Mobile, "").unwrap();
    // Histories must start with SALE_INITIATED and stay within one sale.
    assert!(Sale::replay(branch(), &bodies[1..]).is_err());
    let (_, foreign) = completed_sale("S9", None);
    let mut mixed = bodies.clone();
    mixed.push(foreign[1].body.clone());
    let err = Sale::replay(branch(), &mixed).unwrap_err();
    assert!(matches!(&err, CoreError::Rule(m) if m.contains("does not belong to sale S1")));
}

#[test]
fn inconsistent_priced_carts_are_refused() {
    let mut priced = cart().totals(&engine()).unwrap();
    priced.totals.tax = usd(1);
    let id = SaleId::new("S").unwrap();
    assert!(Sale::initiate(id.clone(), branch(), &priced, None).is_err());
    let mut priced = cart().totals(&engine()).unwrap();
    priced.lines.push(priced.lines[0].clone());
    priced.totals = SaleTotals::of_lines(Currency::USD, &priced.lines).unwrap();
    let err = Sale::initiate(id, branch(), &priced, None).unwrap_err();
    assert!(matches!(&err, CoreError::Rule(m) if m.contains("must appear once")));
}

#[test]
fn accept_takes_what_the_sale_would_make_and_refuses_a_forged_refund() {
    let (mut sale, _) = started();
    let mut history = sale.pay_and_complete(Tender::Card).unwrap();
    let (_, first) = Sale::initiate(
        SaleId::new("S1").unwrap(),
        branch(),
        &cart().totals(&engine()).unwrap(),
        None,
    )
    .unwrap();
    history.insert(0, first);
    // The store's copy: the same history, replayed.
    let mut store = Sale::replay(branch(), history.iter().map(|f| &f.body)).unwrap();
    // An honest refund of one mug, made by the till's own sale, is accepted.
    let honest = sale
        .refund(
            RefundId::new("F1").unwrap(),
            &[(Sku::new("MUG").unwrap(), 1)],
            Tender::Card,
            "chipped",
        )
        .unwrap();
    for f in &honest {
        store.accept(&f.body).unwrap();
    }
    assert_eq!(store.refundable_quantity(&Sku::new("MUG").unwrap()), 1);
    // The same refund again: its id was used.
    let err = store.accept(&honest[0].body).unwrap_err();
    assert!(err.to_string().contains("already applied"), "{err}");
    // A forged refund: two more mugs (one is left), from a copy that never saw F1.
    let mut stale = Sale::replay(branch(), history.iter().map(|f| &f.body)).unwrap();
    let over = stale
        .refund(RefundId::new("F2").unwrap(), &[(Sku::new("MUG").unwrap(), 2)], Tender::Card, "x")
        .unwrap();
    let err = store.accept(&over[0].body).unwrap_err();
    assert!(err.to_string().contains("only 1 of 2 sold are left"), "{err}");
    // A refund whose amount was inflated after the till computed it.
    let mut fair = Sale::replay(branch(), history.iter().map(|f| &f.body)).unwrap();
    let mut inflated = fair
        .refund(RefundId::new("F3").unwrap(), &[(Sku::new("MUG").unwrap(), 1)], Tender::Card, "y")
        .unwrap();
    if let EventBody::SalePartiallyRefunded(r) = &mut inflated[0].body {
        r.total = usd(r.total.minor() + 1);
    }
    let err = store.accept(&inflated[0].body).unwrap_err();
    assert!(err.to_string().contains("pro-rata"), "{err}");
    // A second SALE_INITIATED for the same sale.
    assert!(store.accept(&history[0].body).is_err());
    // Nothing refused changed the store's copy.
    assert_eq!(store.refundable_quantity(&Sku::new("MUG").unwrap()), 1);
}
