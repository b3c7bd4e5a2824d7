//! One regional node at run time: its Raft (log, replicated machine, peers over gRPC), the
//! store-facing `LocalRegionalSync` service, the leader's uplink to the master, and the
//! driver that sends the leader's outputs and proposes its timers. Thin: what to send and
//! when is the machine's; this moves bytes.

mod driver;
pub mod gauges;
pub mod members;
mod sync_service;
pub mod uplink;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dcs_proto::pb;
use dcs_proto::pb::local_regional_sync_server::LocalRegionalSyncServer;
use dcs_proto::pb::region_raft_server::RegionRaftServer;
use dcs_sync::{NodeId, Verifier};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use crate::raft::{
    LogStoreConfig, Network, NetworkConfig, NodeAddr, Raft, RaftService, RegionStateMachine,
    SqliteLogStore,
};
use crate::replica::{Replica, ReplicaConfig};

pub use sync_service::LEADER_METADATA;
pub use uplink::MasterLink;

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A file of the node's data directory.
    #[error("{path}: {reason}")]
    File {
        /// The file or directory.
        path: String,
        /// What failed.
        reason: String,
    },
    /// Raft refused to start or to initialize.
    #[error("raft: {0}")]
    Raft(String),
    /// The replica file.
    #[error("replica: {0}")]
    Replica(#[from] crate::replica::ReplicaError),
}

/// Raft timing (milliseconds) and the log's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaftTimings {
    /// Leader heartbeat period.
    pub heartbeat_ms: u64,
    /// Smallest election timeout.
    pub election_min_ms: u64,
    /// Largest election timeout (a new leader comes within two of these).
    pub election_max_ms: u64,
    /// Log entries applied since the last snapshot that trigger a new one.
    pub snapshot_logs: u64,
    /// Entries kept in the log behind a snapshot (a follower this far behind catches up by
    /// log; further behind, by snapshot).
    pub keep_logs: u64,
    /// Encoded bytes of committed log entries kept decoded in memory for apply and
    /// replication (`LogStoreConfig::cache_bytes`).
    pub log_cache_bytes: usize,
}

impl Default for RaftTimings {
    fn default() -> Self {
        RaftTimings {
            heartbeat_ms: 100,
            election_min_ms: 600,
            election_max_ms: 1_200,
            snapshot_logs: 5_000,
            keep_logs: 1_000,
            log_cache_bytes: LogStoreConfig::default().cache_bytes,
        }
    }
}

/// What a node needs to run.
pub struct NodeConfig {
    /// This node's Raft id (never reused after a removal).
    pub node_id: u64,
    /// The data directory (Raft log, replica file, snapshots).
    pub data_dir: PathBuf,
    /// The replicated machine's configuration (the same on every node of the region).
    pub replica: ReplicaConfig,
    /// Raft timing.
    pub timings: RaftTimings,
    /// The leader's verifier of store events (MACs and signatures).
    pub verifier: Arc<dyn Verifier>,
    /// Messages queued per store stream before the newest are dropped (the protocol resends).
    pub stream_queue: usize,
    /// Largest snapshot received from a peer, in bytes.
    pub max_snapshot_bytes: u64,
    /// Mutual TLS: this node's server side, and its client side towards its peers.
    pub tls: Option<(tonic::transport::ServerTlsConfig, tonic::transport::ClientTlsConfig)>,
    /// The sinks this node forwards to while it leads.
    pub forward: Forwarding,
    /// Peers this node dials at another address than the membership's (node id → address).
    pub dial: BTreeMap<u64, String>,
    /// The master this node streams to while it leads (None: the region runs alone).
    pub master: Option<MasterLink>,
}

/// The sinks a node forwards to while it leads, and the loop's limits.
#[derive(Default)]
pub struct Forwarding {
    /// The forwarding loop's limits.
    pub limits: crate::forward::Limits,
    /// The PostgreSQL sink.
    pub postgres: Option<crate::forward::postgres::PgSink>,
    /// The Kafka sink.
    pub kafka: Option<crate::forward::kafka::KafkaSink>,
}

/// The open streams to this node's stores and to the master (the leader sends its outputs
/// there).
pub(crate) type Streams =
    Arc<Mutex<BTreeMap<NodeId, mpsc::Sender<Result<pb::SyncEnvelope, Status>>>>>;

/// A running regional node.
pub struct RegionNode {
    /// This node's Raft.
    pub raft: Raft,
    /// Its state machine (and through it the replica).
    pub state_machine: RegionStateMachine,
    /// Its Raft log writer's counters.
    pub log_stats: Arc<crate::raft::LogStats>,
    /// Its forwarders' last outcomes.
    pub sinks: crate::forward::SinkHealth,
    /// Its client of the other nodes' Raft services (operator requests go to the leader).
    pub network: Network,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn file_err(path: &std::path::Path) -> impl Fn(std::io::Error) -> NodeError + '_ {
    move |e| NodeError::File { path: path.display().to_string(), reason: e.to_string() }
}

impl RegionNode {
    /// Starts the node, serving Raft and `LocalRegionalSync` on `listener` (mutual TLS when
    /// the config has it).
    ///
    /// # Errors
    /// [`NodeError`] naming the file or the Raft error.
    pub async fn start(
        config: NodeConfig,
        listener: tokio::net::TcpListener,
    ) -> Result<Self, NodeError> {
        let dir = &config.data_dir;
        std::fs::create_dir_all(dir).map_err(file_err(dir))?;
        let log_path = dir.join("raft.db");
        let log_config =
            LogStoreConfig { cache_bytes: config.timings.log_cache_bytes, ..Default::default() };
        let log = SqliteLogStore::open(&log_path, log_config).map_err(file_err(&log_path))?;
        let log_stats = log.stats();
        let replica = Replica::open(&dir.join("replica.db"), config.replica.clone())?;
        let snapshots = dir.join("snapshots");
        let sm = RegionStateMachine::new(Arc::new(Mutex::new(replica)), &snapshots)
            .map_err(file_err(&snapshots))?;
        let raft_config = openraft::Config {
            cluster_name: format!("dcs-region-{:?}", config.replica.region.node),
            heartbeat_interval: config.timings.heartbeat_ms,
            election_timeout_min: config.timings.election_min_ms,
            election_timeout_max: config.timings.election_max_ms,
            enable_pre_vote: Some(true),
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(config.timings.snapshot_logs),
            max_in_snapshot_log_to_keep: config.timings.keep_logs,
            ..Default::default()
        }
        .validate()
        .map_err(|e| NodeError::Raft(e.to_string()))?;
        let network = match &config.tls {
            Some((_, client)) => Network::with_tls(NetworkConfig::default(), client.clone()),
            None => Network::new(NetworkConfig::default()),
        }
        .with_dial(config.dial.clone());
        let raft =
            Raft::new(config.node_id, Arc::new(raft_config), network.clone(), log, sm.clone())
                .await
                .map_err(|e| NodeError::Raft(e.to_string()))?;
        let stop = CancellationToken::new();
        let streams: Streams = Arc::default();
        let raft_service =
            RaftService::new(raft.clone(), sm.clone(), snapshots, config.max_snapshot_bytes);
        let sync = sync_service::SyncService::new(
            raft.clone(),
            config.replica.region.node,
            Arc::clone(&config.verifier),
            Arc::clone(&streams),
            config.replica.region.stores.clone(),
            config.stream_queue,
            config.replica.region.sync.max_batch_items,
        );
        let mut builder = tonic::transport::Server::builder();
        if let Some((server, _)) = &config.tls {
            builder = builder
                .tls_config(server.clone())
                .map_err(|e| NodeError::Raft(format!("tls: {e}")))?;
        }
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let served = stop.clone();
        let server = builder
            .add_service(RegionRaftServer::new(raft_service).max_decoding_message_size(64 << 20))
            .add_service(
                LocalRegionalSyncServer::new(sync)
                    .max_decoding_message_size(dcs_sync::MAX_MESSAGE_LEN),
            )
            .serve_with_incoming_shutdown(incoming, async move { served.cancelled().await });
        let mut tasks = vec![tokio::spawn(async move {
            if let Err(e) = server.await {
                tracing::error!(error = %e, "the node's gRPC server stopped");
            }
        })];
        let region = config.replica.region.node;
        let sinks = crate::forward::SinkHealth::default();
        if let Some(link) = config.master {
            let (raft, streams, stop) = (raft.clone(), Arc::clone(&streams), stop.clone());
            let (health, replica) = (sinks.clone(), Arc::clone(sm.replica()));
            tasks.push(tokio::spawn(uplink::run(
                raft, streams, region, link, health, replica, stop,
            )));
        }
        tasks.push(tokio::spawn(driver::run(
            raft.clone(),
            sm.clone(),
            streams,
            region,
            stop.clone(),
        )));
        let replica = Arc::clone(sm.replica());
        let limits = config.forward.limits;
        if let Some(pg) = config.forward.postgres {
            let r = (raft.clone(), Arc::clone(&replica), sinks.clone(), stop.clone());
            tasks.push(tokio::spawn(crate::forward::run(pg, r.0, r.1, limits, r.2, r.3)));
        }
        if let Some(kafka) = config.forward.kafka {
            let r = (raft.clone(), Arc::clone(&replica), sinks.clone(), stop.clone());
            tasks.push(tokio::spawn(crate::forward::run(kafka, r.0, r.1, limits, r.2, r.3)));
        }
        Ok(RegionNode { raft, state_machine: sm, log_stats, sinks, network, stop, tasks })
    }

    /// Makes `members` the region's first membership (once, on one node of a new region).
    ///
    /// # Errors
    /// [`NodeError::Raft`] (for example: already initialized).
    pub async fn initialize(&self, members: BTreeMap<u64, NodeAddr>) -> Result<(), NodeError> {
        self.raft.initialize(members).await.map_err(|e| NodeError::Raft(e.to_string()))
    }

    /// Stops serving, hands leadership over if this node leads, and shuts Raft down.
    pub async fn shutdown(self) {
        self.stop.cancel();
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        let _ = self.raft.shutdown().await;
    }
}

/// Whether this node leads its region now.
pub fn is_leader(raft: &Raft) -> bool {
    driver::is_leader(raft)
}

/// The sync endpoint stores use to reach a node at `addr` (`https://` with TLS).
pub fn sync_url(addr: SocketAddr, tls: bool) -> String {
    format!("{}://{addr}", if tls { "https" } else { "http" })
}
