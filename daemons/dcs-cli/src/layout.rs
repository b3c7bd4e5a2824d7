//! The demo directory: its ports (kept in `demo.toml`, so a second run resumes on the same
//! ones), and the initialisation of every tier with the daemons' own commands (`init`,
//! `dev-certs`, `till add`, `cashier add`, `admin create-user`): a development CA, a master, a
//! 3-node region and N stores of tenant `acme` sharing one set of tenant keys.
//!
//! ```text
//! DIR/ca/                      the development CA (every tier's certificates)
//! DIR/master/                  dcs-master (its SQLite store, admin.token, admin.password)
//! DIR/region/n1 n2 n3/         dcs-regional nodes (Raft logs, replica files)
//! DIR/stores/s1 … sN/          dcs-local stores (events.db, keys/, terminals.toml, tokens)
//! DIR/demo.toml                ports and counters of the runs
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::error::{DemoError, Result, file};
use crate::procs::{Bins, run};

/// The tenant every demo store belongs to.
pub const TENANT: &str = "acme";
/// The demo cashier's PIN (printed with the till's URL).
pub const CASHIER_PIN: &str = "1234";

/// Where real infrastructure is, when the demo uses it.
#[derive(Debug, Clone, Default)]
pub struct Infra {
    /// PostgreSQL (libpq URL without the password) and the password file.
    pub postgres: Option<(String, PathBuf)>,
    /// Kafka brokers.
    pub kafka: Option<String>,
    /// Vault/OpenBao Transit: address and token file.
    pub vault: Option<(String, PathBuf)>,
}

/// The ports of one regional node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodePorts {
    /// gRPC (peers and stores).
    pub grpc: u16,
    /// Admin HTTP.
    pub admin: u16,
}

/// The ports of one store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StorePorts {
    /// POS gRPC, gRPC-Web and the till's files.
    pub pos: u16,
    /// Admin HTTP.
    pub admin: u16,
    /// The proxies from this store to each regional node (cut to take it offline).
    pub uplinks: Vec<u16>,
}

/// `demo.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Layout {
    /// The master's gRPC port (regions).
    pub master_grpc: u16,
    /// The master's admin port (API and dashboard).
    pub master_admin: u16,
    /// The proxy the region dials the master through (cut to partition them).
    pub master_proxy: u16,
    /// The regional nodes.
    pub nodes: Vec<NodePorts>,
    /// The stores.
    pub stores: Vec<StorePorts>,
    /// Runs so far (this one included): a run's idempotency keys carry its number.
    pub runs: u32,
}

/// Free loopback ports, all different: each stays bound until the picker is dropped, so the
/// kernel cannot hand the same port out twice while a layout is chosen (it may, and did in
/// CI, once a picked port is released).
#[derive(Default)]
struct Ports(Vec<std::net::TcpListener>);

impl Ports {
    fn free(&mut self) -> Result<u16> {
        let l = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| DemoError::Daemon(e.to_string()))?;
        let port = l.local_addr().map_err(|e| DemoError::Daemon(e.to_string()))?.port();
        self.0.push(l);
        Ok(port)
    }
}

impl Layout {
    fn path(dir: &Path) -> PathBuf {
        dir.join("demo.toml")
    }

    /// The layout of an initialised directory, if it is one.
    pub fn read(dir: &Path) -> Result<Option<Layout>> {
        let path = Self::path(dir);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map(Some).map_err(|e| file(&path, e.message())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(file(&path, e)),
        }
    }

    /// Saves it.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = Self::path(dir);
        let text = toml::to_string(self).map_err(|e| file(&path, e))?;
        std::fs::write(&path, text).map_err(|e| file(&path, e))
    }

    /// The directory of regional node `i` (0-based).
    pub fn node_dir(dir: &Path, i: usize) -> PathBuf {
        dir.join("region").join(format!("n{}", i + 1))
    }

    /// The directory of store `k` (0-based).
    pub fn store_dir(dir: &Path, k: usize) -> PathBuf {
        dir.join("stores").join(format!("s{}", k + 1))
    }

    /// The master's directory.
    pub fn master_dir(dir: &Path) -> PathBuf {
        dir.join("master")
    }
}

/// Reads a 0600 secret the demo wrote (a token, a password).
pub fn secret(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map(|s| s.trim().to_string()).map_err(|e| file(path, e))
}

fn write_secret(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| file(path, e))?;
    f.write_all(text.as_bytes()).map_err(|e| file(path, e))
}

/// Replaces the secret file `target` with a copy of `source` atomically (a 0600 temporary file
/// in the same directory, fsynced, renamed over it): a reader sees the old file or the new.
pub fn copy_secret(source: &Path, target: &Path) -> Result<()> {
    let bytes = std::fs::read(source).map_err(|e| file(source, e))?;
    let mut tmp = target.as_os_str().to_owned();
    tmp.push(".new");
    let tmp = PathBuf::from(tmp);
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| file(&tmp, e))?;
        f.write_all(&bytes).and_then(|()| f.sync_all()).map_err(|e| file(&tmp, e))?;
    }
    std::fs::rename(&tmp, target).map_err(|e| file(target, e))
}

/// Rewrites the TOML file `path` through `edit`.
fn edit_toml(path: &Path, edit: impl FnOnce(&mut toml::Table)) -> Result<()> {
    let text = std::fs::read_to_string(path).map_err(|e| file(path, e))?;
    let mut t: toml::Table = text.parse().map_err(|e: toml::de::Error| file(path, e.message()))?;
    edit(&mut t);
    let text = toml::to_string(&t).map_err(|e| file(path, e))?;
    std::fs::write(path, text).map_err(|e| file(path, e))
}

/// Sets `key = value` in section `name` of `t` (made when missing).
fn set(t: &mut toml::Table, name: &str, key: &str, value: impl Into<toml::Value>) {
    let mut s = match t.remove(name) {
        Some(toml::Value::Table(s)) => s,
        _ => toml::Table::new(),
    };
    s.insert(key.into(), value.into());
    t.insert(name.into(), s.into());
}

/// The repository's directory (the web apps' builds live there).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn random_password() -> Result<String> {
    let mut bytes = [0u8; 12];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| DemoError::Daemon(format!("/dev/urandom: {e}")))?;
    Ok(bytes
        .iter()
        .map(|b| char::from(b"abcdefghjkmnpqrstuvwxyz23456789"[usize::from(*b) % 31]))
        .collect())
}

/// Initialises `dir` for `stores` stores with the daemons' commands; returns its layout.
pub fn init(dir: &Path, bins: &Bins, stores: usize, infra: &Infra) -> Result<Layout> {
    std::fs::create_dir_all(dir).map_err(|e| file(dir, e))?;
    let ca = dir.join("ca");
    let mut ports = Ports::default();
    let mut layout = Layout {
        master_grpc: ports.free()?,
        master_admin: ports.free()?,
        master_proxy: ports.free()?,
        nodes: (0..3)
            .map(|_| Ok(NodePorts { grpc: ports.free()?, admin: ports.free()? }))
            .collect::<Result<_>>()?,
        stores: vec![],
        runs: 0,
    };
    for _ in 0..stores {
        layout.stores.push(StorePorts {
            pos: ports.free()?,
            admin: ports.free()?,
            uplinks: (0..3).map(|_| ports.free()).collect::<Result<_>>()?,
        });
    }
    drop(ports);

    // The master, with the dashboard when it is built.
    let m = Layout::master_dir(dir);
    run(Command::new(&bins.master)
        .args(["init", "--data-dir"])
        .arg(&m)
        .args(["--region", "0"])
        .args(["--listen", &format!("127.0.0.1:{}", layout.master_grpc)])
        .args(["--admin", &format!("127.0.0.1:{}", layout.master_admin)]))?;
    run(Command::new(&bins.master)
        .args(["dev-certs", "--data-dir"])
        .arg(&m)
        .arg("--ca-dir")
        .arg(&ca))?;
    let web = repo().join("daemons/dcs-master/web/dist");
    edit_toml(&m.join("dcs-master.toml"), |t| {
        if web.join("index.html").exists() {
            set(t, "web", "dir", web.display().to_string());
        }
        set(t, "registry", "sample_every_s", 5);
    })?;
    let password = random_password()?;
    let pw_file = m.join("admin.password");
    write_secret(&pw_file, &password)?;
    run(Command::new(&bins.master)
        .args(["admin", "--data-dir"])
        .arg(&m)
        .args(["create-user", "--name", "admin", "--grant", "*=admin", "--password-file"])
        .arg(&pw_file))?;

    // The stores: store 1 makes the tenant's keys, the others share them.
    let till_web = repo().join("examples/pos-web/dist");
    for (k, ports) in layout.stores.iter().enumerate() {
        let s = Layout::store_dir(dir, k);
        let mut init = Command::new(&bins.local);
        init.args(["init", "--data-dir"]).arg(&s);
        init.args(["--tenant", TENANT, "--branch", &format!("store-{}", k + 1)]);
        // Terminal ids are the tenant's agent ids: unique across its stores.
        init.args(["--terminal-id", &format!("s{}-pos-1", k + 1)]);
        if k > 0 {
            init.arg("--tenant-keys-from").arg(Layout::store_dir(dir, 0));
        }
        let out = run(&mut init)?;
        let token = out
            .lines()
            .find_map(|l| l.rsplit_once("): ").map(|(_, t)| t.trim().to_string()))
            .ok_or_else(|| DemoError::Daemon("dcs-local init printed no token".into()))?;
        write_secret(&s.join("pos-1.token"), &token)?;
        let out = run(Command::new(&bins.local)
            .args(["till", "add", "--data-dir"])
            .arg(&s)
            .args(["--id", &format!("s{}-till-1", k + 1)]))?;
        if let Some(code) =
            out.lines().find_map(|l| l.strip_prefix("enrollment code (shown once): "))
        {
            write_secret(&s.join("till-1.code"), code)?;
        }
        run(Command::new(&bins.local)
            .args(["cashier", "add", "--data-dir"])
            .arg(&s)
            .args(["--id", "cashier-1", "--name", "Demo cashier"])
            .env("DCS_CASHIER_PIN", CASHIER_PIN))?;
        let n = k + 1;
        let endpoints: Vec<toml::Value> =
            ports.uplinks.iter().map(|p| format!("https://127.0.0.1:{p}").into()).collect();
        let (pos, admin) = (ports.pos, ports.admin);
        edit_toml(&s.join("dcs-local.toml"), |t| {
            set(t, "listen", "pos", format!("127.0.0.1:{pos}"));
            set(t, "listen", "admin", format!("127.0.0.1:{admin}"));
            set(t, "region", "endpoints", endpoints);
            // The store reaches the region only through its proxies (the faults cut them): a
            // leader's own address would go around them.
            set(t, "region", "follow_leader", false);
            set(t, "region", "store_id", n as i64);
            set(t, "region", "replica_id", n as i64);
            set(t, "region", "sync_interval_ms", 1000);
            if till_web.join("index.html").exists() {
                set(t, "web", "static_dir", till_web.display().to_string());
            }
            if let Some((addr, token)) = &infra.vault {
                set(t, "keys", "provider", "vault");
                set(t, "keys", "vault_addr", addr.clone());
                set(t, "keys", "vault_token_file", token.display().to_string());
                // The demo trades up to 1 s of staleness after another process rotates the
                // KEK for not asking Vault before every seal (RESULTS: 13× the ack time).
                set(t, "keys", "vault_current_kek_ttl_ms", 1000);
            }
        })?;
        run(Command::new(&bins.local)
            .args(["dev-certs", "--data-dir"])
            .arg(&s)
            .arg("--ca-dir")
            .arg(&ca))?;
    }

    // The region: three nodes, node 1 bootstraps; the tenant's MAC key and every store's
    // terminals for the verifier; the master through its proxy.
    let peers: Vec<String> = layout
        .nodes
        .iter()
        .enumerate()
        .map(|(i, p)| format!("--peer={}=127.0.0.1:{}", i + 1, p.grpc))
        .collect();
    let terminals: Vec<toml::Value> = (0..stores)
        .map(|k| Layout::store_dir(dir, k).join("terminals.toml").display().to_string().into())
        .collect();
    let mac = Layout::store_dir(dir, 0).join("keys/mac.key");
    let keyring = Layout::store_dir(dir, 0).join("keys/keyring.dcsk");
    // Each demo's region is a new Raft cluster whose terms start again at 1: under its own
    // name in the sinks, so that a shared PostgreSQL and Kafka still holding an earlier
    // demo's cursor and progress (written at a later term) do not fence it.
    let region_name = format!("demo-{}", random_password()?);
    for (i, ports) in layout.nodes.iter().enumerate() {
        let n = Layout::node_dir(dir, i);
        let mut init = Command::new(&bins.regional);
        init.args(["init", "--data-dir"]).arg(&n).args(["--id", &(i + 1).to_string()]);
        init.args(["--listen", &format!("127.0.0.1:{}", ports.grpc)]);
        init.args(["--admin", &format!("127.0.0.1:{}", ports.admin)]);
        for k in 1..=stores {
            init.args(["--store", &k.to_string()]);
        }
        init.args(&peers);
        init.arg(format!("--mac-key={TENANT}={}", mac.display()));
        if let Some((url, password)) = &infra.postgres {
            init.arg(format!("--postgres={url}"));
            init.arg(format!("--postgres-password-file={}", password.display()));
        }
        if let Some(brokers) = &infra.kafka {
            init.arg(format!("--kafka={brokers}"));
        }
        if i == 0 {
            init.arg("--bootstrap");
        }
        run(&mut init)?;
        run(Command::new(&bins.regional)
            .args(["dev-certs", "--data-dir"])
            .arg(&n)
            .arg("--ca-dir")
            .arg(&ca))?;
        let master_url = format!("https://127.0.0.1:{}", layout.master_proxy);
        let (terminals, keyring) = (terminals.clone(), keyring.clone());
        let vault = infra.vault.clone();
        let region_name = region_name.clone();
        edit_toml(&n.join("dcs-regional.toml"), |t| {
            set(t, "master", "url", master_url);
            set(t, "forward", "region_name", region_name);
            set(t, "master", "retry_max_ms", 2_000);
            let mut per_tenant = toml::Table::new();
            per_tenant.insert(TENANT.into(), terminals.into());
            set(t, "verify", "terminals", per_tenant);
            // The region opens the events for the master's stock view (the tenant's KEKs).
            let mut keyrings = toml::Table::new();
            keyrings.insert(TENANT.into(), keyring.display().to_string().into());
            set(t, "verify", "keyrings", keyrings);
            // With the tenant's KEKs in Vault, the region opens its events through Vault too.
            if let Some((addr, token)) = &vault {
                let mut v = toml::Table::new();
                v.insert("addr".into(), addr.clone().into());
                v.insert("token_file".into(), token.display().to_string().into());
                v.insert("tenants".into(), vec![toml::Value::from(TENANT)].into());
                set(t, "verify", "vault", v);
            }
        })?;
    }
    layout.write(dir)?;
    Ok(layout)
}
