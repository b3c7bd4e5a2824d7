//! What a machine must persist: a [`DurableState`] changed only by [`WriteOp`]s.
//!
//! Machines hand out their writes with `poll_persist()`; the host makes them durable (an
//! fsync, a SQLite transaction), applies them to its copy with [`DurableState::apply`] if it
//! keeps one, and calls `handle_persisted(token)`. Only then does the machine acknowledge or
//! ship what the writes contain. After a crash the host calls `restore(durable_state)`:
//! whatever was not persisted is gone, and the protocol recovers it from the peers.

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;

use dcs_core::EventId;
use dcs_crdt::Crdt;
use serde::{Deserialize, Serialize};

use crate::messages::{Item, NodeId};
use crate::state::{ReplicatedState, StateDelta};

/// The persistent part of any machine (a role uses the fields it needs, the rest stay empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DurableState {
    /// Highest HLC time ever issued or persisted (the clock restarts from here).
    pub hlc_last: u64,
    /// The replicated CRDT state as durably merged.
    pub state: ReplicatedState,
    /// Position of the last durable entry of this node's delta log.
    pub log_seq: u64,
    /// Per peer: how far this node has durably merged that peer's delta log.
    pub received: BTreeMap<NodeId, u64>,
    /// Uplink outbox: items not yet acknowledged by the parent, by position.
    pub outbox: BTreeMap<u64, Item>,
    /// Next outbox position to assign.
    pub next_pos: u64,
    /// Highest outbox position the parent acknowledged.
    pub acked: u64,
    /// Per child: highest contiguous outbox position stored or refused here.
    pub inbox: BTreeMap<NodeId, u64>,
    /// Accepted items (the region's events, the master's summaries), in acceptance order.
    pub items: Vec<(NodeId, u64, Item)>,
    /// Ids of accepted items (deduplication).
    pub seen_ids: BTreeSet<EventId>,
    /// (tenant, idempotency key) of accepted events (deduplication).
    pub seen_keys: BTreeSet<(String, String)>,
    /// Refused items: (child, position, event id, reason).
    pub rejected: Vec<(NodeId, u64, EventId, String)>,
    /// The last [`LOG_TAIL`] entries of the delta log, so that a restarted node still sends
    /// peers that are a little behind a delta rather than its full state.
    pub log_tail: VecDeque<LogEntry>,
}

/// Delta-log entries kept in the durable state (the in-memory log may hold more).
pub const LOG_TAIL: usize = 1_024;

/// One durable delta-log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Its position in this node's log.
    pub seq: u64,
    /// The peer it came from (None: made here).
    pub origin: Option<NodeId>,
    /// The delta, or None where a full state was merged (peers behind it get the full state).
    pub delta: Option<StateDelta>,
}

/// One durable change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WriteOp {
    /// Append `item` to the uplink outbox at `pos`.
    Append {
        /// Outbox position.
        pos: u64,
        /// The item.
        item: Item,
    },
    /// The parent acknowledged the outbox through `upto`: drop those items.
    Acked {
        /// Highest acknowledged position.
        upto: u64,
    },
    /// Child `from`'s outbox position `pos` was handled: `item` stored (None: a duplicate),
    /// and `forward` queued on this node's own uplink outbox.
    Accept {
        /// The child.
        from: NodeId,
        /// Its outbox position.
        pos: u64,
        /// The new item, or None for a duplicate that only advances the position.
        item: Option<Item>,
        /// What to send further up (the region's summary for the master).
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
        /// The delta.
        delta: StateDelta,
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

fn bump(map: &mut BTreeMap<NodeId, u64>, key: NodeId, to: u64) {
    let e = map.entry(key).or_insert(0);
    *e = (*e).max(to);
}

impl DurableState {
    /// Applies one durable change, as the host's store does: accepted items and refusals are
    /// kept (a machine's own copy keeps neither, see [`DurableState::apply_compact`]).
    pub fn apply(&mut self, op: &WriteOp) {
        self.apply_op(op, true);
    }

    /// Applies one durable change as a machine does: accepted items and refusals leave it,
    /// the host's store holds them, so its memory does not grow with each accepted event.
    pub fn apply_compact(&mut self, op: &WriteOp) {
        self.apply_op(op, false);
    }

    /// This state without the accepted items and refusals (what a machine keeps of it).
    pub fn compact(mut self) -> Self {
        self.items = Vec::new();
        self.rejected = Vec::new();
        self
    }

    /// A copy without the accepted items and refusals: what a host hands `restore`, which
    /// never needs the history.
    pub fn checkpoint(&self) -> Self {
        DurableState {
            hlc_last: self.hlc_last,
            state: self.state.clone(),
            log_seq: self.log_seq,
            received: self.received.clone(),
            outbox: self.outbox.clone(),
            next_pos: self.next_pos,
            acked: self.acked,
            inbox: self.inbox.clone(),
            items: Vec::new(),
            seen_ids: self.seen_ids.clone(),
            seen_keys: self.seen_keys.clone(),
            rejected: Vec::new(),
            log_tail: self.log_tail.clone(),
        }
    }

    fn apply_op(&mut self, op: &WriteOp, history: bool) {
        match op {
            WriteOp::Append { pos, item } => {
                if let Item::Event(e) = item {
                    self.hlc_last = self.hlc_last.max(e.causality().hlc.time);
                }
                if *pos > self.acked {
                    self.outbox.insert(*pos, item.clone());
                }
                self.next_pos = self.next_pos.max(pos + 1);
            }
            WriteOp::Acked { upto } => {
                self.acked = self.acked.max(*upto);
                let keep = self.outbox.split_off(&(self.acked + 1));
                self.outbox = keep;
            }
            WriteOp::Accept { from, pos, item, forward } => {
                bump(&mut self.inbox, *from, *pos);
                if let Some(item) = item {
                    self.seen_ids.insert(item.event_id());
                    if let Some(k) = item.idempotency() {
                        self.seen_keys.insert(k);
                    }
                    if history {
                        self.items.push((*from, *pos, item.clone()));
                    }
                }
                if let Some(fwd) = forward {
                    let p = self.next_pos.max(1);
                    self.outbox.insert(p, fwd.clone());
                    self.next_pos = p + 1;
                }
            }
            WriteOp::Reject { from, pos, event_id, reason } => {
                bump(&mut self.inbox, *from, *pos);
                if history {
                    self.rejected.push((*from, *pos, *event_id, reason.clone()));
                }
            }
            WriteOp::Delta { from, have, delta, seq } => {
                self.state.apply_delta(delta);
                if let Some(from) = from {
                    bump(&mut self.received, *from, *have);
                }
                self.log(*seq, *from, Some(delta));
            }
            WriteOp::Full { from, have, state, seq } => {
                self.state.merge(state);
                bump(&mut self.received, *from, *have);
                self.log(*seq, Some(*from), None);
            }
            WriteOp::Hlc { last } => self.hlc_last = self.hlc_last.max(*last),
        }
    }

    /// Records log position `seq` (a change that took no new position records nothing).
    fn log(&mut self, seq: u64, origin: Option<NodeId>, delta: Option<&StateDelta>) {
        if seq <= self.log_seq {
            return;
        }
        self.log_seq = seq;
        self.log_tail.push_back(LogEntry { seq, origin, delta: delta.cloned() });
        while self.log_tail.len() > LOG_TAIL {
            self.log_tail.pop_front();
        }
    }

    /// The next outbox position (1 for an empty outbox).
    pub fn next_outbox_pos(&self) -> u64 {
        self.next_pos.max(1)
    }
}

/// A group of writes to make durable together, then confirm with `handle_persisted(token)`.
#[derive(Debug, Clone, PartialEq)]
pub struct PersistBatch {
    /// Confirm with this token (confirming a token confirms every earlier one).
    pub token: u64,
    /// The writes, to apply in order.
    pub ops: Vec<WriteOp>,
}
