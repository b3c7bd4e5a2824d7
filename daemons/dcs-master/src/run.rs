//! The commands: `init` writes the config and the admin token, `dev-certs` a development
//! certificate, `run` starts the driver, the gRPC server and the admin port, and stops on
//! SIGTERM once the in-flight writes are done.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dcs_core::event::SignatureAlgorithm;
use dcs_crdt::ReplicaId;
use dcs_crypto::Signer;
use dcs_daemon::admin::Health;
use dcs_daemon::admin_token::AdminToken;
use dcs_daemon::files::{self, Access};
use dcs_master::accounts::{Accounts, parse_grant};
use dcs_master::api::{ApiState, routes};
use dcs_master::audit::AuditLog;
use dcs_master::config::MasterConfigFile;
use dcs_master::driver;
use dcs_master::sync_service::SyncService;
use dcs_master::throttle::{LoginThrottle, ThrottleConfig};
use dcs_proto::pb::regional_master_sync_server::RegionalMasterSyncServer;
use dcs_store::sqlite::MasterStore;
use dcs_sync::{LivenessConfig, MasterConfig, NodeId, SyncConfig};
use tokio_util::sync::CancellationToken;

/// The config file's name in the data directory.
const CONFIG: &str = "dcs-master.toml";
/// The admin token's file in the data directory.
const ADMIN_TOKEN: &str = "admin.token";
/// The master's store in the data directory.
const STORE: &str = "master.sqlite";
/// Operators, sessions, API tokens and the audit log in the data directory.
const ADMIN_DB: &str = "admin.sqlite";
/// The master's signing key (the audit log's signatures) in the data directory.
const SIGNING_KEY: &str = "keys/master.key";
/// The machine's seed (fixed: the master is one node).
const SEED: u64 = 0x6d61_7374_6572;

/// Writes the data directory's config and admin token (refuses to overwrite them).
pub fn init(
    data_dir: &Path,
    regions: &[u16],
    listen: SocketAddr,
    admin: SocketAddr,
    insecure_plaintext: bool,
) -> Result<(), String> {
    files::create_dir(data_dir, Access::Private).map_err(|e| e.to_string())?;
    let mut c = MasterConfigFile::default();
    c.node.listen = listen;
    c.node.admin = admin;
    c.node.insecure_plaintext = insecure_plaintext;
    c.regions.ids = regions.to_vec();
    let body = toml::to_string(&c).map_err(|e| format!("cannot write the config: {e}"))?;
    let text = format!(
        "# dcs-master.\n\
         # [node] where it listens and its queue bounds; [regions] the regions it serves (a\n\
         # region's leader presents a certificate named region-N); [liveness] when a silent\n\
         # region is suspected and failed; [sync] the protocol's limits; [prices] the currency\n\
         # of the central prices (the stores'); [tls] mutual TLS (dev-certs writes one). Every\n\
         # key can be overridden by DCS_SECTION__KEY.\n\n{body}"
    );
    files::write_new(&data_dir.join(CONFIG), text.as_bytes(), Access::Private)
        .map_err(|e| e.to_string())?;
    files::create_dir(&data_dir.join("keys"), Access::Private).map_err(|e| e.to_string())?;
    let signer = Signer::generate(SignatureAlgorithm::Ed25519, &mut rand_core::OsRng);
    files::write_new(
        &data_dir.join(SIGNING_KEY),
        signer.to_secret_bytes().as_slice(),
        Access::Private,
    )
    .map_err(|e| e.to_string())?;
    AdminToken::create(&data_dir.join(ADMIN_TOKEN)).map_err(|e| e.to_string())
}

fn signer(data_dir: &Path) -> Result<Signer, String> {
    let path = data_dir.join(SIGNING_KEY);
    let bytes = zeroize::Zeroizing::new(
        std::fs::read(&path)
            .map_err(|e| format!("{}: {e} (made by `dcs-master init`)", path.display()))?,
    );
    Signer::from_bytes(SignatureAlgorithm::Ed25519, &bytes)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The accounts file and the audit log of `data_dir`.
fn admin_files(data_dir: &Path) -> Result<(Accounts, AuditLog), String> {
    let path = data_dir.join(ADMIN_DB);
    let accounts = Accounts::open(&path).map_err(|e| e.to_string())?;
    let conn = rusqlite::Connection::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(|e| e.to_string())?;
    let audit = AuditLog::open(conn, signer(data_dir)?).map_err(|e| e.to_string())?;
    Ok((accounts, audit))
}

/// What `admin` does.
pub enum AdminOp {
    /// Creates an operator; the password is read from `password_file`.
    CreateUser { name: String, grants: Vec<String>, password_file: PathBuf },
    /// Creates an API token valid for `ttl_days`, printed once.
    CreateToken { name: String, grants: Vec<String>, ttl_days: u64 },
}

/// `admin`: changes the accounts file directly (the daemon may be running) and audits it.
pub fn admin(data_dir: &Path, op: AdminOp) -> Result<(), String> {
    let (mut accounts, mut audit) = admin_files(data_dir)?;
    let now = driver::now().wall_ms;
    let grants = |g: &[String]| {
        g.iter().map(|s| parse_grant(s).map_err(|e| e.to_string())).collect::<Result<Vec<_>, _>>()
    };
    match op {
        AdminOp::CreateUser { name, grants: g, password_file } => {
            let g = grants(&g)?;
            let password = zeroize::Zeroizing::new(
                std::fs::read_to_string(&password_file)
                    .map_err(|e| format!("--password-file {}: {e}", password_file.display()))?,
            );
            let password = password.trim_end_matches(['\n', '\r']);
            accounts.create_operator(&name, password, &g, now).map_err(|e| e.to_string())?;
            let detail = serde_json::json!({ "operator": name, "grants": g }).to_string();
            audit.append(now, "cli", "create_operator", "*", &detail).map_err(|e| e.to_string())?;
            println!("operator {name} created");
        }
        AdminOp::CreateToken { name, grants: g, ttl_days } => {
            let g = grants(&g)?;
            let ttl = ttl_days.saturating_mul(86_400_000);
            let token = accounts.create_token(&name, &g, now, ttl).map_err(|e| e.to_string())?;
            let detail =
                serde_json::json!({ "token": name, "grants": g, "ttl_days": ttl_days }).to_string();
            audit.append(now, "cli", "create_token", "*", &detail).map_err(|e| e.to_string())?;
            println!("{}", token.as_str());
        }
    }
    Ok(())
}

/// Issues the master's development certificate and points `[tls]` at it.
pub fn dev_certs(data_dir: &Path, ca_dir: &Path) -> Result<(), String> {
    let path = data_dir.join(CONFIG);
    let mut c: MasterConfigFile =
        dcs_daemon::config::load(Some(&path)).map_err(|e| e.to_string())?;
    let ca = dcs_daemon::tls::DevCa::open_or_create(ca_dir).map_err(|e| e.to_string())?;
    let tls = ca
        .write_node(&data_dir.join("tls"), "dcs-master", &["dcs-master", "localhost"])
        .map_err(|e| e.to_string())?;
    c.tls = Some(tls);
    let body = toml::to_string(&c).map_err(|e| format!("cannot write the config: {e}"))?;
    files::write(&path, body.as_bytes(), Access::Private).map_err(|e| e.to_string())?;
    println!("master certificate in {}", data_dir.join("tls").display());
    Ok(())
}

/// Everything `run` needs, checked.
struct Prepared {
    data_dir: PathBuf,
    file: MasterConfigFile,
    machine: MasterConfig,
    tls: Option<tonic::transport::ServerTlsConfig>,
}

fn prepare(data_dir: &Path) -> Result<Prepared, String> {
    let file: MasterConfigFile =
        dcs_daemon::config::load(Some(&data_dir.join(CONFIG))).map_err(|e| e.to_string())?;
    let tls = match (&file.tls, file.node.insecure_plaintext) {
        (Some(t), _) => {
            let t = t.relative_to(data_dir);
            Some(t.server_config().map_err(|e| e.to_string())?)
        }
        (None, true) => None,
        (None, false) => {
            return Err("[tls]: missing: run `dcs-master dev-certs`, or set \
                        node.insecure_plaintext = true for a test on 127.0.0.1"
                .into());
        }
    };
    if file.regions.ids.is_empty() {
        return Err("regions.ids: empty: name the regions this master serves".into());
    }
    if file.liveness.suspect_after_ms == 0
        || file.liveness.fail_after_ms <= file.liveness.suspect_after_ms
    {
        return Err("liveness: suspect_after_ms must be above 0 and below fail_after_ms".into());
    }
    if file.node.replica_id == 0 {
        return Err("node.replica_id: 0 is not a replica id".into());
    }
    let machine = MasterConfig {
        regions: file.regions.ids.iter().copied().map(NodeId::Region).collect(),
        replica: ReplicaId(file.node.replica_id),
        sync: SyncConfig {
            max_batch_items: file.sync.max_batch_items,
            delta_log_capacity: file.sync.delta_log_capacity,
            ..SyncConfig::default()
        },
        liveness: LivenessConfig {
            suspect_after_ms: file.liveness.suspect_after_ms,
            fail_after_ms: file.liveness.fail_after_ms,
        },
    };
    Ok(Prepared { data_dir: data_dir.to_path_buf(), file, machine, tls })
}

/// `run`: serves until SIGTERM (or only checks the config).
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
    health.set_not_ready("starting");
    let token = AdminToken::load(&p.data_dir.join(ADMIN_TOKEN)).map_err(|e| e.to_string())?;
    let store_path = p.data_dir.join(STORE);
    let streams: driver::Streams = Arc::new(Mutex::new(HashMap::new()));
    let regions = p.machine.regions.clone();
    let sampling = driver::Sampling {
        every_ms: p.file.registry.sample_every_s.max(1).saturating_mul(1_000),
        keep_ms: p.file.registry.keep_hours.saturating_mul(3_600_000),
    };
    let (inputs, driver_thread) = driver::start(
        &store_path,
        p.machine,
        SEED,
        Arc::clone(&streams),
        p.file.node.input_queue,
        sampling,
    )
    .map_err(|e| e.to_string())?;
    // The API reads on its own connection (WAL: readers never wait for the driver's writes).
    let reader = MasterStore::open(&store_path)
        .map_err(|e| format!("the master store {}: {e}", store_path.display()))?;
    let listener = tokio::net::TcpListener::bind(p.file.node.listen)
        .await
        .map_err(|e| format!("node.listen {}: {e}", p.file.node.listen))?;
    let sync = SyncService::new(
        inputs.clone(),
        streams,
        regions,
        p.file.node.stream_queue,
        p.file.sync.max_batch_items,
    );
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = p.tls {
        builder = builder.tls_config(tls).map_err(|e| format!("tls: {e}"))?;
    }
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let grpc_stop = CancellationToken::new();
    let served = grpc_stop.clone();
    let grpc = tokio::spawn(
        builder
            .add_service(
                RegionalMasterSyncServer::new(sync)
                    .max_decoding_message_size(dcs_sync::MAX_MESSAGE_LEN),
            )
            .serve_with_incoming_shutdown(incoming, async move { served.cancelled().await }),
    );
    let (accounts, audit) = admin_files(&p.data_dir)?;
    let currency = dcs_core::Currency::from_code(&p.file.prices.currency)
        .map_err(|e| format!("[prices] currency: {e}"))?;
    let mut api = routes(ApiState {
        store: Arc::new(Mutex::new(reader)),
        inputs,
        token,
        accounts: Arc::new(Mutex::new(accounts)),
        audit: Arc::new(Mutex::new(audit)),
        session_ttl_ms: p.file.auth.session_ttl_s.saturating_mul(1_000),
        currency,
        logins: Arc::new(Mutex::new(LoginThrottle::new(ThrottleConfig {
            max_failures: p.file.auth.max_failures.max(1),
            lockout_ms: p.file.auth.lockout_s.saturating_mul(1_000),
            tracked: p.file.auth.tracked_names.max(1),
        }))),
    });
    if let Some(dir) = &p.file.web.dir {
        let dir = dcs_daemon::files::relative_to(&p.data_dir, dir);
        if !dir.join("index.html").is_file() {
            return Err(format!(
                "web.dir {}: no index.html: build the dashboard (npm run build in \
                 daemons/dcs-master/web) or leave web.dir out",
                dir.display()
            ));
        }
        api = api.fallback_service(tower_http::services::ServeDir::new(dir));
    }
    // The dashboard's bundle and the API's JSON, gzipped for clients that ask.
    let api = api.layer(tower_http::compression::CompressionLayer::new());
    let router = dcs_daemon::admin::router(health.clone(), metrics, api);
    let admin_stop = CancellationToken::new();
    let (admin, admin_task) =
        dcs_daemon::admin::serve(p.file.node.admin, router, admin_stop.clone())
            .await
            .map_err(|e| e.to_string())?;
    health.set_ready();
    tracing::info!(grpc = %p.file.node.listen, admin = %admin, "dcs-master running");
    stop.cancelled().await;
    health.set_not_ready("shutting down");
    let deadline = Duration::from_secs(p.file.node.shutdown_deadline_s);
    grpc_stop.cancel();
    let _ = tokio::time::timeout(deadline, grpc).await;
    admin_stop.cancel();
    let _ = tokio::time::timeout(deadline, admin_task).await;
    // Every queue sender is gone with the servers: the driver finishes what it holds and
    // stops.
    let joined = tokio::task::spawn_blocking(move || driver_thread.join().is_ok());
    match tokio::time::timeout(deadline, joined).await {
        Ok(Ok(true)) => {
            tracing::info!("dcs-master stopped");
            Ok(())
        }
        _ => Err("the driver did not stop within the shutdown deadline".into()),
    }
}
