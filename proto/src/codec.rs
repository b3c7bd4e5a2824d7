//! Bytes to a core event and back, with the input size bounded before anything is decoded.

use prost::Message;

use crate::event::EventWithProofs;
use crate::limits::check_encoded_counts;
use crate::{ProtoError, pb};

/// Largest encoded event accepted by the decoders: 17 MiB, the 16 MiB envelope maximum of
/// dcs-core plus room for the metadata, vector clock and compliance proofs.
///
/// prost allocates no more for a bytes or string field than the input holds, and the
/// repeated fields are counted before decoding (see [`crate::MAX_VECTOR_CLOCK_ENTRIES`] and
/// [`crate::MAX_COMPLIANCE_PROOFS`]), so bounding the input bounds the memory of a decode.
pub const MAX_MESSAGE_LEN: usize = 17 * 1024 * 1024;

/// Decodes a `dcs.v1.SovereignFinancialEvent`, checking only its size and repeated-field
/// counts (no field validation: see [`decode_event`] for that).
pub fn decode_message(bytes: &[u8]) -> Result<pb::SovereignFinancialEvent, ProtoError> {
    if bytes.len() > MAX_MESSAGE_LEN {
        return Err(ProtoError::TooLarge { len: bytes.len(), max: MAX_MESSAGE_LEN });
    }
    check_encoded_counts(bytes)?;
    Ok(pb::SovereignFinancialEvent::decode(bytes)?)
}

/// Decodes and validates an event; the compliance proofs are checked and dropped.
pub fn decode_event(bytes: &[u8]) -> Result<dcs_core::SovereignFinancialEvent, ProtoError> {
    decode_message(bytes)?.try_into()
}

/// Decodes and validates an event, keeping its compliance proofs.
pub fn decode_event_with_proofs(bytes: &[u8]) -> Result<EventWithProofs, ProtoError> {
    decode_message(bytes)?.try_into()
}

/// Encodes a core event as a `dcs.v1.SovereignFinancialEvent` (with no compliance proofs).
pub fn encode_event(event: &dcs_core::SovereignFinancialEvent) -> Vec<u8> {
    pb::SovereignFinancialEvent::from(event).encode_to_vec()
}

/// Encodes a core event with its compliance proofs.
pub fn encode_event_with_proofs(event: &EventWithProofs) -> Vec<u8> {
    pb::SovereignFinancialEvent::from(event).encode_to_vec()
}
