//! A sync machine's checkpoint in SQLite: one row plus a log of the changes since
//! ([`CheckpointOp`]s, postcard), folded into the row every [`CHECKPOINT_EVERY`] entries, so
//! a restore reads one row and a bounded log whatever the history. The local store and the
//! region's replica store both keep their machine's checkpoint this way (tables
//! `sync_checkpoint` and `sync_log`).

use dcs_sync::{Checkpoint, CheckpointOp, PersistBatch};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{exec, map_err};
use crate::error::{Result, StoreError};

/// Logged checkpoint changes folded into the checkpoint row at once (bounds a restore's
/// replay and the log's size).
pub const CHECKPOINT_EVERY: i64 = 1_024;

/// The tables, for a file that does not have them yet.
pub(crate) const DDL: &str = "
CREATE TABLE IF NOT EXISTS sync_checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1), checkpoint BLOB NOT NULL, log_entries INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS sync_log (seq INTEGER PRIMARY KEY, op BLOB NOT NULL) STRICT;
";

/// Postcard bytes of a sync value (`what` names it in the error).
pub(crate) fn encode<T: serde::Serialize>(value: &T, what: &str) -> Result<Vec<u8>> {
    postcard::to_allocvec(value)
        .map_err(|e| StoreError::Database(format!("cannot encode the sync {what}: {e}")))
}

/// A sync value from its postcard bytes (`what` names it in the error).
pub(crate) fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| {
        StoreError::Corrupt(format!(
            "the sync {what} does not decode ({e}): the file was altered or written by another version"
        ))
    })
}

/// The checkpoint row (default when none was written yet) and its log length.
fn checkpoint_row(conn: &Connection) -> Result<(Checkpoint, i64)> {
    let row: Option<(Vec<u8>, i64)> = conn
        .query_row("SELECT checkpoint, log_entries FROM sync_checkpoint WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .map_err(map_err)?;
    match row {
        Some((bytes, n)) => Ok((decode(&bytes, "checkpoint")?, n)),
        None => Ok((Checkpoint::default(), 0)),
    }
}

/// The checkpoint as durably written: the row with its log replayed.
pub(crate) fn load_checkpoint(conn: &Connection) -> Result<Checkpoint> {
    let (mut checkpoint, _) = checkpoint_row(conn)?;
    let mut stmt = conn.prepare_cached("SELECT op FROM sync_log ORDER BY seq").map_err(map_err)?;
    let mut rows = stmt.query([]).map_err(map_err)?;
    while let Some(row) = rows.next().map_err(map_err)? {
        let bytes: Vec<u8> = row.get(0).map_err(map_err)?;
        checkpoint.apply_logged(&decode::<CheckpointOp>(&bytes, "checkpoint log entry")?);
    }
    Ok(checkpoint)
}

/// Logs what `batch` changes in the checkpoint (compacted: one inbox entry per child, not
/// one per item); returns the entries logged.
pub(crate) fn log_batch(tx: &Transaction<'_>, batch: &PersistBatch) -> Result<i64> {
    let mut logged = 0;
    for c in batch.checkpoint_ops() {
        exec(tx, "INSERT INTO sync_log (op) VALUES (?1)", [encode(&c, "checkpoint log entry")?])?;
        logged += 1;
    }
    Ok(logged)
}

/// Counts `logged` new log entries and folds the log into the row once it is long enough.
pub(crate) fn fold_if_due(tx: &Transaction<'_>, logged: i64) -> Result<()> {
    if logged == 0 {
        return Ok(());
    }
    // Only the count: decoding the checkpoint (the CRDT state) on every commit cost more than
    // the commit's own statements.
    let entries: i64 = tx
        .prepare_cached("SELECT log_entries FROM sync_checkpoint WHERE id = 1")
        .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
        .map_err(map_err)?
        .unwrap_or(0);
    if entries + logged < CHECKPOINT_EVERY {
        exec(
            tx,
            "INSERT INTO sync_checkpoint (id, checkpoint, log_entries) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET log_entries = excluded.log_entries",
            params![encode(&Checkpoint::default(), "checkpoint")?, entries + logged],
        )?;
        return Ok(());
    }
    // Fold the log into the row.
    let folded = load_checkpoint(tx)?;
    exec(
        tx,
        "INSERT INTO sync_checkpoint (id, checkpoint, log_entries) VALUES (1, ?1, 0)
         ON CONFLICT (id) DO UPDATE SET checkpoint = excluded.checkpoint, log_entries = 0",
        [encode(&folded, "checkpoint")?],
    )?;
    exec(tx, "DELETE FROM sync_log", [])?;
    Ok(())
}
