//! The daemon's settings: `dcs-local.toml` in the data directory (written by `init`), then
//! `DCS_SECTION__KEY` environment overrides.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Everything `dcs-local run` needs; every section refuses unknown keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocalConfig {
    /// Who this store is.
    pub store: StoreSection,
    /// Where it listens.
    pub listen: ListenSection,
    /// The browser POS and its origins.
    pub web: WebSection,
    /// Bounds on requests and the store.
    pub limits: LimitsSection,
    /// The key provider of the tenant's KEKs.
    pub keys: crate::keys::KeysSection,
    /// The data keys leased to self-sealing tills.
    pub till: TillSection,
    /// The region this store syncs with (none: the store runs offline only).
    pub region: RegionSection,
    /// Logs.
    pub log: dcs_daemon::telemetry::LogConfig,
    /// The products sold here, with their list prices (central prices override them).
    pub products: Vec<ProductEntry>,
    /// Tax rates per tax category, in parts per million (8.875 % is 88750).
    pub tax: Vec<TaxEntry>,
}

/// `[store]`: identity and the business day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// The tenant (retailer).
    pub tenant: String,
    /// This store's branch id.
    pub branch: String,
    /// The ISO-4217 currency it sells in.
    pub currency: String,
    /// The store's UTC offset in minutes (its business day), e.g. -300 for New York.
    pub utc_offset_minutes: i32,
    /// The SQLite event store (relative to the data directory).
    pub database: PathBuf,
    /// Cap on the database size in MiB (0: none); past it appends fail like a full disk.
    pub max_size_mib: u64,
}

impl Default for StoreSection {
    fn default() -> Self {
        Self {
            tenant: "acme".into(),
            branch: "store-1".into(),
            currency: "USD".into(),
            utc_offset_minutes: 0,
            database: "events.db".into(),
            max_size_mib: 0,
        }
    }
}

/// `[listen]`: the POS port (gRPC, gRPC-Web, the web app) and the admin port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenSection {
    /// gRPC + gRPC-Web + static files.
    pub pos: SocketAddr,
    /// /healthz, /readyz, /metrics.
    pub admin: SocketAddr,
    /// How long SIGTERM waits for in-flight requests, in milliseconds.
    pub shutdown_deadline_ms: u64,
    /// `[listen.pos_tls]`: TLS on the POS port (`cert`, `key`, optional `client_ca`; PEM,
    /// relative to the data directory; `dcs-local pos-tls` writes them). With `client_ca`,
    /// a terminal may authenticate by a client certificate registered in terminals.toml
    /// instead of its token. None: the POS port is plaintext.
    pub pos_tls: Option<dcs_daemon::tls::ServerTlsFiles>,
}

impl Default for ListenSection {
    fn default() -> Self {
        Self {
            pos: SocketAddr::from(([127, 0, 0, 1], 7400)),
            admin: SocketAddr::from(([127, 0, 0, 1], 7401)),
            shutdown_deadline_ms: 10_000,
            pos_tls: None,
        }
    }
}

/// `[web]`: the static web app and the origins allowed to call gRPC-Web.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSection {
    /// A directory served at `/` (the browser POS build); none when empty.
    pub static_dir: Option<PathBuf>,
    /// Origins (e.g. `http://127.0.0.1:5173`) allowed by CORS; same-origin needs none.
    pub cors_origins: Vec<String>,
}

/// `[till]`: the data keys `ProvisionTill` leases to self-sealing tills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TillSection {
    /// Most events a till may seal with one leased data key.
    pub lease_max_uses: u64,
    /// How long a lease is good for, in hours (how long a till can sell offline).
    pub lease_hours: u64,
}

impl Default for TillSection {
    fn default() -> Self {
        Self { lease_max_uses: 100_000, lease_hours: 7 * 24 }
    }
}

/// `[limits]`: bounds on what a request may carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// Largest decoded request, in bytes.
    pub max_request_bytes: usize,
    /// Most requests handled at once.
    pub max_concurrent_requests: usize,
    /// Most appends waiting for the writer.
    pub write_queue: usize,
    /// Most appends committed in one transaction (group commit).
    pub group_commit_max: usize,
}

impl Default for LimitsSection {
    fn default() -> Self {
        Self {
            max_request_bytes: 4 * 1024 * 1024,
            max_concurrent_requests: 256,
            write_queue: 1024,
            group_commit_max: 256,
        }
    }
}

/// `[region]`: the regional cluster this store syncs with, over mutual TLS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegionSection {
    /// The region's nodes (`https://host:port`), tried in turn; a follower's redirect to its
    /// leader is followed. Empty: the store does not sync (offline only).
    pub endpoints: Vec<String>,
    /// Follow a follower's redirect to the address its leader gives (true), or try the next
    /// of `endpoints` instead (false: for a store that reaches the region only through its
    /// configured addresses, such as a gateway or a proxy per link).
    pub follow_leader: bool,
    /// The name the region's certificates carry (checked on every connection).
    pub server_name: String,
    /// The region's node number in the sync topology.
    pub region_id: u16,
    /// This store's node number in the sync topology (unique in the region).
    pub store_id: u32,
    /// This store's CRDT replica id (unique, never reused after losing the store's file).
    pub replica_id: u64,
    /// The CA, this store's certificate and key (PEM; relative to the data directory).
    pub tls: Option<dcs_daemon::tls::TlsFiles>,
    /// Period of a sync round when idle, in milliseconds.
    pub sync_interval_ms: u64,
    /// Wait after new events before pushing them, in milliseconds (batches bursts).
    pub batch_delay_ms: u64,
    /// First retransmission timeout, in milliseconds.
    pub retransmit_base_ms: u64,
    /// Largest retransmission timeout and reconnection backoff, in milliseconds.
    pub retransmit_max_ms: u64,
    /// Most events per push.
    pub max_batch_items: usize,
    /// Most event bytes per push.
    pub max_batch_bytes: usize,
    /// Unacknowledged events held in memory (the rest are read back from the store).
    pub outbox_window_items: usize,
    /// Timeout of one connection attempt, in milliseconds.
    pub connect_timeout_ms: u64,
}

impl Default for RegionSection {
    fn default() -> Self {
        let sync = dcs_sync::SyncConfig::default();
        Self {
            endpoints: Vec::new(),
            follow_leader: true,
            server_name: "dcs-regional".into(),
            region_id: 0,
            store_id: 1,
            replica_id: 1,
            tls: None,
            sync_interval_ms: 5_000,
            batch_delay_ms: 200,
            retransmit_base_ms: 1_000,
            retransmit_max_ms: 30_000,
            max_batch_items: sync.max_batch_items,
            max_batch_bytes: sync.max_batch_bytes,
            outbox_window_items: sync.outbox_window_items,
            connect_timeout_ms: 3_000,
        }
    }
}

impl RegionSection {
    /// The machine's timers and limits.
    pub fn sync_config(&self) -> dcs_sync::SyncConfig {
        dcs_sync::SyncConfig {
            sync_interval_ms: self.sync_interval_ms,
            batch_delay_ms: self.batch_delay_ms,
            retransmit_base_ms: self.retransmit_base_ms,
            retransmit_max_ms: self.retransmit_max_ms,
            max_batch_items: self.max_batch_items,
            max_batch_bytes: self.max_batch_bytes,
            outbox_window_items: self.outbox_window_items,
            ..dcs_sync::SyncConfig::default()
        }
    }
}

/// `[[products]]`: one product of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductEntry {
    /// The SKU.
    pub sku: String,
    /// Its name on the receipt.
    pub name: String,
    /// The category shown on the till.
    pub category: String,
    /// The list price in minor units.
    pub price_minor: i64,
    /// Its tax category (a `[[tax]]` entry).
    pub tax_category: String,
}

/// `[[tax]]`: the rates of one tax category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxEntry {
    /// The tax category.
    pub category: String,
    /// (name, rate in ppm) pairs; empty for an exempt category.
    pub rates: Vec<(String, u32)>,
}

/// The files of the data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    /// The directory.
    pub root: PathBuf,
}

impl DataDir {
    /// The config file.
    pub fn config(&self) -> PathBuf {
        self.root.join("dcs-local.toml")
    }
    /// The tenant's KEK keyring (0600).
    pub fn keyring(&self) -> PathBuf {
        self.root.join("keys").join("keyring.dcsk")
    }
    /// The tenant's MAC key (0600).
    pub fn mac_key(&self) -> PathBuf {
        self.root.join("keys").join("mac.key")
    }
    /// The registered terminals.
    pub fn terminals(&self) -> PathBuf {
        self.root.join("terminals.toml")
    }
    /// The store's own signing key (0600): it signs the cashier list tills sign in against.
    pub fn store_key(&self) -> PathBuf {
        self.root.join("keys").join("store.key")
    }
    /// The store's cashiers and their PIN hashes.
    pub fn cashiers(&self) -> PathBuf {
        self.root.join("cashiers.toml")
    }
    /// The signing key the daemon holds for thin terminal `id` (0600).
    pub fn terminal_key(&self, id: &str) -> PathBuf {
        self.root.join("keys").join(format!("terminal-{id}.key"))
    }
    /// The TLS files (certificates, their keys 0600).
    pub fn tls(&self) -> PathBuf {
        self.root.join("tls")
    }
}
