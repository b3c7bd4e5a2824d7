//! The parent side of a link (region ← stores, master ← regions): verifies and stores pushed
//! items, merges CRDT deltas, and acknowledges only what is durable.
//!
//! Deduplication takes no memory that grows with the history: per-child contiguous positions
//! absorb retransmissions, and the host's store, which holds every accepted item, catches an
//! item it already holds at a new position (same event id or idempotency key) and reports it
//! as [`Outcome::Duplicate`]: it is neither kept again nor forwarded.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::ToString;
use alloc::vec::Vec;

use crate::SyncError;
use crate::durable::{Outcome, WriteOp};
use crate::liveness::Liveness;
use crate::messages::{Ack, CrdtPayload, EventSummary, Item, Message, NodeId, Push, Rejection};
use crate::node::{Core, Now};
use crate::verifier::Verifier;

pub(crate) struct Downlink {
    pub children: BTreeSet<NodeId>,
    /// Per child: highest handled position, including unpersisted ones.
    high: BTreeMap<NodeId, u64>,
    /// Children whose push waits for a durable write before it is acknowledged.
    waiting: BTreeMap<NodeId, (u64, Vec<Rejection>)>,
}

/// What became durable of one accepted item, as the downlink reports it to its machine.
pub(crate) struct Forwarded<'a> {
    /// Outbox position the store gave the forward.
    pub pos: u64,
    /// The forward.
    pub item: &'a Item,
}

impl Downlink {
    pub fn new(core: &Core, children: impl IntoIterator<Item = NodeId>) -> Self {
        Downlink {
            children: children.into_iter().collect(),
            high: core.durable.inbox.clone(),
            waiting: BTreeMap::new(),
        }
    }

    /// Handles any message from child `from` (refusing unknown children); `parent` is this
    /// node's own parent, whose log position also bounds pruning.
    #[allow(clippy::too_many_arguments)]
    pub fn handle_child_message(
        &mut self,
        core: &mut Core,
        liveness: &mut Liveness,
        now: Now,
        from: NodeId,
        msg: Message,
        verifier: Option<&dyn Verifier>,
        parent: Option<NodeId>,
    ) -> Result<(), SyncError> {
        if !self.children.contains(&from) {
            core.stats.unknown_peer += 1;
            return Err(SyncError::UnknownPeer(from));
        }
        match msg {
            Message::Push(push) => {
                liveness.observe(now.mono_ms, from, push.lag);
                self.handle_push(core, now, from, push, verifier, parent.is_some());
                let peers = self.children.iter().copied().chain(parent);
                core.prune_log(peers);
            }
            Message::Heartbeat(h) => {
                liveness.observe(now.mono_ms, from, h.lag);
                core.observe_hlc(now, h.hlc);
            }
            Message::Refuse(r) => core.on_refuse(from, &r),
            Message::Ack(_) => {}
        }
        Ok(())
    }

    /// Handles a push from `from`; `forward` makes the summary for this node's own uplink.
    fn handle_push(
        &mut self,
        core: &mut Core,
        now: Now,
        from: NodeId,
        push: Push,
        verifier: Option<&dyn Verifier>,
        forward: bool,
    ) {
        core.observe_hlc(now, push.hlc);
        let mut rejected = Vec::new();
        let mut high = self.high.get(&from).copied().unwrap_or(0);
        for p in push.items {
            let skip_dedup = core.faults.skip_dedup;
            if p.pos <= high && !skip_dedup {
                core.stats.duplicates += 1;
                continue;
            }
            if p.pos > high + 1 {
                break; // a gap: an earlier batch was lost; the child resends from its ack
            }
            high = high.max(p.pos);
            let verdict = match (&p.item, verifier) {
                (Item::Event(e), Some(v)) => v.verify(e).map_err(|e| e.to_string()),
                _ => Ok(()),
            }
            .and_then(|()| match &p.item {
                // The key registry as merged here: the same on every replica at this input.
                Item::Event(e) => core.working.revocation_of(e).map_or(Ok(()), Err),
                Item::Summary(_) => Ok(()),
            });
            match verdict {
                Err(reason) => {
                    core.stats.rejected += 1;
                    let event_id = p.item.event_id();
                    rejected.push(Rejection { pos: p.pos, event_id, reason: reason.clone() });
                    core.write(WriteOp::Reject { from, pos: p.pos, event_id, reason });
                }
                Ok(()) => {
                    let fwd = match (&p.item, forward) {
                        (Item::Event(e), true) => {
                            let body = verifier.and_then(|v| v.open(e));
                            Some(Item::Summary(EventSummary::of(e, body.as_ref())))
                        }
                        _ => None,
                    };
                    core.write(WriteOp::Accept { from, pos: p.pos, item: p.item, forward: fwd });
                }
            }
        }
        self.high.insert(from, high);
        core.peer_reports(from, push.have);
        if let Some(mut c) = push.crdt {
            // A child's own changes are stock, sessions and enrollments: what only the master
            // writes never comes up (a store cannot lift a revocation or set a price).
            match &mut c {
                CrdtPayload::Delta { delta, .. } => {
                    if delta.without_master_writes() {
                        core.stats.master_writes_dropped += 1;
                    }
                }
                CrdtPayload::Full { state, .. } => state.without_master_writes(),
            }
            core.merge_payload(from, c);
        }
        let pending = !core.unsubmitted.is_empty() || !core.nothing_in_flight();
        if pending && !self.durable_for(core, from) && !core.faults.ack_before_durable {
            let entry = self.waiting.entry(from).or_insert((push.batch, Vec::new()));
            entry.0 = push.batch;
            entry.1.extend(rejected);
        } else {
            self.send_ack(core, from, push.batch, rejected);
        }
    }

    /// True when everything taken from `child` so far is durable.
    fn durable_for(&self, core: &Core, child: NodeId) -> bool {
        core.durable.inbox.get(&child).copied().unwrap_or(0)
            >= self.high.get(&child).copied().unwrap_or(0)
            && core.have_of(child) >= core.merged.get(&child).copied().unwrap_or(0)
    }

    fn send_ack(&mut self, core: &mut Core, to: NodeId, batch: u64, rejected: Vec<Rejection>) {
        let durable_pos = if core.faults.ack_before_durable {
            self.high.get(&to).copied().unwrap_or(0)
        } else {
            core.durable.inbox.get(&to).copied().unwrap_or(0)
        };
        let ack = Ack {
            batch,
            durable_pos,
            rejected,
            crdt: core.payload_for(to),
            have: core.have_of(to),
            hlc: core.hlc.last().time,
        };
        core.stats.acks += 1;
        core.transmit.push_back((to, Message::Ack(ack)));
    }

    /// Writes became durable, with the store's `outcomes` of their accepted items: count
    /// them, queue store refusals on the children's acks, send the acks that waited, and
    /// return the forwards the store queued on this node's outbox.
    ///
    /// # Errors
    /// [`SyncError::Outcomes`] when there is not one outcome per accepted item.
    pub fn persisted<'a>(
        &mut self,
        core: &mut Core,
        ops: &'a [WriteOp],
        outcomes: &[Outcome],
    ) -> Result<Vec<Forwarded<'a>>, SyncError> {
        let accepts = ops.iter().filter(|o| matches!(o, WriteOp::Accept { .. })).count();
        if accepts != outcomes.len() {
            return Err(SyncError::Outcomes { expected: accepts, got: outcomes.len() });
        }
        let mut forwards = Vec::new();
        let mut outcomes = outcomes.iter();
        for op in ops {
            let WriteOp::Accept { from, pos, item, forward } = op else { continue };
            match outcomes.next() {
                Some(Outcome::Stored { forwarded }) => {
                    core.stats.accepted += 1;
                    if let (Some(at), Some(item)) = (forwarded, forward) {
                        forwards.push(Forwarded { pos: *at, item });
                    }
                }
                Some(Outcome::Duplicate) => core.stats.duplicates += 1,
                Some(Outcome::Refused { reason }) => {
                    core.stats.rejected += 1;
                    let r =
                        Rejection { pos: *pos, event_id: item.event_id(), reason: reason.clone() };
                    match self.waiting.get_mut(from) {
                        Some(w) => w.1.push(r),
                        // Its push was answered already (only with the ack-before-durable
                        // fault): the refusal goes in an ack of its own.
                        None => {
                            self.waiting.insert(*from, (0, alloc::vec![r]));
                        }
                    }
                }
                None => {}
            }
        }
        let idle = core.nothing_in_flight() && core.unsubmitted.is_empty();
        let ready: Vec<NodeId> =
            self.waiting.keys().copied().filter(|c| idle || self.durable_for(core, *c)).collect();
        for c in ready {
            if let Some((batch, rejected)) = self.waiting.remove(&c) {
                self.send_ack(core, c, batch, rejected);
            }
        }
        Ok(forwards)
    }
}
