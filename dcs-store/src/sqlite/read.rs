//! Reads: by stream, by global position, and the heads. Every row's hash is checked first.

use dcs_core::SovereignFinancialEvent;
use rusqlite::{OptionalExtension, Row, params};

use super::{SqliteStore, map_err};
use crate::api::{StoredEvent, StreamId};
use crate::chain::{Chain, RowHash, RowPlace};
use crate::error::{Result, StoreError};

/// Most rows one read returns.
pub const MAX_READ: usize = 100_000;

pub(super) const COLUMNS: &str = "e.position, e.stream_id, e.stream_version, e.event, e.prev_hash, e.row_hash, e.batch_first, e.batch_last";

/// One row as stored, before its hash is checked.
pub(super) struct RawRow {
    pub position: u64,
    pub stream_id: String,
    pub stream_version: u64,
    pub event: Vec<u8>,
    pub prev_hash: Vec<u8>,
    pub row_hash: Vec<u8>,
    pub batch_first: u64,
    pub batch_last: u64,
}

impl RawRow {
    pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawRow {
            position: r.get(0)?,
            stream_id: r.get(1)?,
            stream_version: r.get(2)?,
            event: r.get(3)?,
            prev_hash: r.get(4)?,
            row_hash: r.get(5)?,
            batch_first: r.get(6)?,
            batch_last: r.get(7)?,
        })
    }

    /// Where the row sits, as its link covers it.
    pub(super) fn place(&self) -> RowPlace<'_> {
        RowPlace {
            position: self.position,
            stream_id: &self.stream_id,
            stream_version: self.stream_version,
            batch_first: self.batch_first,
            batch_last: self.batch_last,
        }
    }

    /// Recomputes the row's hash from its content and its stored `prev_hash`.
    pub(super) fn recomputed_hash(&self, chain: &Chain) -> Option<RowHash> {
        let prev: RowHash = self.prev_hash.as_slice().try_into().ok()?;
        Some(chain.link(&prev, &self.place(), &self.event))
    }

    /// Checks the row's own hash and decodes it; a row that fails is never served.
    pub(super) fn into_checked(self, chain: &Chain) -> Result<StoredEvent> {
        if self.recomputed_hash(chain).as_ref().map(|h| h.as_slice())
            != Some(self.row_hash.as_slice())
        {
            return Err(StoreError::Tampered {
                position: self.position,
                reason: "the row does not match its hash".into(),
            });
        }
        let event: SovereignFinancialEvent =
            postcard::from_bytes(&self.event).map_err(|e| StoreError::Tampered {
                position: self.position,
                reason: format!("the event bytes do not decode: {e}"),
            })?;
        Ok(StoredEvent {
            position: self.position,
            stream_id: StreamId::new(self.stream_id)?,
            stream_version: self.stream_version,
            event,
        })
    }
}

fn clamp(limit: usize) -> i64 {
    limit.min(MAX_READ) as i64
}

impl SqliteStore {
    /// Reads up to `limit` events of `stream` from `from_version` on.
    pub fn read_stream_sync(
        &self,
        stream: &StreamId,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        // The stream index holds the first row of each append (see the schema): start at
        // the append that holds `from_version`, then take every later append's rows, which
        // are consecutive positions.
        let events = self.query_events(
            &format!(
                "SELECT {COLUMNS} FROM events b
                 JOIN events e ON e.position BETWEEN b.position AND b.batch_last
                 WHERE b.stream_id = ?1 AND b.position = b.batch_first
                   AND b.stream_version >= (
                       SELECT coalesce(max(stream_version), 0) FROM events
                       WHERE stream_id = ?1 AND position = batch_first AND stream_version <= ?2)
                   AND e.stream_id = ?1 AND e.stream_version >= ?2
                 ORDER BY b.stream_version, e.position LIMIT ?3"
            ),
            params![stream.as_str(), from_version, clamp(limit)],
        )?;
        // Hashes cover each row alone; also check the rows are this stream's, in order.
        for (expected, e) in (from_version.max(1)..).zip(&events) {
            if e.stream_version != expected {
                return Err(StoreError::Tampered {
                    position: e.position,
                    reason: format!(
                        "stream {:?} has version {} where {expected} was expected",
                        stream.as_str(),
                        e.stream_version
                    ),
                });
            }
        }
        Ok(events)
    }

    /// Reads up to `limit` events from global position `from_position` on.
    pub fn read_all_sync(&self, from_position: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        self.query_events(
            &format!(
                "SELECT {COLUMNS} FROM events e WHERE position >= ?1 ORDER BY position LIMIT ?2"
            ),
            params![from_position, clamp(limit)],
        )
    }

    fn query_events(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<StoredEvent>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(sql).map_err(map_err)?;
        let rows = stmt.query_map(args, RawRow::from_row).map_err(map_err)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row.map_err(map_err)?.into_checked(&self.chain)?);
        }
        Ok(out)
    }

    /// The current version of `stream` (0 when absent).
    pub fn stream_version_sync(&self, stream: &StreamId) -> Result<u64> {
        let conn = self.lock();
        conn.query_row("SELECT version FROM streams WHERE stream_id = ?1", [stream.as_str()], |r| {
            r.get(0)
        })
        .optional()
        .map_err(map_err)
        .map(|v| v.unwrap_or(0))
    }

    /// The highest global position written (0 when empty).
    pub fn head_position_sync(&self) -> Result<u64> {
        let conn = self.lock();
        conn.query_row("SELECT position FROM chain_head WHERE id = 1", [], |r| r.get(0))
            .map_err(map_err)
    }
}
