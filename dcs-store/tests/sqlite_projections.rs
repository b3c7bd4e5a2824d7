//! Projections kept in the append transaction equal a rebuild from the log, and follow
//! the inventory law received − sold − out + in + adjusted.
#![allow(clippy::unwrap_used)]

use dcs_core::causality::HlcTimestamp;
use dcs_core::commerce::body::{StockAdjustment, StockMovement, StockTransfer};
use dcs_core::commerce::*;
use dcs_core::projection::LoyaltyProgram;
use dcs_core::*;
use dcs_store::Projector;
use dcs_store::sqlite::SqliteStore;
use dcs_store::{ExpectedVersion, StoreError, StreamId};
use proptest::prelude::*;

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

fn projector() -> Projector {
    Projector {
        utc_offset_minutes: -300,
        loyalty: Some(LoyaltyProgram::new(usd(100), 1, &[("silver", 10)]).unwrap()),
    }
}

/// Wraps a domain event into a sovereign event; the envelope holds the plaintext (this
/// test is about projections, not crypto).
fn seal(n: u64, ev: &DomainEvent) -> (SovereignFinancialEvent, EventBody) {
    let agent = AgentId::new("pos-1").unwrap();
    let hlc = HlcTimestamp { time: (1_795_615_200u64 + n * 600) << 32, node: [1; 16] };
    let event = ev
        .fill(EventBuilder::new(), Currency::USD)
        .event_id(EventId::new_v7(hlc.unix_ms(), [n as u8; 10]))
        .idempotency_key(IdempotencyKey::new(format!("k-{n}")).unwrap())
        .tenant_id(TenantId::new("acme").unwrap())
        .branch_id(BranchId::new("store-1").unwrap())
        .agent_id(agent.clone())
        .kek("acme/kek", 1)
        .envelope(ev.plaintext().unwrap())
        .causality(CausalContext {
            hlc,
            vector_clock: [(agent.clone(), n + 1)].into_iter().collect(),
        })
        .created_by(agent)
        .build()
        .unwrap();
    (event, ev.body.clone())
}

fn a_sale(id: &str) -> Vec<DomainEvent> {
    let table = TaxTable::new()
        .with(
            "general",
            vec![TaxRate::new("state", 62_500).unwrap(), TaxRate::new("city", 25_000).unwrap()],
        )
        .unwrap();
    let engine = TaxEngine::new(table, TaxPolicy::default());
    let mut cart = Cart::new(Currency::USD);
    cart.add(Product::new("MUG", "Mug", "misc", usd(1299), "general").unwrap(), 2).unwrap();
    let priced = cart.totals(&engine).unwrap();
    let branch = BranchId::new("store-1").unwrap();
    let customer = Some(CustomerId::new("C-1").unwrap());
    let (mut sale, started) =
        Sale::initiate(SaleId::new(id).unwrap(), branch, &priced, customer).unwrap();
    let mut events = vec![started, sale.capture(Tender::Cash, priced.totals.total).unwrap()];
    events.extend(sale.complete().unwrap());
    events.extend(
        sale.refund(
            RefundId::new(format!("R-{id}")).unwrap(),
            &[(Sku::new("MUG").unwrap(), 1)],
            Tender::Cash,
            "broken",
        )
        .unwrap(),
    );
    events
}

fn movement(kind: u8, sku: u8, qty: u32) -> DomainEvent {
    let branch = BranchId::new("store-1").unwrap();
    let sku = Sku::new(format!("SKU-{sku}")).unwrap();
    let other = BranchId::new("store-2").unwrap();
    let m = StockMovement { branch: branch.clone(), sku: sku.clone(), quantity: qty };
    let t = StockTransfer {
        branch: branch.clone(),
        counterparty: other,
        sku: sku.clone(),
        quantity: qty,
    };
    DomainEvent::new(match kind % 5 {
        0 => EventBody::InventoryReceived(m),
        1 => EventBody::InventorySold(m),
        2 => EventBody::InventoryTransferredOut(t),
        3 => EventBody::InventoryTransferredIn(t),
        _ => EventBody::InventoryAdjusted(StockAdjustment {
            branch,
            sku,
            delta: i64::from(qty) - 5,
            reason: "count".into(),
        }),
    })
}

fn open_body(e: &SovereignFinancialEvent) -> dcs_store::Result<dcs_store::Opened> {
    Ok(dcs_store::Opened::Body(EventBody::from_bytes(&e.payload().envelope)?))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn incremental_projections_equal_a_rebuild(
        moves in prop::collection::vec((0u8..5, 0u8..3, 1u32..20), 1..60),
        batch in 1usize..8,
        sales in 0usize..3,
    ) {
        let store = SqliteStore::open_in_memory().unwrap().with_projector(projector());
        let mut domain: Vec<DomainEvent> = moves.iter().map(|(k, s, q)| movement(*k, *s, *q)).collect();
        for i in 0..sales {
            domain.extend(a_sale(&format!("S-{i}")));
        }
        let sealed: Vec<_> = domain.iter().enumerate().map(|(n, d)| seal(n as u64, d)).collect();
        let stream = StreamId::new("day").unwrap();
        for chunk in sealed.chunks(batch) {
            let (events, bodies): (Vec<_>, Vec<_>) = chunk.iter().cloned().unzip();
            store.append_with_bodies(&stream, ExpectedVersion::Any, &events, &bodies).unwrap();
            // Retrying a batch changes nothing, in the log or in the projections.
            let before = store.projection_rows().unwrap();
            prop_assert!(store.append_with_bodies(&stream, ExpectedVersion::Any, &events, &bodies).unwrap().deduplicated);
            prop_assert_eq!(store.projection_rows().unwrap(), before);
        }
        let incremental = store.projection_rows().unwrap();
        let rebuilt = store.rebuild_projections(open_body).unwrap();
        prop_assert_eq!(&incremental, &rebuilt);
        prop_assert_eq!(store.projection_rows().unwrap(), rebuilt);
        // The inventory law, from the bodies themselves.
        for (key, level) in &incremental.inventory {
            let mut expect = 0i64;
            for (k, s, q) in &moves {
                if format!("SKU-{s}") != key.sku.as_str() { continue; }
                let q = i64::from(*q);
                expect += match k % 5 { 0 => q, 1 => -q, 2 => -q, 3 => q, _ => q - 5 };
            }
            if key.sku.as_str() == "MUG" { continue; }
            prop_assert_eq!(level.on_hand().unwrap(), expect);
        }
        if sales > 0 {
            prop_assert_eq!(incremental.sales[0].1.sales_count, sales as u64);
            prop_assert_eq!(incremental.loyalty.len(), 1);
        }
    }
}

#[test]
fn a_failing_projection_rolls_the_append_back() {
    let store = SqliteStore::open_in_memory().unwrap().with_projector(projector());
    let (event, _) = seal(1, &movement(0, 1, 3));
    let wrong_body = movement(1, 1, 3).body;
    let err = store
        .append_with_bodies(
            &StreamId::new("x").unwrap(),
            ExpectedVersion::Any,
            std::slice::from_ref(&event),
            &[wrong_body],
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "bodies", .. }), "{err:?}");
    assert_eq!(store.head_position_sync().unwrap(), 0);
    assert_eq!(store.projection_rows().unwrap(), Default::default());
    let err = store
        .append_with_bodies(&StreamId::new("x").unwrap(), ExpectedVersion::Any, &[event], &[])
        .map(|r| r.last_position);
    assert_eq!(err.unwrap(), 1, "events without bodies are stored, not projected");
    assert!(store.projection_rows().unwrap().inventory.is_empty());
}

/// Issue 16, defect 13: an offset of 100,000 minutes was accepted and failed only later.
#[test]
fn an_impossible_utc_offset_is_refused_up_front() {
    let err = dcs_store::Projector::new(100_000, None).unwrap_err();
    assert!(err.to_string().contains("utc_offset_minutes"), "{err}");
    assert!(dcs_store::Projector::new(-14 * 60, None).is_ok());
    assert!(dcs_store::Projector::new(14 * 60 + 1, None).is_err());
}
