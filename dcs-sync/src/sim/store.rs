//! The simulator's model of a node's durable store: what a daemon's SQLite or PostgreSQL
//! store does for its machine, in memory, through the same [`SyncStore`] trait.
//!
//! It holds the checkpoint, the outbox until acknowledged, and (for the checker) every
//! accepted item and refusal; it deduplicates accepted items by event id and idempotency key
//! as the real stores' unique indexes do.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use dcs_core::EventId;

use crate::{
    Checkpoint, Item, NodeId, Outcome, PersistBatch, Positioned, Rejection, Restored, SyncStore,
    WriteOp,
};

/// A node's durable store, in memory.
#[derive(Debug, Clone, Default)]
pub struct MemStore {
    checkpoint: Checkpoint,
    outbox: BTreeMap<u64, Item>,
    acked: u64,
    head: u64,
    ids: BTreeSet<EventId>,
    keys: BTreeSet<(String, String)>,
    /// Accepted items (the region's events, the master's summaries), in acceptance order.
    pub items: Vec<(NodeId, u64, Item)>,
    /// Refused items: (child, position, event id, reason).
    pub rejected: Vec<(NodeId, u64, EventId, String)>,
    /// What the parent refused of this node's outbox.
    pub refused_by_parent: Vec<Rejection>,
    /// The planted "no dedup" bug: keep every accepted item, even one already held.
    pub skip_dedup: bool,
}

/// Why the store refused a batch (a host bug: the simulator reports it as a violation).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("outbox append at position {got} where {expected} was next")]
pub struct OutOfOrder {
    /// The store's next position.
    pub expected: u64,
    /// The position written.
    pub got: u64,
}

impl MemStore {
    /// An empty store; `skip_dedup` plants the "no dedup" bug.
    pub fn new(skip_dedup: bool) -> Self {
        MemStore { skip_dedup, ..MemStore::default() }
    }

    /// The checkpoint as stored.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// Highest outbox position held.
    pub fn head(&self) -> u64 {
        self.head
    }

    fn seen(&self, item: &Item) -> bool {
        self.ids.contains(&item.event_id())
            || item.idempotency().is_some_and(|k| self.keys.contains(&k))
    }
}

impl SyncStore for MemStore {
    type Error = OutOfOrder;

    fn persist(&mut self, batch: &PersistBatch) -> Result<Vec<Outcome>, OutOfOrder> {
        // All or nothing: check the appends before changing anything.
        let mut next = self.head + 1;
        for op in &batch.ops {
            if let WriteOp::Append { pos, .. } = op {
                if *pos != next {
                    return Err(OutOfOrder { expected: next, got: *pos });
                }
                next += 1;
            }
        }
        let mut outcomes = Vec::new();
        for op in &batch.ops {
            // A delta is immutable once made, so the store may share the machine's copy: what
            // it holds cannot change unless the store itself applies a write.
            self.checkpoint.apply(op);
            match op {
                WriteOp::Append { pos, item } => {
                    self.outbox.insert(*pos, item.clone());
                    self.head = *pos;
                }
                WriteOp::Acked { upto, rejected } => {
                    self.acked = self.acked.max((*upto).min(self.head));
                    self.outbox = self.outbox.split_off(&(self.acked + 1));
                    self.refused_by_parent.extend(rejected.iter().cloned());
                }
                WriteOp::Accept { from, pos, item, forward } => {
                    if !self.skip_dedup && self.seen(item) {
                        outcomes.push(Outcome::Duplicate);
                        continue;
                    }
                    self.ids.insert(item.event_id());
                    if let Some(k) = item.idempotency() {
                        self.keys.insert(k);
                    }
                    self.items.push((*from, *pos, item.clone()));
                    let forwarded = forward.as_ref().map(|f| {
                        self.head += 1;
                        self.outbox.insert(self.head, f.clone());
                        self.head
                    });
                    outcomes.push(Outcome::Stored { forwarded });
                }
                WriteOp::Reject { from, pos, event_id, reason } => {
                    self.rejected.push((*from, *pos, *event_id, reason.clone()));
                }
                WriteOp::Delta { .. } | WriteOp::Full { .. } | WriteOp::Hlc { .. } => {}
            }
        }
        Ok(outcomes)
    }

    fn read_outbox(&mut self, after: u64, max_items: usize) -> Result<Vec<Positioned>, OutOfOrder> {
        Ok(self
            .outbox
            .range(after + 1..)
            .take(max_items)
            .map(|(pos, item)| Positioned { pos: *pos, item: item.clone() })
            .collect())
    }

    fn load(&mut self) -> Result<Restored, OutOfOrder> {
        Ok(Restored { checkpoint: self.checkpoint.clone(), acked: self.acked, head: self.head })
    }
}
