//! `dcs-local run`: opens the store, loads keys and terminals, and serves gRPC, gRPC-Web and
//! the web app on the POS port and health and metrics on the admin port, until SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderName, Method};
use dcs_daemon::admin::{self, Health};
use dcs_proto::pb::pos_service_server::PosServiceServer;
use dcs_store::projection::Projector;
use dcs_store::sqlite::{Options, SqliteStore};
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::catalog::Catalog;
use crate::config::{DataDir, LocalConfig};
use crate::desk::Desk;
use crate::error::{LocalError, Result};
use crate::identity::Identity;
use crate::pos::Pos;
use crate::sync_status::SyncStatusFeed;

/// Everything `run` builds before it listens (also what `--check-config` checks).
pub struct Prepared {
    dir: DataDir,
    config: LocalConfig,
    store: Arc<SqliteStore>,
    identity: Arc<Identity>,
    catalog: Catalog,
    pos_tls: Option<dcs_daemon::tls::ServerTls>,
}

/// Loads and checks the config, keys, terminals, catalog and store of `dir`.
pub fn prepare(dir: &DataDir) -> Result<Prepared> {
    let config: LocalConfig = dcs_daemon::config::load(Some(&dir.config()))?;
    let currency = dcs_core::Currency::from_code(&config.store.currency)
        .map_err(|e| LocalError::Setup(format!("[store] currency: {e}")))?;
    let catalog = Catalog::from_config(&config, currency)?;
    let identity =
        Arc::new(Identity::load(dir, &config.keys, &config.store.tenant, &config.store.branch)?);
    crate::keys::ensure_kek(identity.keyring.as_ref(), &config.store.tenant)?;
    let options = Options {
        max_size_bytes: (config.store.max_size_mib > 0)
            .then(|| config.store.max_size_mib * 1024 * 1024),
        ..Options::default()
    };
    let path = dir.root.join(&config.store.database);
    // The hash chain is keyed by the tenant's MAC key: whoever can edit the file but holds
    // no key cannot rewrite history (dcs-store's threat model).
    let store = SqliteStore::open_keyed(&path, options, &identity.mac)
        .map_err(|e| LocalError::Setup(format!("{}: {e}", path.display())))?
        .with_projector(
            Projector::new(config.store.utc_offset_minutes, None)
                .map_err(|e| LocalError::Setup(format!("[store] {e}")))?,
        );
    if !config.region.endpoints.is_empty() {
        region_tls(&config, dir)?;
    }
    let pos_tls = match &config.listen.pos_tls {
        Some(files) => Some(files.relative_to(&dir.root).load()?),
        None => None,
    };
    Ok(Prepared { dir: dir.clone(), config, store: Arc::new(store), identity, catalog, pos_tls })
}

/// The mutual-TLS client config to the region: `[region] tls` (paths relative to the data
/// directory). A region endpoint without TLS is refused unless it is `http://127.0.0.1`
/// (tests on one machine).
fn region_tls(
    config: &LocalConfig,
    dir: &DataDir,
) -> Result<Option<tonic::transport::ClientTlsConfig>> {
    let r = &config.region;
    match &r.tls {
        Some(files) => {
            let rooted = dcs_daemon::tls::TlsFiles {
                ca: dir.root.join(&files.ca),
                cert: dir.root.join(&files.cert),
                key: dir.root.join(&files.key),
            };
            Ok(Some(rooted.client_config(&r.server_name)?))
        }
        None => match r.endpoints.iter().find(|e| !e.starts_with("http://127.0.0.1:")) {
            Some(e) => Err(LocalError::Setup(format!(
                "[region] endpoint {e} needs [region.tls] (ca, cert, key): stores talk to \
                 their region over mutual TLS"
            ))),
            None => Ok(None),
        },
    }
}

fn cors(origins: &[String]) -> Result<CorsLayer> {
    let origins = origins
        .iter()
        .map(|o| {
            o.parse().map_err(|_| {
                LocalError::Setup(format!("[web] cors_origins: {o:?} is not an origin"))
            })
        })
        .collect::<Result<Vec<axum::http::HeaderValue>>>()?;
    let headers = ["content-type", "x-grpc-web", "x-user-agent", "grpc-timeout", "authorization"]
        .map(HeaderName::from_static);
    let exposed =
        ["grpc-status", "grpc-message", "grpc-status-details-bin"].map(HeaderName::from_static);
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::POST, Method::OPTIONS])
        .allow_headers(headers)
        .expose_headers(exposed))
}

/// Serves until SIGTERM/SIGINT (or `stop`), then drains within the deadline.
pub async fn run(prepared: Prepared, stop: CancellationToken) -> Result<()> {
    let Prepared { dir, config, store, identity, catalog, pos_tls } = prepared;
    let health = Health::new();
    let metrics = dcs_daemon::telemetry::metrics()?;
    let (admin_addr, admin_task) = admin::serve(
        config.listen.admin,
        admin::router(health.clone(), metrics, axum::Router::new()),
        stop.clone(),
    )
    .await?;

    let sync = crate::sync_machine::SyncMachine::restore(&store, &config)?;
    let writer = crate::writer::Writer::start(
        Arc::clone(&store),
        Arc::clone(&sync),
        config.limits.write_queue,
        config.limits.group_commit_max,
    )?;
    let reported = sync.enroll_terminals(&config.store.tenant, &identity.registry);
    if reported > 0 {
        writer.flush().await?;
    }
    tracing::info!(reported, "terminals newly reported to the master's key registry");
    let (link, link_rx) = tokio::sync::watch::channel(crate::sync_driver::Link::default());
    let driver = crate::sync_driver::SyncDriver {
        sync: Arc::clone(&sync),
        writer: writer.clone(),
        store: Arc::clone(&store),
        tls: region_tls(&config, &dir)?,
        config: config.region.clone(),
        link,
    };
    let driver_stop = stop.clone();
    let driver_task = tokio::spawn(driver.run(driver_stop));
    let catalog = catalog.with_central(Arc::clone(&sync));
    let desk = Arc::new(Desk::new(
        Arc::clone(&store),
        writer,
        Arc::clone(&identity),
        catalog,
        &config.store.tenant,
        &config.store.branch,
        config.store.utc_offset_minutes,
        Arc::clone(&sync),
    )?);
    let feed = SyncStatusFeed::start(Arc::clone(&store), link_rx, stop.clone());
    let pos = PosServiceServer::new(Pos::new(
        desk,
        identity,
        feed,
        crate::pos::TillProvisioning {
            section: config.till.clone(),
            tenant: config.store.tenant.clone(),
            utc_offset_minutes: config.store.utc_offset_minutes,
        },
    ))
    .max_decoding_message_size(config.limits.max_request_bytes);
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<PosServiceServer<Pos>>().await;

    // gRPC-Web wraps the gRPC routes only: it refuses every HTTP/1.1 request that is not
    // gRPC-Web, so the web app's files are served beside it, not through it.
    let mut routes = tonic::service::Routes::new(pos)
        .add_service(health_service)
        .into_axum_router()
        .layer(tonic_web::GrpcWebLayer::new());
    if let Some(dir) = &config.web.static_dir {
        routes = routes.fallback_service(tower_http::services::ServeDir::new(dir));
    }
    let router = routes
        .layer(cors(&config.web.cors_origins)?)
        .layer(tower::limit::ConcurrencyLimitLayer::new(config.limits.max_concurrent_requests));

    let listener = tokio::net::TcpListener::bind(config.listen.pos)
        .await
        .map_err(|e| LocalError::Setup(format!("cannot listen on {}: {e}", config.listen.pos)))?;
    let pos_addr = listener.local_addr().map_err(|e| LocalError::Setup(e.to_string()))?;
    health.set_ready();
    // The one line tests and scripts read to find the ports (they may ask for port 0).
    // With TLS it says so at the end (pos_scheme=https), the fields before unchanged.
    let scheme = if pos_tls.is_some() { " pos_scheme=https" } else { "" };
    println!("dcs-local listening pos={pos_addr} admin={admin_addr}{scheme}");
    let client_certs = pos_tls.as_ref().is_some_and(|t| t.verifies_client_certs());
    tracing::info!(%pos_addr, %admin_addr, tls = pos_tls.is_some(), client_certs, "dcs-local serving");

    let drain = stop.clone();
    let health_on_stop = health.clone();
    let shutdown = async move {
        drain.cancelled().await;
        health_on_stop.set_not_ready("shutting down");
    };
    let server = match pos_tls {
        None => {
            let server = axum::serve(listener, router).with_graceful_shutdown(shutdown);
            tokio::spawn(async move { server.await.map_err(|e| e.to_string()) })
        }
        // TLS: tonic's server over connections handshaken by dcs-daemon, so that each
        // request carries its connection's client certificates (`Request::peer_certs`).
        // HTTP/1.1 stays accepted for gRPC-Web and the web app's files.
        Some(tls) => {
            let incoming = dcs_daemon::tls::tls_incoming(listener, &tls, stop.clone());
            let server = tonic::transport::Server::builder()
                .accept_http1(true)
                .add_routes(tonic::service::Routes::from(router))
                .serve_with_incoming_shutdown(incoming, shutdown);
            tokio::spawn(async move { server.await.map_err(|e| e.to_string()) })
        }
    };
    stop.cancelled().await;
    health_reporter.set_not_serving::<PosServiceServer<Pos>>().await;
    let deadline = Duration::from_millis(config.listen.shutdown_deadline_ms);
    if !dcs_daemon::shutdown::drain(
        async {
            if let Ok(Err(e)) = server.await {
                tracing::error!(error = %e, "the POS server stopped with an error");
            }
        },
        deadline,
    )
    .await
    {
        tracing::warn!("in-flight requests did not finish within the shutdown deadline");
    }
    let _ = admin_task.await;
    let _ = driver_task.await;
    tracing::info!("dcs-local stopped");
    Ok(())
}
