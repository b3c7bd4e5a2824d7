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
}

impl Default for ListenSection {
    fn default() -> Self {
        Self {
            pos: SocketAddr::from(([127, 0, 0, 1], 7400)),
            admin: SocketAddr::from(([127, 0, 0, 1], 7401)),
            shutdown_deadline_ms: 10_000,
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
    /// The signing key the daemon holds for thin terminal `id` (0600).
    pub fn terminal_key(&self, id: &str) -> PathBuf {
        self.root.join("keys").join(format!("terminal-{id}.key"))
    }
}
