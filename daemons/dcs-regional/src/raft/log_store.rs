//! The Raft log on SQLite: entries readable as soon as `append` returns (the newest entries
//! stay in memory, decoded, within a byte budget: see `recent`), durable when their flush
//! callback fires (group commit by the writer thread), votes durable before `save_vote`
//! returns.

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::{LogState, OptionalSend, RaftLogReader};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};

use super::recent::{self, Shared};
use super::writer::{self, LogStats, Op};
use super::{Entry, LogId, TypeConfig, Vote};

/// Limits of the log store's write path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogStoreConfig {
    /// Writes queued for the writer thread before `append` waits (backpressure).
    pub queue: usize,
    /// Most queued writes committed in one transaction (one fsync).
    pub max_batch_ops: usize,
    /// Encoded bytes of committed entries kept in memory, decoded, for the state machine and
    /// the replication to read without SQLite (appends not yet committed are always held).
    pub cache_bytes: usize,
}

impl Default for LogStoreConfig {
    fn default() -> Self {
        LogStoreConfig { queue: 4_096, max_batch_ops: 1_024, cache_bytes: 64 << 20 }
    }
}

fn invalid(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("raft log: {what}: {e}"))
}

fn sql(e: rusqlite::Error) -> io::Error {
    io::Error::other(format!("raft log: SQLite: {e}"))
}

fn encode<T: Serialize>(what: &str, v: &T) -> io::Result<Vec<u8>> {
    postcard::to_allocvec(v).map_err(|e| invalid(what, e))
}

fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> io::Result<T> {
    postcard::from_bytes(bytes).map_err(|e| invalid(what, e))
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "raft log: the writer thread has stopped")
}

/// The durable Raft log and vote of one node, in one SQLite file.
pub struct SqliteLogStore {
    stats: Arc<LogStats>,
    path: PathBuf,
    tx: mpsc::Sender<Op>,
    recent: Shared,
    seq: u64,
    reader: SqliteLogReader,
}

impl SqliteLogStore {
    /// Opens (creating if needed) the log at `path` and starts its writer thread.
    ///
    /// # Errors
    /// The file cannot be opened or its tables created, or the thread cannot start.
    pub fn open(path: &Path, config: LogStoreConfig) -> io::Result<Self> {
        let conn = writer::open(path).map_err(sql)?;
        let recent = recent::shared(config.cache_bytes);
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let p = Arc::clone(&recent);
        let max = config.max_batch_ops.max(1);
        let stats = Arc::new(LogStats::default());
        let s = Arc::clone(&stats);
        std::thread::Builder::new()
            .name("raft-log-writer".into())
            .spawn(move || writer::run(conn, rx, p, max, s))?;
        let reader = SqliteLogReader::new(path.to_path_buf(), Arc::clone(&recent));
        Ok(SqliteLogStore { stats, path: path.to_path_buf(), tx, recent, seq: 0, reader })
    }

    /// The writer's counters (commits = fsyncs, entries written), shared with the thread.
    pub fn stats(&self) -> Arc<LogStats> {
        Arc::clone(&self.stats)
    }

    async fn meta(&self, key: &'static str, value: Option<Vec<u8>>) -> io::Result<()> {
        let (done, wait) = oneshot::channel();
        self.tx.send(Op::Meta { key, value, done }).await.map_err(|_| gone())?;
        wait.await.map_err(|_| gone())?
    }
}

/// Reads the log for one replication task (its own SQLite connection, opened on first use).
pub struct SqliteLogReader {
    path: PathBuf,
    conn: Mutex<Option<Connection>>,
    recent: Shared,
}

impl SqliteLogReader {
    fn new(path: PathBuf, recent: Shared) -> Self {
        SqliteLogReader { path, conn: Mutex::new(None), recent }
    }

    fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> io::Result<T> {
        let mut guard = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            let c = Connection::open(&self.path).map_err(sql)?;
            c.busy_timeout(std::time::Duration::from_secs(5)).map_err(sql)?;
            *guard = Some(c);
        }
        match guard.as_ref() {
            Some(c) => f(c).map_err(sql),
            None => Err(gone()),
        }
    }

    fn meta<T: DeserializeOwned>(&self, key: &str) -> io::Result<Option<T>> {
        let bytes: Option<Vec<u8>> = self.with_conn(|c| {
            c.query_row("SELECT value FROM raft_meta WHERE key = ?1", params![key], |r| r.get(0))
                .optional()
        })?;
        bytes.map(|b| decode(key, &b)).transpose()
    }

    /// Entries with index in [start, end): the table below the cache's first index, the
    /// cache (a contiguous suffix of the log) from there.
    fn entries(&self, start: u64, end: Option<u64>) -> io::Result<Vec<Entry>> {
        // The cache first: an entry evicted after this copy is committed, so in the table.
        let (first, held) = {
            let cache = recent::lock(&self.recent);
            (cache.first(), cache.range(start, end))
        };
        let below = first.map_or(end, |f| Some(end.map_or(f, |e| e.min(f))));
        let mut out = Vec::new();
        if below.is_none_or(|b| start < b) {
            let lo = i64::try_from(start).unwrap_or(i64::MAX);
            let hi = below.map_or(i64::MAX, |e| i64::try_from(e).unwrap_or(i64::MAX));
            let rows: Vec<(u64, Vec<u8>)> = self.with_conn(|c| {
                let mut q = c.prepare_cached(
                    "SELECT idx, entry FROM raft_log WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
                )?;
                let it =
                    q.query_map(params![lo, hi], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?;
                it.collect()
            })?;
            for (i, b) in rows {
                let e: Entry = decode("entry", &b)?;
                if e.index() != i {
                    return Err(invalid("entry", format!("row {i} holds entry {}", e.index())));
                }
                out.push(e);
            }
        }
        out.extend(held.into_iter().map(|(_, e)| e));
        Ok(out)
    }

    /// The log id of the last entry, committed or not (the cache's last when it holds any).
    fn last(&self) -> io::Result<Option<LogId>> {
        if let Some(id) = recent::lock(&self.recent).last().map(RaftEntry::log_id) {
            return Ok(Some(id));
        }
        let row: Option<(i64, Vec<u8>)> = self.with_conn(|c| {
            c.query_row("SELECT idx, entry FROM raft_log ORDER BY idx DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
        })?;
        row.map(|(_, b)| decode::<Entry>("entry", &b).map(|e| e.log_id())).transpose()
    }
}

fn bounds(range: &impl RangeBounds<u64>) -> (u64, Option<u64>) {
    let start = match range.start_bound() {
        Bound::Included(s) => *s,
        Bound::Excluded(s) => s.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(e) => e.checked_add(1),
        Bound::Excluded(e) => Some(*e),
        Bound::Unbounded => None,
    };
    (start, end)
}

impl RaftLogReader<TypeConfig> for SqliteLogReader {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        let (start, end) = bounds(&range);
        self.entries(start, end)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        self.meta("vote")
    }
}

impl RaftLogReader<TypeConfig> for SqliteLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        let (start, end) = bounds(&range);
        self.reader.entries(start, end)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        self.reader.meta("vote")
    }
}

impl RaftLogStorage<TypeConfig> for SqliteLogStore {
    type LogReader = SqliteLogReader;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        let last_purged_log_id: Option<LogId> = self.reader.meta("last_purged")?;
        let last_log_id = self.reader.last()?.or(last_purged_log_id);
        Ok(LogState { last_purged_log_id, last_log_id })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        SqliteLogReader::new(self.path.clone(), Arc::clone(&self.recent))
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        self.meta("vote", Some(encode("vote", vote)?)).await
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        let value = committed.map(|c| encode("committed", &c)).transpose()?;
        self.meta("committed", value).await
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        self.reader.meta("committed")
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: IOFlushed<TypeConfig>,
    ) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        self.seq += 1;
        let seq = self.seq;
        // Encoded before the cache is locked: readers and the writer never wait on a copy.
        let mut rows = Vec::new();
        let mut held = Vec::new();
        for e in entries {
            let id = e.log_id();
            let bytes = encode("entry", &e)?;
            held.push((id.index, e, bytes.len()));
            rows.push((id.index, id.leader_id.term, bytes));
        }
        {
            let mut cache = recent::lock(&self.recent);
            for (index, e, size) in held {
                cache.insert(index, seq, e, size);
            }
        }
        self.tx.send(Op::Append { seq, entries: rows, flushed: callback }).await.map_err(|_| gone())
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let after = last_log_id.map(|l| l.index);
        recent::lock(&self.recent).truncate_after(after);
        let (done, wait) = oneshot::channel();
        self.tx.send(Op::Truncate { after, done }).await.map_err(|_| gone())?;
        wait.await.map_err(|_| gone())?
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        let upto = log_id.index;
        recent::lock(&self.recent).purge(upto);
        let (done, wait) = oneshot::channel();
        let purged = encode("last purged", &log_id)?;
        self.tx.send(Op::Purge { upto, purged, done }).await.map_err(|_| gone())?;
        wait.await.map_err(|_| gone())?
    }
}
