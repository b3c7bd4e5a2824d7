//! A regional Raft replica's store: the durable home of its `RegionalMachine`. Every replica
//! applies the same log entries, so every replica's file holds the same accepted events (in
//! acceptance order: the position the forwarders resume from), the same refusals, the same
//! summary outbox for the master, and the machine's checkpoint; the Raft state machine's own
//! bookkeeping (applied log id, membership) goes in [`RegionReplicaStore::persist_all`]'s
//! `meta`, in the same transaction as the writes it covers.
//!
//! Deduplication is the unique indexes': an event id or a (tenant, idempotency key) already
//! held makes an accepted item an [`Outcome::Duplicate`].
//!
//! Beside them it keeps, per store, the tenant and branch of the last event it accepted from
//! it ([`RegionReplicaStore::child_branches`]): how the region names its stores to the master.

use std::path::Path;

use dcs_sync::{Item, NodeId, Outcome, PersistBatch, Positioned, Restored, SyncStore, WriteOp};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::checkpoint_log::{self, decode, encode, fold_if_due, load_checkpoint, log_batch};
use super::{exec, map_err};
use crate::error::{Result, StoreError};

/// The marker a replica file carries (a local store's file is refused, and the reverse).
const FORMAT: &str = "dcs-region-replica-1";

const DDL: &str = "
CREATE TABLE IF NOT EXISTS replica_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS accepted (
    seq INTEGER PRIMARY KEY, child BLOB NOT NULL, child_pos INTEGER NOT NULL,
    event_id BLOB NOT NULL UNIQUE, tenant TEXT, idem_key TEXT, item BLOB NOT NULL,
    UNIQUE (tenant, idem_key)
) STRICT;
CREATE TABLE IF NOT EXISTS refused (
    child BLOB NOT NULL, child_pos INTEGER NOT NULL, event_id BLOB NOT NULL, reason TEXT NOT NULL,
    PRIMARY KEY (child, child_pos)
) STRICT;
CREATE TABLE IF NOT EXISTS outbox (pos INTEGER PRIMARY KEY, item BLOB NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS outbox_state (
    id INTEGER PRIMARY KEY CHECK (id = 1), acked INTEGER NOT NULL, head INTEGER NOT NULL
) STRICT;
INSERT OR IGNORE INTO outbox_state VALUES (1, 0, 0);
CREATE TABLE IF NOT EXISTS refused_by_parent (
    pos INTEGER PRIMARY KEY, event_id BLOB NOT NULL, reason TEXT NOT NULL
) STRICT;
";

/// Tables added after the first format: created on every open (a file made before has none).
const ADDED_DDL: &str = "
CREATE TABLE IF NOT EXISTS child_branch (
    child BLOB PRIMARY KEY, tenant TEXT NOT NULL, branch TEXT NOT NULL
) STRICT;
";

/// One accepted item, as the forwarders read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// Acceptance order (1, 2, 3, …: the same on every replica).
    pub seq: u64,
    /// The store it came from.
    pub child: NodeId,
    /// Its position in that store's outbox.
    pub child_pos: u64,
    /// The item.
    pub item: Item,
}

/// A regional replica's SQLite file (see the module doc).
pub struct RegionReplicaStore {
    conn: Connection,
}

fn int(v: u64, field: &'static str) -> Result<i64> {
    i64::try_from(v)
        .map_err(|_| StoreError::Invalid { field, reason: format!("{v} is past 2^63 - 1") })
}

impl RegionReplicaStore {
    /// Opens (or creates) the replica file at `path`: WAL, `synchronous=FULL`.
    ///
    /// # Errors
    /// [`StoreError::NotAStore`] for a file that is another kind of database (left untouched); the
    /// database's error.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let conn = Connection::open(path).map_err(map_err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(map_err)?;
        Self::init(conn, &path.display().to_string())
    }

    /// A replica store in memory (tests).
    ///
    /// # Errors
    /// The database's error.
    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory().map_err(map_err)?, ":memory:")
    }

    fn init(mut conn: Connection, path: &str) -> Result<Self> {
        let not_ours = |reason: &str| StoreError::NotAStore {
            path: path.to_string(),
            reason: format!("{reason} (a region replica's file was expected)"),
        };
        conn.pragma_update(None, "synchronous", "FULL").map_err(map_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(map_err)?;
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        // Every statement of the apply path is cached (see `exec`): room for all of them.
        conn.set_prepared_statement_cache_capacity(64);
        let tx = conn.transaction().map_err(map_err)?;
        let tables: i64 = tx
            .query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'table'", [], |r| r.get(0))
            .map_err(map_err)?;
        let marker: Option<Vec<u8>> = if tables == 0 {
            None
        } else {
            let has_meta: i64 = tx
                .query_row(
                    "SELECT count(*) FROM sqlite_schema WHERE name = 'replica_meta'",
                    [],
                    |r| r.get(0),
                )
                .map_err(map_err)?;
            if has_meta == 0 {
                return Err(not_ours("it is an SQLite database without the replica_meta table"));
            }
            tx.query_row("SELECT value FROM replica_meta WHERE key = 'format'", [], |r| r.get(0))
                .optional()
                .map_err(map_err)?
        };
        match marker {
            Some(m) if m == FORMAT.as_bytes() => tx.execute_batch(ADDED_DDL).map_err(map_err)?,
            Some(_) => {
                return Err(not_ours("its format marker is another kind of file's"));
            }
            None => {
                tx.execute_batch(DDL).map_err(map_err)?;
                tx.execute_batch(ADDED_DDL).map_err(map_err)?;
                tx.execute_batch(checkpoint_log::DDL).map_err(map_err)?;
                exec(
                    &tx,
                    "INSERT INTO replica_meta (key, value) VALUES ('format', ?1)",
                    [FORMAT.as_bytes()],
                )?;
            }
        }
        tx.commit().map_err(map_err)?;
        Ok(RegionReplicaStore { conn })
    }

    /// Writes `batches` in order and the `meta` values, in one durable transaction; returns
    /// each batch's outcomes (one per [`WriteOp::Accept`]).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an outbox append out of order; the database's error.
    /// Nothing is written then.
    pub fn persist_all(
        &mut self,
        batches: &[PersistBatch],
        meta: &[(&str, Vec<u8>)],
    ) -> Result<Vec<Vec<Outcome>>> {
        let mut txn = self.transaction()?;
        let mut all = Vec::with_capacity(batches.len());
        for b in batches {
            all.push(txn.persist(b)?);
        }
        for (key, value) in meta {
            txn.set_meta(key, value)?;
        }
        txn.commit()?;
        Ok(all)
    }

    /// Starts a write transaction: batches, outbox reads and meta values, durable together
    /// at [`ReplicaTxn::commit`] (dropped uncommitted: nothing is written).
    ///
    /// # Errors
    /// The database's error (another writer holding the file past the busy timeout).
    pub fn transaction(&mut self) -> Result<ReplicaTxn<'_>> {
        let tx = self.conn.transaction().map_err(map_err)?;
        let (acked, head) = Self::outbox_state(&tx)?;
        Ok(ReplicaTxn { tx, logged: 0, outbox: OutboxState { acked, head }, moved: false })
    }

    /// Writes a consistent copy of the whole file to `dest` (a new file): a Raft snapshot.
    ///
    /// # Errors
    /// The database's error (`dest` exists, or the disk is full).
    pub fn copy_to(&self, dest: &Path) -> Result<()> {
        let dest = dest.to_str().ok_or_else(|| StoreError::Invalid {
            field: "dest",
            reason: format!("{} is not valid UTF-8", dest.display()),
        })?;
        self.conn.execute("VACUUM INTO ?1", [dest]).map_err(map_err)?;
        Ok(())
    }

    /// A value written by [`RegionReplicaStore::persist_all`]'s `meta`.
    ///
    /// # Errors
    /// The database's error.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.conn
            .query_row("SELECT value FROM replica_meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(map_err)
    }

    /// Up to `max` accepted items after acceptance position `after`, in order.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for a row that does not decode; the database's error.
    pub fn accepted_after(&self, after: u64, max: usize) -> Result<Vec<Accepted>> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT seq, child, child_pos, item FROM accepted WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(map_err)?;
        let rows = q
            .query_map(params![int(after, "after")?, int(max as u64, "max")?], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })
            .map_err(map_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, child, pos, item) = row.map_err(map_err)?;
            out.push(Accepted {
                seq: seq as u64,
                child: decode(&child, "child id")?,
                child_pos: pos as u64,
                item: decode(&item, "accepted item")?,
            });
        }
        Ok(out)
    }

    /// How many items were accepted (the last acceptance position).
    ///
    /// # Errors
    /// The database's error.
    pub fn accepted_len(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT coalesce(max(seq), 0) FROM accepted", [], |r| r.get(0))
            .map_err(map_err)?;
        Ok(n as u64)
    }

    /// The refused items: (child, position, reason), newest first, at most `limit`.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for a row that does not decode; the database's error.
    pub fn refused(&self, limit: usize) -> Result<Vec<(NodeId, u64, String)>> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT child, child_pos, reason FROM refused ORDER BY rowid DESC LIMIT ?1",
            )
            .map_err(map_err)?;
        let rows = q
            .query_map([int(limit as u64, "limit")?], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?))
            })
            .map_err(map_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (child, pos, reason) = row.map_err(map_err)?;
            out.push((decode(&child, "child id")?, pos as u64, reason));
        }
        Ok(out)
    }

    /// Per store: the tenant and branch of the last event accepted from it, in store order.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for a row that does not decode; the database's error.
    pub fn child_branches(&self) -> Result<Vec<(NodeId, String, String)>> {
        let mut q = self
            .conn
            .prepare_cached("SELECT child, tenant, branch FROM child_branch")
            .map_err(map_err)?;
        let rows = q
            .query_map([], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })
            .map_err(map_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (child, tenant, branch) = row.map_err(map_err)?;
            out.push((decode(&child, "child id")?, tenant, branch));
        }
        out.sort_by_key(|(child, _, _)| *child);
        Ok(out)
    }

    /// What the machine restarts from (as [`SyncStore::load`], without `&mut`).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the checkpoint does not decode; the database's error.
    pub fn restored(&self) -> Result<Restored> {
        let checkpoint = load_checkpoint(&self.conn)?;
        let (acked, head) = Self::outbox_state(&self.conn)?;
        Ok(Restored { checkpoint, acked, head })
    }

    fn outbox_state(conn: &Connection) -> Result<(u64, u64)> {
        conn.prepare_cached("SELECT acked, head FROM outbox_state WHERE id = 1")
            .and_then(|mut s| {
                s.query_row([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)))
            })
            .map_err(map_err)
    }
}

/// A write transaction of a replica store (see [`RegionReplicaStore::transaction`]).
pub struct ReplicaTxn<'a> {
    tx: Transaction<'a>,
    logged: i64,
    /// The outbox's acknowledged and last positions, read once and written back at commit
    /// (not twice per forwarded item).
    outbox: OutboxState,
    /// `outbox` changed in this transaction.
    moved: bool,
}

/// The outbox's acknowledged and last positions.
#[derive(Debug, Clone, Copy)]
struct OutboxState {
    acked: u64,
    head: u64,
}

impl ReplicaTxn<'_> {
    /// Writes one batch of the machine; returns its outcomes (one per [`WriteOp::Accept`]).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an outbox append out of order; the database's error. The
    /// transaction must be dropped then.
    pub fn persist(&mut self, batch: &PersistBatch) -> Result<Vec<Outcome>> {
        let mut outcomes = Vec::new();
        // The branch of each store's last accepted event, written once per batch and store.
        let mut branches: Vec<(&NodeId, &str, &str)> = Vec::new();
        for op in &batch.ops {
            if let Some(o) = write_op(&self.tx, &mut self.outbox, &mut self.moved, op)? {
                if let (
                    WriteOp::Accept { from, item: Item::Event(e), .. },
                    Outcome::Stored { .. },
                ) = (op, &o)
                {
                    let named = (from, e.tenant_id().as_str(), e.branch_id().as_str());
                    match branches.iter_mut().find(|(c, _, _)| *c == from) {
                        Some(b) => *b = named,
                        None => branches.push(named),
                    }
                }
                outcomes.push(o);
            }
        }
        self.logged += log_batch(&self.tx, batch)?;
        for (child, tenant, branch) in branches {
            exec(
                &self.tx,
                "INSERT INTO child_branch (child, tenant, branch) VALUES (?1, ?2, ?3)
                     ON CONFLICT (child) DO UPDATE SET tenant = excluded.tenant, branch = excluded.branch
                     WHERE tenant IS NOT excluded.tenant OR branch IS NOT excluded.branch",
                params![encode(child, "child id")?, tenant, branch],
            )?;
        }
        Ok(outcomes)
    }

    /// The outbox items after `after`, at most `max_items`, as this transaction sees them.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for a row that does not decode; the database's error.
    pub fn read_outbox(&self, after: u64, max_items: usize) -> Result<Vec<Positioned>> {
        read_outbox(&self.tx, after, max_items)
    }

    /// Sets a meta value (the state machine's applied log id, membership, clock).
    ///
    /// # Errors
    /// The database's error.
    pub fn set_meta(&mut self, key: &str, value: &[u8]) -> Result<()> {
        exec(
            &self.tx,
            "INSERT INTO replica_meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Makes everything written durable (COMMIT under `synchronous=FULL`).
    ///
    /// # Errors
    /// The database's error; nothing is written then.
    pub fn commit(self) -> Result<()> {
        if self.moved {
            let OutboxState { acked, head } = self.outbox;
            exec(
                &self.tx,
                "UPDATE outbox_state SET acked = ?1, head = ?2 WHERE id = 1",
                [int(acked, "upto")?, int(head, "pos")?],
            )?;
        }
        fold_if_due(&self.tx, self.logged)?;
        self.tx.commit().map_err(map_err)
    }
}

/// One write of the machine; the outcome of an accepted item. `outbox` is the transaction's
/// view of the outbox positions (`moved` set when it changes).
fn write_op(
    tx: &Transaction<'_>,
    outbox: &mut OutboxState,
    moved: &mut bool,
    op: &WriteOp,
) -> Result<Option<Outcome>> {
    match op {
        WriteOp::Append { pos, item } => {
            if *pos != outbox.head + 1 {
                return Err(StoreError::Invalid {
                    field: "pos",
                    reason: format!("outbox append at {pos} where {} was next", outbox.head + 1),
                });
            }
            push_outbox(tx, outbox, moved, item)?;
            Ok(None)
        }
        WriteOp::Acked { upto, rejected } => {
            let acked = outbox.acked.max((*upto).min(outbox.head));
            if acked != outbox.acked {
                outbox.acked = acked;
                *moved = true;
            }
            exec(tx, "DELETE FROM outbox WHERE pos <= ?1", [int(acked, "upto")?])?;
            for r in rejected {
                exec(
                    tx,
                    "INSERT OR IGNORE INTO refused_by_parent (pos, event_id, reason) VALUES (?1, ?2, ?3)",
                    params![int(r.pos, "pos")?, r.event_id.as_bytes().as_slice(), r.reason],
                )?;
            }
            Ok(None)
        }
        WriteOp::Accept { from, pos, item, forward } => {
            let (tenant, key) = item.idempotency().unzip();
            let inserted = exec(tx, "INSERT OR IGNORE INTO accepted (child, child_pos, event_id, tenant, idem_key, item)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        encode(from, "child id")?,
                        int(*pos, "pos")?,
                        item.event_id().as_bytes().as_slice(),
                        tenant,
                        key,
                        encode(item, "accepted item")?
                    ],)?;
            if inserted == 0 {
                return Ok(Some(Outcome::Duplicate));
            }
            let forwarded = match forward {
                Some(f) => Some(push_outbox(tx, outbox, moved, f)?),
                None => None,
            };
            Ok(Some(Outcome::Stored { forwarded }))
        }
        WriteOp::Reject { from, pos, event_id, reason } => {
            exec(
                tx,
                "INSERT OR IGNORE INTO refused (child, child_pos, event_id, reason) VALUES (?1, ?2, ?3, ?4)",
                params![
                    encode(from, "child id")?,
                    int(*pos, "pos")?,
                    event_id.as_bytes().as_slice(),
                    reason
                ],
            )?;
            Ok(None)
        }
        WriteOp::Delta { .. } | WriteOp::Full { .. } | WriteOp::Hlc { .. } => Ok(None),
    }
}

fn read_outbox(conn: &Connection, after: u64, max_items: usize) -> Result<Vec<Positioned>> {
    let mut q = conn
        .prepare_cached("SELECT pos, item FROM outbox WHERE pos > ?1 ORDER BY pos LIMIT ?2")
        .map_err(map_err)?;
    let rows = q
        .query_map(params![int(after, "after")?, int(max_items as u64, "max_items")?], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .map_err(map_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (pos, item) = row.map_err(map_err)?;
        out.push(Positioned { pos: pos as u64, item: decode(&item, "outbox item")? });
    }
    Ok(out)
}

/// Appends `item` to the outbox at the next position; returns it.
fn push_outbox(
    tx: &Transaction<'_>,
    outbox: &mut OutboxState,
    moved: &mut bool,
    item: &Item,
) -> Result<u64> {
    let pos = outbox.head + 1;
    exec(
        tx,
        "INSERT INTO outbox (pos, item) VALUES (?1, ?2)",
        params![int(pos, "pos")?, encode(item, "outbox item")?],
    )?;
    outbox.head = pos;
    *moved = true;
    Ok(pos)
}

impl SyncStore for RegionReplicaStore {
    type Error = StoreError;

    fn persist(&mut self, batch: &PersistBatch) -> Result<Vec<Outcome>> {
        Ok(self.persist_all(std::slice::from_ref(batch), &[])?.pop().unwrap_or_default())
    }

    fn read_outbox(&mut self, after: u64, max_items: usize) -> Result<Vec<Positioned>> {
        read_outbox(&self.conn, after, max_items)
    }

    fn load(&mut self) -> Result<Restored> {
        self.restored()
    }
}
