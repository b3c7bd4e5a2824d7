//! `verify_chain`: walks every row and says where the history was edited.

use std::collections::HashMap;

use dcs_core::SovereignFinancialEvent;

use super::read::RawRow;
use super::{SqliteStore, map_err};
use crate::chain::{GENESIS, RowHash};
use crate::error::{Result, StoreError};

/// What a successful chain verification covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainReport {
    /// Rows checked.
    pub rows: u64,
    /// Position of the last row (the chain head).
    pub head_position: u64,
    /// Hash of the last row.
    pub head_hash: RowHash,
}

fn tampered(position: u64, reason: impl Into<String>) -> StoreError {
    StoreError::Tampered { position, reason: reason.into() }
}

/// The visible columns of a row, to compare with the event they index.
struct Columns {
    event_id: Vec<u8>,
    tenant_id: String,
    branch_id: String,
    event_type: i64,
    amount_minor: i64,
    currency: String,
    hlc_time: i64,
    idempotency_key: String,
}

fn columns_match(c: &Columns, e: &SovereignFinancialEvent) -> bool {
    c.event_id == e.event_id().as_bytes()
        && c.tenant_id == e.tenant_id().as_str()
        && c.branch_id == e.branch_id().as_str()
        && c.event_type == i64::from(e.event_type().code())
        && c.amount_minor == e.amount().minor()
        && c.currency == e.amount().currency().code()
        && c.hlc_time == e.causality().hlc.time as i64
        && c.idempotency_key == e.idempotency_key().as_str()
}

impl SqliteStore {
    /// Verifies the whole hash chain, the visible columns and the chain head.
    ///
    /// Finds any edit, deletion, insertion or reordering of rows made outside DCS and
    /// names the first position where the history differs.
    pub fn verify_chain(&self) -> Result<ChainReport> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT position, stream_id, stream_version, event, prev_hash, row_hash,
                        batch_first, batch_last, event_id, tenant_id, branch_id, event_type,
                        amount_minor, currency, hlc_time, idempotency_key
                 FROM events ORDER BY position",
            )
            .map_err(map_err)?;
        let mut rows = stmt.query([]).map_err(map_err)?;
        let mut expected_pos = 1u64;
        let mut prev: RowHash = GENESIS;
        // Each stream's versions must run 1, 2, 3, … in position order.
        let mut stream_versions: HashMap<String, u64> = HashMap::new();
        while let Some(r) = rows.next().map_err(map_err)? {
            let raw = RawRow::from_row(r).map_err(map_err)?;
            let cols = Columns {
                event_id: r.get(8).map_err(map_err)?,
                tenant_id: r.get(9).map_err(map_err)?,
                branch_id: r.get(10).map_err(map_err)?,
                event_type: r.get(11).map_err(map_err)?,
                amount_minor: r.get(12).map_err(map_err)?,
                currency: r.get(13).map_err(map_err)?,
                hlc_time: r.get(14).map_err(map_err)?,
                idempotency_key: r.get(15).map_err(map_err)?,
            };
            let pos = raw.position;
            if pos != expected_pos {
                return Err(tampered(
                    expected_pos,
                    format!(
                        "expected the row at position {expected_pos}, found {pos}: rows were deleted, inserted or renumbered"
                    ),
                ));
            }
            if raw.prev_hash.as_slice() != prev.as_slice() {
                return Err(tampered(
                    pos,
                    "prev_hash does not link to the row before: a row was removed, inserted or moved",
                ));
            }
            let Some(hash) = raw.recomputed_hash(&self.chain) else {
                return Err(tampered(pos, "prev_hash is not 32 bytes"));
            };
            if hash.as_slice() != raw.row_hash.as_slice() {
                return Err(tampered(
                    pos,
                    "the row's content does not match its hash: it was edited",
                ));
            }
            let event: SovereignFinancialEvent = postcard::from_bytes(&raw.event)
                .map_err(|e| tampered(pos, format!("the event bytes do not decode: {e}")))?;
            if !columns_match(&cols, &event) {
                return Err(tampered(
                    pos,
                    "a visible column differs from the hashed event: it was edited",
                ));
            }
            let last = stream_versions.entry(raw.stream_id.clone()).or_insert(0);
            if raw.stream_version != *last + 1 {
                return Err(tampered(
                    pos,
                    format!(
                        "stream {:?} jumps from version {} to {}",
                        raw.stream_id, *last, raw.stream_version
                    ),
                ));
            }
            *last = raw.stream_version;
            prev = hash;
            expected_pos += 1;
        }
        let rows_checked = expected_pos - 1;
        let (head_pos, head_hash): (u64, Vec<u8>) = conn
            .query_row("SELECT position, hash FROM chain_head WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(map_err)?;
        if head_pos != rows_checked || head_hash.as_slice() != prev.as_slice() {
            return Err(tampered(
                rows_checked + 1,
                format!(
                    "the chain head says position {head_pos} but the log ends at {rows_checked}: rows at the end were deleted or the head was edited"
                ),
            ));
        }
        check_streams(&conn, &stream_versions)?;
        drop(rows);
        drop(stmt);
        drop(conn);
        // The newest anchor the region signed: a log shorter than it, or different at its
        // position, was truncated or rewritten.
        if let Some(anchor) = self.anchor()? {
            super::anchor::check_anchor(self, &anchor, rows_checked)?;
        }
        let conn = self.lock();
        let acked: u64 = conn
            .query_row("SELECT acked_position FROM sync_state WHERE id = 1", [], |r| r.get(0))
            .map_err(map_err)?;
        if acked > rows_checked {
            return Err(tampered(
                rows_checked + 1,
                format!(
                    "the region acknowledged position {acked} but the log ends at {rows_checked}: acknowledged events were deleted"
                ),
            ));
        }
        Ok(ChainReport { rows: rows_checked, head_position: head_pos, head_hash: prev })
    }
}

/// Every stream of the log has its row in `streams` at its last version, and no row names a
/// stream without events.
fn check_streams(conn: &rusqlite::Connection, from_log: &HashMap<String, u64>) -> Result<()> {
    let mut stmt = conn.prepare("SELECT stream_id, version FROM streams").map_err(map_err)?;
    let mut rows = stmt.query([]).map_err(map_err)?;
    let mut seen = 0usize;
    while let Some(r) = rows.next().map_err(map_err)? {
        let stream: String = r.get(0).map_err(map_err)?;
        let version: u64 = r.get(1).map_err(map_err)?;
        match from_log.get(&stream) {
            Some(v) if *v == version => seen += 1,
            Some(v) => {
                return Err(tampered(
                    0,
                    format!(
                        "the streams table says stream {stream:?} is at version {version}, its events end at version {v}: the table was edited"
                    ),
                ));
            }
            None => {
                return Err(tampered(
                    0,
                    format!(
                        "the streams table names stream {stream:?}, which has no events: the table was edited"
                    ),
                ));
            }
        }
    }
    if seen != from_log.len() {
        let mut missing: Vec<&String> = from_log.keys().collect();
        missing.sort();
        for stream in missing {
            let present: bool = conn
                .query_row("SELECT count(*) FROM streams WHERE stream_id = ?1", [stream], |r| {
                    r.get::<_, i64>(0)
                })
                .map_err(map_err)?
                == 1;
            if !present {
                return Err(tampered(
                    0,
                    format!(
                        "stream {stream:?} has events but no row in the streams table: the row was deleted"
                    ),
                ));
            }
        }
    }
    Ok(())
}
