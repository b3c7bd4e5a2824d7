//! `dcs-local init`: a data directory with a commented config, fresh keys and one terminal,
//! so that `dcs-local run` works with no external server.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use dcs_core::event::SignatureAlgorithm;
use dcs_crypto::{KekMaterial, MacKey, Signer};
use dcs_daemon::files::{self, Access};
use dcs_keys::FileKeyring;
use rand_core::{OsRng, RngCore};

use crate::config::DataDir;
use crate::error::{LocalError, Result};
use crate::identity::{TerminalEntry, TerminalsFile, hex, token_digest};

/// What `init` made that the operator must keep: the terminal tokens (shown once).
#[derive(Debug)]
pub struct Made {
    /// (terminal id, bearer token).
    pub tokens: Vec<(String, String)>,
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(files::write_new(path, bytes, Access::Private)?)
}

/// A random bearer token: 32 random bytes, base64url.
pub fn token() -> String {
    let mut raw = [0u8; 32];
    OsRng.fill_bytes(&mut raw);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// Adds a thin terminal `id` (the daemon holds its signing key); returns its entry and token.
pub fn new_thin_terminal(dir: &DataDir, id: &str) -> Result<(TerminalEntry, String)> {
    let signer = Signer::generate(SignatureAlgorithm::Ed25519, &mut OsRng);
    write_private(&dir.terminal_key(id), &signer.to_key_bytes())?;
    let token = token();
    let entry = TerminalEntry {
        id: id.into(),
        token_sha256: hex(&token_digest(&token)),
        algorithm: "ed25519".into(),
        public_key: B64.encode(signer.verifier().to_bytes()),
        self_sealing: false,
        cert_sha256: None,
    };
    Ok((entry, token))
}

/// Creates `dir` with a config for `tenant`/`branch`, a KEK and a MAC key (fresh, or copied
/// from another store's data directory `keys_from`) and the thin terminal `terminal`. Refuses a
/// directory that already holds a config.
pub fn init(
    dir: &DataDir,
    tenant: &str,
    branch: &str,
    terminal: &str,
    keys_from: Option<&Path>,
) -> Result<Made> {
    if dir.config().exists() {
        return Err(LocalError::Setup(format!(
            "{} exists: this data directory is initialised already",
            dir.config().display()
        )));
    }
    files::create_dir(&dir.root, Access::Shared)?;
    files::create_dir(&dir.root.join("keys"), Access::Private)?;
    match keys_from {
        // Another store of the tenant: the same KEKs and MAC key, so the region verifies every
        // store's events with one key and any tier holding the keyring opens them.
        Some(other) => {
            let other = DataDir { root: other.to_path_buf() };
            for (from, to) in [(other.keyring(), dir.keyring()), (other.mac_key(), dir.mac_key())] {
                let bytes = crate::identity::read_secret(&from)?;
                write_private(&to, &bytes)?;
            }
        }
        None => {
            let keyring = FileKeyring::create(dir.keyring())
                .map_err(|e| LocalError::Setup(format!("{}: {e}", dir.keyring().display())))?;
            keyring
                .update(|k| {
                    k.create_kek(tenant, &format!("{tenant}/kek"), KekMaterial::Random(&mut OsRng))
                })
                .map_err(|e| LocalError::Setup(format!("{}: {e}", dir.keyring().display())))?;
            write_private(&dir.mac_key(), &MacKey::random(&mut OsRng).to_secret_bytes())?;
        }
    }
    crate::enroll::store_signer(dir)?;
    dcs_core::AgentId::new(terminal)
        .map_err(|e| LocalError::Invalid(format!("--terminal-id: {e}")))?;
    let (entry, token) = new_thin_terminal(dir, terminal)?;
    let terminals = TerminalsFile { terminals: vec![entry] };
    let text = toml::to_string(&terminals)
        .map_err(|e| LocalError::Setup(format!("cannot write terminals.toml: {e}")))?;
    let terminals =
        format!("# Terminals of this store. Tokens are stored as SHA-256 only.\n{text}");
    files::write(&dir.terminals(), terminals.as_bytes(), Access::Shared)?;
    files::write(&dir.config(), config_template(tenant, branch).as_bytes(), Access::Shared)?;
    Ok(Made { tokens: vec![(terminal.into(), token)] })
}

fn config_template(tenant: &str, branch: &str) -> String {
    format!(
        r#"# dcs-local configuration. Every key can be overridden by an environment variable
# DCS_SECTION__KEY (e.g. DCS_LISTEN__POS=127.0.0.1:7500). Unknown keys are refused.

[store]
# The retailer and this store.
tenant = "{tenant}"
branch = "{branch}"
# The ISO-4217 currency the store sells in.
currency = "USD"
# The store's UTC offset in minutes: its business day for the day summary.
utc_offset_minutes = 0
# The SQLite event store, relative to the data directory.
database = "events.db"
# Cap on the database in MiB (0: none); past it appends fail as on a full disk.
max_size_mib = 0

[listen]
# gRPC, gRPC-Web and the web app on one port; 127.0.0.1 only unless the LAN needs it.
pos = "127.0.0.1:7400"
# /healthz, /readyz and /metrics.
admin = "127.0.0.1:7401"
# How long SIGTERM waits for in-flight requests.
shutdown_deadline_ms = 10000
# TLS on the POS port (`dcs-local pos-tls` issues the files and writes this section): the
# server's certificate and key, and the CA of terminals' client certificates (optional: a
# terminal whose certificate is registered by `dcs-local terminal cert` needs no token;
# browsers keep their tokens). Paths relative to the data directory.
# [listen.pos_tls]
# cert = "tls/pos.crt"
# key = "tls/pos.key"
# client_ca = "tls/pos-ca.pem"

[web]
# A directory served at / (the browser POS build); leave it out to serve none.
# static_dir = "/srv/pos-web"
# Origins allowed to call gRPC-Web from another origin.
cors_origins = []

[limits]
max_request_bytes = 4194304
max_concurrent_requests = 256
# Appends waiting for the writer, and appends per transaction (group commit: one fsync each).
write_queue = 1024
group_commit_max = 256

[region]
# The regional cluster's nodes (https://host:port), tried in turn; a follower's redirect to
# its leader is followed. Empty: this store runs offline only (it keeps every sale either way).
endpoints = []
# Follow a follower's redirect to its leader's own address; false: try the next endpoint above
# instead (a store that reaches the region only through these addresses: a gateway, a proxy).
follow_leader = true
# The name on the region's certificates, the region's and this store's node numbers, and this
# store's CRDT replica id (unique; never reuse one after losing the store's file).
server_name = "dcs-regional"
region_id = 0
store_id = 1
replica_id = 1
# Timers (ms) and limits of the sync.
sync_interval_ms = 5000
batch_delay_ms = 200
# Mutual TLS to the region, paths relative to the data directory:
# [region.tls]
# ca = "tls/ca.pem"
# cert = "tls/store.pem"
# key = "tls/store.key"

[keys]
# Where the tenant's KEKs live: "file" (keys/keyring.dcsk, made by init), "vault" (Vault or
# OpenBao Transit; set vault_addr and vault_token_file) or "pkcs11" (an HSM token; set
# pkcs11_module, pkcs11_token_label and pkcs11_pin_file). Secret files must be mode 0600.
# Vault only: vault_current_kek_ttl_ms trusts the current KEK that long between checks (0:
# check before every seal). File only: file_reload_ms looks at the keyring file that often for
# a rotation made by `dcs-local keys rotate` in another shell (0: read once at start).
provider = "file"
file_reload_ms = 1000

[log]
# "text" or "json"; the filter is a tracing filter (RUST_LOG overrides it).
format = "text"
filter = "info"

# Tax rates per category in parts per million (6.25 % = 62500).
[[tax]]
category = "general"
rates = [["state", 62500], ["city", 25000]]

[[tax]]
category = "food"
rates = []

# The catalog: list prices in minor units (central prices from the region override them).
[[products]]
sku = "COFFEE-250G"
name = "Coffee beans 250 g"
category = "grocery"
price_minor = 899
tax_category = "food"

[[products]]
sku = "MUG"
name = "Mug"
category = "home"
price_minor = 1299
tax_category = "general"
"#
    )
}

/// Opens (or creates) the development CA in `ca_dir`, issues this store's certificate into
/// `DATA_DIR/tls` (named after its branch and after its sync node, `store-N`, the name a
/// region requires of store N), and writes `[region.tls]` into the config.
pub fn dev_certs(dir: &DataDir, ca_dir: &Path) -> Result<dcs_daemon::tls::TlsFiles> {
    let config: crate::config::LocalConfig = dcs_daemon::config::load(Some(&dir.config()))?;
    let ca = dcs_daemon::tls::DevCa::open_or_create(ca_dir)?;
    let branch = config.store.branch.as_str();
    let node = format!("store-{}", config.region.store_id);
    let files = ca.write_node(&dir.root.join("tls"), "store", &[branch, node.as_str()])?;
    let text =
        std::fs::read_to_string(dir.config()).map_err(|e| LocalError::file(dir.config(), &e))?;
    if !text.lines().any(|l| l.trim() == "[region.tls]") {
        let section = "\n[region.tls]\nca = \"tls/ca.pem\"\ncert = \"tls/store.pem\"\nkey = \"tls/store.key\"\n";
        files::write(&dir.config(), (text + section).as_bytes(), Access::Shared)?;
    }
    Ok(files)
}

/// The files `pos_tls` wrote.
#[derive(Debug)]
pub struct PosTls {
    /// The section written into the config (paths relative to the data directory).
    pub files: dcs_daemon::tls::ServerTlsFiles,
    /// The names and addresses the certificate is valid for.
    pub names: Vec<String>,
    /// Whether `[listen.pos_tls]` was added to the config (false: it was there already).
    pub configured: bool,
}

/// Opens (or creates) the development CA in `ca_dir` and issues the POS port's certificate
/// into `DATA_DIR/tls` (`pos.crt`, `pos.key` 0600) for `localhost`, `127.0.0.1`, the
/// configured POS address (unless it is a wildcard) and `names`; copies the CA certificate to
/// `tls/pos-ca.pem` (terminals trust the port by it, and it is the client CA of their
/// certificates); and writes `[listen.pos_tls]` into the config unless it is there already.
pub fn pos_tls(dir: &DataDir, ca_dir: &Path, names: &[String]) -> Result<PosTls> {
    let config: crate::config::LocalConfig = dcs_daemon::config::load(Some(&dir.config()))?;
    let mut sans: Vec<String> = vec!["localhost".into(), "127.0.0.1".into()];
    let ip = config.listen.pos.ip();
    if !ip.is_unspecified() && !sans.contains(&ip.to_string()) {
        sans.push(ip.to_string());
    }
    for name in names {
        if name.is_empty() || name.len() > 253 || name.chars().any(|c| c.is_whitespace()) {
            return Err(LocalError::Invalid(format!(
                "--name {name:?}: a DNS name or IP address the terminals connect to"
            )));
        }
        if !sans.contains(name) {
            sans.push(name.clone());
        }
    }
    let ca = dcs_daemon::tls::DevCa::open_or_create(ca_dir)?;
    let refs: Vec<&str> = sans.iter().map(String::as_str).collect();
    let (cert, key) = ca.issue("dcs-local-pos", &refs)?;
    files::create_dir(&dir.tls(), Access::Shared)?;
    let relative = dcs_daemon::tls::ServerTlsFiles {
        cert: "tls/pos.crt".into(),
        key: "tls/pos.key".into(),
        client_ca: Some("tls/pos-ca.pem".into()),
    };
    let rooted = relative.relative_to(&dir.root);
    files::write(&rooted.cert, cert.as_bytes(), Access::Shared)?;
    files::write(&rooted.key, key.as_bytes(), Access::Private)?;
    if let Some(ca_file) = &rooted.client_ca {
        files::write(ca_file, ca.cert_pem().as_bytes(), Access::Shared)?;
    }
    let text =
        std::fs::read_to_string(dir.config()).map_err(|e| LocalError::file(dir.config(), &e))?;
    let configured = !text.lines().any(|l| l.trim() == "[listen.pos_tls]");
    if configured {
        let section = concat!(
            "\n[listen.pos_tls]\n",
            "cert = \"tls/pos.crt\"\n",
            "key = \"tls/pos.key\"\n",
            "client_ca = \"tls/pos-ca.pem\"\n",
        );
        files::write(&dir.config(), (text + section).as_bytes(), Access::Shared)?;
    }
    Ok(PosTls { files: relative, names: sans, configured })
}
