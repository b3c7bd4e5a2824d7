//! The writes a machine hands its host, and what the host's store reports back.
//!
//! Machines hand out their writes with `poll_persist()`; the host makes them durable in one
//! transaction (see [`crate::SyncStore`]) and calls `handle_persisted(token, outcomes)`. Only
//! then does the machine acknowledge or ship what the writes contain. After a crash the host
//! calls `restore` with what its store holds: whatever was not persisted is gone, and the
//! protocol recovers it from the peers.

use alloc::string::String;
use alloc::vec::Vec;

use dcs_core::EventId;
use serde::{Deserialize, Serialize};

use crate::messages::{Item, NodeId, Rejection};
use alloc::sync::Arc;

use crate::state::{ReplicatedState, StateDelta};

/// One durable change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WriteOp {
    /// `item` is this node's outbox entry at `pos` (a store that appended the event itself,
    /// in the same transaction, checks that it holds it there).
    Append {
        /// Outbox position (the store's position of the event).
        pos: u64,
        /// The item.
        item: Item,
    },
    /// The parent acknowledged the outbox through `upto`, refusing `rejected`.
    Acked {
        /// Highest acknowledged position.
        upto: u64,
        /// Items the parent refused, with its reasons (the store records them).
        rejected: Vec<Rejection>,
    },
    /// Child `from`'s outbox position `pos` carries `item`: the store keeps it unless it
    /// already holds the same event id or idempotency key (then it reports a duplicate and
    /// keeps nothing), and queues `forward` on this node's own outbox with it.
    Accept {
        /// The child.
        from: NodeId,
        /// Its outbox position.
        pos: u64,
        /// The item.
        item: Item,
        /// What to send further up if the item is new (the region's summary for the master).
        forward: Option<Item>,
    },
    /// Child `from`'s outbox position `pos` was refused.
    Reject {
        /// The child.
        from: NodeId,
        /// Its outbox position.
        pos: u64,
        /// The refused event.
        event_id: EventId,
        /// Why.
        reason: String,
    },
    /// A CRDT delta joined: from peer `from` (None: made here), which brings its log to `have`.
    Delta {
        /// Origin peer, None for a local mutation.
        from: Option<NodeId>,
        /// The origin's log position now merged.
        have: u64,
        /// The delta (shared with the delta log: one copy in memory; encodes as the delta).
        delta: Arc<StateDelta>,
        /// This node's delta-log position after the change.
        seq: u64,
    },
    /// A peer's full state merged, bringing its log to `have`.
    Full {
        /// Origin peer.
        from: NodeId,
        /// The origin's log position now merged.
        have: u64,
        /// The state.
        state: ReplicatedState,
        /// This node's delta-log position after the change.
        seq: u64,
    },
    /// The HLC advanced to `last`.
    Hlc {
        /// HLC time.
        last: u64,
    },
}

/// What the store did with one [`WriteOp::Accept`], reported back in `handle_persisted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Stored; its forward, if it had one, went to this node's outbox at `forwarded`.
    Stored {
        /// The outbox position the store gave the forward.
        forwarded: Option<u64>,
    },
    /// The store already held this event id or idempotency key: nothing kept or forwarded.
    Duplicate,
    /// The store refused the item (the child gets the reason as a rejection).
    Refused {
        /// Why, for the child's operator.
        reason: String,
    },
}

/// A group of writes to make durable together, then confirm with `handle_persisted(token)`.
#[derive(Debug, Clone, PartialEq)]
pub struct PersistBatch {
    /// Confirm with this token (confirming a token confirms every earlier one).
    pub token: u64,
    /// The writes, to apply in order.
    pub ops: Vec<WriteOp>,
}

impl PersistBatch {
    /// Number of [`WriteOp::Accept`] writes: `handle_persisted` takes one [`Outcome`] each.
    pub fn accepts(&self) -> usize {
        self.ops.iter().filter(|o| matches!(o, WriteOp::Accept { .. })).count()
    }
}
