//! Bounds on the repeated fields, checked on the wire bytes before prost allocates them.
//!
//! prost never allocates more for a bytes or string field than the input holds, but a
//! repeated message field costs far more in memory than on the wire: an empty
//! `ComplianceProof` is 2 bytes encoded and about 100 bytes decoded. Counting the entries
//! of the two repeated fields first keeps a decode's memory near the input's size.

use crate::ProtoError;

/// Most entries accepted in `causality.vector_clock` (one per agent of a tenant).
pub const MAX_VECTOR_CLOCK_ENTRIES: usize = 65_536;
/// Most proofs accepted in `payload.compliance_proofs`.
pub const MAX_COMPLIANCE_PROOFS: usize = 1_024;

/// Field numbers in `SovereignFinancialEvent`, `SovereignPayload` and `CausalContext`.
const PAYLOAD: u64 = 9;
const CAUSALITY: u64 = 10;
const COMPLIANCE_PROOFS: u64 = 4;
const VECTOR_CLOCK: u64 = 2;

/// Checks the number of entries of both repeated fields in an in-memory message.
pub(crate) fn check_counts(proofs: usize, entries: usize) -> Result<(), ProtoError> {
    for (field, count, max) in [
        ("payload.compliance_proofs", proofs, MAX_COMPLIANCE_PROOFS),
        ("causality.vector_clock", entries, MAX_VECTOR_CLOCK_ENTRIES),
    ] {
        if count > max {
            return Err(ProtoError::invalid(
                field,
                format!("{count} entries is more than the maximum of {max}"),
            ));
        }
    }
    Ok(())
}

/// Counts the entries of both repeated fields in an encoded event, over every occurrence of
/// `payload` and `causality` (protobuf merges repeated occurrences of a message field).
///
/// The scan is lenient: where the bytes stop being well-formed it stops counting, and
/// prost's decode, which reads the same bytes in the same order, fails at that point too.
/// Group tags (never written by proto3) are stepped over, so fields inside a group count as
/// if outside: the count can only be too high, never too low.
pub(crate) fn check_encoded_counts(bytes: &[u8]) -> Result<(), ProtoError> {
    let (proofs, entries) = count_encoded(bytes);
    check_counts(proofs, entries)
}

/// The number of compliance proofs and of vector clock entries in an encoded event.
fn count_encoded(bytes: &[u8]) -> (usize, usize) {
    let (mut proofs, mut entries) = (0, 0);
    for_each_field(bytes, |field, body| match field {
        PAYLOAD => for_each_field(body, |f, _| proofs += usize::from(f == COMPLIANCE_PROOFS)),
        CAUSALITY => for_each_field(body, |f, _| entries += usize::from(f == VECTOR_CLOCK)),
        _ => {}
    });
    (proofs, entries)
}

/// Calls `f(field_number, body)` for each length-delimited field of a message.
fn for_each_field(mut bytes: &[u8], mut f: impl FnMut(u64, &[u8])) {
    while let Some(key) = varint(&mut bytes) {
        let skip = match key & 0x7 {
            0 => varint(&mut bytes).map(|_| 0),
            1 => Some(8),
            2 => varint(&mut bytes).and_then(|len| usize::try_from(len).ok()),
            3 | 4 => Some(0),
            5 => Some(4),
            _ => None,
        };
        let Some(skip) = skip else { return };
        let Some((body, rest)) = bytes.split_at_checked(skip) else { return };
        if key & 0x7 == 2 {
            f(key >> 3, body);
        }
        bytes = rest;
    }
}

/// Reads a base-128 varint; `None` at the end of input or on more than 10 bytes.
fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *bytes = &bytes[i + 1..];
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;
    use prost::Message;

    use super::*;
    use crate::pb;

    /// A message with `proofs` empty proofs and `entries` empty clock entries.
    fn message(proofs: usize, entries: usize) -> pb::SovereignFinancialEvent {
        pb::SovereignFinancialEvent {
            tenant_id: "acme".into(),
            payload: Some(pb::SovereignPayload {
                compliance_proofs: vec![pb::ComplianceProof::default(); proofs],
                ..Default::default()
            }),
            causality: Some(pb::CausalContext {
                hlc: Some(pb::HybridLogicalClock { time: 1, node: vec![1; 16] }),
                vector_clock: vec![pb::VectorClockEntry::default(); entries],
            }),
            ..Default::default()
        }
    }

    proptest! {
        #[test]
        fn counts_add_up_over_merged_occurrences(a in 0usize..20, b in 0usize..20, c in 0usize..20, d in 0usize..20) {
            // Concatenated encodings merge: the repeated fields are appended.
            let mut bytes = message(a, b).encode_to_vec();
            bytes.extend(message(c, d).encode_to_vec());
            let decoded = pb::SovereignFinancialEvent::decode(bytes.as_slice()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let counted = (
                decoded.payload.map_or(0, |p| p.compliance_proofs.len()),
                decoded.causality.map_or(0, |c| c.vector_clock.len()),
            );
            prop_assert_eq!(counted, (a + c, b + d));
            prop_assert_eq!(count_encoded(&bytes), counted);
        }

        #[test]
        fn never_counts_fewer_than_prost_decodes(
            n in 0usize..8,
            edits in vec((any::<prop::sample::Index>(), any::<u8>()), 0..=6),
        ) {
            let mut bytes = message(n, n).encode_to_vec();
            for (at, value) in edits {
                let i = at.index(bytes.len());
                bytes[i] = value;
            }
            if let Ok(decoded) = pb::SovereignFinancialEvent::decode(bytes.as_slice()) {
                let (proofs, entries) = count_encoded(&bytes);
                prop_assert!(proofs >= decoded.payload.map_or(0, |p| p.compliance_proofs.len()));
                prop_assert!(entries >= decoded.causality.map_or(0, |c| c.vector_clock.len()));
            }
        }
    }

    #[test]
    fn over_the_limits_is_rejected_before_decoding() {
        let err = crate::decode_message(&message(MAX_COMPLIANCE_PROOFS + 1, 0).encode_to_vec());
        assert_eq!(err.unwrap_err().field(), Some("payload.compliance_proofs"));
        let err = crate::decode_message(&message(0, MAX_VECTOR_CLOCK_ENTRIES + 1).encode_to_vec());
        let err = err.unwrap_err();
        assert_eq!(err.field(), Some("causality.vector_clock"));
        assert!(
            err.to_string().contains("65537 entries is more than the maximum of 65536"),
            "{err}"
        );
        // At the limits the counts pass (the message then fails on its empty fields).
        assert!(
            check_encoded_counts(
                &message(MAX_COMPLIANCE_PROOFS, MAX_VECTOR_CLOCK_ENTRIES).encode_to_vec()
            )
            .is_ok()
        );
        // The in-memory conversion applies the same limits.
        let err = crate::EventWithProofs::try_from(message(MAX_COMPLIANCE_PROOFS + 1, 0));
        assert_eq!(err.unwrap_err().field(), Some("payload.compliance_proofs"));
    }
}
