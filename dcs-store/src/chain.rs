//! The hash chain: each row's hash covers the previous row's hash and the row itself.
//!
//! `row_hash = SHA-256("dcs.row1" ‖ prev_hash ‖ position ‖ stream_version ‖ batch_first ‖ batch_last ‖ len ‖ stream_id ‖ event)`
//! with integers as 8-byte big-endian and `event` the event's full postcard encoding (which
//! includes its canonical metadata, envelope, MAC and signature). Editing, deleting,
//! inserting or reordering rows breaks the chain at the first row touched.

use sha2::{Digest, Sha256};

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
