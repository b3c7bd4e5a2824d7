//! The part every machine shares: durable state, pending writes, the CRDT state, the delta
//! log, the HLC, the seeded randomness and the transmit queue.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::ToString;
use alloc::vec::Vec;

use dcs_core::HybridClock;
use dcs_core::causality::HlcTimestamp;
use dcs_crdt::{Crdt, ReplicaId};

use crate::checkpoint::Checkpoint;
use crate::delta_log::DeltaLog;
use crate::durable::{PersistBatch, WriteOp};
use crate::messages::{CrdtPayload, Message, NodeId, PROTOCOL_VERSION, Refuse};
use crate::reach::Reach;
use crate::rng::SplitMix64;
use crate::state::{ReplicatedState, StateDelta};
use crate::{SyncError, codec};

/// The inputs' notion of time: a monotonic clock for timers and the (possibly skewed) wall clock
/// for the HLC, both in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Now {
    /// Monotonic milliseconds: timers and `poll_timeout` use this clock.
    pub mono_ms: u64,
    /// Wall-clock Unix milliseconds as this node reads them (may be skewed).
    pub wall_ms: u64,
}

/// Tuning shared by all machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncConfig {
    /// Period of a sync round when idle (a push that also pulls).
    pub sync_interval_ms: u64,
    /// Wait after new items become durable before pushing them (batches bursts).
    pub batch_delay_ms: u64,
    /// First retransmission timeout.
    pub retransmit_base_ms: u64,
    /// Largest retransmission timeout.
    pub retransmit_max_ms: u64,
    /// Heartbeat period.
    pub heartbeat_interval_ms: u64,
    /// Most items per push.
    pub max_batch_items: usize,
    /// Most item bytes per push (at least one item is always sent).
    pub max_batch_bytes: usize,
    /// Refuse remote HLC times further ahead of the wall clock than this.
    pub max_clock_drift_ms: u64,
    /// Delta-log entries kept for peers that are behind (older: full state).
    pub delta_log_capacity: usize,
    /// Durable outbox items held in memory (the rest stay in the store and are read back in
    /// pages of up to this many): at least `max_batch_items`.
    pub outbox_window_items: usize,
    /// Refusals from the parent kept in memory for `rejections()` (the store records all).
    pub recent_rejections: usize,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            sync_interval_ms: 30_000,
            batch_delay_ms: 1_000,
            retransmit_base_ms: 2_000,
            retransmit_max_ms: 120_000,
            heartbeat_interval_ms: 10_000,
            max_batch_items: 256,
            max_batch_bytes: 256 * 1024,
            max_clock_drift_ms: 10 * 60_000,
            delta_log_capacity: 4_096,
            outbox_window_items: 512,
            recent_rejections: 64,
        }
    }
}

/// Deliberate protocol bugs, to prove the simulator's checker catches them. Never enable in
/// production: each one breaks a guarantee on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Faults {
    /// Acknowledge items before they are durable (a crash then loses acknowledged events).
    pub ack_before_durable: bool,
    /// Accept every pushed item, even one already stored (duplicates after retransmissions).
    pub skip_dedup: bool,
    /// Send a message before the HLC time it carries is durable (a crash then restarts the
    /// clock below a time peers have already seen).
    pub skip_hlc_hold_back: bool,
}

/// Counters of what a machine did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Pushes sent (first tries and retransmissions).
    pub pushes: u64,
    /// Retransmissions after a timeout.
    pub retransmits: u64,
    /// Acks sent.
    pub acks: u64,
    /// Items stored from children (new to the store).
    pub accepted: u64,
    /// Items dropped as duplicates: retransmitted positions, and items the store already held.
    pub duplicates: u64,
    /// Items refused by the verifier.
    pub rejected: u64,
    /// CRDT payloads sent as deltas.
    pub deltas_sent: u64,
    /// CRDT payloads sent as full states.
    pub full_states_sent: u64,
    /// Remote HLC times refused for drift.
    pub hlc_refused: u64,
    /// Messages that could not be decoded.
    pub undecodable: u64,
    /// Messages from nodes that are not peers.
    pub unknown_peer: u64,
    /// Items the parent refused (their reasons went to the store with the ack).
    pub refused_by_parent: u64,
    /// Outbox pages read back from the store.
    pub outbox_reads: u64,
    /// CRDT deltas from a child that carried writes only the master makes (prices, catalog,
    /// key registry): those parts were dropped, the rest merged.
    pub master_writes_dropped: u64,
}

/// What an in-flight batch still means once it is durable: its non-CRDT writes as they were,
/// its CRDT merges as the cursors they move (the store holds the merged state).
// Most entries are writes; boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
enum Done {
    Op(WriteOp),
    Merged { from: Option<NodeId>, have: u64, seq: u64 },
}

impl Done {
    fn of(op: &WriteOp) -> Done {
        match op {
            WriteOp::Delta { from, have, seq, .. } => {
                Done::Merged { from: *from, have: *have, seq: *seq }
            }
            WriteOp::Full { from, have, seq, .. } => {
                Done::Merged { from: Some(*from), have: *have, seq: *seq }
            }
            other => Done::Op(other.clone()),
        }
    }
}

pub(crate) struct Core {
    pub cfg: SyncConfig,
    pub faults: Faults,
    /// The checkpoint as confirmed durable, without its CRDT state: the store holds that, and
    /// `working` equals it whenever no CRDT write is pending (see `state_pending`).
    pub durable: Checkpoint,
    pub working: ReplicatedState,
    pub log: DeltaLog,
    pub hlc: HybridClock,
    pub rng: SplitMix64,
    pub unsubmitted: Vec<WriteOp>,
    in_flight: BTreeMap<u64, Vec<Done>>,
    pub next_token: u64,
    pub persisted_hlc: u64,
    pub transmit: VecDeque<(NodeId, Message)>,
    /// Per peer: how far it has merged this node's delta log (as it last reported).
    pub peer_has: BTreeMap<NodeId, u64>,
    /// Per peer: how far this node has merged that peer's log (including unpersisted merges).
    pub merged: BTreeMap<NodeId, u64>,
    pub stats: Stats,
    pub refusal: Option<SyncError>,
    /// Whether this node passes its peers' deltas on to other peers. A leaf (a store: its
    /// parent is its only peer) does not, so a delta merged from a peer takes no delta-log
    /// position there: nobody would ever be sent it, and neither the log nor the store's log
    /// tail holds it.
    pub relays: bool,
    /// For a node with a parent it relays for (a region): the parent and how far, by each
    /// position of this node's log, the parent's log was merged (see [`Reach`]).
    pub reach: Option<(NodeId, Reach)>,
}

impl Core {
    pub fn restore(
        id: NodeId,
        replica: ReplicaId,
        cfg: SyncConfig,
        mut durable: Checkpoint,
        seed: u64,
    ) -> Result<Self, SyncError> {
        let mut hlc = HybridClock::new(id.hlc_node(), cfg.max_clock_drift_ms)
            .map_err(|e| SyncError::Domain(e.to_string()))?;
        hlc.restore(HlcTimestamp { time: durable.hlc_last, node: id.hlc_node() });
        let _ = replica;
        Ok(Core {
            cfg,
            faults: Faults::default(),
            working: core::mem::take(&mut durable.state),
            // The tail moves into the delta log: the machine's checkpoint copy keeps none.
            log: DeltaLog::restore(
                durable.log_seq,
                cfg.delta_log_capacity,
                core::mem::take(&mut durable.log_tail),
            ),
            merged: durable.received.clone(),
            persisted_hlc: durable.hlc_last,
            durable,
            hlc,
            rng: SplitMix64::new(seed),
            unsubmitted: Vec::new(),
            in_flight: BTreeMap::new(),
            next_token: 1,
            transmit: VecDeque::new(),
            peer_has: BTreeMap::new(),
            stats: Stats::default(),
            refusal: None,
            relays: true,
            reach: None,
        })
    }

    /// Decodes bytes from `from`; answers a newer version with a refusal.
    pub fn decode(&mut self, from: NodeId, bytes: &[u8]) -> Result<Message, SyncError> {
        match codec::decode(bytes) {
            Ok(m) => Ok(m),
            Err(e) => {
                self.stats.undecodable += 1;
                if matches!(e, SyncError::UnsupportedVersion { .. }) {
                    self.transmit.push_back((
                        from,
                        Message::Refuse(Refuse {
                            supported_version: PROTOCOL_VERSION,
                            reason: e.to_string(),
                        }),
                    ));
                }
                Err(e)
            }
        }
    }

    /// The next message to send, held back while the HLC time it carries is not durable.
    pub fn next_transmit(&mut self) -> Option<(NodeId, Message)> {
        let hlc = self.transmit.front().map(|(_, m)| m.hlc())?;
        if hlc.is_some_and(|h| h > self.durable.hlc_last) && !self.faults.skip_hlc_hold_back {
            return None;
        }
        self.transmit.pop_front()
    }

    pub fn on_refuse(&mut self, from: NodeId, r: &Refuse) {
        self.refusal = Some(SyncError::Refused {
            peer: from,
            reason: r.reason.clone(),
            supported: r.supported_version,
        });
    }

    /// Observes a remote HLC time (refused, and counted, if too far ahead).
    pub fn observe_hlc(&mut self, now: Now, time: u64) {
        let remote = HlcTimestamp { time, node: [0xFF; 16] };
        if self.hlc.observe(remote, now.wall_ms).is_err() {
            self.stats.hlc_refused += 1;
        }
    }

    pub fn write(&mut self, op: WriteOp) {
        self.unsubmitted.push(op);
    }

    pub fn poll_persist(&mut self) -> Option<PersistBatch> {
        // The clock is persisted before any message carries it (see `next_transmit`), so
        // a restarted node never sends a time below one it sent before its crash.
        // It goes in a batch of its own, ahead of the data, so that the clock is not held
        // up by larger writes.
        let last = self.hlc.last().time;
        let ops = if last > self.persisted_hlc {
            self.persisted_hlc = last;
            alloc::vec![WriteOp::Hlc { last }]
        } else if self.unsubmitted.is_empty() {
            return None;
        } else {
            core::mem::take(&mut self.unsubmitted)
        };
        let token = self.next_token;
        self.next_token += 1;
        self.in_flight.insert(token, ops.iter().map(Done::of).collect());
        Some(PersistBatch { token, ops })
    }

    /// True when no batch handed out by `poll_persist` awaits its confirmation.
    pub fn nothing_in_flight(&self) -> bool {
        self.in_flight.is_empty()
    }

    /// Outbox positions appended but not yet durable.
    pub fn pending_appends(&self) -> Vec<u64> {
        let in_flight = self.in_flight.values().flatten().filter_map(|d| match d {
            Done::Op(op) => Some(op),
            Done::Merged { .. } => None,
        });
        self.unsubmitted
            .iter()
            .chain(in_flight)
            .filter_map(|o| match o {
                WriteOp::Append { pos, .. } => Some(*pos),
                _ => None,
            })
            .collect()
    }

    /// True while a CRDT merge is not yet confirmed durable (`working` is ahead of the store).
    pub fn state_pending(&self) -> bool {
        self.unsubmitted.iter().any(|op| matches!(op, WriteOp::Delta { .. } | WriteOp::Full { .. }))
            || self.in_flight.values().flatten().any(|d| matches!(d, Done::Merged { .. }))
    }

    /// Applies every in-flight batch up to `token` to the durable cursors; returns the writes
    /// that are not CRDT merges (their callers act on appends and accepted items).
    pub fn persisted(&mut self, token: u64) -> Vec<WriteOp> {
        let rest = self.in_flight.split_off(&(token + 1));
        let done = core::mem::replace(&mut self.in_flight, rest);
        let mut ops = Vec::new();
        for d in done.into_values().flatten() {
            match d {
                Done::Op(op) => {
                    self.durable.apply_keeping(&op, 0);
                    ops.push(op);
                }
                Done::Merged { from, have, seq } => self.durable.merged(from, have, seq),
            }
        }
        self.log.mark_durable(self.durable.log_seq);
        ops
    }

    /// Records a change this node made itself in its delta log and queues its durable write
    /// (an empty change is nothing).
    pub fn local_change(&mut self, delta: StateDelta) {
        if delta.is_empty() {
            return;
        }
        let delta = alloc::sync::Arc::new(delta);
        let seq = self.log.record(None, alloc::sync::Arc::clone(&delta));
        self.write(WriteOp::Delta { from: None, have: 0, delta, seq });
    }

    /// Joins a CRDT payload from `from` into the working state and queues its durable write.
    pub fn merge_payload(&mut self, from: NodeId, payload: CrdtPayload) {
        let merged = self.merged.get(&from).copied().unwrap_or(0);
        match payload {
            CrdtPayload::Delta { from: start, upto, delta } => {
                if start > merged || upto <= merged {
                    return; // a gap (our report was lost) or nothing new
                }
                let delta = alloc::sync::Arc::new(delta);
                let seq = if delta.is_empty() {
                    self.log.last()
                } else {
                    self.working.apply_delta(&delta);
                    if self.relays {
                        self.log.record(Some(from), alloc::sync::Arc::clone(&delta))
                    } else {
                        self.log.last()
                    }
                };
                self.merged.insert(from, upto);
                self.mark_reach(from, seq, upto);
                self.write(WriteOp::Delta { from: Some(from), have: upto, delta, seq });
            }
            CrdtPayload::Full { upto, state } => {
                if upto <= merged {
                    return;
                }
                let seq = if self.relays {
                    let before = self.working.clone();
                    self.working.merge(&state);
                    if self.working != before {
                        self.log.record_gap(Some(from))
                    } else {
                        self.log.last()
                    }
                } else {
                    self.working.merge(&state);
                    self.log.last()
                };
                self.merged.insert(from, upto);
                self.mark_reach(from, seq, upto);
                self.write(WriteOp::Full { from, have: upto, state: *state, seq });
            }
        }
    }

    fn mark_reach(&mut self, from: NodeId, seq: u64, upto: u64) {
        if let Some((parent, reach)) = &mut self.reach
            && *parent == from
        {
            reach.mark(seq, upto);
        }
    }

    /// How far `child` has merged the parent's log through this node (None: no parent
    /// tracked, or the child has not said how far it merged this node's log).
    pub fn parent_reach_of(&self, child: NodeId) -> Option<u64> {
        let (_, reach) = self.reach.as_ref()?;
        self.peer_has.get(&child).map(|&has| reach.of(has))
    }

    /// The CRDT payload `peer` needs, counting it.
    pub fn payload_for(&mut self, peer: NodeId) -> Option<CrdtPayload> {
        // Until the peer has said how far it merged our log (after a restart we do not know),
        // send nothing rather than a full state it may not need: its next message says.
        let have = self.peer_has.get(&peer).copied()?;
        // A full state is only ever the durable one: wait until no merge is pending.
        let durable = (!self.state_pending()).then_some(&self.working);
        let p = self.log.payload_for(peer, have, durable);
        match &p {
            Some(CrdtPayload::Full { .. }) => self.stats.full_states_sent += 1,
            Some(CrdtPayload::Delta { .. }) => self.stats.deltas_sent += 1,
            None => {}
        }
        p
    }

    /// Records how far `peer` has merged our log.
    pub fn peer_reports(&mut self, peer: NodeId, have: u64) {
        self.peer_has.insert(peer, have);
    }

    /// Drops log entries every peer in `peers` has merged.
    pub fn prune_log(&mut self, peers: impl Iterator<Item = NodeId>) {
        let min = peers.map(|p| self.peer_has.get(&p).copied().unwrap_or(0)).min().unwrap_or(0);
        self.log.prune(min);
    }

    pub fn have_of(&self, peer: NodeId) -> u64 {
        self.durable.received.get(&peer).copied().unwrap_or(0)
    }
}

/// The methods every machine shares, generated once for each machine type.
macro_rules! machine_common_api {
    ($ty:ident) => {
        impl $ty {
            /// Switches deliberate protocol bugs on (tests of the simulator's checker only).
            pub fn set_faults(&mut self, faults: $crate::Faults) {
                self.core.faults = faults;
            }

            /// Decodes and handles bytes from `from`; a newer protocol version is answered with
            /// a [`Refuse`]($crate::Refuse) (see `poll_transmit`).
            ///
            /// # Errors
            /// The decoding error, or the error of `handle_message`.
            pub fn handle_bytes(
                &mut self,
                now: $crate::Now,
                from: $crate::NodeId,
                bytes: &[u8],
            ) -> Result<(), $crate::SyncError> {
                let msg = self.core.decode(from, bytes)?;
                self.handle_message(now, from, msg)
            }

            /// The next message to send, with its destination. A message waits until the
            /// HLC time it carries is durable: call `poll_persist` and `handle_persisted`
            /// first, then poll again.
            pub fn poll_transmit(&mut self) -> Option<($crate::NodeId, $crate::Message)> {
                self.core.next_transmit()
            }

            /// True when `poll_persist` has writes to hand out (a host that persists on
            /// another thread asks before waking it).
            pub fn wants_persist(&self) -> bool {
                !self.core.unsubmitted.is_empty()
                    || self.core.hlc.last().time > self.core.persisted_hlc
            }

            /// The next writes to make durable (one transaction, see
            /// [`SyncStore::persist`]($crate::SyncStore::persist)), then confirm with
            /// `handle_persisted(token, outcomes)`.
            pub fn poll_persist(&mut self) -> Option<$crate::PersistBatch> {
                self.core.poll_persist()
            }

            /// The checkpoint's cursors as durably written (confirmed writes). Its CRDT state
            /// is empty: the store holds it, and `state()` equals it whenever
            /// `writes_pending()` is false. The accepted items, the refusals and the outbox
            /// are the store's; after a crash, `restore` takes what the store holds
            /// ([`SyncStore::load`]($crate::SyncStore::load)). Its log tail is empty: the
            /// machine's delta log holds those entries.
            pub fn checkpoint(&self) -> &$crate::Checkpoint {
                &self.core.durable
            }

            /// True while writes handed out (or still to hand out) are not confirmed durable.
            pub fn writes_pending(&self) -> bool {
                !self.core.unsubmitted.is_empty() || !self.core.nothing_in_flight()
            }

            /// The replicated state as this node sees it now (including unpersisted merges).
            pub fn state(&self) -> &$crate::ReplicatedState {
                &self.core.working
            }

            /// The last refusal a peer sent (e.g. a protocol version it does not speak).
            pub fn refusal(&self) -> Option<&$crate::SyncError> {
                self.core.refusal.as_ref()
            }

            /// Counters of what this machine did.
            pub fn stats(&self) -> $crate::Stats {
                self.core.stats
            }

            /// Entries buffered in the delta log (bounded by `delta_log_capacity`).
            pub fn delta_log_len(&self) -> usize {
                self.core.log.len()
            }
        }

        impl $crate::Persisting for $ty {
            fn next_persist(&mut self) -> Option<$crate::PersistBatch> {
                self.poll_persist()
            }
            fn persisted(
                &mut self,
                now: $crate::Now,
                token: u64,
                outcomes: &[$crate::Outcome],
            ) -> Result<(), $crate::SyncError> {
                self.handle_persisted(now, token, outcomes)
            }
            fn next_read(&mut self) -> Option<$crate::OutboxRead> {
                self.poll_read()
            }
            fn read(&mut self, items: alloc::vec::Vec<$crate::Positioned>) {
                self.handle_read(items)
            }
        }
    };
}
pub(crate) use machine_common_api;

#[cfg(test)]
mod tests {
    use super::*;

    fn core(id: NodeId, relays: bool) -> Core {
        let mut c =
            Core::restore(id, ReplicaId(9), SyncConfig::default(), Checkpoint::default(), 1)
                .unwrap_or_else(|e| panic!("{e}"));
        c.relays = relays;
        c
    }

    fn price_delta(n: i64) -> CrdtPayload {
        let mut s = ReplicatedState::default();
        let delta = s.set_price(ReplicaId(1), n as u64, "X", n).unwrap_or_else(|e| panic!("{e}"));
        CrdtPayload::Delta { from: (n - 1) as u64, upto: n as u64, delta }
    }

    #[test]
    fn a_leaf_merges_its_parents_deltas_without_logging_them() {
        let region = NodeId::Region(0);
        for relays in [false, true] {
            let mut c = core(NodeId::Store(1), relays);
            for n in 1..=3 {
                c.merge_payload(region, price_delta(n));
            }
            assert_eq!(c.working.price("X"), Some(3), "the state has every delta either way");
            let writes: Vec<u64> = c
                .unsubmitted
                .iter()
                .filter_map(|w| match w {
                    WriteOp::Delta { seq, .. } => Some(*seq),
                    _ => None,
                })
                .collect();
            if relays {
                assert_eq!(writes, [1, 2, 3], "a relay gives each merge a log position");
                assert_eq!(c.log.len(), 3);
            } else {
                assert_eq!(writes, [0, 0, 0], "a leaf's log position does not move");
                assert!(c.log.is_empty(), "and its log holds none of them");
            }
            // The store's checkpoint keeps a tail entry only for logged positions.
            let mut stored = Checkpoint::default();
            c.unsubmitted.iter().for_each(|w| stored.apply(w));
            assert_eq!(stored.log_tail.len(), if relays { 3 } else { 0 });
            assert_eq!(stored.received.get(&region), Some(&3), "the cursor moves either way");
        }
    }
}
