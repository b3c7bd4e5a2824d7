//! The store's local agent: appends events durably to its outbox, pushes them to its region
//! with its CRDT deltas, and merges what the region sends down.

use alloc::vec::Vec;

use dcs_core::causality::HlcTimestamp;
use dcs_core::commerce::EventBody;
use dcs_core::{BranchId, SovereignFinancialEvent};
use dcs_crdt::ReplicaId;

use crate::SyncError;
use crate::durable::{Outcome, WriteOp};
use crate::messages::{Item, Message, NodeId, Positioned, Rejection};
use crate::node::{Core, Now, SyncConfig};
use crate::persistence::{OutboxRead, Restored};
use crate::uplink::Uplink;

/// Who a local agent is and whom it talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalConfig {
    /// This agent (a [`NodeId::Store`]).
    pub node: NodeId,
    /// Its region.
    pub region: NodeId,
    /// The branch whose events it carries.
    pub branch: BranchId,
    /// Its CRDT replica id (unique, never reused after losing state).
    pub replica: ReplicaId,
    /// Timers and limits.
    pub sync: SyncConfig,
}

/// The local (store) sync machine. Sans-IO: feed it messages, time and persistence
/// confirmations; take messages, timers and writes out.
pub struct LocalMachine {
    core: Core,
    up: Uplink,
    config: LocalConfig,
    next_pos: u64,
}

impl LocalMachine {
    /// A fresh agent with nothing persisted yet.
    ///
    /// # Errors
    /// [`SyncError::Domain`] if the node id cannot make an HLC.
    pub fn new(config: LocalConfig, now: Now, seed: u64) -> Result<Self, SyncError> {
        Self::restore(config, Restored::default(), now, seed)
    }

    /// Restarts from what the store holds: the checkpoint, the acknowledged position and the
    /// head of its event log (the outbox). Unacknowledged events are read back in pages
    /// (`poll_read`); everything not persisted is gone and was never acknowledged to anyone.
    ///
    /// # Errors
    /// [`SyncError::Domain`] if the node id cannot make an HLC.
    pub fn restore(
        config: LocalConfig,
        restored: Restored,
        now: Now,
        seed: u64,
    ) -> Result<Self, SyncError> {
        let Restored { checkpoint, acked, head } = restored;
        let mut core = Core::restore(config.node, config.replica, config.sync, checkpoint, seed)?;
        // A store's only peer is its region, which has every delta it sends: nothing to relay.
        core.relays = false;
        let up = Uplink::new(&core, config.region, now.mono_ms, acked, head);
        Ok(LocalMachine { core, up, config, next_pos: head.max(acked) + 1 })
    }

    /// The next HLC timestamp for a new event of this store.
    pub fn next_hlc(&mut self, now: Now) -> HlcTimestamp {
        self.core.hlc.tick(now.wall_ms)
    }

    /// The outbox position the next appended event takes (the store's next position).
    pub fn next_position(&self) -> u64 {
        self.next_pos
    }

    /// Takes an event the store appends at position `pos` (its next one: the store is the
    /// outbox), with the CRDT change of its opened `body`. The writes of the next
    /// [`LocalMachine::poll_persist`] batches belong in the same transaction as the event;
    /// once confirmed the event is pushed. Returns `pos`.
    ///
    /// # Errors
    /// [`SyncError::OutOfOrder`] if `pos` is not [`LocalMachine::next_position`];
    /// [`SyncError::WrongBranch`] for another branch's event; [`SyncError::Domain`] if the
    /// CRDT change overflows. Nothing changes then.
    pub fn append_at(
        &mut self,
        now: Now,
        pos: u64,
        event: SovereignFinancialEvent,
        body: Option<&EventBody>,
    ) -> Result<u64, SyncError> {
        if pos != self.next_pos {
            return Err(SyncError::OutOfOrder { expected: self.next_pos, got: pos });
        }
        self.append(now, event, body)
    }

    /// Takes an event at the next outbox position ([`LocalMachine::append_at`] with
    /// [`LocalMachine::next_position`]), for a store that appends what the machine writes.
    ///
    /// # Errors
    /// As [`LocalMachine::append_at`].
    pub fn append(
        &mut self,
        now: Now,
        event: SovereignFinancialEvent,
        body: Option<&EventBody>,
    ) -> Result<u64, SyncError> {
        if event.branch_id() != &self.config.branch {
            return Err(SyncError::WrongBranch {
                expected: self.config.branch.as_str().into(),
                got: event.branch_id().as_str().into(),
            });
        }
        let _ = now;
        self.core.hlc.restore(event.causality().hlc);
        let delta = match body {
            Some(b) => {
                self.core.working.apply_body(self.config.replica, self.config.branch.as_str(), b)?
            }
            None => Default::default(),
        };
        let pos = self.next_pos;
        self.next_pos += 1;
        self.core.write(WriteOp::Append { pos, item: Item::Event(alloc::boxed::Box::new(event)) });
        self.core.local_change(delta);
        Ok(pos)
    }

    /// Reports `agent` of `tenant`, a terminal enrolled at this store with `public_key`, up to
    /// the master's key registry (see [`crate::enrolled`]). Returns false when the state
    /// already holds this very report (a restart reports nothing new).
    ///
    /// # Errors
    /// [`SyncError::Domain`] naming the field to fix (see [`ReplicatedState::enroll`]).
    ///
    /// [`ReplicatedState::enroll`]: crate::ReplicatedState::enroll
    pub fn enroll_terminal(
        &mut self,
        now: Now,
        tenant: &str,
        agent: &str,
        algorithm: &str,
        public_key: &[u8],
    ) -> Result<bool, SyncError> {
        let t = self.core.hlc.tick(now.wall_ms).time;
        let (replica, branch) = (self.config.replica, self.config.branch.as_str());
        let delta =
            self.core.working.enroll(replica, t, tenant, branch, agent, algorithm, public_key)?;
        let Some(delta) = delta else { return Ok(false) };
        self.core.local_change(delta);
        Ok(true)
    }

    /// Handles a decoded message from `from`.
    ///
    /// # Errors
    /// [`SyncError::UnknownPeer`] if `from` is not this store's region.
    pub fn handle_message(
        &mut self,
        now: Now,
        from: NodeId,
        msg: Message,
    ) -> Result<(), SyncError> {
        if from != self.config.region {
            self.core.stats.unknown_peer += 1;
            return Err(SyncError::UnknownPeer(from));
        }
        match msg {
            Message::Ack(ack) => self.up.handle_ack(&mut self.core, now, ack),
            Message::Refuse(r) => self.core.on_refuse(from, &r),
            Message::Heartbeat(h) => self.core.observe_hlc(now, h.hlc),
            Message::Push(_) => {} // a region never pushes to a store; ignore
        }
        Ok(())
    }

    /// The host opened a new connection to the region (after a drop, a redirect, a leader
    /// change): the machine's timer is due at once, and the next [`LocalMachine::handle_timeout`]
    /// resends what is unacknowledged with its backoff reset. Call it on every new stream.
    pub fn handle_link_up(&mut self, now: Now) {
        self.up.link_up(&self.core, now.mono_ms);
    }

    /// Fires due timers (retransmission, sync round, heartbeat).
    pub fn handle_timeout(&mut self, now: Now) {
        self.up.handle_timeout(&mut self.core, now);
    }

    /// When to call [`LocalMachine::handle_timeout`] next (monotonic ms).
    pub fn poll_timeout(&self) -> Option<u64> {
        Some(self.up.poll_timeout())
    }

    /// The writes up to `token` are durable (a store has no outcomes to report: `outcomes`
    /// is empty).
    ///
    /// # Errors
    /// [`SyncError::Outcomes`] if outcomes are given (a store machine accepts no items).
    pub fn handle_persisted(
        &mut self,
        now: Now,
        token: u64,
        outcomes: &[Outcome],
    ) -> Result<(), SyncError> {
        if !outcomes.is_empty() {
            return Err(SyncError::Outcomes { expected: 0, got: outcomes.len() });
        }
        for op in self.core.persisted(token) {
            if let WriteOp::Append { pos, item } = &op {
                self.up.durable(&self.core, now.mono_ms, *pos, item);
            }
        }
        Ok(())
    }

    /// The next page of unacknowledged events to read back from the store (after a restart,
    /// or when more are waiting than the machine holds in memory).
    pub fn poll_read(&mut self) -> Option<OutboxRead> {
        self.up.poll_read(&mut self.core)
    }

    /// The store's answer to [`LocalMachine::poll_read`]: the events at the positions asked.
    pub fn handle_read(&mut self, items: Vec<Positioned>) {
        self.up.handle_read(items);
    }

    /// Durable outbox items not yet acknowledged by the region.
    pub fn lag(&self) -> u64 {
        self.up.lag()
    }

    /// Highest outbox position the region acknowledged.
    pub fn acked(&self) -> u64 {
        self.up.outbox.acked
    }

    /// Unacknowledged events held in memory (at most `outbox_window_items`).
    pub fn outbox_held(&self) -> usize {
        self.up.outbox.held()
    }

    /// The region's most recent refusals, with its reasons (at most `recent_rejections`;
    /// every one went to the store with [`WriteOp::Acked`]).
    pub fn rejections(&self) -> impl Iterator<Item = &Rejection> {
        self.up.rejections.iter()
    }

    /// This agent's node id.
    pub fn node(&self) -> NodeId {
        self.config.node
    }

    /// Outbox positions appended but not yet durable.
    pub fn pending_appends(&self) -> Vec<u64> {
        self.core.pending_appends()
    }
}

crate::node::machine_common_api!(LocalMachine);
