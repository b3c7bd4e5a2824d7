//! The server side of the Raft RPCs: decodes a peer's request, hands it to the local Raft,
//! answers with postcard bytes; a snapshot is received into a file chunk by chunk.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use dcs_proto::pb::region_raft_server::RegionRaft;
use dcs_proto::pb::{RaftPayload, RaftSnapshotChunk};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::AsyncWriteExt;
use tonic::{Request, Response, Status, Streaming};

use super::{Raft, SnapshotFile, Vote};

type SnapshotMeta = openraft::alias::SnapshotMetaOf<super::TypeConfig>;

/// Serves the Raft RPCs of one node.
pub struct RaftService {
    raft: Raft,
    sm: super::RegionStateMachine,
    snapshots: PathBuf,
    max_snapshot_bytes: u64,
    received: AtomicU64,
}

impl RaftService {
    /// Serves `raft` (with its state machine `sm`, for membership changes), receiving
    /// snapshots (at most `max_snapshot_bytes` each) into the directory `snapshots`.
    pub fn new(
        raft: Raft,
        sm: super::RegionStateMachine,
        snapshots: PathBuf,
        max_snapshot_bytes: u64,
    ) -> Self {
        RaftService { raft, sm, snapshots, max_snapshot_bytes, received: AtomicU64::new(0) }
    }
}

fn decode<T: DeserializeOwned>(p: &RaftPayload, what: &str) -> Result<T, Status> {
    postcard::from_bytes(&p.data)
        .map_err(|e| Status::invalid_argument(format!("data: not a Raft {what}: {e}")))
}

/// The local Raft's answer as postcard bytes; its error (a node shutting down) as UNAVAILABLE.
fn answer<T: Serialize, E: std::fmt::Display>(
    r: Result<T, E>,
) -> Result<Response<RaftPayload>, Status> {
    let v = r.map_err(|e| Status::unavailable(format!("this node's Raft cannot answer: {e}")))?;
    postcard::to_allocvec(&v)
        .map(|data| Response::new(RaftPayload { data }))
        .map_err(|e| Status::internal(format!("cannot encode the answer: {e}")))
}

/// The certificate name of a region's nodes: only they may call the Raft service.
pub const NODE_NAME: &str = "dcs-regional";

fn peer<T>(request: &Request<T>) -> Result<(), Status> {
    dcs_daemon::peer::require(&request.peer_certs(), NODE_NAME)
}

#[tonic::async_trait]
impl RegionRaft for RaftService {
    async fn append_entries(
        &self,
        request: Request<RaftPayload>,
    ) -> Result<Response<RaftPayload>, Status> {
        peer(&request)?;
        let rpc = decode(request.get_ref(), "AppendEntries request")?;
        answer(self.raft.append_entries(rpc).await)
    }

    async fn vote(&self, request: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        peer(&request)?;
        answer(self.raft.vote(decode(request.get_ref(), "Vote request")?).await)
    }

    async fn pre_vote(
        &self,
        request: Request<RaftPayload>,
    ) -> Result<Response<RaftPayload>, Status> {
        peer(&request)?;
        answer(self.raft.pre_vote(decode(request.get_ref(), "PreVote request")?).await)
    }

    async fn transfer_leader(
        &self,
        request: Request<RaftPayload>,
    ) -> Result<Response<RaftPayload>, Status> {
        peer(&request)?;
        let rpc = decode(request.get_ref(), "TransferLeader request")?;
        answer(self.raft.handle_transfer_leader(rpc).await)
    }

    async fn change_members(
        &self,
        request: Request<RaftPayload>,
    ) -> Result<Response<RaftPayload>, Status> {
        peer(&request)?;
        let change = decode(request.get_ref(), "membership change")?;
        // Applied here only if this node leads (no second hop: a follower refuses naming
        // the leader, and the operator's node reports it).
        let r = crate::node::members::apply(&self.raft, &self.sm, change).await;
        postcard::to_allocvec(&r)
            .map(|data| Response::new(RaftPayload { data }))
            .map_err(|e| Status::internal(format!("cannot encode the answer: {e}")))
    }

    async fn install_snapshot(
        &self,
        request: Request<Streaming<RaftSnapshotChunk>>,
    ) -> Result<Response<RaftPayload>, Status> {
        peer(&request)?;
        let mut stream = request.into_inner();
        let n = self.received.fetch_add(1, Ordering::Relaxed);
        let path = self.snapshots.join(format!("received-{}-{n}.db", std::process::id()));
        let io = |e: std::io::Error| Status::internal(format!("snapshot file: {e}"));
        let mut file = tokio::fs::File::create(&path).await.map_err(io)?;
        let mut header: Option<(Vote, SnapshotMeta)> = None;
        let mut size = 0u64;
        let received = async {
            while let Some(chunk) = stream.message().await? {
                if header.is_none() {
                    header = Some(postcard::from_bytes(&chunk.header).map_err(|e| {
                        Status::invalid_argument(format!("header: not a snapshot header: {e}"))
                    })?);
                }
                size += chunk.data.len() as u64;
                if size > self.max_snapshot_bytes {
                    return Err(Status::resource_exhausted(format!(
                        "data: the snapshot is over {} bytes",
                        self.max_snapshot_bytes
                    )));
                }
                file.write_all(&chunk.data).await.map_err(io)?;
            }
            file.sync_all().await.map_err(io)?;
            Ok(())
        }
        .await;
        if let Err(e) = received {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(e);
        }
        let Some((vote, meta)) = header else {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(Status::invalid_argument("header: the snapshot stream was empty"));
        };
        let snapshot = openraft::alias::SnapshotOf::<super::TypeConfig, SnapshotFile> {
            meta,
            snapshot: SnapshotFile { path },
        };
        answer(self.raft.install_full_snapshot(vote, snapshot).await)
    }
}
