//! The store's sync machine, shared by the writer thread and the sync driver.
//!
//! The writer tells the machine of every new event inside the group commit and writes every
//! batch the machine hands out in that same transaction (`append_group_synced`), so the
//! machine's checkpoint always covers exactly the events on disk; the driver feeds the
//! machine the region's messages and its timers and asks the writer to flush what they
//! produced. Only the writer calls `poll_persist`, so batches are confirmed in order.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use dcs_crdt::ReplicaId;
use dcs_crypto::KeyRegistry;
use dcs_store::sqlite::SqliteStore;
use dcs_sync::{LocalMachine, NodeId, Now};
use rand_core::{OsRng, RngCore};

use crate::config::{LocalConfig, RegionSection};
use crate::error::{LocalError, Result};

/// The machine and the clock it runs on.
pub struct SyncMachine {
    machine: Mutex<LocalMachine>,
    config: dcs_sync::LocalConfig,
    started: Instant,
    /// Wakes the driver when the writer appended (the push timer moved).
    pub appended: tokio::sync::Notify,
}

impl SyncMachine {
    /// The machine of this store, restored from its file (checkpoint, ack, head).
    pub fn restore(store: &SqliteStore, config: &LocalConfig) -> Result<Arc<Self>> {
        let config = machine_config(config)?;
        let started = Instant::now();
        let now = now_at(started);
        let restored = store.load_sync()?;
        let machine = LocalMachine::restore(config.clone(), restored, now, OsRng.next_u64())
            .map_err(|e| LocalError::Setup(format!("the sync machine: {e}")))?;
        Ok(Arc::new(Self {
            machine: Mutex::new(machine),
            config,
            started,
            appended: tokio::sync::Notify::new(),
        }))
    }

    /// The machine, locked (a panic elsewhere cannot leave it half-changed: every change is
    /// one call).
    pub fn lock(&self) -> MutexGuard<'_, LocalMachine> {
        self.machine.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The machine's clock now.
    pub fn now(&self) -> Now {
        now_at(self.started)
    }

    /// Replaces the machine with one restored from the store (after a failed transaction
    /// the machine may have taken events that were rolled back).
    pub fn reload(&self, store: &SqliteStore) -> Result<()> {
        let restored = store.load_sync()?;
        let fresh =
            LocalMachine::restore(self.config.clone(), restored, self.now(), OsRng.next_u64())
                .map_err(|e| LocalError::Setup(format!("the sync machine: {e}")))?;
        *self.lock() = fresh;
        Ok(())
    }

    /// This store's node id.
    pub fn node(&self) -> NodeId {
        self.config.node
    }

    /// Reports each terminal of `terminals` (the store's `terminals.toml`) to the master's key
    /// registry, up through the region with the store's CRDT changes; a terminal whose report
    /// the state already holds is not reported again. Returns how many reports are new: the
    /// writer persists them with its next batch.
    pub fn enroll_terminals(&self, tenant: &str, terminals: &KeyRegistry) -> usize {
        let now = self.now();
        let mut machine = self.lock();
        let mut new = 0;
        for (agent, key) in terminals.iter() {
            let (algorithm, bytes) = (key.registry_algorithm(), key.to_bytes());
            match machine.enroll_terminal(now, tenant, agent, algorithm, &bytes) {
                Ok(true) => new += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(agent, error = %e, "terminal not reported to the master"),
            }
        }
        new
    }
}

fn machine_config(config: &LocalConfig) -> Result<dcs_sync::LocalConfig> {
    let r: &RegionSection = &config.region;
    Ok(dcs_sync::LocalConfig {
        node: NodeId::Store(r.store_id),
        region: NodeId::Region(r.region_id),
        branch: dcs_core::BranchId::new(&config.store.branch)
            .map_err(|e| LocalError::Setup(format!("[store] branch: {e}")))?,
        replica: ReplicaId(r.replica_id),
        sync: r.sync_config(),
    })
}

fn now_at(started: Instant) -> Now {
    let wall = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    Now { mono_ms: started.elapsed().as_millis() as u64, wall_ms: wall }
}
