//! The error type of dcs-store.

use dcs_core::CoreError;

/// Everything that can go wrong appending to or reading from an event store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The stream moved on since the caller read it (optimistic concurrency).
    #[error(
        "version conflict on stream {stream:?}: expected {expected}, but the stream is at version {current}; re-read the stream and retry"
    )]
    Conflict {
        /// The stream appended to.
        stream: String,
        /// What the caller expected.
        expected: String,
        /// The stream's current version (0 when it does not exist).
        current: u64,
    },
    /// Some, but not all, idempotency keys of a batch were used by an earlier append.
    #[error(
        "idempotency key {key:?} was already used by another append; a batch must be entirely new or an exact retry"
    )]
    IdempotencyMismatch {
        /// The key that collided.
        key: String,
    },
    /// An idempotency key already names another append: other events, or another stream.
    ///
    /// A retry must resend exactly the same events to the same stream; a new operation
    /// needs a new key. Nothing was written.
    #[error(
        "idempotency key {key:?} already names another append ({reason}); nothing was written: to retry, resend exactly the same events to the same stream; for a new operation, use a new key"
    )]
    IdempotencyKeyReused {
        /// The key that was reused.
        key: String,
        /// What differs from the append that holds the key.
        reason: String,
    },
    /// The same event id is already stored under another append.
    #[error("event {0} is already stored by another append")]
    DuplicateEvent(String),
    /// An argument was invalid (empty batch, bad stream id, ...).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Which argument.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A stored row does not match its hash: the database was edited outside DCS.
    #[error("tamper or corruption detected at position {position}: {reason}")]
    Tampered {
        /// Global position of the first bad row.
        position: u64,
        /// What does not match.
        reason: String,
    },
    /// The file is not a DCS event store (or was made by a newer version).
    #[error("{path} is not a DCS event store: {reason}; nothing was changed")]
    NotAStore {
        /// The path opened.
        path: String,
        /// Why it was refused.
        reason: String,
    },
    /// The database file is corrupt or truncated.
    #[error(
        "the event store database is corrupt or truncated: {0}; restore it from a backup or the region"
    )]
    Corrupt(String),
    /// The disk is full: the append was rolled back and nothing was written.
    #[error("disk full: the append was rolled back and nothing was written; free space and retry")]
    DiskFull,
    /// The filesystem of the store's file is read-only (remounted so by the kernel after a
    /// disk error, or mounted so): nothing was written.
    #[error(
        "the filesystem holding {path} is read-only (the kernel remounts it so after a disk error): nothing was written; check the disk, repair and remount the filesystem read-write, then restart"
    )]
    ReadOnlyFilesystem {
        /// The store's file.
        path: String,
    },
    /// Reading or writing the store's file failed at the operating system.
    #[error(
        "the disk failed a read or write of the event store: {0}; nothing was acknowledged; check the disk and the system log"
    )]
    Io(String),
    /// Another process holds the database lock.
    #[error("the event store is locked by another process (busy for longer than the timeout)")]
    Locked,
    /// A stored event no longer decodes or validates.
    #[error("stored event cannot be decoded: {0}")]
    Decode(#[from] CoreError),
    /// The store was opened read-only and a write was attempted.
    #[error(
        "the event store is open read-only: {operation} is refused and nothing was written; open it without read_only to write"
    )]
    ReadOnly {
        /// What was attempted.
        operation: &'static str,
    },
    /// An event of a batch failed verification (MAC or signature): nothing was written.
    #[error(
        "event {index} of the batch ({event_id}) fails verification: {source}; nothing was written: the event was altered or not sealed by a registered agent with this tenant's MAC key"
    )]
    Unverified {
        /// Its index in the batch (from 0).
        index: usize,
        /// Its event id.
        event_id: String,
        /// Why it failed.
        #[source]
        source: dcs_crypto::CryptoError,
    },
    /// A key, envelope, MAC or signature operation failed (kept as dcs-crypto's error).
    #[error("{0}")]
    Crypto(#[from] dcs_crypto::CryptoError),
    /// A forwarder's Raft term is older than its region's forward cursor: a newer leader
    /// forwards the region. Nothing was written.
    #[error(
        "region {region:?} is forwarded by a newer leader than this one (term {term} is stale); nothing was written: stop forwarding this region"
    )]
    StaleTerm {
        /// The region forwarded.
        region: String,
        /// The forwarder's (stale) term.
        term: u64,
    },
    /// The region's forward cursor is not where the forwarder said it resumes from
    /// (another forwarder, or an earlier attempt of this one, moved it). Nothing was written.
    #[error(
        "the forward cursor of region {region:?} is not at {expected}; nothing was written: re-read the cursor with forward_cursor and resume from it"
    )]
    CursorMoved {
        /// The region forwarded.
        region: String,
        /// The position the forwarder expected the cursor at.
        expected: u64,
    },
    /// Any other database error.
    #[error("database error: {0}")]
    Database(String),
}

/// Result alias for dcs-store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
