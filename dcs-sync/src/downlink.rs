//! The parent side of a link (region ← stores, master ← regions): verifies, deduplicates and
//! stores pushed items, merges CRDT deltas, and acknowledges only what is durable.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use dcs_core::EventId;

use crate::SyncError;
use crate::durable::WriteOp;
use crate::liveness::Liveness;
use crate::messages::{Ack, EventSummary, Item, Message, NodeId, Push, Rejection};
use crate::node::{Core, Now};
use crate::verifier::Verifier;

pub(crate) struct Downlink {
    pub children: BTreeSet<NodeId>,
    /// Per child: highest handled position, including unpersisted ones.
    high: BTreeMap<NodeId, u64>,
    /// Children whose push waits for a durable write before it is acknowledged.
    waiting: BTreeMap<NodeId, (u64, Vec<Rejection>)>,
    pending_ids: BTreeSet<EventId>,
    pending_keys: BTreeSet<(String, String)>,
}

impl Downlink {
    pub fn new(core: &Core, children: impl IntoIterator<Item = NodeId>) -> Self {
        Downlink {
            children: children.into_iter().collect(),
            high: core.durable.inbox.clone(),
            waiting: BTreeMap::new(),
            pending_ids: BTreeSet::new(),
            pending_keys: BTreeSet::new(),
        }
    }

    fn seen(&self, core: &Core, item: &Item) -> bool {
        let id = item.event_id();
        if core.durable.seen_ids.contains(&id) || self.pending_ids.contains(&id) {
            return true;
        }
        item.idempotency()
            .is_some_and(|k| core.durable.seen_keys.contains(&k) || self.pending_keys.contains(&k))
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
            if !skip_dedup && self.seen(core, &p.item) {
                core.stats.duplicates += 1;
                core.write(WriteOp::Accept { from, pos: p.pos, item: None, forward: None });
                continue;
            }
            let verdict = match (&p.item, verifier) {
                (Item::Event(e), Some(v)) => v.verify(e).map_err(|e| e.to_string()),
                _ => Ok(()),
            };
            match verdict {
                Err(reason) => {
                    core.stats.rejected += 1;
                    let event_id = p.item.event_id();
                    rejected.push(Rejection { pos: p.pos, event_id, reason: reason.clone() });
                    core.write(WriteOp::Reject { from, pos: p.pos, event_id, reason });
                }
                Ok(()) => {
                    core.stats.accepted += 1;
                    self.pending_ids.insert(p.item.event_id());
                    if let Some(k) = p.item.idempotency() {
                        self.pending_keys.insert(k);
                    }
                    let fwd = match (&p.item, forward) {
                        (Item::Event(e), true) => {
                            let body = verifier.and_then(|v| v.open(e));
                            Some(Item::Summary(EventSummary::of(e, body.as_ref())))
                        }
                        _ => None,
                    };
                    core.write(WriteOp::Accept {
                        from,
                        pos: p.pos,
                        item: Some(p.item),
                        forward: fwd,
                    });
                }
            }
        }
        self.high.insert(from, high);
        core.peer_reports(from, push.have);
        if let Some(c) = push.crdt {
            core.merge_payload(from, c);
        }
        let pending = !core.unsubmitted.is_empty() || !core.in_flight.is_empty();
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

    /// Writes became durable: clear the pending indexes and send the acks that waited.
    pub fn persisted(&mut self, core: &mut Core, ops: &[WriteOp]) {
        for op in ops {
            if let WriteOp::Accept { item: Some(item), .. } = op {
                self.pending_ids.remove(&item.event_id());
                if let Some(k) = item.idempotency() {
                    self.pending_keys.remove(&k);
                }
            }
        }
        let idle = core.in_flight.is_empty() && core.unsubmitted.is_empty();
        let ready: Vec<NodeId> =
            self.waiting.keys().copied().filter(|c| idle || self.durable_for(core, *c)).collect();
        for c in ready {
            if let Some((batch, rejected)) = self.waiting.remove(&c) {
                self.send_ack(core, c, batch, rejected);
            }
        }
    }
}
