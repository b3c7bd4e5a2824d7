//! The commands: `init` writes the config, `dev-certs` a development certificate, `run` loads
//! the config, starts the node (dcs_regional::node) and the admin port, and stops on SIGTERM
//! after handing leadership over.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dcs_crdt::ReplicaId;
use dcs_daemon::admin::Health;
use dcs_daemon::admin_token::AdminToken;
use dcs_daemon::files::{self, Access};
use dcs_regional::config::RegionalConfigFile;
use dcs_regional::forward::ReplaySink;
use dcs_regional::forward::kafka::KafkaSink;
use dcs_regional::forward::postgres::PgSink;
use dcs_regional::node::{Forwarding, NodeConfig, RaftTimings, RegionNode, sync_url};
use dcs_regional::raft::NodeAddr;
use dcs_regional::replica::ReplicaConfig;
use dcs_regional::verify::{SharedKeys, TenantVerifier};
use dcs_sync::{LivenessConfig, NodeId, RegionalConfig, SyncConfig};
use openraft::async_runtime::WatchReceiver;
use tokio_util::sync::CancellationToken;

/// The config file's name in the data directory.
const CONFIG: &str = "dcs-regional.toml";
/// The admin token's file in the data directory.
const ADMIN_TOKEN: &str = "admin.token";

/// What `init` takes.
pub struct InitArgs {
    pub data_dir: PathBuf,
    pub id: u64,
    pub region: u16,
    pub listen: std::net::SocketAddr,
    pub admin: std::net::SocketAddr,
    pub peers: Vec<String>,
    pub stores: Vec<u32>,
    pub bootstrap: bool,
    pub mac_keys: Vec<String>,
    pub insecure_plaintext: bool,
    pub postgres: Option<String>,
    pub postgres_password_file: Option<PathBuf>,
    pub kafka: Option<String>,
}

fn pair(s: &str, what: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .ok_or_else(|| format!("--{what} {s:?}: write it as KEY=VALUE"))
}

/// Writes the data directory's config (refuses to overwrite one).
pub fn init(a: &InitArgs) -> Result<(), String> {
    files::create_dir(&a.data_dir, Access::Private).map_err(|e| e.to_string())?;
    let mut c = RegionalConfigFile::default();
    c.node.id = a.id;
    c.node.region = a.region;
    c.node.listen = a.listen;
    c.node.admin = a.admin;
    c.node.insecure_plaintext = a.insecure_plaintext;
    c.cluster.bootstrap = a.bootstrap;
    c.cluster.stores = a.stores.clone();
    c.cluster.replica_id = 10 + u64::from(a.region);
    for p in &a.peers {
        let (id, addr) = pair(p, "peer")?;
        id.parse::<u64>().map_err(|e| format!("--peer {p:?}: the id: {e}"))?;
        c.cluster.peers.insert(id, addr);
    }
    for k in &a.mac_keys {
        let (tenant, path) = pair(k, "mac-key")?;
        c.verify.mac_keys.insert(tenant, PathBuf::from(path));
    }
    if let Some(url) = &a.postgres {
        c.forward.postgres = Some(dcs_regional::forward::postgres::PostgresSink {
            url: url.clone(),
            password_file: a.postgres_password_file.clone(),
            ..Default::default()
        });
    }
    if let Some(brokers) = &a.kafka {
        c.forward.kafka = Some(dcs_regional::forward::kafka::KafkaSinkConfig {
            brokers: brokers.clone(),
            ..Default::default()
        });
    }
    let body = toml::to_string(&c).map_err(|e| format!("cannot write the config: {e}"))?;
    let text = format!(
        "# dcs-regional node {} of region {}.\n\
         # [node] who it is and where it listens; [cluster] the first membership (peers, read\n\
         # only by the bootstrapping node) and the stores; [raft] timing; [sync] the protocol's\n\
         # timers; [verify] the tenants' MAC keys; [tls] mutual TLS (dev-certs writes one);\n\
         # [forward] the sinks the leader forwards to ([forward.postgres], [forward.kafka]);\n\
         # [master] the master the leader streams summaries to (url = \"https://host:port\",\n\
         # its certificate named server_name; empty url: the region runs alone).\n\
         # Every key can be overridden by DCS_SECTION__KEY in the environment.\n\n{body}",
        a.id, a.region
    );
    files::write_new(&a.data_dir.join(CONFIG), text.as_bytes(), Access::Private)
        .map_err(|e| e.to_string())?;
    AdminToken::create(&a.data_dir.join(ADMIN_TOKEN)).map_err(|e| e.to_string())
}

/// What `members` does.
pub enum MembersOp {
    /// Prints the membership.
    List,
    /// Adds node `id` at `addr`.
    Add { id: u64, addr: String },
    /// Removes node `id`.
    Remove { id: u64 },
}

/// `members`: asks this data directory's node (its admin port, with its admin token).
pub fn members(data_dir: &Path, op: MembersOp) -> Result<(), String> {
    let file: RegionalConfigFile =
        dcs_daemon::config::load(Some(&data_dir.join(CONFIG))).map_err(|e| e.to_string())?;
    let token = AdminToken::read_secret(&data_dir.join(ADMIN_TOKEN)).map_err(|e| e.to_string())?;
    let addr = file.node.admin.to_string();
    let (method, path, body) = match op {
        MembersOp::List => ("GET", "/admin/members".to_string(), String::new()),
        MembersOp::Add { id, addr } => (
            "POST",
            "/admin/members".to_string(),
            serde_json::json!({ "id": id, "addr": addr }).to_string(),
        ),
        MembersOp::Remove { id } => ("DELETE", format!("/admin/members/{id}"), String::new()),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let (status, text) = runtime
        .block_on(dcs_daemon::admin_client::request(&addr, method, &path, &token, body))
        .map_err(|e| e.to_string())?;
    if status == 200 {
        println!("{text}");
        Ok(())
    } else {
        Err(format!("the node answered {status}: {text}"))
    }
}

/// Issues this node's development certificate and points `[tls]` at it.
pub fn dev_certs(data_dir: &Path, ca_dir: &Path) -> Result<(), String> {
    let path = data_dir.join(CONFIG);
    let mut c: RegionalConfigFile =
        dcs_daemon::config::load(Some(&path)).map_err(|e| e.to_string())?;
    let ca = dcs_daemon::tls::DevCa::open_or_create(ca_dir).map_err(|e| e.to_string())?;
    // `region-N` is the name the master authorizes this region by.
    let region = format!("region-{}", c.node.region);
    let tls = ca
        .write_node(&data_dir.join("tls"), "dcs-regional", &["dcs-regional", "localhost", &region])
        .map_err(|e| e.to_string())?;
    c.tls = Some(tls);
    let body = toml::to_string(&c).map_err(|e| format!("cannot write the config: {e}"))?;
    files::write(&path, body.as_bytes(), Access::Private).map_err(|e| e.to_string())?;
    println!("node certificate in {}", data_dir.join("tls").display());
    Ok(())
}

/// Everything `run` needs, checked.
struct Prepared {
    data_dir: PathBuf,
    file: RegionalConfigFile,
    node: NodeConfig,
    members: BTreeMap<u64, NodeAddr>,
}

fn prepare(data_dir: &Path) -> Result<Prepared, String> {
    let file: RegionalConfigFile =
        dcs_daemon::config::load(Some(&data_dir.join(CONFIG))).map_err(|e| e.to_string())?;
    file.master.check(file.tls.is_some())?;
    let mut master_tls = None;
    let tls = match (&file.tls, file.node.insecure_plaintext) {
        (Some(t), _) => {
            let t = t.relative_to(data_dir);
            let server = t.server_config().map_err(|e| e.to_string())?;
            let client = t.client_config("dcs-regional").map_err(|e| e.to_string())?;
            if file.master.enabled() {
                // The master authorizes this region by its certificate's name `region-N`.
                let to_master = t.client_config(file.master.server_name.trim());
                master_tls = Some(to_master.map_err(|e| format!("[master]: {e}"))?);
            }
            Some((server, client))
        }
        (None, true) => None,
        (None, false) => {
            return Err("[tls]: missing: run `dcs-regional dev-certs`, or set \
                        node.insecure_plaintext = true for a test on 127.0.0.1"
                .into());
        }
    };
    let mut keys = BTreeMap::new();
    for (tenant, path) in &file.verify.mac_keys {
        let path = dcs_daemon::files::relative_to(data_dir, path);
        let bytes = std::fs::read(&path)
            .map_err(|e| format!("verify.mac_keys.{tenant}: {}: {e}", path.display()))?;
        let key = dcs_crypto::MacKey::from_bytes(&bytes)
            .map_err(|e| format!("verify.mac_keys.{tenant}: {}: {e}", path.display()))?;
        keys.insert(tenant.clone(), key);
    }
    let mut members = BTreeMap::new();
    for (id, addr) in &file.cluster.peers {
        let n: u64 = id.parse().map_err(|e| format!("cluster.peers.{id}: the id: {e}"))?;
        let sock: std::net::SocketAddr =
            addr.parse().map_err(|e| format!("cluster.peers.{id}: {addr:?}: {e}"))?;
        members.insert(n, NodeAddr { raft: addr.clone(), sync: sync_url(sock, tls.is_some()) });
    }
    if file.cluster.bootstrap && !members.contains_key(&file.node.id) {
        return Err(format!(
            "cluster.peers: the bootstrapping node {} is not among the peers",
            file.node.id
        ));
    }
    let sync = SyncConfig {
        sync_interval_ms: file.sync.sync_interval_ms,
        retransmit_base_ms: file.sync.retransmit_base_ms,
        retransmit_max_ms: file.sync.retransmit_max_ms,
        max_batch_items: file.sync.max_batch_items,
        delta_log_capacity: file.sync.delta_log_capacity,
        ..SyncConfig::default()
    };
    let region = RegionalConfig {
        node: NodeId::Region(file.node.region),
        master: NodeId::Master,
        stores: file.cluster.stores.iter().copied().map(NodeId::Store).collect(),
        replica: ReplicaId(file.cluster.replica_id),
        sync,
        liveness: LivenessConfig::default(),
    };
    // The replica publishes the master's key registry here; the leader's verifier reads it.
    let registered = SharedKeys::default();
    let verifier = verifier(data_dir, &file, keys)?.with_registered(Arc::clone(&registered));
    let node = NodeConfig {
        node_id: file.node.id,
        data_dir: data_dir.to_path_buf(),
        replica: ReplicaConfig { region, seed: u64::from(file.node.region) + 1, keys: registered },
        timings: RaftTimings {
            heartbeat_ms: file.raft.heartbeat_ms,
            election_min_ms: file.raft.election_min_ms,
            election_max_ms: file.raft.election_max_ms,
            snapshot_logs: file.raft.snapshot_logs.max(1),
            keep_logs: file.raft.keep_logs,
            log_cache_bytes: file.raft.log_cache_mib.saturating_mul(1 << 20),
        },
        verifier: Arc::new(verifier),
        stream_queue: file.node.stream_queue,
        max_snapshot_bytes: file.node.max_snapshot_mib.saturating_mul(1 << 20),
        tls,
        forward: forwarding(&file)?,
        dial: dial(&file)?,
        master: file.master.link(master_tls),
    };
    Ok(Prepared { data_dir: data_dir.to_path_buf(), file, node, members })
}

/// The leader's verifier: the tenants' MAC keys, and the public keys of the terminals of
/// the tenants whose `terminals.toml` files are configured.
fn verifier(
    data_dir: &Path,
    file: &RegionalConfigFile,
    macs: BTreeMap<String, dcs_crypto::MacKey>,
) -> Result<TenantVerifier, String> {
    let mut v = TenantVerifier::new(macs);
    for (tenant, files) in &file.verify.terminals {
        let mut registry = dcs_crypto::KeyRegistry::new();
        for f in files {
            let path = dcs_daemon::files::relative_to(data_dir, f);
            let t = dcs_daemon::terminals::TerminalsFile::read(&path)
                .map_err(|e| format!("verify.terminals.{tenant}: {e}"))?;
            t.register_into(&mut registry, &path)
                .map_err(|e| format!("verify.terminals.{tenant}: {e}"))?;
        }
        v = v.with_signers(tenant.clone(), registry);
    }
    for (tenant, f) in &file.verify.keyrings {
        let path = dcs_daemon::files::relative_to(data_dir, f);
        let mut keys = dcs_keys::FileKeyring::open(&path)
            .map_err(|e| format!("verify.keyrings.{tenant}: {}: {e}", path.display()))?;
        if file.verify.keyring_reload_ms > 0 {
            keys = keys
                .with_reload_every(std::time::Duration::from_millis(file.verify.keyring_reload_ms));
        }
        v = v.with_opener(tenant.clone(), Box::new(keys));
    }
    if let Some(vault) = &file.verify.vault {
        let path = dcs_daemon::files::relative_to(data_dir, &vault.token_file);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .map_err(|e| format!("verify.vault.token_file: {}: {e}", path.display()))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(format!(
                    "verify.vault.token_file: {}: readable by group or others: chmod 600 it",
                    path.display()
                ));
            }
        }
        let token = dcs_daemon::admin_token::AdminToken::read_secret(&path)
            .map_err(|e| format!("verify.vault.token_file: {e}"))?;
        for tenant in &vault.tenants {
            let p = dcs_keys::VaultTransitProvider::new(&vault.addr, &token)
                .map_err(|e| format!("verify.vault: {e}"))?;
            let p = match &vault.mount {
                Some(m) => p.with_mount(m),
                None => p,
            };
            v = v.with_opener(tenant.clone(), Box::new(p));
        }
    }
    Ok(v)
}

/// `[cluster] dial`, checked.
fn dial(file: &RegionalConfigFile) -> Result<BTreeMap<u64, String>, String> {
    let mut out = BTreeMap::new();
    for (id, addr) in &file.cluster.dial {
        let n: u64 = id.parse().map_err(|e| format!("cluster.dial.{id}: the id: {e}"))?;
        addr.parse::<std::net::SocketAddr>()
            .map_err(|e| format!("cluster.dial.{id}: {addr:?}: {e}"))?;
        out.insert(n, addr.clone());
    }
    Ok(out)
}

/// The configured sinks (connections open lazily: a sink that is down is retried).
fn forwarding(file: &RegionalConfigFile) -> Result<Forwarding, String> {
    let region = file.forward.region_name(file.node.region);
    let mut f = Forwarding { limits: file.forward.limits(), ..Forwarding::default() };
    if let Some(pg) = &file.forward.postgres {
        let store = pg.connect().map_err(|e| e.to_string())?;
        f.postgres = Some(PgSink::new(store, region.clone()));
    }
    if let Some(k) = &file.forward.kafka {
        f.kafka = Some(KafkaSink::new(k.clone(), region).map_err(|e| e.to_string())?);
    }
    Ok(f)
}

/// `replay`: re-forwards positions after `from` to `sink`, printing what it wrote.
pub fn replay(data_dir: &Path, from: u64, to: Option<u64>, sink: &str) -> Result<(), String> {
    let file: RegionalConfigFile =
        dcs_daemon::config::load(Some(&data_dir.join(CONFIG))).map_err(|e| e.to_string())?;
    let target = match sink {
        "postgres" => ReplaySink::Postgres(
            file.forward
                .postgres
                .clone()
                .ok_or("--sink postgres: [forward.postgres] is not configured")?,
        ),
        "kafka" => ReplaySink::Kafka(
            file.forward.kafka.clone().ok_or("--sink kafka: [forward.kafka] is not configured")?,
        ),
        other => return Err(format!("--sink {other:?}: use postgres or kafka")),
    };
    let region = file.forward.region_name(file.node.region);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let report = runtime
        .block_on(dcs_regional::forward::replay(
            &data_dir.join("replica.db"),
            &region,
            from,
            to,
            target,
            file.forward.batch_items,
        ))
        .map_err(|e| e.to_string())?;
    println!(
        "replayed to {sink}: {} written, {} already there (skipped)",
        report.written, report.skipped
    );
    Ok(())
}

/// Runs the node until SIGTERM (or only checks the config).
pub fn run(data_dir: &Path, check_config: bool) -> Result<(), String> {
    let p = prepare(data_dir)?;
    if check_config {
        println!("configuration ok: {}", data_dir.join(CONFIG).display());
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(serve(p))
}

async fn serve(p: Prepared) -> Result<(), String> {
    dcs_daemon::telemetry::init_logs(&p.file.log).map_err(|e| e.to_string())?;
    let metrics = dcs_daemon::telemetry::metrics().map_err(|e| e.to_string())?;
    let stop = CancellationToken::new();
    dcs_daemon::shutdown::cancel_on_signals(stop.clone());
    let health = Health::new();
    health.set_not_ready("no leader known yet");
    let listener = tokio::net::TcpListener::bind(p.file.node.listen)
        .await
        .map_err(|e| format!("node.listen {}: {e}", p.file.node.listen))?;
    let node_id = p.node.node_id;
    let tls = p.node.tls.is_some();
    let token = AdminToken::load(&p.data_dir.join(ADMIN_TOKEN)).map_err(|e| e.to_string())?;
    let node = RegionNode::start(p.node, listener).await.map_err(|e| e.to_string())?;
    let admin_stop = CancellationToken::new();
    let routes = dcs_regional::admin::routes(dcs_regional::admin::AdminState {
        raft: node.raft.clone(),
        sm: node.state_machine.clone(),
        network: node.network.clone(),
        token,
        tls,
    });
    let router = dcs_daemon::admin::router(health.clone(), metrics, routes);
    let (admin, admin_task) =
        dcs_daemon::admin::serve(p.file.node.admin, router, admin_stop.clone())
            .await
            .map_err(|e| e.to_string())?;
    if p.file.cluster.bootstrap {
        let initialized = node.raft.is_initialized().await.map_err(|e| e.to_string())?;
        if !initialized {
            node.initialize(p.members.clone()).await.map_err(|e| e.to_string())?;
        }
    }
    tracing::info!(node = node_id, grpc = %p.file.node.listen, admin = %admin, "dcs-regional running");
    let raft = node.raft.clone();
    let sinks = node.sinks.clone();
    let ready_apply_lag = p.file.node.ready_apply_lag;
    let watched = health.clone();
    let watch_stop = stop.clone();
    tokio::spawn(async move {
        let mut gauges = dcs_regional::node::gauges::Gauges::new(ready_apply_lag);
        loop {
            let leads = dcs_regional::node::is_leader(&raft);
            if !leads {
                sinks.clear();
            }
            match gauges.refresh(&raft).or_else(|| sinks.problem()) {
                None => watched.set_ready(),
                Some(why) => watched.set_not_ready(why),
            }
            tokio::select! {
                _ = watch_stop.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
    });
    stop.cancelled().await;
    health.set_not_ready("shutting down");
    // A leader hands over before it goes, so the region does not wait an election timeout.
    let m = node.raft.metrics().borrow_watched().clone();
    if m.current_leader == Some(node_id)
        && let Some(to) = m.membership_config.membership().voter_ids().find(|v| *v != node_id)
    {
        let _ = node.raft.trigger().transfer_leader(to).await;
        // A handover takes a heartbeat or two; a target that is itself stopping never takes
        // it, so wait two election timeouts at most.
        let wait = Duration::from_secs(p.file.node.shutdown_deadline_s)
            .min(Duration::from_millis(2 * p.file.raft.election_max_ms));
        let deadline = tokio::time::Instant::now() + wait;
        while tokio::time::Instant::now() < deadline
            && node.raft.metrics().borrow_watched().current_leader == Some(node_id)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    node.shutdown().await;
    admin_stop.cancel();
    let _ = admin_task.await;
    Ok(())
}
