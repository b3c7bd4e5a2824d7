//! The backend-independent API: the `EventStore` trait and the types it speaks.

use std::future::Future;

use dcs_core::SovereignFinancialEvent;

use crate::error::{Result, StoreError};

/// Longest accepted stream id, in bytes.
pub const MAX_STREAM_ID_LEN: usize = 128;

/// The id of an event stream (one aggregate: a sale, a session, a SKU's stock).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(String);

impl StreamId {
    /// Validates a stream id: 1 to 128 bytes without control characters.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        if id.is_empty() || id.len() > MAX_STREAM_ID_LEN || id.chars().any(char::is_control) {
            return Err(StoreError::Invalid {
                field: "stream_id",
                reason: format!(
                    "must be 1 to {MAX_STREAM_ID_LEN} bytes without control characters"
                ),
            });
        }
        Ok(StreamId(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the caller believes the stream's version is before appending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Append whatever the version (no concurrency check).
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must be exactly at this version (its number of events).
    Exact(u64),
}

impl std::fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any version"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::Exact(v) => write!(f, "version {v}"),
        }
    }
}

/// What an append wrote (or, for an idempotent retry, what the original append wrote).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    /// Global position of the first event of the batch.
    pub first_position: u64,
    /// Global position of the last event of the batch.
    pub last_position: u64,
    /// The stream's version after the batch.
    pub stream_version: u64,
    /// True when this call was a retry and wrote nothing.
    pub deduplicated: bool,
}

/// One stored event with where it sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Global, gap-free position in the store (starts at 1).
    pub position: u64,
    /// The stream it belongs to.
    pub stream_id: StreamId,
    /// Its version within the stream (starts at 1).
    pub stream_version: u64,
    /// The event.
    pub event: SovereignFinancialEvent,
}

/// A saved aggregate snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The stream it summarises.
    pub stream_id: StreamId,
    /// The stream version it was taken at.
    pub stream_version: u64,
    /// Opaque state bytes (the aggregate's own encoding).
    pub state: Vec<u8>,
}

/// A snapshot written with an append, in the append's own transaction (a crash keeps both or
/// neither).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotWith {
    /// The stream it summarises (the appended stream or another, e.g. a sale's session).
    pub stream_id: StreamId,
    /// The version it is taken at.
    pub version: SnapshotVersion,
    /// Opaque state bytes (the aggregate's own encoding).
    pub state: Vec<u8>,
}

/// Which stream version a [`SnapshotWith`] is taken at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotVersion {
    /// The appended stream's version once the append is in.
    OfTheAppend,
    /// This version (of another stream the append leaves as it is).
    Fixed(u64),
}

/// An append-only, idempotent event store with optimistic concurrency.
///
/// Backends: SQLite for the Local Agent ([`crate::sqlite::SqliteStore`]), PostgreSQL for the
/// regional tier. The futures are `Send` so the daemons can drive either on tokio; the
/// SQLite backend completes them immediately.
pub trait EventStore {
    /// Appends `events` to `stream` in one transaction if the stream is at `expected`.
    ///
    /// All or nothing. An exact retry (the same events, by id, to the same stream, whose
    /// keys one earlier append used) returns that append's result with `deduplicated: true`
    /// and writes nothing. A key already used by a different event, or the same events sent
    /// to another stream, is [`StoreError::IdempotencyKeyReused`]; some but not all keys of
    /// one earlier append is [`StoreError::IdempotencyMismatch`].
    fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[SovereignFinancialEvent],
    ) -> impl Future<Output = Result<AppendResult>> + Send;

    /// Reads up to `limit` events of `stream` with version ≥ `from_version`.
    fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>>> + Send;

    /// Reads up to `limit` events with global position ≥ `from_position`, in order.
    fn read_all(
        &self,
        from_position: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>>> + Send;

    /// The current version of `stream` (0 when it does not exist).
    fn stream_version(&self, stream: &StreamId) -> impl Future<Output = Result<u64>> + Send;

    /// The highest global position written (0 when empty).
    fn head_position(&self) -> impl Future<Output = Result<u64>> + Send;

    /// Saves (replaces) the snapshot of a stream.
    fn save_snapshot(&self, snapshot: &Snapshot) -> impl Future<Output = Result<()>> + Send;

    /// Loads the latest snapshot of a stream.
    fn load_snapshot(
        &self,
        stream: &StreamId,
    ) -> impl Future<Output = Result<Option<Snapshot>>> + Send;
}
