//! The master machine: the parent of the regions and the writer of global state (catalog,
//! central prices).

use alloc::vec::Vec;

use dcs_crdt::ReplicaId;

use crate::SyncError;
use crate::checkpoint::Checkpoint;
use crate::downlink::Downlink;
use crate::durable::Outcome;
use crate::liveness::{Liveness, LivenessConfig};
use crate::messages::{Message, NodeId};
use crate::node::{Core, Now, SyncConfig};
use crate::persistence::{OutboxRead, Restored};

/// Who the master is and whom it talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterConfig {
    /// The regions.
    pub regions: Vec<NodeId>,
    /// Its CRDT replica id.
    pub replica: ReplicaId,
    /// Timers and limits.
    pub sync: SyncConfig,
    /// Failure detection of the regions.
    pub liveness: LivenessConfig,
}

/// The master sync machine: stores region summaries exactly once, merges region state, and
/// sends global state down in its acks.
pub struct MasterMachine {
    core: Core,
    down: Downlink,
    liveness: Liveness,
    config: MasterConfig,
}

impl MasterMachine {
    /// A fresh master.
    ///
    /// # Errors
    /// [`SyncError::Domain`] if the node id cannot make an HLC.
    pub fn new(config: MasterConfig, now: Now, seed: u64) -> Result<Self, SyncError> {
        Self::restore(config, Restored::default(), now, seed)
    }

    /// Restarts from what the store holds (the master has no outbox: only the checkpoint
    /// counts).
    ///
    /// # Errors
    /// [`SyncError::Domain`] if the node id cannot make an HLC.
    pub fn restore(
        config: MasterConfig,
        restored: Restored,
        now: Now,
        seed: u64,
    ) -> Result<Self, SyncError> {
        let checkpoint: Checkpoint = restored.checkpoint;
        let core = Core::restore(NodeId::Master, config.replica, config.sync, checkpoint, seed)?;
        let down = Downlink::new(&core, config.regions.iter().copied());
        let liveness = Liveness::new(config.liveness, config.regions.iter().copied(), now.mono_ms);
        Ok(MasterMachine { core, down, liveness, config })
    }

    /// Sets the central price of `sku` (replicated to every region and store).
    ///
    /// # Errors
    /// [`SyncError::Domain`] if the CRDT refuses the change.
    pub fn set_price(&mut self, now: Now, sku: &str, price_minor: i64) -> Result<(), SyncError> {
        let t = self.core.hlc.tick(now.wall_ms).time;
        let delta = self.core.working.set_price(self.config.replica, t, sku, price_minor)?;
        self.core.local_change(delta);
        Ok(())
    }

    /// Registers or rotates the public key of `agent` of `tenant` in the central key registry
    /// (replicated to every region and store; see [`crate::keys`]).
    ///
    /// # Errors
    /// [`SyncError::Domain`] naming the field to fix, or a revoked agent.
    pub fn register_key(
        &mut self,
        now: Now,
        tenant: &str,
        agent: &str,
        algorithm: &str,
        public_key: &[u8],
    ) -> Result<(), SyncError> {
        let t = self.core.hlc.tick(now.wall_ms).time;
        let replica = self.config.replica;
        let delta =
            self.core.working.register_key(replica, t, tenant, agent, algorithm, public_key)?;
        self.core.local_change(delta);
        Ok(())
    }

    /// Revokes `agent` of `tenant` from `from_ms` on: every region refuses its events made
    /// from then on once the revocation has reached it, and so does every store.
    ///
    /// # Errors
    /// [`SyncError::Domain`] for a missing reason or a revocation that changes nothing.
    pub fn revoke_key(
        &mut self,
        now: Now,
        tenant: &str,
        agent: &str,
        from_ms: u64,
        reason: &str,
    ) -> Result<(), SyncError> {
        let t = self.core.hlc.tick(now.wall_ms).time;
        let replica = self.config.replica;
        let delta = self.core.working.revoke_key(replica, t, tenant, agent, from_ms, reason)?;
        self.core.local_change(delta);
        Ok(())
    }

    /// This master's last delta-log position: a change just made has it, and has reached a
    /// store once that store's reach (see [`crate::RegionalMachine::store_reach`]) is at
    /// least it.
    pub fn log_position(&self) -> u64 {
        self.core.log.last()
    }

    /// Lists `sku` in the global catalog.
    pub fn list_in_catalog(&mut self, now: Now, sku: &str) {
        let _ = self.core.hlc.tick(now.wall_ms);
        let delta = self.core.working.list_in_catalog(self.config.replica, sku);
        self.core.local_change(delta);
    }

    /// Handles a decoded message from `from`.
    ///
    /// # Errors
    /// [`SyncError::UnknownPeer`] if `from` is not a configured region.
    pub fn handle_message(
        &mut self,
        now: Now,
        from: NodeId,
        msg: Message,
    ) -> Result<(), SyncError> {
        self.down.handle_child_message(
            &mut self.core,
            &mut self.liveness,
            now,
            from,
            msg,
            None,
            None,
        )
    }

    /// Fires due timers (failure detection).
    pub fn handle_timeout(&mut self, now: Now) {
        self.liveness.handle_timeout(now.mono_ms);
    }

    /// When to call [`MasterMachine::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.liveness.poll_timeout()
    }

    /// The writes up to `token` are durable, with the store's outcome of each accepted
    /// summary in them (in order).
    ///
    /// # Errors
    /// [`SyncError::Outcomes`] when there is not one outcome per [`WriteOp::Accept`](crate::WriteOp::Accept).
    pub fn handle_persisted(
        &mut self,
        _now: Now,
        token: u64,
        outcomes: &[Outcome],
    ) -> Result<(), SyncError> {
        let ops = self.core.persisted(token);
        self.down.persisted(&mut self.core, &ops, outcomes).map(|_| ())
    }

    /// The master has no outbox: it never asks for a read.
    pub fn poll_read(&mut self) -> Option<OutboxRead> {
        None
    }

    /// The master has no outbox: nothing to take.
    pub fn handle_read(&mut self, items: Vec<crate::Positioned>) {
        let _ = items;
    }

    /// The registry of the regions.
    pub fn liveness(&self) -> &Liveness {
        &self.liveness
    }

    /// The registry, mutably (to drain [`Liveness::poll_event`]).
    pub fn liveness_mut(&mut self) -> &mut Liveness {
        &mut self.liveness
    }
}

crate::node::machine_common_api!(MasterMachine);
