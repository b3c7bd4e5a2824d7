//! Hostile input: random bytes, mutated encodings and arbitrary field values never panic.

use dcs_core::SovereignFinancialEvent;
use dcs_proto::{MAX_MESSAGE_LEN, ProtoError, decode_event, encode_event, pb};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use crate::strategies::{event, proofs};

/// The top-level fields of the event message: every field path starts with one of them.
const FIELDS: &[&str] = &[
    "event_id",
    "correlation_id",
    "idempotency_key",
    "tenant_id",
    "branch_id",
    "agent_id",
    "event_type",
    "amount",
    "payload",
    "causality",
    "audit",
];

/// Checks that a conversion error (not a decode error) names a field of the message.
fn names_a_field(err: &ProtoError) -> bool {
    err.field().is_some_and(|f| FIELDS.iter().any(|top| f.split(['.', '[']).next() == Some(top)))
}

/// A string that is sometimes valid and often not (empty, long, spaces, control, unicode).
fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[A-Za-z0-9._:-]{1,8}", ".{0,80}", "[ -~]{0,140}", Just(String::new())]
}

/// Bytes of a length around 16.
fn id() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![vec(any::<u8>(), 0..=20), any::<[u8; 16]>().prop_map(|b| b.to_vec())]
}

/// An enum value: valid, zero, or anything.
fn enum_value() -> impl Strategy<Value = i32> {
    prop_oneof![0..=70, any::<i32>()]
}

fn money() -> impl Strategy<Value = pb::Money> {
    (any::<i64>(), prop_oneof!["[A-Z]{3}", text()], prop_oneof![0u32..=5, any::<u32>()]).prop_map(
        |(minor_units, currency_code, exponent)| pb::Money { minor_units, currency_code, exponent },
    )
}

fn causality() -> impl Strategy<Value = pb::CausalContext> {
    (
        option::of(
            (any::<u64>(), id()).prop_map(|(time, node)| pb::HybridLogicalClock { time, node }),
        ),
        vec(
            (text(), prop_oneof![Just(0u64), any::<u64>()])
                .prop_map(|(agent_id, counter)| pb::VectorClockEntry { agent_id, counter }),
            0..=4,
        ),
    )
        .prop_map(|(hlc, vector_clock)| pb::CausalContext { hlc, vector_clock })
}

fn audit() -> impl Strategy<Value = pb::Audit> {
    (
        text(),
        option::of(text()),
        vec(any::<u8>(), 0..=600),
        option::of((enum_value(), vec(any::<u8>(), 0..=600)))
            .prop_map(|s| s.map(|(algorithm, signature)| pb::Signature { algorithm, signature })),
    )
        .prop_map(|(created_by, approved_by, mac, signature)| pb::Audit {
            created_by,
            approved_by,
            mac,
            signature,
        })
}

fn payload() -> impl Strategy<Value = pb::SovereignPayload> {
    let proof = (text(), text(), vec(any::<u8>(), 0..=8), vec(any::<u8>(), 0..=8)).prop_map(
        |(proof_system, statement_id, public_inputs, proof)| pb::ComplianceProof {
            proof_system,
            statement_id,
            public_inputs,
            proof,
        },
    );
    (text(), any::<u32>(), vec(any::<u8>(), 0..=32), vec(proof, 0..=2)).prop_map(
        |(kek_id, kek_version, envelope, compliance_proofs)| pb::SovereignPayload {
            kek_id,
            kek_version,
            envelope,
            compliance_proofs,
        },
    )
}

/// A message whose every field is arbitrary.
fn message() -> impl Strategy<Value = pb::SovereignFinancialEvent> {
    (
        (id(), id(), text(), text(), text(), text(), enum_value()),
        (option::of(money()), option::of(payload()), option::of(causality()), option::of(audit())),
    )
        .prop_map(|(ids, parts)| pb::SovereignFinancialEvent {
            event_id: ids.0,
            correlation_id: ids.1,
            idempotency_key: ids.2,
            tenant_id: ids.3,
            branch_id: ids.4,
            agent_id: ids.5,
            event_type: ids.6,
            amount: parts.0,
            payload: parts.1,
            causality: parts.2,
            audit: parts.3,
        })
}

/// Replaces one field of a valid message by an arbitrary value (index `which` mod 11).
fn mutate(
    mut valid: pb::SovereignFinancialEvent,
    wild: pb::SovereignFinancialEvent,
    which: usize,
) -> pb::SovereignFinancialEvent {
    match which % FIELDS.len() {
        0 => valid.event_id = wild.event_id,
        1 => valid.correlation_id = wild.correlation_id,
        2 => valid.idempotency_key = wild.idempotency_key,
        3 => valid.tenant_id = wild.tenant_id,
        4 => valid.branch_id = wild.branch_id,
        5 => valid.agent_id = wild.agent_id,
        6 => valid.event_type = wild.event_type,
        7 => valid.amount = wild.amount,
        8 => valid.payload = wild.payload,
        9 => valid.causality = wild.causality,
        _ => valid.audit = wild.audit,
    }
    valid
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..=1024)) {
        // Ok or Err, never a panic; a conversion error names a field.
        if let Err(err) = decode_event(&bytes) {
            prop_assert!(err.field().is_none_or(|_| names_a_field(&err)), "{err}");
        }
    }

    #[test]
    fn mutated_encodings_never_panic(
        e in event(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..=8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = encode_event(&e);
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let _ = decode_event(&bytes);
        let _ = decode_event(&bytes[..cut.index(bytes.len() + 1)]);
    }

    #[test]
    fn arbitrary_fields_never_panic_and_errors_name_a_field(m in message()) {
        if let Err(err) = SovereignFinancialEvent::try_from(m) {
            prop_assert!(names_a_field(&err), "{err}");
        }
    }

    #[test]
    fn one_bad_field_is_the_one_named(e in event(), wild in message(), which in 0usize..11, proofs in proofs()) {
        let mut valid = pb::SovereignFinancialEvent::from(&e);
        if let Some(p) = valid.payload.as_mut() {
            p.compliance_proofs = proofs;
        }
        let m = mutate(valid, wild, which);
        if let Err(err) = SovereignFinancialEvent::try_from(m) {
            let named = err.field().unwrap_or_default().to_owned();
            let field = FIELDS[which];
            // The vector clock must count the event's agent: a new agent_id can fail there.
            let expected = named.starts_with(field)
                || (field == "agent_id" && named == "causality.vector_clock");
            prop_assert!(expected, "changed {field}, error names {named}: {err}");
        }
    }
}

#[test]
fn oversized_input_is_rejected_before_decoding() {
    let bytes = vec![0u8; MAX_MESSAGE_LEN + 1];
    let err = decode_event(&bytes).unwrap_err();
    assert_eq!(err, ProtoError::TooLarge { len: MAX_MESSAGE_LEN + 1, max: MAX_MESSAGE_LEN });
    assert!(err.to_string().contains("maximum"), "{err}");
}

#[test]
fn malformed_wire_data_is_a_decode_error() {
    // Field 1 (event_id) as length-delimited with a length past the end.
    let err = decode_event(&[0x0a, 0x7f, 1, 2]).unwrap_err();
    assert!(matches!(err, ProtoError::Decode(_)), "{err:?}");
    assert!(err.to_string().starts_with("message: not a valid protobuf encoding"), "{err}");
}
