//! Versioned, canonical byte encoding of states and deltas.
//!
//! Layout: one format-version byte ([`FORMAT_VERSION`]) then the postcard encoding of the value.
//! Every type stores its contents in ordered collections, so equal states give equal bytes.

use alloc::vec::Vec;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Crdt, CrdtError};

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;

/// Largest input [`decode_state`] and [`decode_delta`] accept: 64 MiB.
///
/// Decoding never allocates more than a small multiple of the input length (postcard reads
/// from the slice and serde caps pre-allocation from length prefixes at 1 MiB), so this also
/// bounds the memory a hostile input can make the decoder use.
pub const MAX_INPUT_LEN: usize = 64 * 1024 * 1024;

/// Encodes a state or a delta as the version byte followed by its postcard bytes.
///
/// # Errors
/// [`CrdtError::Encode`] when an element's `Serialize` implementation fails.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CrdtError> {
    let mut out = Vec::with_capacity(64);
    out.push(FORMAT_VERSION);
    postcard::to_extend(value, out).map_err(CrdtError::Encode)
}

/// Decodes and validates a full state written by [`encode`].
///
/// # Errors
/// A [`CrdtError`] when the input is too long, has another version, is malformed, has trailing
/// bytes, or breaks the type's invariants. Never panics.
pub fn decode_state<C: Crdt + DeserializeOwned>(bytes: &[u8]) -> Result<C, CrdtError> {
    let state: C = decode_value(bytes)?;
    state.validate()?;
    Ok(state)
}

/// Decodes and validates a delta written by [`encode`].
///
/// # Errors
/// As [`decode_state`].
pub fn decode_delta<C>(bytes: &[u8]) -> Result<C::Delta, CrdtError>
where
    C: Crdt,
    C::Delta: DeserializeOwned,
{
    let delta: C::Delta = decode_value(bytes)?;
    C::validate_delta(&delta)?;
    Ok(delta)
}

/// Checks length and version, then decodes one value and refuses leftovers.
fn decode_value<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CrdtError> {
    if bytes.len() > MAX_INPUT_LEN {
        return Err(CrdtError::InputTooLong { len: bytes.len(), max: MAX_INPUT_LEN });
    }
    let (&version, payload) = bytes.split_first().ok_or(CrdtError::EmptyInput)?;
    if version != FORMAT_VERSION {
        return Err(CrdtError::UnsupportedVersion { found: version, supported: FORMAT_VERSION });
    }
    let (value, rest) = postcard::take_from_bytes(payload).map_err(CrdtError::Malformed)?;
    if rest.is_empty() { Ok(value) } else { Err(CrdtError::TrailingBytes { extra: rest.len() }) }
}
