//! A whole store day, end to end: session, sales with mixed tax, a refund, the close, the
//! hand-off to sovereign events, and the projections folded from them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod commerce_common;

use commerce_common::*;
use dcs_core::causality::HlcTimestamp;
use dcs_core::commerce::*;
use dcs_core::*;

/// 2026-11-25 09:00 New York time (UTC−5), in Unix ms.
const OPENING_MS: u64 = 1_795_615_200_000;
const NEW_YORK: i32 = -300;

/// Seals domain events into sovereign events the way an application does (no crypto here:
/// the "envelope" is the plaintext).
struct Terminal {
    clock: HybridClock,
    vclock: VectorClock,
    agent: AgentId,
    n: u64,
    log: Vec<(SovereignFinancialEvent, Vec<u8>)>,
}

impl Terminal {
    fn record(&mut self, ev: DomainEvent) {
        self.n += 1;
        let hlc: HlcTimestamp = self.clock.tick(OPENING_MS + self.n * 60_000);
        self.vclock.increment(&self.agent);
        let plaintext = ev.plaintext().unwrap();
        let event = ev
            .fill(EventBuilder::new(), Currency::USD)
            .event_id(EventId::new_v7(hlc.unix_ms(), [self.n as u8; 10]))
            .idempotency_key(IdempotencyKey::new(format!("pos-1/{}", self.n)).unwrap())
            .tenant_id(TenantId::new("acme").unwrap())
            .branch_id(branch())
            .agent_id(self.agent.clone())
            .kek("acme/kek", 1)
            .envelope(plaintext.clone())
            .causality(CausalContext { hlc, vector_clock: self.vclock.clone() })
            .created_by(AgentId::new("cashier-1").unwrap())
            .build()
            .unwrap();
        self.log.push((event, plaintext));
    }
}

#[test]
fn a_store_day() {
    let agent = AgentId::new("pos-1").unwrap();
    let mut t = Terminal {
        clock: HybridClock::new([1; 16], 60_000).unwrap(),
        vclock: VectorClock::new(),
        agent: agent.clone(),
        n: 0,
        log: Vec::new(),
    };
    let (mut session, opened) = PosSession::open(
        SessionId::new("D-1").unwrap(),
        AgentId::new("cashier-1").unwrap(),
        usd(20_000),
    )
    .unwrap();
    t.record(opened);

    let mut totals = Vec::new();
    for (i, customer) in [Some("C-7"), None].into_iter().enumerate() {
        let mut c = cart();
        if i == 1 {
            c.set_cart_discount(Some(Discount::Percent(1_000))).unwrap();
        }
        let priced = c.totals(&engine()).unwrap();
        totals.push(priced.totals);
        let id = SaleId::new(format!("S-{i}")).unwrap();
        let customer = customer.map(|c| CustomerId::new(c).unwrap());
        let (mut sale, started) = Sale::initiate(id, branch(), &priced, customer).unwrap();
        let mut events = vec![started, sale.capture(Tender::Cash, priced.totals.total).unwrap()];
        events.extend(sale.complete().unwrap());
        if i == 0 {
            events.extend(
                sale.refund(rid("R-1"), &[(sku("BREAD"), 1)], Tender::Cash, "stale").unwrap(),
            );
        }
        for e in events {
            session.observe(&e).unwrap();
            t.record(e);
        }
    }
    let expected = session.expected_cash().unwrap();
    let closed = session.close(expected.checked_sub(usd(25)).unwrap()).unwrap();
    t.record(closed);

    // Fold the sealed events back (decrypt = identity here).
    let mut summary = SalesSummary::new();
    let mut stock = InventoryLevels::new();
    let program = LoyaltyProgram::new(usd(100), 1, &[("silver", 10), ("gold", 100)]).unwrap();
    let mut loyalty = LoyaltyLedger::new(program);
    for (event, plaintext) in &t.log {
        let body = EventBody::from_bytes(plaintext).unwrap();
        assert_eq!(body.event_type(), event.event_type());
        let ctx = ProjectionContext::of_event(event, NEW_YORK).unwrap();
        summary.apply(&ctx, &body).unwrap();
        stock.apply(&ctx, &body).unwrap();
        loyalty.apply(&ctx, &body).unwrap();
    }
    let tenant = TenantId::new("acme").unwrap();
    let day = BusinessDay::from_ymd(2026, 11, 25).unwrap();
    let row = summary.get(&tenant, &branch(), day, Currency::USD).unwrap();
    assert_eq!((row.sales_count, row.refund_count), (2, 1));
    let gross = totals[0].total.checked_add(totals[1].total).unwrap();
    assert_eq!(row.gross, gross);
    // BREAD: 10.47 + 0.21 tax for 3 → one back is round(10.68 / 3) = 3.56.
    assert_eq!(row.refunds, usd(356));
    assert_eq!(row.net.checked_add(row.tax).unwrap().checked_add(row.refunds).unwrap(), row.gross);
    assert_eq!(stock.on_hand(&tenant, &branch(), &sku("MUG")).unwrap(), -4);
    let c7 = CustomerId::new("C-7").unwrap();
    assert_eq!(loyalty.points(&tenant, &c7), ((totals[0].total.minor() - 356) / 100) as u64);
    assert_eq!(loyalty.tier(&tenant, &c7), Some("silver"));
    let EventBody::SessionClosed(report) = EventBody::from_bytes(&t.log.last().unwrap().1).unwrap()
    else {
        unreachable!("the last event closes the session")
    };
    assert_eq!(report.variance, usd(-25));
    assert_eq!(
        report.expected,
        usd(20_000).checked_add(gross).unwrap().checked_sub(usd(356)).unwrap()
    );
}

/// The sketch given to the quickstart: the same store day in the fewest lines.
#[test]
fn store_day_sketch() -> Result<()> {
    let usd = |m| Money::from_minor(m, Currency::USD);
    let table = TaxTable::new()
        .with("general", vec![TaxRate::new("state", 62_500)?, TaxRate::new("city", 25_000)?])?
        .with("food", vec![TaxRate::new("state", 20_000)?])?;
    let engine = TaxEngine::new(table, TaxPolicy::default()); // exclusive, per line, half-up
    let (tenant, branch) = (TenantId::new("acme")?, BranchId::new("store-1")?);
    let (mut session, opened) =
        PosSession::open(SessionId::new("D-1")?, AgentId::new("cashier-1")?, usd(20_000))?;
    let mut log = vec![opened];
    let mut cart = Cart::new(Currency::USD);
    cart.add(Product::new("MUG", "Mug", "home", usd(1299), "general")?, 2)?;
    cart.add(Product::new("BREAD", "Bread", "bakery", usd(349), "food")?, 3)?;
    cart.set_cart_discount(Some(Discount::Percent(1_000)))?; // 10 % off, allocated to lines
    let priced = cart.totals(&engine)?;
    let customer = Some(CustomerId::new("C-7")?);
    let (mut sale, started) =
        Sale::initiate(SaleId::new("S-1")?, branch.clone(), &priced, customer)?;
    log.push(started);
    log.extend(sale.pay_and_complete(Tender::Cash)?);
    log.extend(sale.refund(
        RefundId::new("R-1")?,
        &[(Sku::new("BREAD")?, 1)],
        Tender::Cash,
        "stale",
    )?);
    for e in &log {
        session.observe(e)?;
    }
    log.push(session.close(usd(23_200))?); // SESSION_CLOSED: expected vs counted, variance
    let day = BusinessDay::from_ymd(2026, 11, 25)?;
    let ctx = ProjectionContext::new(tenant, branch, day);
    let mut summary = SalesSummary::new();
    for e in &log {
        println!("{:<24} {:?}", e.event_type.name(), e.amount);
        summary.apply(&ctx, &e.body)?;
    }
    for (key, row) in summary.rows() {
        println!("{} {} {}: {row}", key.branch, key.day, key.currency);
    }
    let (_, row) = summary.rows().next().expect("one row");
    assert_eq!((row.sales_count, row.refund_count), (1, 1));
    let EventBody::SessionClosed(report) = &log.last().expect("closed").body else {
        unreachable!("the session was closed last")
    };
    println!(
        "expected {} counted {} variance {}",
        report.expected, report.counted, report.variance
    );
    assert_eq!(report.variance, report.counted.checked_sub(report.expected)?);
    Ok(())
}
