//! A machine's compact checkpoint: what it needs to resume, and nothing that grows with the
//! history (no outbox items, no accepted events, no dedup sets: those live in the host's store).

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;

use dcs_crdt::Crdt;
use serde::{Deserialize, Serialize};

use crate::durable::{PersistBatch, WriteOp};
use crate::messages::NodeId;
use crate::state::{ReplicatedState, StateDelta};

/// The persistent part of a machine besides its store's outbox and inbox: HLC, CRDT state,
/// delta-log tail and per-peer cursors. Its size is a function of the CRDT state, the peers
/// and [`LOG_TAIL`], never of how many events have passed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Highest HLC time ever issued or persisted (the clock restarts from here).
    pub hlc_last: u64,
    /// The replicated CRDT state as durably merged.
    pub state: ReplicatedState,
    /// Position of the last durable entry of this node's delta log.
    pub log_seq: u64,
    /// Per peer: how far this node has durably merged that peer's delta log.
    pub received: BTreeMap<NodeId, u64>,
    /// Per child: highest contiguous outbox position stored, deduplicated or refused here.
    pub inbox: BTreeMap<NodeId, u64>,
    /// The last [`LOG_TAIL`] entries of the delta log as a store keeps them, so that a
    /// restarted node still sends peers that are a little behind a delta rather than its full
    /// state. Empty in a running machine's copy: its delta log holds these entries.
    pub log_tail: VecDeque<LogEntry>,
}

/// Delta-log entries a store keeps in the checkpoint (a restored machine keeps at most its
/// configured `delta_log_capacity` of them, in its delta log).
pub const LOG_TAIL: usize = 1_024;

/// One durable delta-log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Its position in this node's log.
    pub seq: u64,
    /// The peer it came from (None: made here).
    pub origin: Option<NodeId>,
    /// The delta, or None where a full state was merged (peers behind it get the full state).
    /// Shared with the write that made it (encodes as the delta).
    pub delta: Option<Arc<StateDelta>>,
}

/// The part of a [`WriteOp`] that changes the checkpoint (no outbox or inbox items): what a
/// store keeps in its checkpoint log between two full checkpoints.
// Full (a whole state) is rare; boxing it would change nothing that matters.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CheckpointOp {
    /// The HLC advanced to this time.
    Hlc(u64),
    /// Child `from`'s outbox position `pos` was handled.
    Inbox {
        /// The child.
        from: NodeId,
        /// Its outbox position.
        pos: u64,
    },
    /// A CRDT delta joined (see [`WriteOp::Delta`]).
    Delta {
        /// Origin peer, None for a local mutation.
        from: Option<NodeId>,
        /// The origin's log position now merged.
        have: u64,
        /// The delta (shared; encodes as the delta).
        delta: Arc<StateDelta>,
        /// This node's delta-log position after the change.
        seq: u64,
    },
    /// A peer's full state merged (see [`WriteOp::Full`]).
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
}

impl WriteOp {
    /// What this write changes in the checkpoint (None for pure outbox writes).
    pub fn checkpoint_op(&self) -> Option<CheckpointOp> {
        match self {
            WriteOp::Append { item, .. } => item.hlc().map(CheckpointOp::Hlc),
            WriteOp::Acked { .. } => None,
            WriteOp::Accept { from, pos, .. } | WriteOp::Reject { from, pos, .. } => {
                Some(CheckpointOp::Inbox { from: *from, pos: *pos })
            }
            WriteOp::Delta { from, have, delta, seq } => Some(CheckpointOp::Delta {
                from: *from,
                have: *have,
                delta: Arc::clone(delta),
                seq: *seq,
            }),
            WriteOp::Full { from, have, state, seq } => Some(CheckpointOp::Full {
                from: *from,
                have: *have,
                state: state.clone(),
                seq: *seq,
            }),
            WriteOp::Hlc { last } => Some(CheckpointOp::Hlc(*last)),
        }
    }
}

impl PersistBatch {
    /// What the whole batch changes in the checkpoint, compacted for a store's checkpoint log:
    /// the CRDT merges in order, then at most one HLC advance and one inbox position per
    /// child. Both are maxima of fields no other change touches, so replaying the compact list
    /// gives the same checkpoint as replaying every write's [`WriteOp::checkpoint_op`]; a
    /// push of 256 items logs one inbox entry, not 256.
    pub fn checkpoint_ops(&self) -> alloc::vec::Vec<CheckpointOp> {
        let mut out = alloc::vec::Vec::new();
        let mut hlc: Option<u64> = None;
        let mut inbox = BTreeMap::new();
        for op in &self.ops {
            match op.checkpoint_op() {
                Some(CheckpointOp::Hlc(t)) => hlc = Some(hlc.map_or(t, |h| h.max(t))),
                Some(CheckpointOp::Inbox { from, pos }) => bump(&mut inbox, from, pos),
                Some(merge) => out.push(merge),
                None => {}
            }
        }
        out.extend(hlc.map(CheckpointOp::Hlc));
        out.extend(inbox.into_iter().map(|(from, pos)| CheckpointOp::Inbox { from, pos }));
        out
    }
}

fn bump(map: &mut BTreeMap<NodeId, u64>, key: NodeId, to: u64) {
    let e = map.entry(key).or_insert(0);
    *e = (*e).max(to);
}

impl Checkpoint {
    /// Applies one durable write (its outbox and inbox items are the store's business),
    /// keeping the last [`LOG_TAIL`] delta-log entries.
    pub fn apply(&mut self, op: &WriteOp) {
        self.apply_keeping(op, LOG_TAIL);
    }

    /// [`Checkpoint::apply`] keeping at most `tail` delta-log entries (a machine keeps none in
    /// its copy: its delta log has them).
    pub fn apply_keeping(&mut self, op: &WriteOp, tail: usize) {
        match op {
            WriteOp::Append { item, .. } => {
                if let Some(t) = item.hlc() {
                    self.hlc_last = self.hlc_last.max(t);
                }
            }
            WriteOp::Acked { .. } => {}
            WriteOp::Accept { from, pos, .. } | WriteOp::Reject { from, pos, .. } => {
                bump(&mut self.inbox, *from, *pos)
            }
            WriteOp::Delta { from, have, delta, seq } => {
                self.delta(*from, *have, delta, *seq, tail)
            }
            WriteOp::Full { from, have, state, seq } => self.full(*from, *have, state, *seq, tail),
            WriteOp::Hlc { last } => self.hlc_last = self.hlc_last.max(*last),
        }
    }

    /// Applies one logged checkpoint change (a store replaying its checkpoint log).
    pub fn apply_logged(&mut self, op: &CheckpointOp) {
        match op {
            CheckpointOp::Hlc(t) => self.hlc_last = self.hlc_last.max(*t),
            CheckpointOp::Inbox { from, pos } => bump(&mut self.inbox, *from, *pos),
            CheckpointOp::Delta { from, have, delta, seq } => {
                self.delta(*from, *have, delta, *seq, LOG_TAIL)
            }
            CheckpointOp::Full { from, have, state, seq } => {
                self.full(*from, *have, state, *seq, LOG_TAIL)
            }
        }
    }

    fn delta(
        &mut self,
        from: Option<NodeId>,
        have: u64,
        delta: &Arc<StateDelta>,
        seq: u64,
        tail: usize,
    ) {
        self.state.apply_delta(delta);
        if let Some(from) = from {
            bump(&mut self.received, from, have);
        }
        self.log(seq, from, Some(delta), tail);
    }

    /// The cursors a CRDT merge moves, without the state (a machine's copy: the store holds
    /// the state).
    pub(crate) fn merged(&mut self, from: Option<NodeId>, have: u64, seq: u64) {
        if let Some(from) = from {
            bump(&mut self.received, from, have);
        }
        self.log(seq, from, None, 0);
    }

    fn full(&mut self, from: NodeId, have: u64, state: &ReplicatedState, seq: u64, tail: usize) {
        self.state.merge(state);
        bump(&mut self.received, from, have);
        self.log(seq, Some(from), None, tail);
    }

    /// Records log position `seq` (a change that took no new position records nothing),
    /// keeping at most `tail` entries.
    fn log(
        &mut self,
        seq: u64,
        origin: Option<NodeId>,
        delta: Option<&Arc<StateDelta>>,
        tail: usize,
    ) {
        if seq <= self.log_seq {
            return;
        }
        self.log_seq = seq;
        if tail > 0 {
            self.log_tail.push_back(LogEntry { seq, origin, delta: delta.cloned() });
        }
        while self.log_tail.len() > tail {
            self.log_tail.pop_front();
        }
    }
}
