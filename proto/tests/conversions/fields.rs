//! Each invalid field is named in the error, with what is wrong.

use dcs_core::{CoreError, EventType, Money, SovereignFinancialEvent};
use dcs_proto::{ProtoError, pb};

use crate::strategies::sample;

/// The sample event as a message, changed by `edit`, converted back.
fn convert(
    edit: impl FnOnce(&mut pb::SovereignFinancialEvent),
) -> Result<SovereignFinancialEvent, ProtoError> {
    let mut m = pb::SovereignFinancialEvent::from(&sample());
    edit(&mut m);
    SovereignFinancialEvent::try_from(m)
}

/// Converts with `edit` and checks the error's field and message start.
#[track_caller]
fn rejects(edit: impl FnOnce(&mut pb::SovereignFinancialEvent), field: &str, message: &str) {
    let err = convert(edit).expect_err("the edit makes the event invalid");
    assert_eq!(err.field(), Some(field), "{err}");
    assert!(
        err.to_string().starts_with(message),
        "expected {message:?}, got {:?}",
        err.to_string()
    );
}

fn payload(m: &mut pb::SovereignFinancialEvent) -> &mut pb::SovereignPayload {
    m.payload.as_mut().expect("sample has a payload")
}
fn causality(m: &mut pb::SovereignFinancialEvent) -> &mut pb::CausalContext {
    m.causality.as_mut().expect("sample has causality")
}
fn audit(m: &mut pb::SovereignFinancialEvent) -> &mut pb::Audit {
    m.audit.as_mut().expect("sample has an audit")
}
fn hlc(m: &mut pb::SovereignFinancialEvent) -> &mut pb::HybridLogicalClock {
    causality(m).hlc.as_mut().expect("sample has an hlc")
}
fn signature(m: &mut pb::SovereignFinancialEvent) -> &mut pb::Signature {
    audit(m).signature.as_mut().expect("sample is signed")
}

#[test]
fn identifiers() {
    rejects(|m| m.event_id.truncate(3), "event_id", "event_id: expected 16 bytes, got 3");
    rejects(|m| m.event_id[6] = 0x40, "event_id", "event_id: expected a UUID version 7");
    rejects(
        |m| m.correlation_id.clear(),
        "correlation_id",
        "correlation_id: expected 16 bytes, got 0",
    );
    rejects(|m| m.correlation_id = vec![0; 16], "correlation_id", "correlation_id: the nil UUID");
    rejects(
        |m| m.idempotency_key.clear(),
        "idempotency_key",
        "idempotency_key: must be 1 to 128 bytes",
    );
    rejects(
        |m| m.idempotency_key = "a\tb".into(),
        "idempotency_key",
        "idempotency_key: byte 1 is not printable",
    );
}

#[test]
fn context_names() {
    rejects(|m| m.tenant_id.clear(), "tenant_id", "tenant_id: must be 1 to 64 bytes long, got 0");
    rejects(
        |m| m.branch_id = "store 7".into(),
        "branch_id",
        "branch_id: character ' ' is not allowed",
    );
    rejects(
        |m| m.agent_id = "x".repeat(65),
        "agent_id",
        "agent_id: must be 1 to 64 bytes long, got 65",
    );
    // A valid agent that the vector clock does not count.
    rejects(
        |m| m.agent_id = "pos-2".into(),
        "causality.vector_clock",
        "causality.vector_clock: must count",
    );
}

#[test]
fn event_type() {
    rejects(|m| m.event_type = 0, "event_type", "event_type: EVENT_TYPE_UNSPECIFIED (0)");
    rejects(|m| m.event_type = 99, "event_type", "event_type: unknown event type code 99");
    rejects(|m| m.event_type = -1, "event_type", "event_type: unknown event type value -1");
    rejects(|m| m.event_type = 70_000, "event_type", "event_type: unknown event type value 70000");
    assert!(EventType::try_from(pb::EventType::Unspecified).is_err());
}

#[test]
fn amount() {
    rejects(|m| m.amount = None, "amount", "amount: missing");
    let money = |m: &mut pb::SovereignFinancialEvent| {
        m.amount.as_mut().expect("sample has an amount").clone()
    };
    rejects(
        |m| m.amount = Some(pb::Money { currency_code: "usd".into(), ..money(m) }),
        "amount.currency_code",
        "amount.currency_code: \"usd\" is not three uppercase ASCII letters",
    );
    rejects(
        |m| m.amount = Some(pb::Money { currency_code: "X".repeat(1000), ..money(m) }),
        "amount.currency_code",
        "amount.currency_code: a 1000-byte string is not three uppercase ASCII letters",
    );
    rejects(
        |m| m.amount = Some(pb::Money { exponent: 3, ..money(m) }),
        "amount.exponent",
        "amount.exponent: USD has ISO-4217 exponent 2, not 3",
    );
    rejects(
        |m| m.amount = Some(pb::Money { currency_code: "PTS".into(), exponent: 5, ..money(m) }),
        "amount.exponent",
        "amount.exponent: exponent 5 is larger than 4",
    );
    rejects(
        |m| m.amount = Some(pb::Money { exponent: 256, ..money(m) }),
        "amount.exponent",
        "amount.exponent: 256 is larger than 4",
    );
    // Standalone, the field is named relative to the Money message.
    let err = Money::try_from(pb::Money::default()).unwrap_err();
    assert_eq!(err.field(), Some("currency_code"));
}

#[test]
fn payload_fields() {
    rejects(|m| m.payload = None, "payload", "payload: missing");
    rejects(
        |m| payload(m).kek_id.clear(),
        "payload.kek_id",
        "payload.kek_id: must be 1 to 128 bytes",
    );
    rejects(|m| payload(m).kek_id = "k\u{7}".into(), "payload.kek_id", "payload.kek_id:");
    let proof = pb::ComplianceProof {
        proof_system: "groth16-bn254".into(),
        statement_id: "dcs.tax-computed/v1".into(),
        public_inputs: vec![1],
        proof: vec![2],
    };
    let with = |edit: fn(&mut pb::ComplianceProof)| {
        let mut p = proof.clone();
        edit(&mut p);
        let first = proof.clone();
        move |m: &mut pb::SovereignFinancialEvent| payload(m).compliance_proofs = vec![first, p]
    };
    assert!(convert(with(|_| {})).is_ok());
    rejects(
        with(|p| p.proof_system.clear()),
        "payload.compliance_proofs[1].proof_system",
        "payload.compliance_proofs[1].proof_system: must be 1 to 64 bytes of printable ASCII, got 0 bytes",
    );
    rejects(
        with(|p| p.statement_id = "é".into()),
        "payload.compliance_proofs[1].statement_id",
        "payload.compliance_proofs[1].statement_id: must be 1 to 128 bytes",
    );
    rejects(
        with(|p| p.proof.clear()),
        "payload.compliance_proofs[1].proof",
        "payload.compliance_proofs[1].proof: must not be empty",
    );
}

#[test]
fn envelope_over_16_mib() {
    let err = convert(|m| payload(m).envelope = vec![0; dcs_core::event::MAX_ENVELOPE_LEN + 1])
        .unwrap_err();
    assert_eq!(err.field(), Some("payload.envelope"), "{err}");
    assert!(
        matches!(err, ProtoError::Core { source: CoreError::InvalidField { .. }, .. }),
        "{err:?}"
    );
}

#[test]
fn causality_fields() {
    rejects(|m| m.causality = None, "causality", "causality: missing");
    rejects(|m| causality(m).hlc = None, "causality.hlc", "causality.hlc: missing");
    rejects(
        |m| hlc(m).node.truncate(3),
        "causality.hlc.node",
        "causality.hlc.node: expected 16 bytes, got 3",
    );
    rejects(
        |m| hlc(m).node = vec![0; 16],
        "causality.hlc.node",
        "causality.hlc.node: must not be all zeroes",
    );
    rejects(|m| hlc(m).time = 0, "causality.hlc.time", "causality.hlc.time: must not be zero");
    let entry =
        |agent_id: &str, counter| pb::VectorClockEntry { agent_id: agent_id.into(), counter };
    // The sample's clock holds one entry, for "pos-1"; each case appends a second one.
    for (agent_id, counter, field, message) in [
        ("bad agent", 1, "agent_id", "character ' ' is not allowed"),
        ("pos-0", 1, "agent_id", "\"pos-0\" does not come after \"pos-1\""),
        ("pos-1", 1, "agent_id", "\"pos-1\" does not come after \"pos-1\""),
        ("pos-2", 0, "counter", "must be at least 1"),
    ] {
        let field = format!("causality.vector_clock[1].{field}");
        rejects(
            |m| causality(m).vector_clock.push(entry(agent_id, counter)),
            &field,
            &format!("{field}: {message}"),
        );
    }
    rejects(
        |m| causality(m).vector_clock.clear(),
        "causality.vector_clock",
        "causality.vector_clock: must count",
    );
    assert!(convert(|m| causality(m).vector_clock.push(entry("pos-2", 1))).is_ok());
}

#[test]
fn audit_fields() {
    rejects(|m| m.audit = None, "audit", "audit: missing");
    rejects(
        |m| audit(m).created_by.clear(),
        "audit.created_by",
        "audit.created_by: must be 1 to 64 bytes",
    );
    rejects(
        |m| audit(m).approved_by = Some(String::new()),
        "audit.approved_by",
        "audit.approved_by: must be 1 to 64 bytes",
    );
    rejects(|m| audit(m).mac = vec![0; 513], "audit.mac", "audit.mac: 513 bytes is more than 512");
    rejects(
        |m| signature(m).signature = vec![0; 513],
        "audit.signature",
        "audit.signature: 513 bytes is more than 512",
    );
    rejects(
        |m| signature(m).algorithm = 0,
        "audit.signature.algorithm",
        "audit.signature.algorithm: SIGNATURE_ALGORITHM_UNSPECIFIED (0) is not an algorithm",
    );
    rejects(
        |m| signature(m).algorithm = 7,
        "audit.signature.algorithm",
        "audit.signature.algorithm: unknown signature algorithm 7",
    );
    // Absent approver and signature are fine.
    assert!(
        convert(|m| {
            audit(m).approved_by = None;
            audit(m).signature = None;
        })
        .is_ok()
    );
}

#[test]
fn core_errors_are_sources() {
    let err = convert(|m| m.tenant_id.clear()).unwrap_err();
    let source = std::error::Error::source(&err).map(ToString::to_string);
    assert_eq!(source.as_deref(), Some("invalid tenant_id: must be 1 to 64 bytes long, got 0"));
    // `at` prefixes nested paths and leaves whole-message errors alone.
    assert_eq!(ProtoError::TooLarge { len: 2, max: 1 }.at("x").field(), None);
}
