//! The child side of a link (store → region, region → master): pushes the durable outbox in
//! bounded batches with CRDT deltas, retransmits with backoff, and processes acks.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::backoff::Backoff;
use crate::durable::WriteOp;
use crate::messages::{Ack, Heartbeat, Item, Message, NodeId, Positioned, Push, Rejection};
use crate::node::{Core, Now};
use crate::outbox::Outbox;
use crate::persistence::OutboxRead;

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
    /// The durable outbox: positions, the acknowledged one, and a bounded window of items.
    pub outbox: Outbox,
    /// The most recent refusals of the parent (bounded by `recent_rejections`).
    pub rejections: VecDeque<Rejection>,
    /// Items per push: halved on every timeout, doubled on every ack (a lossy or dead link
    /// is probed with small pushes instead of resending the whole outbox).
    window: usize,
}

impl Uplink {
    /// An uplink whose store holds outbox positions `acked + 1 ..= head`.
    pub fn new(core: &Core, parent: NodeId, now: u64, acked: u64, head: u64) -> Self {
        let cap = core.cfg.outbox_window_items.max(core.cfg.max_batch_items).max(1);
        Uplink {
            parent,
            in_flight: None,
            backoff: Backoff::new(core.cfg.retransmit_base_ms, core.cfg.retransmit_max_ms),
            next_push_at: now,
            next_heartbeat_at: now + core.cfg.heartbeat_interval_ms,
            next_batch: 1,
            last_ack_batch: 0,
            outbox: Outbox::new(acked, head, cap),
            rejections: VecDeque::new(),
            window: core.cfg.max_batch_items.max(1),
        }
    }

    /// Durable outbox items not yet acknowledged.
    pub fn lag(&self) -> u64 {
        self.outbox.lag()
    }

    pub fn poll_timeout(&self) -> u64 {
        let t = match self.in_flight {
            Some(f) => f.deadline,
            None => self.next_push_at,
        };
        t.min(self.next_heartbeat_at)
    }

    /// `item` became durable at outbox position `pos`: push it soon (after the batching
    /// delay) unless a push is in flight.
    pub fn durable(&mut self, core: &Core, now: u64, pos: u64, item: &Item) {
        self.outbox.durable(pos, item);
        if self.in_flight.is_none() {
            self.next_push_at = self.next_push_at.min(now + core.cfg.batch_delay_ms);
        }
    }

    /// The next page of the outbox to read back from the store.
    pub fn poll_read(&mut self, core: &mut Core) -> Option<OutboxRead> {
        let r = self.outbox.poll_read()?;
        core.stats.outbox_reads += 1;
        Some(r)
    }

    /// The store's answer to [`Uplink::poll_read`]: new items are pushed at once (the
    /// timer is due) unless a push is in flight.
    pub fn handle_read(&mut self, items: Vec<Positioned>) {
        if self.outbox.handle_read(items) && self.in_flight.is_none() {
            self.next_push_at = 0;
        }
    }

    /// The link to the parent was (re)established (a new stream, maybe to a new leader):
    /// what is in flight is resent at the next timeout, at once, with the backoff and the
    /// push window back at their start, instead of after a backoff grown while it was down.
    pub fn link_up(&mut self, core: &Core, now: u64) {
        self.backoff.reset();
        self.window = core.cfg.max_batch_items.max(1);
        match &mut self.in_flight {
            Some(f) => f.deadline = f.deadline.min(now),
            None => self.next_push_at = self.next_push_at.min(now),
        }
    }

    pub fn handle_timeout(&mut self, core: &mut Core, now: Now) {
        let t = now.mono_ms;
        if t >= self.next_heartbeat_at {
            self.next_heartbeat_at = t + core.cfg.heartbeat_interval_ms;
            let hb = Heartbeat { hlc: core.hlc.last().time, lag: self.lag() };
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

    fn send_push(&mut self, core: &mut Core, now: u64) {
        let items = self.outbox.batch(self.window, core.cfg.max_batch_bytes);
        let top = self.outbox.head;
        let batch = self.next_batch;
        self.next_batch += 1;
        let push = Push {
            batch,
            lag: self.lag(),
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
        let progressed = self.outbox.ack(ack.durable_pos);
        if progressed || !ack.rejected.is_empty() {
            core.stats.refused_by_parent += ack.rejected.len() as u64;
            for r in &ack.rejected {
                self.rejections.push_back(r.clone());
                while self.rejections.len() > core.cfg.recent_rejections {
                    self.rejections.pop_front();
                }
            }
            core.write(WriteOp::Acked { upto: self.outbox.acked, rejected: ack.rejected });
        }
        if ack.batch >= self.last_ack_batch {
            self.last_ack_batch = ack.batch;
            core.peer_reports(self.parent, ack.have);
        }
        if let Some(p) = ack.crdt {
            core.merge_payload(self.parent, p);
        }
        if let Some(f) = self.in_flight.filter(|f| f.batch == ack.batch) {
            let newer = self.outbox.head > f.top;
            self.in_flight = None;
            self.backoff.reset();
            self.window = (self.window * 2).min(core.cfg.max_batch_items.max(1));
            // More to send: go on at once, unless the parent took nothing (then wait a round
            // instead of spinning on a parent that cannot take the next position).
            self.next_push_at = if self.lag() > 0 && (progressed || newer) {
                now.mono_ms
            } else {
                now.mono_ms + core.cfg.sync_interval_ms
            };
        }
    }
}
