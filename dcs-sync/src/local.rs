//! The store's local agent: appends events durably to its outbox, pushes them to its region
//! with its CRDT deltas, and merges what the region sends down.

use alloc::vec::Vec;

use dcs_core::causality::HlcTimestamp;
use dcs_core::commerce::EventBody;
use dcs_core::{BranchId, SovereignFinancialEvent};
use dcs_crdt::ReplicaId;

use crate::SyncError;
use crate::durable::{DurableState, WriteOp};
use crate::messages::{Item, Message, NodeId, Rejection};
use crate::node::{Core, Now, SyncConfig};
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
        Self::restore(config, DurableState::default(), now, seed)
    }

    /// Restarts from what was persisted (everything not persisted is gone and will be
    /// recovered from the region or was never acknowledged to anyone).
    ///
    /// # Errors
    /// [`SyncError::Domain`] if the node id cannot make an HLC.
    pub fn restore(
        config: LocalConfig,
        durable: DurableState,
        now: Now,
        seed: u64,
    ) -> Result<Self, SyncError> {
        let core = Core::restore(config.node, config.replica, config.sync, durable, seed)?;
        let up = Uplink::new(&core, config.region, now.mono_ms);
        let next_pos = core.durable.next_outbox_pos();
        Ok(LocalMachine { core, up, config, next_pos })
    }

    /// The next HLC timestamp for a new event of this store.
    pub fn next_hlc(&mut self, now: Now) -> HlcTimestamp {
        self.core.hlc.tick(now.wall_ms)
    }

    /// Appends an event (and the CRDT change of its opened `body`) to the outbox. It is
    /// durable once the returned batch of [`LocalMachine::poll_persist`] is confirmed; only
    /// then is it pushed. Returns its outbox position.
    ///
    /// # Errors
    /// [`SyncError::WrongBranch`] for another branch's event; [`SyncError::Domain`] if the
    /// CRDT change overflows.
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
        if !delta.is_empty() {
            let seq = self.core.log.record(None, delta.clone());
            self.core.write(WriteOp::Delta { from: None, have: 0, delta, seq });
        }
        Ok(pos)
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

    /// Fires due timers (retransmission, sync round, heartbeat).
    pub fn handle_timeout(&mut self, now: Now) {
        self.up.handle_timeout(&mut self.core, now);
    }

    /// When to call [`LocalMachine::handle_timeout`] next (monotonic ms).
    pub fn poll_timeout(&self) -> Option<u64> {
        Some(self.up.poll_timeout())
    }

    /// The writes up to `token` are durable.
    pub fn handle_persisted(&mut self, now: Now, token: u64) {
        let ops = self.core.persisted(token);
        if ops.iter().any(|o| matches!(o, WriteOp::Append { .. })) {
            self.up.items_ready(&self.core, now.mono_ms);
        }
    }

    /// Durable outbox items not yet acknowledged by the region.
    pub fn lag(&self) -> u64 {
        self.up.lag(&self.core)
    }

    /// Highest outbox position the region acknowledged.
    pub fn acked(&self) -> u64 {
        self.up.acked
    }

    /// Events the region refused, with its reasons.
    pub fn rejections(&self) -> &[Rejection] {
        &self.up.rejections
    }

    /// This agent's node id.
    pub fn node(&self) -> NodeId {
        self.config.node
    }

    /// Outbox positions appended but not yet durable.
    pub fn pending_appends(&self) -> Vec<u64> {
        self.core
            .unsubmitted
            .iter()
            .chain(self.core.in_flight.values().flatten())
            .filter_map(|o| match o {
                WriteOp::Append { pos, .. } => Some(*pos),
                _ => None,
            })
            .collect()
    }
}

crate::node::machine_common_api!(LocalMachine);
