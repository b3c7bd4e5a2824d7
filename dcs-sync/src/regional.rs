//! The regional machine: the parent of its stores and a child of the master.

use alloc::boxed::Box;
use alloc::vec::Vec;

use dcs_crdt::ReplicaId;

use crate::SyncError;
use crate::downlink::Downlink;
use crate::durable::Outcome;
use crate::liveness::{Liveness, LivenessConfig};
use crate::messages::{Message, NodeId, Positioned};
use crate::node::{Core, Now, SyncConfig};
use crate::persistence::{OutboxRead, Restored};
use crate::reach::Reach;
use crate::uplink::Uplink;
use crate::verifier::Verifier;

/// Who a region is and whom it talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionalConfig {
    /// This region (a [`NodeId::Region`]).
    pub node: NodeId,
    /// The master.
    pub master: NodeId,
    /// Its stores.
    pub stores: Vec<NodeId>,
    /// Its CRDT replica id.
    pub replica: ReplicaId,
    /// Timers and limits.
    pub sync: SyncConfig,
    /// Failure detection of its stores.
    pub liveness: LivenessConfig,
}

/// The regional sync machine: verifies, deduplicates and stores its stores' events, merges
/// their CRDT deltas, sends summaries and region state up and global state down.
pub struct RegionalMachine {
    core: Core,
    down: Downlink,
    up: Uplink,
    liveness: Liveness,
    verifier: Box<dyn Verifier>,
    config: RegionalConfig,
}

impl RegionalMachine {
    /// A fresh region.
    ///
    /// # Errors
    /// [`SyncError::Domain`] if the node id cannot make an HLC.
    pub fn new(
        config: RegionalConfig,
        verifier: Box<dyn Verifier>,
        now: Now,
        seed: u64,
    ) -> Result<Self, SyncError> {
        Self::restore(config, verifier, Restored::default(), now, seed)
    }

    /// Restarts from what the store holds: the checkpoint and its summary outbox's bounds
    /// (unacknowledged summaries are read back in pages, `poll_read`).
    ///
    /// # Errors
    /// [`SyncError::Domain`] if the node id cannot make an HLC.
    pub fn restore(
        config: RegionalConfig,
        verifier: Box<dyn Verifier>,
        restored: Restored,
        now: Now,
        seed: u64,
    ) -> Result<Self, SyncError> {
        let Restored { checkpoint, acked, head } = restored;
        let mut core = Core::restore(config.node, config.replica, config.sync, checkpoint, seed)?;
        let from_master = core.durable.received.get(&config.master).copied().unwrap_or(0);
        let reach = Reach::new(core.durable.log_seq, from_master, config.sync.delta_log_capacity);
        core.reach = Some((config.master, reach));
        let down = Downlink::new(&core, config.stores.iter().copied());
        let up = Uplink::new(&core, config.master, now.mono_ms, acked, head);
        let liveness = Liveness::new(config.liveness, config.stores.iter().copied(), now.mono_ms);
        Ok(RegionalMachine { core, down, up, liveness, verifier, config })
    }

    /// Handles a decoded message from `from`.
    ///
    /// # Errors
    /// [`SyncError::UnknownPeer`] if `from` is neither one of its stores nor the master.
    pub fn handle_message(
        &mut self,
        now: Now,
        from: NodeId,
        msg: Message,
    ) -> Result<(), SyncError> {
        if from == self.config.master {
            match msg {
                Message::Ack(ack) => self.up.handle_ack(&mut self.core, now, ack),
                Message::Refuse(r) => self.core.on_refuse(from, &r),
                Message::Heartbeat(h) => self.core.observe_hlc(now, h.hlc),
                Message::Push(_) => {}
            }
            return Ok(());
        }
        let verifier: &dyn Verifier = self.verifier.as_ref();
        self.down.handle_child_message(
            &mut self.core,
            &mut self.liveness,
            now,
            from,
            msg,
            Some(verifier),
            Some(self.config.master),
        )
    }

    /// Fires due timers (uplink retransmission and rounds, failure detection).
    pub fn handle_timeout(&mut self, now: Now) {
        self.up.handle_timeout(&mut self.core, now);
        self.liveness.handle_timeout(now.mono_ms);
    }

    /// When to call [`RegionalMachine::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<u64> {
        let up = self.up.poll_timeout();
        Some(self.liveness.poll_timeout().map_or(up, |l| l.min(up)))
    }

    /// The writes up to `token` are durable, with the store's outcome of each accepted
    /// event in them (in order): acknowledge what waited for them, and push the summaries
    /// the store queued for the master.
    ///
    /// # Errors
    /// [`SyncError::Outcomes`] when there is not one outcome per [`crate::WriteOp::Accept`];
    /// the writes count as durable, but the acks wait (restart the machine from the store).
    pub fn handle_persisted(
        &mut self,
        now: Now,
        token: u64,
        outcomes: &[Outcome],
    ) -> Result<(), SyncError> {
        let ops = self.core.persisted(token);
        let forwards = self.down.persisted(&mut self.core, &ops, outcomes)?;
        for f in forwards {
            self.up.durable(&self.core, now.mono_ms, f.pos, f.item);
        }
        Ok(())
    }

    /// The next page of unacknowledged summaries to read back from the store.
    pub fn poll_read(&mut self) -> Option<OutboxRead> {
        self.up.poll_read(&mut self.core)
    }

    /// The store's answer to [`RegionalMachine::poll_read`].
    pub fn handle_read(&mut self, items: Vec<Positioned>) {
        self.up.handle_read(items);
    }

    /// Unacknowledged summaries held in memory (at most `outbox_window_items`).
    pub fn outbox_held(&self) -> usize {
        self.up.outbox.held()
    }

    /// The registry of its stores.
    pub fn liveness(&self) -> &Liveness {
        &self.liveness
    }

    /// The registry, mutably (to drain [`Liveness::poll_event`]).
    pub fn liveness_mut(&mut self) -> &mut Liveness {
        &mut self.liveness
    }

    /// Summaries not yet acknowledged by the master.
    pub fn lag(&self) -> u64 {
        self.up.lag()
    }

    /// Per store that has reported how far it merged this region's state: how far it has
    /// merged the master's delta log through this region (a master change at log position
    /// `p` has reached the store when this is at least `p`). Never above the truth.
    pub fn store_reach(&self) -> Vec<(NodeId, u64)> {
        self.config
            .stores
            .iter()
            .filter_map(|&s| self.core.parent_reach_of(s).map(|r| (s, r)))
            .collect()
    }
}

crate::node::machine_common_api!(RegionalMachine);
