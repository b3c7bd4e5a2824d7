//! The forwarders: while this node leads, each configured sink (PostgreSQL, Kafka) receives
//! the region's accepted events in acceptance order, exactly once in effect, across leader
//! changes.
//!
//! A sink keeps its own resume point next to what it received, written atomically with it
//! and fenced by the Raft term, because a deposed leader may still be forwarding:
//! - PostgreSQL: the forward cursor (region, position, term) moves in the ingest transaction;
//!   the database refuses a stale term and a cursor that moved (`PgStore::ingest_forwarded`).
//! - Kafka: one transactional id per region; a new leader's `init_transactions` fences the
//!   old producer and ends its open transaction; each transaction carries the records and a
//!   progress record (position, term) on the region's progress topic, read back with
//!   `read_committed` when a leader takes over.
//!
//! The loop is the same for every sink ([`run`]): wait until this node leads, `resume` at
//! the current term (fence, read the resume point), then read the next accepted items from
//! the replica file and `forward` them, until the term changes. Any error other than a
//! fence sends the loop back to `resume` after a bounded backoff, so a sink's truth is
//! always what it committed, never what this process thinks it sent.

pub mod kafka;
pub mod postgres;
mod replay;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dcs_store::sqlite::Accepted;
use openraft::async_runtime::WatchReceiver;
use tokio_util::sync::CancellationToken;

use crate::raft::Raft;
use crate::replica::Replica;

pub use replay::{MAX_REPLAY_RANGE, ReplayError, ReplayReport, ReplaySink, replay};

/// Why a sink could not take over or forward.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A newer leader forwards to this sink: stop until this node leads a newer term.
    #[error("fenced: {0}")]
    Fenced(String),
    /// The sink's resume point is not where this forwarder left it: read it again.
    #[error("the resume point moved: {0}")]
    Moved(String),
    /// The sink is unreachable or failed: retry after a backoff.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The sink's configuration cannot work (a bad URL, a missing password file).
    #[error("misconfigured: {0}")]
    Config(String),
}

/// One destination of the forwarded events.
pub trait Sink: Send + 'static {
    /// The sink's name in metrics and logs (`postgres`, `kafka`).
    fn name(&self) -> &'static str;

    /// Takes over forwarding at `term` (fencing older leaders) and answers the region
    /// position the sink holds everything up to.
    fn resume(&mut self, term: u64) -> impl Future<Output = Result<u64, SinkError>> + Send;

    /// Delivers `items` (the accepted items `from + 1 ..= to`, in order) at `term`,
    /// atomically with the resume point `to`.
    fn forward(
        &mut self,
        term: u64,
        from: u64,
        to: u64,
        items: &[Accepted],
    ) -> impl Future<Output = Result<(), SinkError>> + Send;
}

/// The limits of a forwarding loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most items per forwarded batch (one PostgreSQL or Kafka transaction).
    pub batch_items: usize,
    /// First backoff after a failure, ms.
    pub retry_base_ms: u64,
    /// Largest backoff, ms.
    pub retry_max_ms: u64,
    /// How often a caught-up forwarder looks for new items, ms.
    pub poll_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { batch_items: 1_000, retry_base_ms: 100, retry_max_ms: 5_000, poll_ms: 10 }
    }
}

/// Each sink's last outcome on this node (for `/readyz`): the error of its last failed
/// attempt, cleared by its next success. Only a leader forwards, so only a leader's entries
/// move.
#[derive(Debug, Clone, Default)]
pub struct SinkHealth(Arc<Mutex<std::collections::BTreeMap<&'static str, SinkState>>>);

/// One sink's last outcome and backlog.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkState {
    /// Its last error (None: its last attempt worked).
    pub problem: Option<String>,
    /// Accepted events not yet forwarded to it, as last measured.
    pub backlog: u64,
}

impl SinkHealth {
    fn entry<T>(&self, sink: &'static str, f: impl FnOnce(&mut SinkState) -> T) -> T {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(map.entry(sink).or_default())
    }

    fn set(&self, sink: &'static str, problem: Option<String>) {
        self.entry(sink, |s| s.problem = problem);
    }

    fn set_backlog(&self, sink: &'static str, backlog: u64) {
        self.entry(sink, |s| s.backlog = backlog);
    }

    /// The first failing sink and its error, if any.
    pub fn problem(&self) -> Option<String> {
        let map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.iter().find_map(|(sink, s)| s.problem.as_ref().map(|p| format!("sink {sink}: {p}")))
    }

    /// Every sink's state, by name.
    pub fn states(&self) -> Vec<(&'static str, SinkState)> {
        let map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.iter().map(|(k, v)| (*k, v.clone())).collect()
    }

    /// Forgets every sink's outcome (this node no longer leads).
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }
}

/// The term this node leads, if it leads.
fn leading(raft: &Raft) -> Option<u64> {
    let m = raft.metrics().borrow_watched().clone();
    (m.current_leader == Some(m.id) && m.state.is_leader()).then_some(m.current_term)
}

fn lock(replica: &Mutex<Replica>) -> std::sync::MutexGuard<'_, Replica> {
    match replica.lock() {
        Ok(r) => r,
        Err(p) => p.into_inner(),
    }
}

/// The next accepted items after `after` (at most `max`) and the replica's last position.
async fn next_items(
    replica: &Arc<Mutex<Replica>>,
    after: u64,
    max: usize,
) -> Result<(Vec<Accepted>, u64), SinkError> {
    let replica = Arc::clone(replica);
    tokio::task::spawn_blocking(move || {
        let r = lock(&replica);
        let items = r.store().accepted_after(after, max);
        let last = r.store().accepted_len();
        match (items, last) {
            (Ok(i), Ok(l)) => Ok((i, l)),
            (Err(e), _) | (_, Err(e)) => Err(SinkError::Unavailable(format!("replica file: {e}"))),
        }
    })
    .await
    .map_err(|e| SinkError::Unavailable(format!("replica reader: {e}")))?
}

/// Sleeps `ms` unless `stop` fires first (then answers false).
async fn pause(stop: &CancellationToken, ms: u64) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(Duration::from_millis(ms)) => true,
    }
}

/// Runs one sink's forwarding loop until `stop` (see the module doc).
pub async fn run<S: Sink>(
    mut sink: S,
    raft: Raft,
    replica: Arc<Mutex<Replica>>,
    limits: Limits,
    health: SinkHealth,
    stop: CancellationToken,
) {
    let name = sink.name();
    let mut backoff = limits.retry_base_ms;
    // A term whose leadership a newer leader fenced: wait for a newer one.
    let mut fenced_term = None;
    loop {
        if stop.is_cancelled() {
            return;
        }
        let term = match leading(&raft) {
            Some(t) if Some(t) != fenced_term => t,
            _ => {
                if !pause(&stop, limits.poll_ms.max(10)).await {
                    return;
                }
                continue;
            }
        };
        let mut at = match sink.resume(term).await {
            Ok(p) => {
                health.set(name, None);
                p
            }
            Err(e) => {
                if !recover(name, term, &e, &health, &mut fenced_term, &mut backoff, &limits, &stop)
                    .await
                {
                    return;
                }
                continue;
            }
        };
        tracing::info!(sink = name, term, position = at, "forwarding as leader");
        metrics::gauge!("dcs_regional_forward_position", "sink" => name).set(at as f64);
        // The next batch is read from the replica while the sink takes the current one.
        let mut next: Option<Result<(Vec<Accepted>, u64), SinkError>> = None;
        while leading(&raft) == Some(term) && !stop.is_cancelled() {
            let read = match next.take() {
                Some(r) => r,
                None => next_items(&replica, at, limits.batch_items).await,
            };
            let (items, last) = match read {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(sink = name, error = %e, "cannot read the replica");
                    break;
                }
            };
            metrics::gauge!("dcs_regional_forward_lag", "sink" => name)
                .set(last.saturating_sub(at) as f64);
            health.set_backlog(name, last.saturating_sub(at));
            let Some(to) = items.last().map(|a| a.seq) else {
                if !pause(&stop, limits.poll_ms).await {
                    return;
                }
                continue;
            };
            let (sent, read) = tokio::join!(
                sink.forward(term, at, to, &items),
                next_items(&replica, to, limits.batch_items)
            );
            match sent {
                Ok(()) => {
                    metrics::counter!("dcs_regional_forwarded_total", "sink" => name)
                        .increment(items.len() as u64);
                    metrics::histogram!("dcs_regional_forward_batch_events", "sink" => name)
                        .record(items.len() as f64);
                    metrics::gauge!("dcs_regional_forward_position", "sink" => name).set(to as f64);
                    at = to;
                    backoff = limits.retry_base_ms;
                    next = Some(read);
                    health.set(name, None);
                }
                Err(e) => {
                    let (h, f, b) = (&health, &mut fenced_term, &mut backoff);
                    if !recover(name, term, &e, h, f, b, &limits, &stop).await {
                        return;
                    }
                    break;
                }
            }
        }
    }
}

/// After a failure: records it, backs off when it calls for it and doubles the backoff;
/// answers false when `stop` fired meanwhile.
#[allow(clippy::too_many_arguments)]
async fn recover(
    name: &'static str,
    term: u64,
    e: &SinkError,
    health: &SinkHealth,
    fenced_term: &mut Option<u64>,
    backoff: &mut u64,
    limits: &Limits,
    stop: &CancellationToken,
) -> bool {
    health.set(name, Some(e.to_string()));
    if failed(name, term, e, fenced_term) && !pause(stop, *backoff).await {
        return false;
    }
    *backoff = (*backoff * 2).min(limits.retry_max_ms);
    true
}

/// Logs and counts a failure; answers whether the loop should back off before resuming.
fn failed(name: &'static str, term: u64, e: &SinkError, fenced_term: &mut Option<u64>) -> bool {
    let kind = match e {
        SinkError::Fenced(_) => "fenced",
        SinkError::Moved(_) => "moved",
        SinkError::Unavailable(_) => "unavailable",
        SinkError::Config(_) => "config",
    };
    metrics::counter!("dcs_regional_forward_errors_total", "sink" => name, "kind" => kind)
        .increment(1);
    match e {
        SinkError::Fenced(_) => {
            tracing::info!(sink = name, term, error = %e, "a newer leader forwards; stopping");
            *fenced_term = Some(term);
            false
        }
        SinkError::Moved(_) => {
            tracing::info!(sink = name, term, error = %e, "resuming from the sink's cursor");
            false
        }
        _ => {
            tracing::warn!(sink = name, term, error = %e, "forwarding failed; retrying");
            true
        }
    }
}
