//! The hash chain: each row's hash covers the previous row's hash and the row itself.
//!
//! `row_hash = SHA-256("dcs.row1" ‖ prev_hash ‖ position ‖ stream_version ‖ len ‖ stream_id ‖ event)`
//! with integers as 8-byte big-endian and `event` the event's full postcard encoding (which
//! includes its canonical metadata, envelope, MAC and signature). Editing, deleting,
//! inserting or reordering rows breaks the chain at the first row touched.

use sha2::{Digest, Sha256};

/// A SHA-256 hash of a row.
pub type RowHash = [u8; 32];

/// The `prev_hash` of the first row.
pub const GENESIS: RowHash = [0; 32];

/// Hashes one row given the hash of the row before it.
pub fn row_hash(
    prev: &RowHash,
    position: u64,
    stream_id: &str,
    stream_version: u64,
    event_bytes: &[u8],
) -> RowHash {
    let mut h = Sha256::new();
    h.update(b"dcs.row1");
    h.update(prev);
    h.update(position.to_be_bytes());
    h.update(stream_version.to_be_bytes());
    h.update((stream_id.len() as u64).to_be_bytes());
    h.update(stream_id.as_bytes());
    h.update(event_bytes);
    h.finalize().into()
}
