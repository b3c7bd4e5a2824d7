//! The delta log: recent CRDT deltas by position, to ship to each peer what it has not merged.

use alloc::collections::VecDeque;
use alloc::sync::Arc;

use crate::checkpoint::LogEntry;

use dcs_crdt::Crdt;

use crate::messages::{CrdtPayload, NodeId};
use crate::state::{ReplicatedState, StateDelta};

// Gap is rare (a full-state merge); boxing every delta would cost an allocation per entry.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
enum Change {
    Delta(Arc<StateDelta>),
    /// The state changed by a full-state merge: peers behind this point get the full state.
    Gap,
}

#[derive(Debug, Clone)]
struct Entry {
    seq: u64,
    origin: Option<NodeId>,
    change: Change,
}

/// Positions 1, 2, 3, … of this node's state changes; only entries up to the durable position
/// are ever shipped, so a position is never reused for a different change after a crash.
#[derive(Debug, Clone)]
pub struct DeltaLog {
    last: u64,
    durable: u64,
    entries: VecDeque<Entry>,
    capacity: usize,
}

impl DeltaLog {
    /// An empty log continuing after durable position `durable` (entries before it are gone:
    /// peers further behind get the full state).
    pub fn new(durable: u64, capacity: usize) -> Self {
        DeltaLog { last: durable, durable, entries: VecDeque::new(), capacity: capacity.max(1) }
    }

    /// The log rebuilt after a restart from its durable tail, continuing after `durable`.
    pub fn restore(durable: u64, capacity: usize, tail: VecDeque<LogEntry>) -> Self {
        let mut log = DeltaLog::new(durable, capacity);
        let skip = tail.len().saturating_sub(log.capacity);
        let entries = tail.into_iter().skip(skip).filter(|e| e.seq <= durable).map(|e| Entry {
            seq: e.seq,
            origin: e.origin,
            change: e.delta.map_or(Change::Gap, Change::Delta),
        });
        log.entries.extend(entries);
        while log.entries.len() > log.capacity {
            log.entries.pop_front();
        }
        log
    }

    /// The last assigned position.
    pub fn last(&self) -> u64 {
        self.last
    }

    /// The last durable position.
    pub fn durable(&self) -> u64 {
        self.durable
    }

    /// Records a delta from `origin` (None: made here) and returns its position.
    pub fn record(&mut self, origin: Option<NodeId>, delta: Arc<StateDelta>) -> u64 {
        self.push(origin, Change::Delta(delta))
    }

    /// Records a full-state merge from `origin` and returns its position.
    pub fn record_gap(&mut self, origin: Option<NodeId>) -> u64 {
        self.push(origin, Change::Gap)
    }

    fn push(&mut self, origin: Option<NodeId>, change: Change) -> u64 {
        self.last += 1;
        self.entries.push_back(Entry { seq: self.last, origin, change });
        while self.entries.len() > self.capacity {
            self.entries.pop_front();
        }
        self.last
    }

    /// Marks positions up to `seq` durable (shippable).
    pub fn mark_durable(&mut self, seq: u64) {
        self.durable = self.durable.max(seq.min(self.last));
    }

    /// Drops entries every peer has merged (`min_have` is the minimum over all peers).
    pub fn prune(&mut self, min_have: u64) {
        while self.entries.front().is_some_and(|e| e.seq <= min_have) {
            self.entries.pop_front();
        }
    }

    /// Number of buffered entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no entry is buffered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What `peer`, which has merged this log through `have`, still needs: the join of the
    /// durable entries after `have` (skipping those `peer` sent us: it has them), or the whole
    /// durable `state` when the buffer no longer covers the gap (None when the caller cannot
    /// give the durable state now: nothing is sent, the next round asks again). None when it
    /// is up to date.
    pub fn payload_for(
        &self,
        peer: NodeId,
        have: u64,
        state: Option<&ReplicatedState>,
    ) -> Option<CrdtPayload> {
        let upto = self.durable;
        if have >= upto {
            return None;
        }
        let full =
            || state.map(|s| CrdtPayload::Full { upto, state: alloc::boxed::Box::new(s.clone()) });
        let first = match self.entries.front() {
            Some(e) => e.seq,
            None => return full(),
        };
        if first > have + 1 {
            return full();
        }
        let mut joined = StateDelta::default();
        // Entries are in position order: start at the first after `have` (found by a binary
        // search, not a walk over the whole buffer).
        let after = self.entries.partition_point(|e| e.seq <= have);
        for e in self.entries.range(after..).take_while(|e| e.seq <= upto) {
            if e.origin == Some(peer) {
                continue;
            }
            match &e.change {
                Change::Gap => return full(),
                Change::Delta(d) => ReplicatedState::join_deltas(&mut joined, d),
            }
        }
        Some(CrdtPayload::Delta { from: have, upto, delta: joined })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcs_crdt::ReplicaId;

    fn delta(n: i64) -> StateDelta {
        let mut s = ReplicatedState::default();
        s.set_price(ReplicaId(1), n as u64, "X", n).unwrap()
    }

    #[test]
    fn a_restored_log_ships_deltas_from_its_durable_tail() {
        use crate::checkpoint::Checkpoint;
        use crate::durable::WriteOp;
        let mut d = Checkpoint::default();
        for (seq, n) in [(1, 1), (2, 2), (3, 3)] {
            d.apply(&WriteOp::Delta { from: None, have: 0, delta: Arc::new(delta(n)), seq });
        }
        let state = d.state.clone();
        let log = DeltaLog::restore(d.log_seq, 16, d.log_tail.clone());
        let Some(CrdtPayload::Delta { from: 1, upto: 3, delta: got }) =
            log.payload_for(NodeId::Master, 1, Some(&state))
        else {
            panic!("a peer one entry behind gets a delta, not the full state")
        };
        let mut s = ReplicatedState::default();
        s.apply_delta(&got);
        assert_eq!(s.price("X"), Some(3));
        // A merged full state in the tail still sends peers behind it the full state.
        d.apply(&WriteOp::Full { from: NodeId::Store(1), have: 1, state: state.clone(), seq: 4 });
        let log = DeltaLog::restore(d.log_seq, 16, d.log_tail.clone());
        assert!(matches!(
            log.payload_for(NodeId::Master, 3, Some(&d.state)),
            Some(CrdtPayload::Full { upto: 4, .. })
        ));
    }

    #[test]
    fn ships_only_durable_entries_and_skips_echoes() {
        let state = ReplicatedState::default();
        let mut log = DeltaLog::new(0, 16);
        log.record(None, Arc::new(delta(1)));
        log.record(Some(NodeId::Store(1)), Arc::new(delta(2)));
        assert_eq!(log.payload_for(NodeId::Store(2), 0, Some(&state)), None, "nothing durable yet");
        log.mark_durable(2);
        let Some(CrdtPayload::Delta { from: 0, upto: 2, delta: d }) =
            log.payload_for(NodeId::Store(2), 0, Some(&state))
        else {
            panic!("expected a delta")
        };
        let mut s = ReplicatedState::default();
        s.apply_delta(&d);
        assert_eq!(s.price("X"), Some(2));
        // Store 1 sent entry 2: it only gets entry 1.
        let Some(CrdtPayload::Delta { delta: d1, .. }) =
            log.payload_for(NodeId::Store(1), 0, Some(&state))
        else {
            panic!("expected a delta")
        };
        let mut s1 = ReplicatedState::default();
        s1.apply_delta(&d1);
        assert_eq!(s1.price("X"), Some(1));
        assert_eq!(log.payload_for(NodeId::Store(1), 2, Some(&state)), None);
    }

    #[test]
    fn falls_back_to_full_state_when_pruned_or_after_a_gap() {
        let state = ReplicatedState::default();
        let mut log = DeltaLog::new(0, 2);
        for i in 1..=3 {
            log.record(None, Arc::new(delta(i)));
        }
        log.mark_durable(3);
        assert!(matches!(
            log.payload_for(NodeId::Master, 0, Some(&state)),
            Some(CrdtPayload::Full { upto: 3, .. })
        ));
        assert!(matches!(
            log.payload_for(NodeId::Master, 1, Some(&state)),
            Some(CrdtPayload::Delta { .. })
        ));
        log.record_gap(Some(NodeId::Store(9)));
        log.mark_durable(4);
        assert!(matches!(
            log.payload_for(NodeId::Master, 3, Some(&state)),
            Some(CrdtPayload::Full { .. })
        ));
        // The origin of the full merge does not get it echoed back.
        assert!(matches!(
            log.payload_for(NodeId::Store(9), 3, Some(&state)),
            Some(CrdtPayload::Delta { upto: 4, .. })
        ));
        log.prune(3);
        assert_eq!(log.len(), 1);
        // A restarted log has no entries: anyone behind gets the full state.
        let fresh = DeltaLog::new(4, 8);
        assert!(fresh.is_empty());
        assert!(matches!(
            fresh.payload_for(NodeId::Master, 2, Some(&state)),
            Some(CrdtPayload::Full { .. })
        ));
    }
}
