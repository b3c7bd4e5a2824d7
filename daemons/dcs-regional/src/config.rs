//! `dcs-regional.toml`: a regional node's settings (commented by `init`), with
//! `DCS_SECTION__KEY` environment overrides (dcs-daemon's loader).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A regional node's configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegionalConfigFile {
    /// `[node]`: who this node is and where it listens.
    pub node: NodeSection,
    /// `[cluster]`: the region's nodes and stores.
    pub cluster: ClusterSection,
    /// `[raft]`: Raft timing and the log's bounds.
    pub raft: RaftSection,
    /// `[sync]`: the sync protocol's timers and limits.
    pub sync: SyncSection,
    /// `[verify]`: the tenants' MAC keys.
    pub verify: VerifySection,
    /// `[forward]`: the sinks the leader forwards accepted events to.
    pub forward: ForwardSection,
    /// `[master]`: the master the leader streams summaries to (none: the region runs alone).
    pub master: MasterSection,
    /// `[tls]`: this node's certificate (mutual TLS to peers and stores); required unless
    /// `node.insecure_plaintext` is set.
    pub tls: Option<dcs_daemon::tls::TlsFiles>,
    /// `[log]`.
    pub log: dcs_daemon::telemetry::LogConfig,
}

/// `[node]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSection {
    /// This node's Raft id (1, 2, 3 …; never reused after a removal).
    pub id: u64,
    /// The region's node number in the sync topology.
    pub region: u16,
    /// The gRPC address (Raft for peers, LocalRegionalSync for stores).
    pub listen: SocketAddr,
    /// The admin HTTP address (/healthz, /readyz, /metrics).
    pub admin: SocketAddr,
    /// Plaintext gRPC (tests on 127.0.0.1 only; never in production).
    pub insecure_plaintext: bool,
    /// Largest snapshot accepted from a peer, MiB.
    pub max_snapshot_mib: u64,
    /// Messages queued per store stream before new ones are dropped (the protocol resends).
    pub stream_queue: usize,
    /// Seconds given to in-flight work at shutdown.
    pub shutdown_deadline_s: u64,
    /// `/readyz` fails while more committed entries than this wait to be applied.
    pub ready_apply_lag: u64,
}

impl Default for NodeSection {
    fn default() -> Self {
        NodeSection {
            id: 1,
            region: 0,
            listen: SocketAddr::from(([127, 0, 0, 1], 7400)),
            admin: SocketAddr::from(([127, 0, 0, 1], 7480)),
            insecure_plaintext: false,
            max_snapshot_mib: 4_096,
            stream_queue: 256,
            shutdown_deadline_s: 10,
            ready_apply_lag: 1_000,
        }
    }
}

/// `[cluster]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterSection {
    /// The region's first membership: node id → `host:port` (what peers and redirected
    /// stores dial). Only read by the bootstrapping node of a new region.
    pub peers: BTreeMap<String, String>,
    /// This node makes `peers` the first membership of a new region (one node only).
    pub bootstrap: bool,
    /// The stores of the region (their sync node numbers).
    pub stores: Vec<u32>,
    /// The region's CRDT replica id (the same on every node of the region).
    pub replica_id: u64,
    /// Peers this node dials at another address than the membership's: node id →
    /// `host:port` (NAT, a proxy).
    pub dial: BTreeMap<String, String>,
}

/// `[raft]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftSection {
    /// Leader heartbeat period, ms.
    pub heartbeat_ms: u64,
    /// Smallest election timeout, ms.
    pub election_min_ms: u64,
    /// Largest election timeout, ms.
    pub election_max_ms: u64,
    /// Entries applied since the last snapshot that trigger a new one.
    pub snapshot_logs: u64,
    /// Entries kept behind a snapshot (a follower further behind catches up by snapshot).
    pub keep_logs: u64,
    /// MiB of committed log entries kept decoded in memory, so that apply and replication
    /// read recent entries without SQLite (entries not yet committed are always held).
    pub log_cache_mib: usize,
}

impl Default for RaftSection {
    fn default() -> Self {
        let t = crate::node::RaftTimings::default();
        RaftSection {
            heartbeat_ms: t.heartbeat_ms,
            election_min_ms: t.election_min_ms,
            election_max_ms: t.election_max_ms,
            snapshot_logs: t.snapshot_logs,
            keep_logs: t.keep_logs,
            log_cache_mib: t.log_cache_bytes >> 20,
        }
    }
}

/// `[sync]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSection {
    /// Idle sync round period, ms.
    pub sync_interval_ms: u64,
    /// First retransmission timeout, ms.
    pub retransmit_base_ms: u64,
    /// Largest retransmission timeout, ms.
    pub retransmit_max_ms: u64,
    /// Most items per push to the master.
    pub max_batch_items: usize,
    /// Delta-log entries kept for peers that are behind.
    pub delta_log_capacity: usize,
}

impl Default for SyncSection {
    fn default() -> Self {
        let d = dcs_sync::SyncConfig::default();
        SyncSection {
            sync_interval_ms: 5_000,
            retransmit_base_ms: d.retransmit_base_ms,
            retransmit_max_ms: d.retransmit_max_ms,
            max_batch_items: d.max_batch_items,
            delta_log_capacity: d.delta_log_capacity,
        }
    }
}

/// `[verify]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VerifySection {
    /// tenant → file holding its MAC key (0600; the stores' `keys/mac.key`).
    pub mac_keys: BTreeMap<String, PathBuf>,
    /// tenant → its stores' `terminals.toml` files: the tenant's events must then carry a
    /// valid signature by a registered terminal (Ed25519 or ECDSA P-256).
    pub terminals: BTreeMap<String, Vec<PathBuf>>,
    /// tenant → its KEK keyring file (a `dcs-keys` keyring, 0600; the stores'
    /// `keys/keyring.dcsk`): the leader then opens the tenant's events to summarise their
    /// stock movements for the master. Without it the master sees amounts, not stock.
    pub keyrings: BTreeMap<String, PathBuf>,
    /// How often (ms) each keyring file is looked at for a rotation made elsewhere (0: read
    /// once at start). An event under a KEK version not yet seen rereads it at once.
    pub keyring_reload_ms: u64,
    /// `[verify.vault]`: tenants whose KEKs are in Vault or OpenBao Transit (their stores'
    /// `[keys] provider = "vault"`): the leader opens their events through it.
    pub vault: Option<VerifyVault>,
}

/// `[verify.vault]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyVault {
    /// The server, e.g. `https://vault.internal:8200`.
    pub addr: String,
    /// A file holding a token that may decrypt with the tenants' Transit keys (0600).
    pub token_file: PathBuf,
    /// The Transit mount (default `transit`).
    #[serde(default)]
    pub mount: Option<String>,
    /// The tenants opened through it.
    pub tenants: Vec<String>,
}

impl Default for VerifySection {
    fn default() -> Self {
        Self {
            mac_keys: BTreeMap::new(),
            terminals: BTreeMap::new(),
            keyrings: BTreeMap::new(),
            keyring_reload_ms: 1_000,
            vault: None,
        }
    }
}

/// `[forward]`: where the leader forwards the region's accepted events, exactly once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForwardSection {
    /// The region's name in the sinks (PostgreSQL cursor key, Kafka transactional id and
    /// progress topic); empty means `region-{node.region}`. Never change it once forwarded.
    pub region_name: String,
    /// Most events per forwarded batch (one transaction in each sink).
    pub batch_items: usize,
    /// First backoff after a sink failed, ms.
    pub retry_base_ms: u64,
    /// Largest backoff, ms.
    pub retry_max_ms: u64,
    /// `[forward.postgres]`: the regional PostgreSQL store (off when absent).
    pub postgres: Option<crate::forward::postgres::PostgresSink>,
    /// `[forward.kafka]`: Kafka (off when absent).
    pub kafka: Option<crate::forward::kafka::KafkaSinkConfig>,
}

impl Default for ForwardSection {
    fn default() -> Self {
        let l = crate::forward::Limits::default();
        ForwardSection {
            region_name: String::new(),
            batch_items: l.batch_items,
            retry_base_ms: l.retry_base_ms,
            retry_max_ms: l.retry_max_ms,
            postgres: None,
            kafka: None,
        }
    }
}

impl ForwardSection {
    /// The region's name in the sinks.
    pub fn region_name(&self, region: u16) -> String {
        if self.region_name.is_empty() {
            format!("region-{region}")
        } else {
            self.region_name.clone()
        }
    }

    /// The forwarding loop's limits.
    pub fn limits(&self) -> crate::forward::Limits {
        crate::forward::Limits {
            batch_items: self.batch_items.clamp(1, 10_000),
            retry_base_ms: self.retry_base_ms.max(1),
            retry_max_ms: self.retry_max_ms.max(self.retry_base_ms.max(1)),
            ..crate::forward::Limits::default()
        }
    }
}

/// `[master]`: the leader's stream to the master (`dcs.v1.RegionalMasterSync/Exchange`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MasterSection {
    /// The master's endpoint, `https://host:port` (`http://` with `node.insecure_plaintext`);
    /// empty: no master, the region runs alone.
    pub url: String,
    /// The name the master's certificate must carry (mutual TLS).
    pub server_name: String,
    /// Longest wait for the connection and the stream's opening, ms.
    pub connect_timeout_ms: u64,
    /// First reconnect delay after a failure, ms.
    pub retry_base_ms: u64,
    /// Largest reconnect delay, ms.
    pub retry_max_ms: u64,
    /// Messages queued towards the master before new ones are dropped (the protocol resends).
    pub queue: usize,
    /// How often (ms) the leader reports the cluster's Raft health to the master (its
    /// dashboard's Raft view); 0: never.
    pub status_every_ms: u64,
}

impl Default for MasterSection {
    fn default() -> Self {
        let l = crate::node::MasterLink::default();
        MasterSection {
            url: l.url,
            server_name: "dcs-master".to_string(),
            connect_timeout_ms: l.connect_timeout.as_millis() as u64,
            retry_base_ms: l.retry_base_ms,
            retry_max_ms: l.retry_max_ms,
            queue: l.queue,
            status_every_ms: l.status_every.as_millis() as u64,
        }
    }
}

impl MasterSection {
    /// Whether a master is configured.
    pub fn enabled(&self) -> bool {
        !self.url.trim().is_empty()
    }

    /// Checks the URL (`https` with TLS, `http` on plaintext, a host, no path) and the limits.
    ///
    /// # Errors
    /// What is wrong, naming the key.
    pub fn check(&self, tls: bool) -> Result<(), String> {
        if !self.enabled() {
            return Ok(());
        }
        let url = self.url.trim();
        let uri: tonic::codegen::http::Uri =
            url.parse().map_err(|e| format!("master.url {url:?}: {e}"))?;
        let want = if tls { "https" } else { "http" };
        match uri.scheme_str() {
            Some(s) if s == want => {}
            Some(s) => {
                return Err(format!(
                    "master.url {url:?}: the scheme is {s}, this node needs {want}:// ({})",
                    if tls { "it runs with [tls]" } else { "it runs in plaintext" }
                ));
            }
            None => return Err(format!("master.url {url:?}: write it as {want}://host:port")),
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(format!("master.url {url:?}: no host"));
        }
        // `host:port` (or `[v6]:port`): a port, when written, is a number below 65536.
        let authority = uri.authority().map_or("", |a| a.as_str());
        let after_host = authority.rsplit(']').next().unwrap_or(authority);
        if let Some((_, port)) = after_host.rsplit_once(':')
            && port.parse::<u16>().is_err()
        {
            return Err(format!("master.url {url:?}: the port {port:?} is not a port number"));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(format!("master.url {url:?}: the endpoint takes no path or query"));
        }
        if tls && self.server_name.trim().is_empty() {
            return Err("master.server_name: empty (the master's certificate name)".into());
        }
        if self.queue == 0 {
            return Err("master.queue: 0 (at least 1)".into());
        }
        if self.connect_timeout_ms == 0 {
            return Err("master.connect_timeout_ms: 0 (at least 1)".into());
        }
        Ok(())
    }

    /// The node's link to the master (None when no master is configured), with `tls` the
    /// node's client side towards it.
    pub fn link(
        &self,
        tls: Option<tonic::transport::ClientTlsConfig>,
    ) -> Option<crate::node::MasterLink> {
        if !self.enabled() {
            return None;
        }
        let base = self.retry_base_ms.max(1);
        Some(crate::node::MasterLink {
            url: self.url.trim().to_string(),
            tls,
            connect_timeout: std::time::Duration::from_millis(self.connect_timeout_ms.max(1)),
            retry_base_ms: base,
            retry_max_ms: self.retry_max_ms.max(base),
            queue: self.queue.max(1),
            status_every: std::time::Duration::from_millis(self.status_every_ms),
        })
    }
}
