//! The child side of a link (store → region, region → master): pushes the durable outbox in
//! bounded batches with CRDT deltas, retransmits with backoff, and processes acks.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::backoff::Backoff;
use crate::durable::WriteOp;
use crate::messages::{Ack, Heartbeat, Message, NodeId, Positioned, Push, Rejection};
use crate::node::{Core, Now};

#[derive(Debug, Clone, Copy)]
struct InFlight {
    batch: u64,
    deadline: u64,
    /// Highest durable outbox position when the push left.
    top: u64,
}

pub(crate) struct Uplink {
    pub parent: NodeId,
    in_flight: Option<InFlight>,
    backoff: Backoff,
    next_push_at: u64,
    next_heartbeat_at: u64,
    next_batch: u64,
    last_ack_batch: u64,
    /// Highest acknowledged outbox position (including unpersisted acks).
    pub acked: u64,
    sizes: BTreeMap<u64, usize>,
    pub rejections: Vec<Rejection>,
    /// Items per push: halved on every timeout, doubled on every ack (a lossy or dead link
    /// is probed with small pushes instead of resending the whole outbox).
    window: usize,
}

impl Uplink {
    pub fn new(core: &Core, parent: NodeId, now: u64) -> Self {
        Uplink {
            parent,
            in_flight: None,
            backoff: Backoff::new(core.cfg.retransmit_base_ms, core.cfg.retransmit_max_ms),
            next_push_at: now,
            next_heartbeat_at: now + core.cfg.heartbeat_interval_ms,
            next_batch: 1,
            last_ack_batch: 0,
            acked: core.durable.acked,
            sizes: BTreeMap::new(),
            rejections: Vec::new(),
            window: core.cfg.max_batch_items.max(1),
        }
    }

    pub fn lag(&self, core: &Core) -> u64 {
        core.durable.outbox.range(self.acked + 1..).count() as u64
    }

    pub fn poll_timeout(&self) -> u64 {
        let t = match self.in_flight {
            Some(f) => f.deadline,
            None => self.next_push_at,
        };
        t.min(self.next_heartbeat_at)
    }

    /// New durable items: push them soon (after the batching delay) unless one is in flight.
    pub fn items_ready(&mut self, core: &Core, now: u64) {
        if self.in_flight.is_none() && self.lag(core) > 0 {
            self.next_push_at = self.next_push_at.min(now + core.cfg.batch_delay_ms);
        }
    }

    pub fn handle_timeout(&mut self, core: &mut Core, now: Now) {
        let t = now.mono_ms;
        if t >= self.next_heartbeat_at {
            self.next_heartbeat_at = t + core.cfg.heartbeat_interval_ms;
            let hb = Heartbeat { hlc: core.hlc.last().time, lag: self.lag(core) };
            core.transmit.push_back((self.parent, Message::Heartbeat(hb)));
        }
        match self.in_flight {
            Some(f) if t >= f.deadline => {
                core.stats.retransmits += 1;
                self.window = (self.window / 2).max(1);
                self.send_push(core, t);
            }
            None if t >= self.next_push_at => self.send_push(core, t),
            _ => {}
        }
    }

    fn item_size(&mut self, pos: u64, item: &crate::messages::Item) -> usize {
        *self
            .sizes
            .entry(pos)
            .or_insert_with(|| postcard::to_allocvec(item).map_or(1024, |v| v.len()))
    }

    fn send_push(&mut self, core: &mut Core, now: u64) {
        let mut items = Vec::new();
        let mut bytes = 0usize;
        let candidates: Vec<(u64, crate::messages::Item)> = core
            .durable
            .outbox
            .range(self.acked + 1..)
            .take(self.window)
            .map(|(p, i)| (*p, i.clone()))
            .collect();
        for (pos, item) in candidates {
            let size = self.item_size(pos, &item);
            if !items.is_empty() && bytes + size > core.cfg.max_batch_bytes {
                break;
            }
            bytes += size;
            items.push(Positioned { pos, item });
        }
        let top = core.durable.outbox.last_key_value().map_or(0, |(p, _)| *p);
        let batch = self.next_batch;
        self.next_batch += 1;
        let push = Push {
            batch,
            lag: self.lag(core),
            items,
            crdt: core.payload_for(self.parent),
            have: core.have_of(self.parent),
            hlc: core.hlc.last().time,
        };
        core.stats.pushes += 1;
        core.transmit.push_back((self.parent, Message::Push(push)));
        let delay = self.backoff.next_delay(core.rng.next_u64());
        self.in_flight = Some(InFlight { batch, deadline: now + delay, top });
    }

    pub fn handle_ack(&mut self, core: &mut Core, now: Now, ack: Ack) {
        core.observe_hlc(now, ack.hlc);
        let top = core.durable.next_outbox_pos().saturating_sub(1);
        let upto = ack.durable_pos.min(top);
        let progressed = upto > self.acked;
        if progressed {
            self.acked = upto;
            core.write(WriteOp::Acked { upto });
            let keep = self.sizes.split_off(&(upto + 1));
            self.sizes = keep;
        }
        self.rejections.extend(ack.rejected);
        if ack.batch >= self.last_ack_batch {
            self.last_ack_batch = ack.batch;
            core.peer_reports(self.parent, ack.have);
        }
        if let Some(p) = ack.crdt {
            core.merge_payload(self.parent, p);
        }
        if let Some(f) = self.in_flight.filter(|f| f.batch == ack.batch) {
            let newer = core.durable.outbox.range(f.top + 1..).next().is_some();
            self.in_flight = None;
            self.backoff.reset();
            self.window = (self.window * 2).min(core.cfg.max_batch_items.max(1));
            // More to send: go on at once, unless the parent took nothing (then wait a round
            // instead of spinning on a parent that cannot take the next position).
            self.next_push_at = if self.lag(core) > 0 && (progressed || newer) {
                now.mono_ms
            } else {
                now.mono_ms + core.cfg.sync_interval_ms
            };
        }
    }
}
