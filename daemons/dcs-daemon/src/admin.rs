//! The admin HTTP port, apart from the service port: `/healthz` (the daemon's loop runs and
//! its store is writable), `/readyz` (it should get traffic: dropped first at shutdown) and
//! `/metrics` (Prometheus text). A daemon may mount more routes on it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;

use crate::error::{DaemonError, Result};

/// What `/healthz` and `/readyz` answer, shared between the daemon's tasks.
#[derive(Debug, Clone, Default)]
pub struct Health {
    inner: Arc<Mutex<HealthState>>,
}

#[derive(Debug, Default)]
struct HealthState {
    /// Why the daemon is not live, if it is not.
    not_live: Option<String>,
    /// Why the daemon is not ready, if it is not (None = ready).
    not_ready: Option<String>,
    started: bool,
}

impl Health {
    /// Live, not ready yet ("starting").
    pub fn new() -> Self {
        let h = Self::default();
        h.set_not_ready("starting");
        h
    }

    /// Marks the daemon ready for traffic.
    pub fn set_ready(&self) {
        let mut s = self.lock();
        s.not_ready = None;
        s.started = true;
    }

    /// Marks the daemon not ready, saying why (shown by `/readyz`).
    pub fn set_not_ready(&self, reason: impl Into<String>) {
        self.lock().not_ready = Some(reason.into());
    }

    /// Marks the daemon not live (e.g. its store stopped accepting writes), saying why.
    pub fn set_not_live(&self, reason: impl Into<String>) {
        self.lock().not_live = Some(reason.into());
    }

    /// Marks the daemon live again.
    pub fn set_live(&self) {
        self.lock().not_live = None;
    }

    /// `Ok(())` when ready, or why not.
    pub fn ready(&self) -> std::result::Result<(), String> {
        match &self.lock().not_ready {
            None => Ok(()),
            Some(why) => Err(why.clone()),
        }
    }

    /// `Ok(())` when live, or why not.
    pub fn live(&self) -> std::result::Result<(), String> {
        match &self.lock().not_live {
            None => Ok(()),
            Some(why) => Err(why.clone()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HealthState> {
        // A poisoned lock only means a panic elsewhere while holding it; the state is plain data.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Clone)]
struct AdminState {
    health: Health,
    metrics: PrometheusHandle,
}

/// The admin routes (`/healthz`, `/readyz`, `/metrics`) merged with a daemon's `extra` ones.
pub fn router(health: Health, metrics: PrometheusHandle, extra: Router) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .with_state(AdminState { health, metrics })
        .merge(extra)
}

async fn healthz(State(s): State<AdminState>) -> (StatusCode, String) {
    match s.health.live() {
        Ok(()) => (StatusCode::OK, "ok\n".into()),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("not live: {why}\n")),
    }
}

async fn readyz(State(s): State<AdminState>) -> (StatusCode, String) {
    match s.health.ready() {
        Ok(()) => (StatusCode::OK, "ready\n".into()),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}\n")),
    }
}

async fn render_metrics(State(s): State<AdminState>) -> String {
    s.metrics.render()
}

/// Binds `addr` and serves `router` until `shutdown` is cancelled; returns the bound address
/// (port 0 picks a free one) and the server task.
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| DaemonError::Bind { addr: addr.to_string(), reason: e.to_string() })?;
    let bound = listener
        .local_addr()
        .map_err(|e| DaemonError::Bind { addr: addr.to_string(), reason: e.to_string() })?;
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "admin port stopped");
        }
    });
    Ok((bound, task))
}
