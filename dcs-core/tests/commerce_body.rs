//! Event bodies: one per event type, stable encoding, safe decoding.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod commerce_common;

use commerce_common::*;
use dcs_core::commerce::body::*;
use dcs_core::commerce::*;
use dcs_core::*;
use proptest::prelude::*;

fn note() -> SagaNote {
    SagaNote { saga_id: "saga-1".into(), step: "reserve".into(), detail: String::new() }
}

fn agent(amount: Option<Money>) -> AgentNote {
    AgentNote { subject: "reorder".into(), detail: "buy 20".into(), amount }
}

/// One body of every event type.
fn every_body() -> Vec<EventBody> {
    let (mut sale, mut events) = completed_sale("S1", Some("C1"));
    events.extend(sale.refund(rid("R1"), &[(sku("MUG"), 1)], Tender::Cash, "").unwrap());
    events.extend(sale.reverse(rid("V1"), "").unwrap());
    let priced = cart().totals(&engine()).unwrap();
    let (mut other, _) =
        Sale::initiate(SaleId::new("S2").unwrap(), branch(), &priced, None).unwrap();
    events.push(other.authorize(Tender::Card, usd(100)).unwrap());
    events.push(other.fail_payment(Tender::Card, usd(100), "declined").unwrap());
    let (mut s, opened) =
        PosSession::open(SessionId::new("D1").unwrap(), AgentId::new("c1").unwrap(), usd(100))
            .unwrap();
    events.push(opened);
    events.push(s.payout("PO1", usd(10), "coffee").unwrap());
    events.push(s.close(usd(90)).unwrap());
    let mut bodies: Vec<EventBody> = events.into_iter().map(|e| e.body).collect();
    let day = BusinessDay::from_ymd(2026, 11, 25).unwrap();
    let movement = StockMovement { branch: branch(), sku: sku("MUG"), quantity: 5 };
    let transfer = StockTransfer {
        branch: branch(),
        counterparty: BranchId::new("store-2").unwrap(),
        sku: sku("MUG"),
        quantity: 2,
    };
    bodies.extend([
        EventBody::InventoryReceived(movement.clone()),
        EventBody::InventoryTransferredOut(transfer.clone()),
        EventBody::InventoryTransferredIn(transfer),
        EventBody::InventoryAdjusted(StockAdjustment {
            branch: branch(),
            sku: sku("MUG"),
            delta: -1,
            reason: "broken".into(),
        }),
        EventBody::LowStockAlert(LowStock {
            branch: branch(),
            sku: sku("MUG"),
            on_hand: 1,
            threshold: 3,
        }),
        EventBody::EndOfDayReconciliation(DayReconciliation {
            day,
            expected: usd(100),
            counted: usd(90),
            variance: usd(-10),
        }),
        EventBody::PeriodClosed(PeriodClose { period: "2026-11".into(), through: day }),
        EventBody::SagaInitiated(note()),
        EventBody::SagaStepCompleted(note()),
        EventBody::SagaCompensationTriggered(note()),
        EventBody::SagaCompleted(note()),
        EventBody::SagaFailed(note()),
        EventBody::AgentDecisionMade(agent(Some(usd(5)))),
        EventBody::AgentActionExecuted(agent(None)),
        EventBody::AgentLearningUpdated(agent(None)),
    ]);
    bodies
}

#[test]
fn every_event_type_has_a_body_that_round_trips() {
    let bodies = every_body();
    for t in EventType::ALL {
        assert!(bodies.iter().any(|b| b.event_type() == *t), "no body for {t}");
    }
    for b in &bodies {
        let bytes = b.to_bytes().unwrap();
        assert_eq!(bytes[0], BODY_FORMAT_VERSION);
        assert_eq!(&EventBody::from_bytes(&bytes).unwrap(), b);
        let ev = DomainEvent::new(b.clone());
        assert_eq!(ev.event_type, b.event_type());
        assert_eq!(ev.plaintext().unwrap(), bytes);
    }
}

#[test]
fn amounts_are_visible_only_for_money_facts() {
    for b in every_body() {
        let monetary = !matches!(b.event_type().flow(), EventFlow::Inventory | EventFlow::Saga)
            && b.event_type() != EventType::PeriodClosed;
        if b.event_type().flow() != EventFlow::Agent {
            assert_eq!(b.amount().is_some(), monetary, "{}", b.event_type());
        }
    }
}

#[test]
fn decoding_rejects_bad_input() {
    let good = EventBody::SagaCompleted(note()).to_bytes().unwrap();
    assert!(matches!(EventBody::from_bytes(&[]), Err(CoreError::Decode { .. })));
    let mut wrong_version = good.clone();
    wrong_version[0] = 2;
    assert!(matches!(EventBody::from_bytes(&wrong_version), Err(CoreError::Decode { .. })));
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(EventBody::from_bytes(&trailing).is_err());
    assert!(EventBody::from_bytes(&good[..good.len() - 1]).is_err());
    // A SKU with a space is refused on decoding, as by Sku::new.
    let movement = StockMovement { branch: branch(), sku: sku("AB"), quantity: 1 };
    let mut bytes = EventBody::InventoryReceived(movement).to_bytes().unwrap();
    let pos = bytes.windows(2).position(|w| w == b"AB").unwrap();
    bytes[pos] = b' ';
    assert!(EventBody::from_bytes(&bytes).is_err());
}

#[test]
fn domain_event_fills_the_builder() {
    let received = DomainEvent::new(EventBody::InventoryReceived(StockMovement {
        branch: branch(),
        sku: sku("MUG"),
        quantity: 1,
    }));
    assert_eq!(received.visible_amount(Currency::EUR), Money::zero(Currency::EUR));
    let err = received.fill(EventBuilder::new(), Currency::EUR).build().unwrap_err();
    assert!(!matches!(
        err,
        CoreError::MissingField("event_type") | CoreError::MissingField("amount")
    ));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = EventBody::from_bytes(&bytes);
        let mut versioned = vec![BODY_FORMAT_VERSION];
        versioned.extend_from_slice(&bytes);
        let _ = EventBody::from_bytes(&versioned);
    }

    #[test]
    fn mutated_bodies_never_panic(i in 0usize..64, pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let bodies = every_body();
        let mut bytes = bodies[i % bodies.len()].to_bytes().unwrap();
        let at = pos.index(bytes.len());
        bytes[at] = byte;
        if let Ok(b) = EventBody::from_bytes(&bytes) {
            prop_assert_eq!(EventBody::from_bytes(&b.to_bytes().unwrap()).unwrap(), b);
        }
    }
}
