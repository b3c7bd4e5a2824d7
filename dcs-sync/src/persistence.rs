//! The persistence interface a host's store implements for a sync machine.
//!
//! A machine never touches a disk. Its host takes [`PersistBatch`]es from `poll_persist`,
//! makes each durable with [`SyncStore::persist`] (one transaction), and confirms it with the
//! outcomes the store reports; it serves the machine's outbox reads ([`OutboxRead`], from
//! `poll_read`) with [`SyncStore::read_outbox`]; and after a restart it hands `restore` what
//! [`SyncStore::load`] returns. [`pump`] does all three for a host that persists
//! synchronously. The store holds the history (the outbox until acknowledged, accepted items,
//! refusals) and deduplicates accepted items by event id and idempotency key; the machine
//! keeps a bounded window of it.

use alloc::vec::Vec;

use crate::checkpoint::Checkpoint;
use crate::durable::{Outcome, PersistBatch};
use crate::messages::Positioned;

/// What a machine resumes from: its compact checkpoint plus its store's outbox bounds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Restored {
    /// The checkpoint as last durably written.
    pub checkpoint: Checkpoint,
    /// Highest outbox position the parent acknowledged (the store's ack).
    pub acked: u64,
    /// Highest outbox position the store holds (0: empty).
    pub head: u64,
}

/// A machine's request for durable outbox items it no longer holds in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxRead {
    /// Read positions after this one …
    pub after: u64,
    /// … at most this many, in order (answer with `handle_read`).
    pub max_items: usize,
}

/// A host's durable store as a sync machine needs it.
pub trait SyncStore {
    /// The store's error.
    type Error: core::fmt::Display;

    /// Makes `batch` durable in one transaction, its writes in order, and returns one
    /// [`Outcome`] per [`crate::WriteOp::Accept`] in it, in order.
    ///
    /// # Errors
    /// The store's error; nothing of the batch may be durable then (the host restarts the
    /// machine from [`SyncStore::load`]).
    fn persist(&mut self, batch: &PersistBatch) -> Result<Vec<Outcome>, Self::Error>;

    /// The outbox items at positions `after + 1 ..`, at most `max_items`, in order.
    ///
    /// # Errors
    /// The store's error.
    fn read_outbox(&mut self, after: u64, max_items: usize)
    -> Result<Vec<Positioned>, Self::Error>;

    /// What a machine restarts from (never the history).
    ///
    /// # Errors
    /// The store's error.
    fn load(&mut self) -> Result<Restored, Self::Error>;
}

/// The persistence side of any machine, for [`pump`].
pub trait Persisting {
    /// The machine's `poll_persist`.
    fn next_persist(&mut self) -> Option<PersistBatch>;
    /// The machine's `handle_persisted`.
    ///
    /// # Errors
    /// The machine's error for outcomes that do not match the batch.
    fn persisted(
        &mut self,
        now: crate::Now,
        token: u64,
        outcomes: &[Outcome],
    ) -> Result<(), crate::SyncError>;
    /// The machine's `poll_read`.
    fn next_read(&mut self) -> Option<OutboxRead>;
    /// The machine's `handle_read`.
    fn read(&mut self, items: Vec<Positioned>);
}

/// Why [`pump`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum PumpError<E: core::fmt::Display> {
    /// The store failed: restart the machine from [`SyncStore::load`].
    #[error("the store failed: {0}; restart the machine from the store")]
    Store(E),
    /// The machine refused the store's answer.
    #[error("{0}")]
    Machine(crate::SyncError),
}

/// Persists every pending batch of `machine` in `store` and serves its outbox reads, until it
/// has nothing more to write or read.
///
/// # Errors
/// [`PumpError`]: after a store error the machine must be restarted from the store.
pub fn pump<M: Persisting, S: SyncStore>(
    now: crate::Now,
    machine: &mut M,
    store: &mut S,
) -> Result<(), PumpError<S::Error>> {
    loop {
        if let Some(batch) = machine.next_persist() {
            let outcomes = store.persist(&batch).map_err(PumpError::Store)?;
            machine.persisted(now, batch.token, &outcomes).map_err(PumpError::Machine)?;
        } else if let Some(r) = machine.next_read() {
            let items = store.read_outbox(r.after, r.max_items).map_err(PumpError::Store)?;
            machine.read(items);
        } else {
            return Ok(());
        }
    }
}
