//! The replicated regional machine, without Raft: a [`Replica`] applies entries (inputs of the
//! `RegionalMachine` with the leader's clock and verdicts) to the machine and writes what the
//! machine writes, with the entries' bookkeeping, in one transaction of its replica store.
//! Applying is a pure function of the entries, so every replica that applied the same entries
//! holds the same file. The `raft` module wires it into openraft.

mod proposal;
mod verdicts;

use std::path::{Path, PathBuf};
use std::sync::PoisonError;

use dcs_crdt::CausalContext;

use dcs_store::StoreError;
use dcs_store::sqlite::RegionReplicaStore;
use dcs_sync::{Message, NodeId, RegionalConfig, RegionalMachine, SyncError};

use crate::verify::{RegisteredKeys, SharedKeys};

pub use proposal::{Applied, Clock, Input, Judged, Proposal, Verdict};
pub use verdicts::{FromVerdicts, Verdicts, judge};

/// Why a replica could not apply.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// The replica's file failed: the machine was restarted from what the file holds.
    #[error("the replica store failed: {0}")]
    Store(#[from] StoreError),
    /// The machine refused its store's outcomes (a store that does not match the machine).
    #[error("the regional machine refused its store's answer: {0}")]
    Machine(SyncError),
    /// A meta value of the file does not decode.
    #[error("the replica's {what} does not decode: {reason}")]
    Meta {
        /// Which value.
        what: &'static str,
        /// The decoder's error.
        reason: String,
    },
    /// A snapshot file could not be put in place.
    #[error("cannot install the snapshot {path}: {reason}")]
    Install {
        /// The snapshot file.
        path: String,
        /// The I/O error.
        reason: String,
    },
}

/// Who the replica is.
#[derive(Debug, Clone)]
pub struct ReplicaConfig {
    /// The region's machine configuration (the same on every replica).
    pub region: RegionalConfig,
    /// The machine's seed (the same on every replica: region-wide, not per node).
    pub seed: u64,
    /// Where the replica publishes the master's key registry as it applies it (the leader's
    /// verifier checks signatures against it).
    pub keys: SharedKeys,
}

/// The meta key of the last applied clock.
const CLOCK: &str = "clock";

/// One replica of the regional machine over its own SQLite file.
pub struct Replica {
    path: PathBuf,
    store: RegionReplicaStore,
    machine: RegionalMachine,
    verdicts: Verdicts,
    clock: Clock,
    config: ReplicaConfig,
    /// The key registry's causal context when last published (it changes with every write).
    keys_seen: Option<CausalContext>,
}

fn meta_err(what: &'static str) -> impl Fn(postcard::Error) -> ReplicaError {
    move |e| ReplicaError::Meta { what, reason: e.to_string() }
}

impl Replica {
    /// Opens the replica file at `path` (creating it) and restores the machine from it.
    ///
    /// # Errors
    /// The store's error, or a clock that does not decode.
    pub fn open(path: &Path, config: ReplicaConfig) -> Result<Self, ReplicaError> {
        let store = RegionReplicaStore::open(path)?;
        let verdicts = Verdicts::default();
        let (machine, clock) = restore(&store, &config, &verdicts)?;
        let mut replica = Replica {
            path: path.to_path_buf(),
            store,
            machine,
            verdicts,
            clock,
            config,
            keys_seen: None,
        };
        replica.publish_keys();
        Ok(replica)
    }

    /// Publishes the key registry to the verifier when it changed since last published.
    fn publish_keys(&mut self) {
        let context = self.machine.state().keys.context();
        if self.keys_seen.as_ref() == Some(context) {
            return;
        }
        let keys = RegisteredKeys::of(self.machine.state());
        *self.config.keys.write().unwrap_or_else(PoisonError::into_inner) = keys;
        self.keys_seen = Some(context.clone());
    }

    /// Applies `entries` (log index, proposal; `None` for an entry with no input: a blank or a
    /// membership change) in order, with `meta` (the Raft bookkeeping), in one transaction;
    /// returns each entry's answer.
    ///
    /// # Errors
    /// [`ReplicaError`]: nothing of the entries is written, and the machine is restarted from
    /// the file (so it matches what is durable).
    pub fn apply(
        &mut self,
        entries: &[(u64, Option<&Proposal>)],
        meta: &[(&str, Vec<u8>)],
    ) -> Result<Vec<Applied>, ReplicaError> {
        let before = self.clock;
        match self.apply_in_txn(entries, meta) {
            Ok(answers) => {
                self.publish_keys();
                Ok(answers)
            }
            Err(e) => {
                self.clock = before;
                self.reload()?;
                Err(e)
            }
        }
    }

    fn apply_in_txn(
        &mut self,
        entries: &[(u64, Option<&Proposal>)],
        meta: &[(&str, Vec<u8>)],
    ) -> Result<Vec<Applied>, ReplicaError> {
        let Replica { store, machine, verdicts, clock, .. } = self;
        let mut txn = store.transaction()?;
        let mut answers = Vec::with_capacity(entries.len());
        for (index, proposal) in entries {
            let Some(p) = proposal else {
                answers.push(Applied { index: *index, refused: None });
                continue;
            };
            // The clock never goes backwards, whatever the leader's clock says.
            *clock = Clock {
                mono_ms: p.clock.mono_ms.max(clock.mono_ms),
                wall_ms: p.clock.wall_ms.max(clock.wall_ms),
            };
            let now = (*clock).into();
            let refused = match &p.input {
                Input::Message { from, bytes, verdicts: v } => {
                    verdicts.set(v);
                    machine.handle_bytes(now, *from, bytes).err().map(|e| e.to_string())
                }
                Input::Tick => {
                    machine.handle_timeout(now);
                    None
                }
            };
            loop {
                if let Some(batch) = machine.poll_persist() {
                    let outcomes = txn.persist(&batch)?;
                    machine
                        .handle_persisted(now, batch.token, &outcomes)
                        .map_err(ReplicaError::Machine)?;
                    continue;
                }
                if let Some(r) = machine.poll_read() {
                    let items = txn.read_outbox(r.after, r.max_items)?;
                    machine.handle_read(items);
                    continue;
                }
                break;
            }
            answers.push(Applied { index: *index, refused });
        }
        txn.set_meta(CLOCK, &postcard::to_allocvec(&*clock).map_err(meta_err("clock"))?)?;
        for (key, value) in meta {
            txn.set_meta(key, value)?;
        }
        txn.commit()?;
        Ok(answers)
    }

    /// The machine restarted from the file.
    fn reload(&mut self) -> Result<(), ReplicaError> {
        let (machine, clock) = restore(&self.store, &self.config, &self.verdicts)?;
        self.machine = machine;
        self.clock = clock;
        self.publish_keys();
        Ok(())
    }

    /// The next message the machine sends (every replica computes them; only the leader's
    /// go out: drain them on every replica).
    pub fn poll_transmit(&mut self) -> Option<(NodeId, Message)> {
        self.machine.poll_transmit()
    }

    /// When the machine's timers are next due (the leader proposes a tick then).
    pub fn poll_timeout(&self) -> Option<u64> {
        self.machine.poll_timeout()
    }

    /// The last applied clock.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// The machine.
    pub fn machine(&self) -> &RegionalMachine {
        &self.machine
    }

    /// The replica's store (the forwarders read accepted events from it).
    pub fn store(&self) -> &RegionReplicaStore {
        &self.store
    }

    /// Writes a consistent copy of the replica file to `dest` (a Raft snapshot).
    ///
    /// # Errors
    /// The store's error.
    pub fn snapshot_to(&self, dest: &Path) -> Result<(), ReplicaError> {
        Ok(self.store.copy_to(dest)?)
    }

    /// Replaces the replica's file with the snapshot file `snapshot` (copied, not moved) and
    /// restarts the machine from it.
    ///
    /// # Errors
    /// [`ReplicaError::Install`] if the file cannot be copied; the store's error if it does
    /// not open as a replica file (the old file is gone then: the node must fetch another
    /// snapshot).
    pub fn install(&mut self, snapshot: &Path) -> Result<(), ReplicaError> {
        let old = std::mem::replace(&mut self.store, RegionReplicaStore::open_in_memory()?);
        drop(old);
        let install = |e: std::io::Error| ReplicaError::Install {
            path: snapshot.display().to_string(),
            reason: e.to_string(),
        };
        for suffix in ["-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            match std::fs::remove_file(PathBuf::from(p)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(install(e)),
                _ => {}
            }
        }
        let tmp = self.path.with_extension("installing");
        std::fs::copy(snapshot, &tmp).map_err(install)?;
        std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(install)?;
        std::fs::rename(&tmp, &self.path).map_err(install)?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(install)?;
        }
        self.store = RegionReplicaStore::open(&self.path)?;
        self.reload()
    }

    /// A meta value of the file (the Raft bookkeeping).
    ///
    /// # Errors
    /// The store's error.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, ReplicaError> {
        Ok(self.store.meta(key)?)
    }
}

/// The machine and clock as the file holds them.
fn restore(
    store: &RegionReplicaStore,
    config: &ReplicaConfig,
    verdicts: &Verdicts,
) -> Result<(RegionalMachine, Clock), ReplicaError> {
    let clock: Clock = match store.meta(CLOCK)? {
        Some(b) => postcard::from_bytes(&b).map_err(meta_err("clock"))?,
        None => Clock::default(),
    };
    let restored = store.restored()?;
    let machine = RegionalMachine::restore(
        config.region.clone(),
        Box::new(FromVerdicts(verdicts.clone())),
        restored,
        clock.into(),
        config.seed,
    )
    .map_err(ReplicaError::Machine)?;
    Ok((machine, clock))
}
