//! The builder validates every field and names the one that is wrong.
#![allow(clippy::unwrap_used)]

mod common;

use dcs_core::causality::HlcTimestamp;
use dcs_core::*;

fn full() -> EventBuilder {
    let e = common::sample_event();
    EventBuilder::new()
        .event_id(e.event_id())
        .idempotency_key(e.idempotency_key().clone())
        .tenant_id(e.tenant_id().clone())
        .branch_id(e.branch_id().clone())
        .agent_id(e.agent_id().clone())
        .event_type(e.event_type())
        .amount(e.amount())
        .kek("acme/kek", 1)
        .causality(e.causality().clone())
        .created_by(e.audit().created_by.clone())
}

#[test]
fn a_complete_builder_builds_and_defaults_correlation_to_event_id() {
    let e = full().build().unwrap();
    assert_eq!(e.correlation_id(), CorrelationId::from_event(e.event_id()));
    assert!(e.payload().envelope.is_empty());
}

#[test]
fn missing_fields_are_named() {
    let err = EventBuilder::new().build().unwrap_err();
    assert_eq!(err, CoreError::MissingField("event_id"));
    let err = full().kek("", 1).build().unwrap_err();
    assert!(err.to_string().contains("payload.kek_id"), "{err}");
}

#[test]
fn the_vector_clock_must_count_the_event() {
    let e = common::sample_event();
    let ctx = CausalContext { hlc: e.causality().hlc, vector_clock: VectorClock::new() };
    let err = full().causality(ctx).build().unwrap_err();
    assert!(err.to_string().contains("causality.vector_clock"), "{err}");
}

#[test]
fn zero_hlc_is_refused() {
    let e = common::sample_event();
    let ctx = CausalContext {
        hlc: HlcTimestamp { time: 0, node: [1; 16] },
        vector_clock: e.causality().vector_clock.clone(),
    };
    let err = full().causality(ctx).build().unwrap_err();
    assert!(err.to_string().contains("causality.hlc"), "{err}");
}

#[test]
fn oversized_proofs_and_envelopes_are_refused() {
    let err = full().mac(vec![0; 513]).build().unwrap_err();
    assert!(err.to_string().contains("audit.mac"), "{err}");
    let mut e = full().build().unwrap();
    let err = e.set_envelope(vec![0; event::MAX_ENVELOPE_LEN + 1]).unwrap_err();
    assert!(err.to_string().contains("payload.envelope"), "{err}");
}

#[test]
fn stored_bytes_round_trip_and_refuse_trailing_bytes() {
    let e = common::sample_event();
    let bytes = e.to_bytes();
    assert_eq!(SovereignFinancialEvent::from_bytes(&bytes).unwrap(), e);
    // One event, one encoding: `b + b"junk"` decoded before this fix.
    let mut junk = bytes.clone();
    junk.extend_from_slice(b"junk");
    let err = SovereignFinancialEvent::from_bytes(&junk).unwrap_err();
    assert!(err.to_string().contains("4 trailing bytes"), "{err}");
    assert!(SovereignFinancialEvent::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    assert!(SovereignFinancialEvent::from_bytes(&[]).is_err());
    let huge = vec![0u8; event::MAX_EVENT_BYTES + 1];
    let err = SovereignFinancialEvent::from_bytes(&huge).unwrap_err();
    assert!(err.to_string().contains("maximum"), "{err}");
}
