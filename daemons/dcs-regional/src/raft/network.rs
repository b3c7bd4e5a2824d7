//! The client side of the Raft RPCs: one cached tonic channel per peer, openraft's requests
//! and responses as postcard bytes, snapshots streamed from their file in bounded chunks.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use dcs_proto::pb::region_raft_client::RegionRaftClient;
use dcs_proto::pb::{RaftPayload, RaftSnapshotChunk};
use openraft::error::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory, v2::RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::AsyncReadExt;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use super::{NodeAddr, SnapshotFile, TypeConfig, Vote};

type Snapshot = openraft::alias::SnapshotOf<TypeConfig, SnapshotFile>;

/// Limits of the Raft client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkConfig {
    /// Largest snapshot chunk sent (bytes; also bounds the receiver's buffer).
    pub snapshot_chunk: usize,
    /// Connect timeout to a peer.
    pub connect_timeout: Duration,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig { snapshot_chunk: 1 << 20, connect_timeout: Duration::from_secs(2) }
    }
}

/// Makes the clients openraft uses to reach each peer; channels are cached per address.
#[derive(Clone, Default)]
pub struct Network {
    config: NetworkConfig,
    tls: Option<ClientTlsConfig>,
    channels: Arc<Mutex<BTreeMap<String, Channel>>>,
    /// Where this node dials a peer instead of the membership's address (node id → address).
    dial: Arc<BTreeMap<u64, String>>,
}

impl Network {
    /// A network with `config`'s limits, plaintext (tests on 127.0.0.1 only).
    pub fn new(config: NetworkConfig) -> Self {
        Network { config, tls: None, channels: Arc::default(), dial: Arc::default() }
    }

    /// Dials the peers in `dial` at its addresses rather than the membership's (a node
    /// behind NAT or a proxy; the partition tests put a cuttable proxy on every link).
    pub fn with_dial(mut self, dial: BTreeMap<u64, String>) -> Self {
        self.dial = Arc::new(dial);
        self
    }

    /// A network with `config`'s limits over mutual TLS (`tls` names the peers' certificate).
    pub fn with_tls(config: NetworkConfig, tls: ClientTlsConfig) -> Self {
        Network { config, tls: Some(tls), channels: Arc::default(), dial: Arc::default() }
    }

    fn channel(&self, addr: &str) -> Result<Channel, String> {
        let mut cache = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = cache.get(addr) {
            return Ok(c.clone());
        }
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{addr}"))
            .map_err(|e| format!("peer address {addr:?}: {e}"))?
            .connect_timeout(self.config.connect_timeout)
            .tcp_nodelay(true);
        if let Some(tls) = &self.tls {
            endpoint = endpoint.tls_config(tls.clone()).map_err(|e| format!("tls: {e}"))?;
        }
        let channel = endpoint.connect_lazy();
        cache.insert(addr.to_string(), channel.clone());
        Ok(channel)
    }
}

impl Network {
    /// Sends an operator's membership `change` to node `target` (the leader) at `node`.
    ///
    /// # Errors
    /// [`MemberError::Raft`](crate::node::members::MemberError::Raft) when the leader cannot be reached or answers garbage; the
    /// leader's own refusal otherwise.
    pub async fn change_members(
        &self,
        target: u64,
        node: &NodeAddr,
        change: &crate::node::members::MemberChange,
    ) -> Result<crate::node::members::Members, crate::node::members::MemberError> {
        use crate::node::members::MemberError;
        let addr = self.dial.get(&target).unwrap_or(&node.raft).clone();
        let channel = self.channel(&addr).map_err(MemberError::Raft)?;
        let data = postcard::to_allocvec(change)
            .map_err(|e| MemberError::Raft(format!("encode the change: {e}")))?;
        let answer =
            RegionRaftClient::new(channel).change_members(RaftPayload { data }).await.map_err(
                |s| MemberError::Raft(format!("the leader (node {target}): {}", s.message())),
            )?;
        postcard::from_bytes::<Result<_, MemberError>>(&answer.get_ref().data)
            .map_err(|e| MemberError::Raft(format!("the leader's answer: {e}")))?
    }
}

/// openraft's handle on one peer.
pub struct Peer {
    client: Result<RegionRaftClient<Channel>, String>,
    chunk: usize,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: u64, node: &NodeAddr) -> Peer {
        let addr = self.dial.get(&target).unwrap_or(&node.raft).clone();
        let client = self.channel(&addr).map(|c| {
            RegionRaftClient::new(c)
                .max_decoding_message_size(64 << 20)
                .max_encoding_message_size(64 << 20)
        });
        Peer { client, chunk: self.config.snapshot_chunk.max(1024) }
    }
}

fn unreachable(msg: impl ToString) -> Unreachable<TypeConfig> {
    Unreachable::from_string(msg)
}

fn encode<T: Serialize>(v: &T) -> Result<RaftPayload, RPCError<TypeConfig>> {
    postcard::to_allocvec(v)
        .map(|data| RaftPayload { data })
        .map_err(|e| RPCError::Network(NetworkError::from_string(format!("encode: {e}"))))
}

fn decode<T: DeserializeOwned>(p: &RaftPayload) -> Result<T, RPCError<TypeConfig>> {
    postcard::from_bytes(&p.data)
        .map_err(|e| RPCError::Network(NetworkError::from_string(format!("decode: {e}"))))
}

fn status(s: tonic::Status) -> RPCError<TypeConfig> {
    RPCError::Unreachable(unreachable(format!("{}: {}", s.code(), s.message())))
}

impl Peer {
    fn client(&self) -> Result<RegionRaftClient<Channel>, RPCError<TypeConfig>> {
        self.client.clone().map_err(|e| RPCError::Unreachable(unreachable(e)))
    }
}

impl Peer {
    /// One request-response RPC: encode, send with openraft's deadline, decode.
    async fn unary<Req, Resp, F, Fut>(
        &self,
        rpc: &Req,
        option: &RPCOption,
        send: F,
    ) -> Result<Resp, RPCError<TypeConfig>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        F: FnOnce(RegionRaftClient<Channel>, tonic::Request<RaftPayload>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<RaftPayload>, tonic::Status>>,
    {
        let mut req = tonic::Request::new(encode(rpc)?);
        req.set_timeout(option.soft_ttl());
        let resp = send(self.client()?, req).await.map_err(status)?;
        decode(resp.get_ref())
    }
}

impl RaftNetworkV2<TypeConfig> for Peer {
    type SnapshotData = SnapshotFile;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.unary(&rpc, &option, |mut c, r| async move { c.append_entries(r).await }).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.unary(&rpc, &option, |mut c, r| async move { c.vote(r).await }).await
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.unary(&rpc, &option, |mut c, r| async move { c.pre_vote(r).await }).await
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + openraft::OptionalSend + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let header = postcard::to_allocvec(&(vote, snapshot.meta.clone())).map_err(|e| {
            StreamingError::Network(NetworkError::from_string(format!("encode: {e}")))
        })?;
        let mut file = tokio::fs::File::open(&snapshot.snapshot.path)
            .await
            .map_err(|e| StreamingError::Unreachable(unreachable(format!("snapshot file: {e}"))))?;
        let chunk = self.chunk;
        // The file is read as the stream is consumed: one chunk in memory at a time.
        let (tx, rx) = tokio::sync::mpsc::channel::<RaftSnapshotChunk>(2);
        let reader = tokio::spawn(async move {
            let mut first = Some(header);
            loop {
                let mut buf = vec![0u8; chunk];
                let n = match file.read(&mut buf).await {
                    Ok(n) => n,
                    Err(_) => return,
                };
                buf.truncate(n);
                let header = first.take().unwrap_or_default();
                if n == 0 && header.is_empty() {
                    return;
                }
                if tx.send(RaftSnapshotChunk { header, data: buf }).await.is_err() || n == 0 {
                    return;
                }
            }
        });
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
        let mut client = self.client().map_err(|e| match e {
            RPCError::Unreachable(u) => StreamingError::Unreachable(u),
            other => StreamingError::Network(NetworkError::from_string(other.to_string())),
        })?;
        let call = client.install_snapshot(stream);
        let result = tokio::select! {
            closed = cancel => Err(StreamingError::Closed(closed)),
            r = call => r.map_err(|s| StreamingError::Unreachable(unreachable(format!("{}: {}", s.code(), s.message())))),
        };
        reader.abort();
        let resp = result?;
        postcard::from_bytes(&resp.get_ref().data)
            .map_err(|e| StreamingError::Network(NetworkError::from_string(format!("decode: {e}"))))
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.unary(&req, &option, |mut c, r| async move { c.transfer_leader(r).await }).await
    }
}
