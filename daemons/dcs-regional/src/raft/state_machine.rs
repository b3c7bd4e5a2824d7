//! openraft's state machine over a [`Replica`]: applies committed entries in groups (one
//! transaction each, the applied log id and membership in it), and snapshots as a consistent
//! copy of the replica file.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_util::{Stream, TryStreamExt};
use openraft::entry::RaftEntry;
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder};

use super::{LogId, TypeConfig};
use crate::replica::{Proposal, Replica, ReplicaError};

type SnapshotMeta = openraft::alias::SnapshotMetaOf<TypeConfig>;
type Snapshot = openraft::alias::SnapshotOf<TypeConfig, SnapshotFile>;
type Membership = openraft::alias::StoredMembershipOf<TypeConfig>;

/// A snapshot's data: a complete replica file on disk (sent in bounded chunks by the network).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFile {
    /// Where the file is.
    pub path: PathBuf,
}

const APPLIED: &str = "raft_applied";
const MEMBERSHIP: &str = "raft_membership";
/// The node ids removed from the region, never to be reused (every replica applies the same
/// membership entries, so every replica holds the same set; snapshots carry it).
const RETIRED: &str = "raft_retired";

fn io_err(e: ReplicaError) -> io::Error {
    io::Error::other(e.to_string())
}

fn invalid(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("state machine {what}: {e}"))
}

/// The region's replicated state machine on this node.
#[derive(Clone)]
pub struct RegionStateMachine {
    replica: Arc<Mutex<Replica>>,
    applied: Arc<tokio::sync::Notify>,
    snapshots: PathBuf,
    current: Arc<Mutex<Option<(SnapshotMeta, PathBuf)>>>,
}

impl RegionStateMachine {
    /// The state machine over `replica`, keeping its snapshot files in the directory
    /// `snapshots` (created if missing).
    ///
    /// # Errors
    /// The directory cannot be created.
    pub fn new(replica: Arc<Mutex<Replica>>, snapshots: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(snapshots)?;
        Ok(RegionStateMachine {
            replica,
            applied: Arc::new(tokio::sync::Notify::new()),
            snapshots: snapshots.to_path_buf(),
            current: Arc::new(Mutex::new(None)),
        })
    }

    /// The replica (for the daemon: transmit, timers, the forwarders' reads).
    pub fn replica(&self) -> &Arc<Mutex<Replica>> {
        &self.replica
    }

    /// Notified after every applied group (the driver sends its outputs at once).
    pub fn applied(&self) -> &Arc<tokio::sync::Notify> {
        &self.applied
    }

    /// The node ids removed from the region (never reused).
    ///
    /// # Errors
    /// The replica file's error.
    pub fn retired(&self) -> io::Result<BTreeSet<u64>> {
        Self::retired_in(&self.lock())
    }

    fn retired_in(replica: &Replica) -> io::Result<BTreeSet<u64>> {
        match replica.meta(RETIRED).map_err(io_err)? {
            Some(b) => postcard::from_bytes(&b).map_err(|e| invalid("retired node ids", e)),
            None => Ok(BTreeSet::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Replica> {
        self.replica.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn state(replica: &Replica) -> io::Result<(Option<LogId>, Membership)> {
        let applied = match replica.meta(APPLIED).map_err(io_err)? {
            Some(b) => postcard::from_bytes(&b).map_err(|e| invalid("applied log id", e))?,
            None => None,
        };
        let membership = match replica.meta(MEMBERSHIP).map_err(io_err)? {
            Some(b) => postcard::from_bytes(&b).map_err(|e| invalid("membership", e))?,
            None => Membership::default(),
        };
        Ok((applied, membership))
    }
}

fn encode<T: serde::Serialize>(what: &str, v: &T) -> io::Result<Vec<u8>> {
    postcard::to_allocvec(v).map_err(|e| invalid(what, e))
}

impl RaftSnapshotBuilder<TypeConfig> for RegionStateMachine {
    type SnapshotData = SnapshotFile;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let replica = this.lock();
            let (last_log_id, last_membership) = Self::state(&replica)?;
            let name = match last_log_id {
                Some(l) => format!("snapshot-{}-{}.db", l.leader_id.term, l.index),
                None => "snapshot-0-0.db".to_string(),
            };
            let path = this.snapshots.join(name);
            let _ = std::fs::remove_file(&path);
            replica.snapshot_to(&path).map_err(io_err)?;
            drop(replica);
            let meta = SnapshotMeta { last_log_id, last_membership };
            let previous = this
                .current
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .replace((meta.clone(), path.clone()));
            if let Some((_, old)) = previous.filter(|(_, old)| *old != path) {
                let _ = std::fs::remove_file(old);
            }
            Ok(Snapshot { meta, snapshot: SnapshotFile { path } })
        })
        .await
        .map_err(|e| io::Error::other(format!("snapshot task: {e}")))?
    }
}

impl RaftStateMachine<TypeConfig> for RegionStateMachine {
    type SnapshotData = SnapshotFile;
    type SnapshotBuilder = Self;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, Membership), io::Error> {
        Self::state(&self.lock())
    }

    async fn apply<S>(&mut self, mut entries: S) -> Result<(), io::Error>
    where
        S: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        let mut batch = Vec::new();
        while let Some(item) = entries.try_next().await? {
            batch.push(item);
        }
        let Some(last) = batch.last().map(|(e, _)| e.log_id()) else { return Ok(()) };
        let mut membership = None;
        let mut retired = None;
        for (e, _) in &batch {
            if let EntryPayload::Membership(m) = &e.payload {
                // Whoever the previous membership had and this one has not is retired.
                if retired.is_none() {
                    let replica = self.lock();
                    let (_, before) = Self::state(&replica)?;
                    retired = Some((Self::retired_in(&replica)?, before));
                }
                if let Some((set, before)) = &mut retired {
                    let now: BTreeSet<u64> = m.nodes().map(|(id, _)| *id).collect();
                    set.extend(
                        before
                            .membership()
                            .nodes()
                            .map(|(id, _)| *id)
                            .filter(|id| !now.contains(id)),
                    );
                    *before = Membership::new(Some(e.log_id()), m.clone());
                }
                membership = Some(Membership::new(Some(e.log_id()), m.clone()));
            }
        }
        let mut meta = vec![(APPLIED, encode("applied log id", &Some(last))?)];
        if let Some(m) = &membership {
            meta.push((MEMBERSHIP, encode("membership", m)?));
        }
        if let Some((set, _)) = &retired {
            meta.push((RETIRED, encode("retired node ids", set)?));
        }
        let this = self.clone();
        let (batch, answers) = tokio::task::spawn_blocking(move || {
            let inputs: Vec<(u64, Option<&Proposal>)> = batch
                .iter()
                .map(|(e, _)| match &e.payload {
                    EntryPayload::Normal(p) => (e.log_id().index, Some(p)),
                    _ => (e.log_id().index, None),
                })
                .collect();
            let answers = this.lock().apply(&inputs, &meta);
            (batch, answers)
        })
        .await
        .map_err(|e| io::Error::other(format!("apply task: {e}")))?;
        let answers = answers.map_err(io_err)?;
        self.applied.notify_one();
        for ((_, responder), answer) in batch.into_iter().zip(answers) {
            if let Some(r) = responder {
                r.send(answer);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: SnapshotFile,
    ) -> Result<(), io::Error> {
        let this = self.clone();
        let meta = meta.clone();
        tokio::task::spawn_blocking(move || {
            let mut replica = this.lock();
            replica.install(&snapshot.path).map_err(io_err)?;
            let (applied, _) = Self::state(&replica)?;
            if applied != meta.last_log_id {
                return Err(invalid(
                    "snapshot",
                    format!("the file is at {applied:?}, its meta says {:?}", meta.last_log_id),
                ));
            }
            drop(replica);
            metrics::counter!("dcs_regional_snapshots_installed_total").increment(1);
            let previous = this
                .current
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .replace((meta, snapshot.path.clone()));
            if let Some((_, old)) = previous.filter(|(_, old)| *old != snapshot.path) {
                let _ = std::fs::remove_file(old);
            }
            Ok(())
        })
        .await
        .map_err(|e| io::Error::other(format!("install task: {e}")))?
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner).clone();
        Ok(current.map(|(meta, path)| Snapshot { meta, snapshot: SnapshotFile { path } }))
    }
}
