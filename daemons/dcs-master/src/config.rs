//! `dcs-master.toml`: the master's settings (commented by `init`), with `DCS_SECTION__KEY`
//! environment overrides (dcs-daemon's loader).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// The master's configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MasterConfigFile {
    /// `[node]`: where it listens and its limits.
    pub node: NodeSection,
    /// `[regions]`: the regions it serves.
    pub regions: RegionsSection,
    /// `[liveness]`: failure detection of the regions.
    pub liveness: LivenessSection,
    /// `[sync]`: the sync protocol's timers and limits.
    pub sync: SyncSection,
    /// `[web]`: the admin dashboard's files.
    pub web: WebSection,
    /// `[auth]`: operators' sessions.
    pub auth: AuthSection,
    /// `[registry]`: the regions' lag over time.
    pub registry: RegistrySection,
    /// `[prices]`: the central prices' currency.
    pub prices: PricesSection,
    /// `[tls]`: the master's certificate (mutual TLS with the regions); required unless
    /// `node.insecure_plaintext` is set.
    pub tls: Option<dcs_daemon::tls::TlsFiles>,
    /// `[log]`.
    pub log: dcs_daemon::telemetry::LogConfig,
}

/// `[node]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSection {
    /// The gRPC address (`RegionalMasterSync` for the regions' leaders).
    pub listen: SocketAddr,
    /// The admin HTTP address (/healthz, /readyz, /metrics and the admin API).
    pub admin: SocketAddr,
    /// Plaintext gRPC (tests on 127.0.0.1 only; never in production).
    pub insecure_plaintext: bool,
    /// The master's CRDT replica id (unique among every replica of the system).
    pub replica_id: u64,
    /// Messages queued per region stream before new ones are dropped (the protocol resends).
    pub stream_queue: usize,
    /// Inputs queued for the machine before a region's message is dropped (it resends).
    pub input_queue: usize,
    /// Seconds given to in-flight work at shutdown.
    pub shutdown_deadline_s: u64,
}

impl Default for NodeSection {
    fn default() -> Self {
        NodeSection {
            listen: SocketAddr::from(([127, 0, 0, 1], 7300)),
            admin: SocketAddr::from(([127, 0, 0, 1], 7380)),
            insecure_plaintext: false,
            replica_id: 1,
            stream_queue: 256,
            input_queue: 1_024,
            shutdown_deadline_s: 10,
        }
    }
}

/// `[regions]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegionsSection {
    /// The regions' numbers in the sync topology (a region's leader presents a certificate
    /// named `region-N`).
    pub ids: Vec<u16>,
}

/// `[liveness]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LivenessSection {
    /// Silence after which a region is suspected, ms.
    pub suspect_after_ms: u64,
    /// Silence after which a region is declared failed, ms.
    pub fail_after_ms: u64,
}

impl Default for LivenessSection {
    fn default() -> Self {
        let d = dcs_sync::LivenessConfig::default();
        LivenessSection { suspect_after_ms: d.suspect_after_ms, fail_after_ms: d.fail_after_ms }
    }
}

/// `[sync]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSection {
    /// Most items a region may send in one push.
    pub max_batch_items: usize,
    /// Entries of the master's CRDT delta log kept for the regions.
    pub delta_log_capacity: usize,
}

impl Default for SyncSection {
    fn default() -> Self {
        let d = dcs_sync::SyncConfig::default();
        SyncSection { max_batch_items: d.max_batch_items, delta_log_capacity: d.delta_log_capacity }
    }
}

/// `[web]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSection {
    /// The built dashboard (`daemons/dcs-master/web/dist`), served on the admin port at `/`
    /// beside the API (one origin: no CORS); none: the admin port serves only the API.
    pub dir: Option<std::path::PathBuf>,
}

/// `[auth]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSection {
    /// How long a session lasts after sign-in, seconds.
    pub session_ttl_s: u64,
    /// Wrong passwords for one name before its sign-ins are refused for `lockout_s`.
    pub max_failures: u32,
    /// Seconds a name stays locked out after its last wrong password.
    pub lockout_s: u64,
    /// Operator names whose failures are remembered at most (the oldest go first).
    pub tracked_names: usize,
}

impl Default for AuthSection {
    fn default() -> Self {
        AuthSection {
            session_ttl_s: 8 * 3_600,
            max_failures: 5,
            lockout_s: 60,
            tracked_names: 10_000,
        }
    }
}

/// `[registry]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrySection {
    /// Seconds between two samples of every region's lag and health.
    pub sample_every_s: u64,
    /// Hours of samples kept (older ones are dropped as new ones come).
    pub keep_hours: u64,
}

/// `[prices]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PricesSection {
    /// ISO-4217 code of the central prices' minor units (the stores' currency): a price set
    /// in another currency is refused.
    pub currency: String,
}

impl Default for PricesSection {
    fn default() -> Self {
        PricesSection { currency: "USD".into() }
    }
}

impl Default for RegistrySection {
    fn default() -> Self {
        RegistrySection { sample_every_s: 60, keep_hours: 7 * 24 }
    }
}
