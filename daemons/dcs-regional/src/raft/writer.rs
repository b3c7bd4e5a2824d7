//! The log store's one writer: a thread that drains queued writes into one SQLite transaction
//! (`synchronous=FULL`: COMMIT is the fsync), then fires their callbacks in queue order.

use std::io;
use std::sync::Arc;

use openraft::storage::IOFlushed;
use rusqlite::{Connection, params};
use tokio::sync::{mpsc, oneshot};

use super::TypeConfig;
use super::recent::{self, Shared};

/// A write queued for the writer thread.
pub(super) enum Op {
    /// Entries (index, term, bytes) of one append, under sequence `seq`.
    Append { seq: u64, entries: Vec<(u64, u64, Vec<u8>)>, flushed: IOFlushed<TypeConfig> },
    /// A metadata value (vote, committed id, last purged id).
    Meta { key: &'static str, value: Option<Vec<u8>>, done: oneshot::Sender<io::Result<()>> },
    /// Deletes entries with index > `after`.
    Truncate { after: Option<u64>, done: oneshot::Sender<io::Result<()>> },
    /// Records `purged` (the last purged log id) and deletes entries with index ≤ `upto`.
    Purge { upto: u64, purged: Vec<u8>, done: oneshot::Sender<io::Result<()>> },
}

/// Opens (and creates) the log tables with the durability the log needs.
pub(super) fn open(path: &std::path::Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS raft_log (
             idx   INTEGER PRIMARY KEY,
             term  INTEGER NOT NULL,
             entry BLOB NOT NULL
         );
         CREATE TABLE IF NOT EXISTS raft_meta (
             key   TEXT PRIMARY KEY,
             value BLOB NOT NULL
         );",
    )?;
    Ok(conn)
}

/// What the writer did: transactions committed (one fsync each) and entries appended.
#[derive(Debug, Default)]
pub struct LogStats {
    /// Transactions committed.
    pub commits: std::sync::atomic::AtomicU64,
    /// Log entries written.
    pub entries: std::sync::atomic::AtomicU64,
}

/// Runs the writer until every sender is gone: up to `max_ops` queued writes per transaction.
pub(super) fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Op>,
    recent: Shared,
    max_ops: usize,
    stats: Arc<LogStats>,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < max_ops {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let result = write(&mut conn, &batch).map_err(|e| io::Error::other(e.to_string()));
        if result.is_ok() {
            use std::sync::atomic::Ordering::Relaxed;
            // One COMMIT is one fsync of the WAL (synchronous=FULL).
            metrics::histogram!("dcs_regional_log_fsync_seconds")
                .record(started.elapsed().as_secs_f64());
            stats.commits.fetch_add(1, Relaxed);
            let n: usize = batch
                .iter()
                .map(|op| if let Op::Append { entries, .. } = op { entries.len() } else { 0 })
                .sum();
            metrics::histogram!("dcs_regional_log_entries_per_fsync").record(n as f64);
            stats.entries.fetch_add(n as u64, Relaxed);
            let mut cache = recent::lock(&recent);
            for op in &batch {
                if let Op::Append { seq, entries, .. } = op {
                    cache.committed(*seq, entries.iter().map(|(idx, _, _)| *idx));
                }
            }
        }
        // Callbacks after COMMIT, in the order the writes were queued.
        for op in batch {
            let r = match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
            };
            match op {
                Op::Append { flushed, .. } => flushed.io_completed(r),
                Op::Meta { done, .. } | Op::Truncate { done, .. } | Op::Purge { done, .. } => {
                    let _ = done.send(r);
                }
            }
        }
    }
}

fn index(i: u64) -> rusqlite::Result<i64> {
    i64::try_from(i).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(0, i64::MAX))
}

/// One transaction for the whole batch; COMMIT under `synchronous=FULL` is durable.
fn write(conn: &mut Connection, batch: &[Op]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for op in batch {
        match op {
            Op::Append { entries, .. } => {
                let mut put = tx.prepare_cached(
                    "INSERT OR REPLACE INTO raft_log (idx, term, entry) VALUES (?1, ?2, ?3)",
                )?;
                for (idx, term, bytes) in entries {
                    put.execute(params![index(*idx)?, index(*term)?, bytes])?;
                }
            }
            Op::Meta { key, value: Some(v), .. } => {
                tx.execute(
                    "INSERT OR REPLACE INTO raft_meta (key, value) VALUES (?1, ?2)",
                    params![key, v],
                )?;
            }
            Op::Meta { key, value: None, .. } => {
                tx.execute("DELETE FROM raft_meta WHERE key = ?1", params![key])?;
            }
            Op::Truncate { after, .. } => {
                let from = match after {
                    Some(a) => index(*a)?,
                    None => -1,
                };
                tx.execute("DELETE FROM raft_log WHERE idx > ?1", params![from])?;
            }
            Op::Purge { upto, purged, .. } => {
                tx.execute(
                    "INSERT OR REPLACE INTO raft_meta (key, value) VALUES ('last_purged', ?1)",
                    params![purged],
                )?;
                tx.execute("DELETE FROM raft_log WHERE idx <= ?1", params![index(*upto)?])?;
            }
        }
    }
    tx.commit()
}
