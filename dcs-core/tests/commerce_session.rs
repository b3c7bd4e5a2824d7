//! The POS session: float, cash movements, payouts and the closing variance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod commerce_common;

use commerce_common::*;
use dcs_core::commerce::*;
use dcs_core::*;

fn open(float: Money) -> PosSession {
    let (s, ev) =
        PosSession::open(SessionId::new("D1").unwrap(), AgentId::new("cashier-1").unwrap(), float)
            .unwrap();
    assert_eq!(ev.event_type, EventType::SessionOpened);
    assert_eq!(ev.amount, Some(float));
    s
}

fn report(ev: &DomainEvent) -> &dcs_core::commerce::body::SessionReport {
    match &ev.body {
        EventBody::SessionClosed(r) => Some(r),
        _ => None,
    }
    .expect("a SESSION_CLOSED body")
}

#[test]
fn variance_is_counted_minus_expected() {
    let mut s = open(usd(10_000));
    s.record_cash_sale(usd(2_500)).unwrap();
    s.record_cash_refund(usd(500)).unwrap();
    let payout = s.payout("PO-1", usd(1_000), "window cleaner").unwrap();
    assert_eq!(payout.event_type, EventType::LedgerEntryPosted);
    assert_eq!(s.expected_cash().unwrap(), usd(11_000));
    let ev = s.close(usd(10_950)).unwrap();
    let r = report(&ev);
    assert_eq!((r.expected, r.counted, r.variance), (usd(11_000), usd(10_950), usd(-50)));
    assert_eq!(ev.amount, Some(usd(10_950)));
    assert!(s.is_closed());
}

#[test]
fn observes_cash_payments_of_sales() {
    let mut s = open(usd(5_000));
    let (mut sale, events) = completed_sale("S1", None);
    for e in &events {
        s.observe(e).unwrap();
    }
    for e in sale.refund(rid("R1"), &[(sku("BOOK"), 1)], Tender::Cash, "").unwrap() {
        s.observe(&e).unwrap();
    }
    let expected =
        usd(5_000).checked_add(sale.totals().total).unwrap().checked_sub(usd(999)).unwrap();
    assert_eq!(s.expected_cash().unwrap(), expected);
    let r = s.close(expected).unwrap();
    assert_eq!(report(&r).variance, usd(0));
}

#[test]
fn card_payments_do_not_touch_the_drawer() {
    let mut s = open(usd(0));
    let priced = cart().totals(&engine()).unwrap();
    let (mut sale, _) = Sale::initiate(SaleId::new("S").unwrap(), branch(), &priced, None).unwrap();
    s.observe(&sale.capture(Tender::Card, priced.totals.total).unwrap()).unwrap();
    assert_eq!(s.expected_cash().unwrap(), usd(0));
}

#[test]
fn rules_and_errors() {
    assert!(
        PosSession::open(SessionId::new("D").unwrap(), AgentId::new("c").unwrap(), usd(-1))
            .is_err()
    );
    let mut s = open(usd(100));
    assert!(s.record_cash_sale(usd(0)).is_err());
    assert!(matches!(
        s.record_cash_sale(Money::from_minor(1, Currency::EUR)),
        Err(CoreError::CurrencyMismatch { .. })
    ));
    assert!(s.payout("P", usd(-1), "").is_err());
    assert!(s.close(usd(-1)).is_err());
    s.close(usd(100)).unwrap();
    let err = s.record_cash_sale(usd(1)).unwrap_err();
    assert!(matches!(&err, CoreError::Rule(m) if m.contains("open a new session")));
    assert!(s.close(usd(100)).is_err());
}

#[test]
fn jpy_and_kwd_drawers() {
    for (currency, float, sale, counted, variance) in
        [(Currency::JPY, 30_000, 1_650, 31_600, -50), (Currency::KWD, 50_000, 1_234, 51_235, 1)]
    {
        let m = |v| Money::from_minor(v, currency);
        let mut s = open(m(float));
        s.record_cash_sale(m(sale)).unwrap();
        let ev = s.close(m(counted)).unwrap();
        assert_eq!(report(&ev).variance, m(variance));
    }
}
