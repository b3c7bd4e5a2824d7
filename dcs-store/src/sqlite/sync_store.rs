//! The store as the sync machine's durable home: its event log is the outbox, its
//! `sync_state` the region's acknowledgement, and the machine's [`Checkpoint`] lives beside
//! them in the same file, written in the same transactions as the events it covers.
//!
//! The checkpoint is one row plus a log of the changes since ([`CheckpointOp`]s, postcard);
//! every [`CHECKPOINT_EVERY`](super::CHECKPOINT_EVERY) logged changes the log is folded into the row, so a restore
//! reads one row and at most that many small entries, whatever the history. Unacknowledged
//! events are read back by position, in the machine's pages.
//!
//! Two ways in: [`SqliteStore::append_group_synced`] appends events and writes the machine's
//! batches in one transaction (a daemon's group commit), and the [`SyncStore`] impl persists
//! the machine's other batches (acks, merged deltas, the clock).

use dcs_sync::{Item, Outcome, PersistBatch, Positioned, Restored, SyncStore, WriteOp};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::append::AppendRequest;
use super::checkpoint_log::{fold_if_due, load_checkpoint, log_batch};
use super::{SqliteStore, exec, map_err};
use crate::api::AppendResult;
use crate::error::{Result, StoreError};

fn head(conn: &Connection) -> Result<u64> {
    conn.query_row("SELECT position FROM chain_head WHERE id = 1", [], |r| r.get(0))
        .map_err(map_err)
}

/// Writes one batch of the machine in `tx` (whose events are already appended).
fn write_batch(tx: &Transaction<'_>, batch: &PersistBatch) -> Result<()> {
    for op in &batch.ops {
        match op {
            WriteOp::Append { pos, item } => check_appended(tx, *pos, item)?,
            WriteOp::Acked { upto, rejected } => {
                let head = head(tx)?;
                if *upto > head {
                    return Err(StoreError::Invalid {
                        field: "upto",
                        reason: format!("cannot acknowledge {upto}: the log ends at {head}"),
                    });
                }
                exec(
                    tx,
                    "UPDATE sync_state SET acked_position = max(acked_position, ?1) WHERE id = 1",
                    [upto],
                )?;
                for r in rejected {
                    exec(
                        tx,
                        "INSERT OR IGNORE INTO sync_rejections (position, event_id, reason) VALUES (?1, ?2, ?3)",
                        params![r.pos, r.event_id.as_bytes().as_slice(), r.reason],
                    )?;
                }
            }
            WriteOp::Accept { .. } | WriteOp::Reject { .. } => {
                return Err(StoreError::Invalid {
                    field: "ops",
                    reason: "a store's SQLite file holds no children's items: accepted and \
                             refused items belong to a region's or the master's store"
                        .into(),
                });
            }
            WriteOp::Delta { .. } | WriteOp::Full { .. } | WriteOp::Hlc { .. } => {}
        }
    }
    let logged = log_batch(tx, batch)?;
    fold_if_due(tx, logged)
}

/// The machine's outbox position `pos` must be the store's position of that event.
fn check_appended(conn: &Connection, pos: u64, item: &Item) -> Result<()> {
    let Item::Event(event) = item else {
        return Err(StoreError::Invalid {
            field: "item",
            reason: "a store's outbox holds events, not summaries".into(),
        });
    };
    let held: Option<Vec<u8>> = conn
        .query_row("SELECT event_id FROM events WHERE position = ?1", [pos], |r| r.get(0))
        .optional()
        .map_err(map_err)?;
    match held {
        Some(id) if id.as_slice() == event.event_id().as_bytes().as_slice() => Ok(()),
        Some(_) => Err(StoreError::Invalid {
            field: "pos",
            reason: format!(
                "the machine put event {} at outbox position {pos}, where the store holds \
                 another event: give the machine the store's positions (append_at)",
                event.event_id()
            ),
        }),
        None => Err(StoreError::Invalid {
            field: "pos",
            reason: format!(
                "outbox position {pos} is not in the store: append the event first, in the \
                 same transaction (append_group_synced)"
            ),
        }),
    }
}

impl SqliteStore {
    /// Appends one batch and hands its events to the store's sync `machine` in the same
    /// transaction (the events, their projections and the machine's checkpoint commit
    /// together), then confirms the writes to the machine: the one call a POS that links the
    /// crates needs per sale. A retry of the same events (deduplicated) changes nothing.
    ///
    /// # Errors
    /// The append's error, or the machine's refusal as [`StoreError::Database`]: nothing is
    /// written then; restart the machine from [`SqliteStore::load_sync`].
    pub fn append_synced(
        &self,
        machine: &mut dcs_sync::LocalMachine,
        now: dcs_sync::Now,
        request: &AppendRequest<'_>,
    ) -> Result<AppendResult> {
        let refused =
            |e: dcs_sync::SyncError| StoreError::Database(format!("the sync machine refused: {e}"));
        let (mut results, batches) =
            self.append_group_synced(std::slice::from_ref(request), |r| {
                if let Some(Ok(a)) = r.first()
                    && !a.deduplicated
                {
                    for (i, e) in request.events.iter().enumerate() {
                        machine
                            .append_at(
                                now,
                                a.first_position + i as u64,
                                e.clone(),
                                request.bodies.get(i),
                            )
                            .map_err(refused)?;
                    }
                }
                Ok(std::iter::from_fn(|| machine.poll_persist()).collect())
            })?;
        for b in batches {
            machine.handle_persisted(now, b.token, &[]).map_err(refused)?;
        }
        results.pop().unwrap_or_else(|| Err(StoreError::Database("no append result".into())))
    }

    /// Group commit with the sync machine: appends `requests` as
    /// [`SqliteStore::append_group`] does, then calls `sync` with their results (inside the
    /// transaction: it tells the machine of each new event, `LocalMachine::append_at` with
    /// the results' positions, and returns the machine's `poll_persist` batches), writes
    /// those batches, and commits once. Confirm the batches to the machine after this
    /// returns (`handle_persisted`).
    ///
    /// # Errors
    /// The group's error, `sync`'s, or a batch's (see [`SyncStore::persist`]): nothing is
    /// written then, and the machine, which may have taken some of the events, must be
    /// restarted from [`SqliteStore::load_sync`].
    pub fn append_group_synced(
        &self,
        requests: &[AppendRequest<'_>],
        sync: impl FnOnce(&[Result<AppendResult>]) -> Result<Vec<PersistBatch>>,
    ) -> Result<(Vec<Result<AppendResult>>, Vec<PersistBatch>)> {
        self.append_group_synced_with(requests, &[], sync)
    }

    /// [`SqliteStore::append_group_synced`], also writing `snapshots[i]` (when given) in the
    /// same transaction if request `i` went in as a new append (not a deduplicated resend,
    /// not refused): an aggregate's snapshot never lags the events it covers, even across
    /// a crash.
    ///
    /// # Errors
    /// As [`SqliteStore::append_group_synced`].
    pub fn append_group_synced_with(
        &self,
        requests: &[AppendRequest<'_>],
        snapshots: &[Option<crate::api::SnapshotWith>],
        sync: impl FnOnce(&[Result<AppendResult>]) -> Result<Vec<PersistBatch>>,
    ) -> Result<(Vec<Result<AppendResult>>, Vec<PersistBatch>)> {
        self.append_group_then(requests, |tx, results| {
            for (result, snapshot) in results.iter().zip(snapshots) {
                if let (Ok(r), Some(s)) = (result, snapshot)
                    && !r.deduplicated
                {
                    let version = match s.version {
                        crate::api::SnapshotVersion::OfTheAppend => r.stream_version,
                        crate::api::SnapshotVersion::Fixed(v) => v,
                    };
                    super::state::write_snapshot(tx, &s.stream_id, version, &s.state)?;
                }
            }
            let batches = sync(results)?;
            for b in &batches {
                write_batch(tx, b)?;
            }
            Ok(batches)
        })
    }

    /// Writes one batch of the sync machine in its own durable transaction.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an outbox position the store does not hold with that
    /// event, an acknowledgement past the log's end, or children's items; the database's
    /// error. Nothing is written then.
    pub fn persist_sync(&self, batch: &PersistBatch) -> Result<()> {
        self.writable("persist_sync")?;
        let mut conn = self.lock();
        let written = conn.transaction().map_err(map_err).and_then(|tx| {
            write_batch(&tx, batch)?;
            tx.commit().map_err(map_err)
        });
        drop(conn);
        written.map_err(|e| self.explain(e))
    }

    /// What the sync machine restarts from: the checkpoint (one row and at most
    /// [`CHECKPOINT_EVERY`](super::CHECKPOINT_EVERY) log entries), the acknowledged position and the log's head.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the checkpoint does not decode; the database's error.
    pub fn load_sync(&self) -> Result<Restored> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(map_err)?;
        let checkpoint = load_checkpoint(&tx)?;
        let acked: u64 = tx
            .query_row("SELECT acked_position FROM sync_state WHERE id = 1", [], |r| r.get(0))
            .map_err(map_err)?;
        let head = head(&tx)?;
        tx.commit().map_err(map_err)?;
        Ok(Restored { checkpoint, acked, head })
    }

    /// Up to `max_items` events after outbox position `after`, verified against the chain.
    ///
    /// # Errors
    /// As [`SqliteStore::read_all_sync`].
    pub fn read_outbox_sync(&self, after: u64, max_items: usize) -> Result<Vec<Positioned>> {
        Ok(self
            .read_all_sync(after + 1, max_items)?
            .into_iter()
            .map(|s| Positioned { pos: s.position, item: Item::Event(Box::new(s.event)) })
            .collect())
    }

    /// Entries in the checkpoint log (what a restore replays: below [`CHECKPOINT_EVERY`](super::CHECKPOINT_EVERY)).
    ///
    /// # Errors
    /// The database's error.
    pub fn sync_log_len(&self) -> Result<i64> {
        let conn = self.lock();
        conn.query_row("SELECT count(*) FROM sync_log", [], |r| r.get(0)).map_err(map_err)
    }

    /// The region's refusals of this store's events: (position, event id bytes, reason).
    ///
    /// # Errors
    /// The database's error.
    pub fn sync_rejections(&self, limit: usize) -> Result<Vec<(u64, Vec<u8>, String)>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT position, event_id, reason FROM sync_rejections ORDER BY position DESC LIMIT ?1",
            )
            .map_err(map_err)?;
        let rows = stmt
            .query_map([limit.min(i64::MAX as usize) as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(map_err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
    }
}

/// The local store's side of the sync machine: events are appended by the store's own
/// append path (so the machine's appends must already be there, see
/// [`SqliteStore::append_group_synced`]); a local store accepts no children's items, so it
/// reports no outcomes.
impl SyncStore for SqliteStore {
    type Error = StoreError;

    fn persist(&mut self, batch: &PersistBatch) -> Result<Vec<Outcome>> {
        self.persist_sync(batch)?;
        Ok(Vec::new())
    }

    fn read_outbox(&mut self, after: u64, max_items: usize) -> Result<Vec<Positioned>> {
        self.read_outbox_sync(after, max_items)
    }

    fn load(&mut self) -> Result<Restored> {
        self.load_sync()
    }
}
