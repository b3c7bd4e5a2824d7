//! The hash chain: each row's hash covers the previous row's hash and the row itself.
//!
//! Unkeyed: `row_hash = SHA-256("dcs.row1" ‖ prev_hash ‖ position ‖ stream_version ‖ batch_first ‖ batch_last ‖ len ‖ stream_id ‖ event)`
//! with integers as 8-byte big-endian and `event` the event's full postcard encoding (which
//! includes its canonical metadata, envelope, MAC and signature). Editing, deleting,
//! inserting or reordering rows breaks the chain at the first row touched, but anyone who
//! knows this format can recompute it after an edit.
//!
//! Keyed ([`Chain::Keyed`]): the same fields under `HMAC-SHA256(chain key, "dcs.row2" ‖ …)`,
//! the chain key derived from the tenant's MAC key and the store's id
//! (`dcs_crypto::MacKey::derive_chain_key`) and never stored in the file: recomputing the
//! chain after an edit needs that key.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// How a store links its rows.
#[derive(Clone)]
pub enum Chain {
    /// SHA-256: finds accidental damage and edits by anyone who does not recompute it.
    Unkeyed,
    /// HMAC-SHA256 under a key the file does not contain.
    Keyed(Zeroizing<[u8; 32]>),
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Chain::Unkeyed => "Chain::Unkeyed",
            Chain::Keyed(_) => "Chain::Keyed(<redacted>)",
        })
    }
}

impl Chain {
    /// The link of one row given the link of the row before it.
    pub fn link(&self, prev: &RowHash, place: &RowPlace<'_>, event_bytes: &[u8]) -> RowHash {
        match self {
            Chain::Unkeyed => row_hash(prev, place, event_bytes),
            Chain::Keyed(key) => row_mac(key, prev, place, event_bytes),
        }
    }
}

/// The keyed link: HMAC-SHA256 over the same fields as [`row_hash`], tagged `dcs.row2`.
pub fn row_mac(
    key: &[u8; 32],
    prev: &RowHash,
    place: &RowPlace<'_>,
    event_bytes: &[u8],
) -> RowHash {
    // A 32-byte key is always a valid HMAC key.
    let Ok(mut m) = <Hmac<Sha256> as Mac>::new_from_slice(key) else { return [0; 32] };
    m.update(b"dcs.row2");
    m.update(prev);
    m.update(&place.position.to_be_bytes());
    m.update(&place.stream_version.to_be_bytes());
    m.update(&place.batch_first.to_be_bytes());
    m.update(&place.batch_last.to_be_bytes());
    m.update(&(place.stream_id.len() as u64).to_be_bytes());
    m.update(place.stream_id.as_bytes());
    m.update(event_bytes);
    m.finalize().into_bytes().into()
}

/// A SHA-256 hash of a row.
pub type RowHash = [u8; 32];

/// The `prev_hash` of the first row.
pub const GENESIS: RowHash = [0; 32];

/// Where a row sits: what the hash covers besides the event bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowPlace<'a> {
    /// Global position.
    pub position: u64,
    /// Stream id.
    pub stream_id: &'a str,
    /// Version within the stream.
    pub stream_version: u64,
    /// Position of the first event of the append that wrote the row.
    pub batch_first: u64,
    /// Position of the last event of that append.
    pub batch_last: u64,
}

/// Hashes one row given the hash of the row before it.
pub fn row_hash(prev: &RowHash, place: &RowPlace<'_>, event_bytes: &[u8]) -> RowHash {
    let mut h = Sha256::new();
    h.update(b"dcs.row1");
    h.update(prev);
    h.update(place.position.to_be_bytes());
    h.update(place.stream_version.to_be_bytes());
    h.update(place.batch_first.to_be_bytes());
    h.update(place.batch_last.to_be_bytes());
    h.update((place.stream_id.len() as u64).to_be_bytes());
    h.update(place.stream_id.as_bytes());
    h.update(event_bytes);
    h.finalize().into()
}
