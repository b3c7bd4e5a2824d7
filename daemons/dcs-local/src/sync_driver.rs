//! The sync driver: moves the store's sync machine's messages over `LocalRegionalSync.Push`
//! (mutual TLS) to its region, its timers to the machine, and its writes to the writer.
//!
//! It holds no protocol logic: what to push, when to retransmit, what an ack means are the
//! machine's (`dcs_sync::LocalMachine`). It connects to the configured regional nodes in
//! turn; a node that is not the leader answers `UNAVAILABLE` with the leader's endpoint in
//! the `dcs-leader` metadata, which the driver follows at once (no endpoint: no known leader,
//! so it retries after a backoff). While no region is reachable the store keeps selling:
//! events wait in the store, which is the outbox, and the next connection pushes them.

use std::sync::Arc;
use std::time::Duration;

use dcs_proto::pb;
use dcs_proto::pb::local_regional_sync_client::LocalRegionalSyncClient;
use dcs_store::sqlite::SqliteStore;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::{ClientTlsConfig, Endpoint};

use crate::config::RegionSection;
use crate::sync_machine::SyncMachine;
use crate::writer::Writer;

/// The metadata key a follower names its leader's endpoint in.
pub const LEADER_METADATA: &str = "dcs-leader";

/// What terminals are told of the link (the rest of the status comes from the machine).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Link {
    /// A stream to the region is open.
    pub online: bool,
    /// When the region last acknowledged a push (Unix ms; 0: never since start).
    pub last_ack_unix_ms: u64,
    /// The endpoint in use, or the last one tried.
    pub endpoint: String,
    /// Why the last connection ended, if it did.
    pub last_error: Option<String>,
}

/// How one connection ended.
enum Ended {
    Stopped,
    Redirect(String),
    Failed(String),
}

/// The driver's parts.
pub struct SyncDriver {
    /// The machine.
    pub sync: Arc<SyncMachine>,
    /// The writer (flushes the machine's writes).
    pub writer: Writer,
    /// The store (outbox reads).
    pub store: Arc<SqliteStore>,
    /// The `[region]` settings.
    pub config: RegionSection,
    /// TLS to the region (None only in plaintext tests; refused in config for real use).
    pub tls: Option<ClientTlsConfig>,
    /// The link status it publishes.
    pub link: watch::Sender<Link>,
}

impl SyncDriver {
    /// Runs until `stop`: connects, syncs, reconnects with backoff.
    pub async fn run(self, stop: CancellationToken) {
        if self.config.endpoints.is_empty() {
            return;
        }
        let mut next = 0usize;
        let mut redirect: Option<String> = None;
        let mut backoff = dcs_sync::Backoff::new(
            self.config.retransmit_base_ms.max(50),
            self.config.retransmit_max_ms.max(100),
        );
        let mut redirects = 0u32;
        loop {
            let endpoint = match redirect.take() {
                Some(e) => e,
                None => {
                    let e = self.config.endpoints[next % self.config.endpoints.len()].clone();
                    next += 1;
                    e
                }
            };
            self.link.send_modify(|l| l.endpoint = endpoint.clone());
            let ended = self.session(&endpoint, &stop).await;
            self.link.send_modify(|l| l.online = false);
            metrics::gauge!("dcs_local_sync_online").set(0.0);
            let wait = match ended {
                Ended::Stopped => return,
                Ended::Redirect(to) if redirects < self.most_redirects() => {
                    redirects += 1;
                    if self.config.follow_leader {
                        tracing::info!(from = %endpoint, to = %to, "following the region's leader");
                        redirect = Some(to);
                    } else {
                        tracing::info!(from = %endpoint, leader = %to, "the leader is elsewhere: trying the next configured endpoint");
                    }
                    continue;
                }
                Ended::Redirect(to) => {
                    self.link.send_modify(|l| {
                        l.last_error = Some(format!("too many redirects (last to {to})"))
                    });
                    backoff.next_delay(rand_core::RngCore::next_u64(&mut rand_core::OsRng))
                }
                Ended::Failed(why) => {
                    metrics::counter!("dcs_local_sync_errors_total").increment(1);
                    tracing::warn!(endpoint = %endpoint, error = %why, "region unreachable");
                    self.link.send_modify(|l| l.last_error = Some(why));
                    backoff.next_delay(rand_core::RngCore::next_u64(&mut rand_core::OsRng))
                }
            };
            redirects = 0;
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
            }
        }
    }

    /// Redirects taken in a row before backing off: a few leader hints, or (not following
    /// them) one pass over the configured endpoints.
    fn most_redirects(&self) -> u32 {
        if self.config.follow_leader {
            3
        } else {
            u32::try_from(self.config.endpoints.len()).unwrap_or(u32::MAX)
        }
    }

    /// One connection: open the stream, then move messages until it ends.
    async fn session(&self, endpoint: &str, stop: &CancellationToken) -> Ended {
        let channel = match self.connect(endpoint).await {
            Ok(c) => c,
            Err(e) => return Ended::Failed(e),
        };
        let mut client = LocalRegionalSyncClient::new(channel)
            .max_decoding_message_size(dcs_sync::MAX_MESSAGE_LEN);
        let (tx, rx) = mpsc::channel::<pb::SyncEnvelope>(64);
        let mut inbound = match client.push(ReceiverStream::new(rx)).await {
            Ok(r) => r.into_inner(),
            Err(status) => return redirect_or_failed(&status),
        };
        self.link.send_modify(|l| {
            l.online = true;
            l.last_error = None;
        });
        metrics::gauge!("dcs_local_sync_online").set(1.0);
        tracing::info!(endpoint, "syncing with the region");
        // A new stream (maybe to a new leader): resend what is unacknowledged now, not after
        // the backoff the machine grew while the link was down.
        let now = self.sync.now();
        self.sync.lock().handle_link_up(now);
        loop {
            if let Err(e) = self.settle(&tx).await {
                return Ended::Failed(e);
            }
            let deadline = self.sync.lock().poll_timeout().unwrap_or(u64::MAX);
            let wait = Duration::from_millis(deadline.saturating_sub(self.sync.now().mono_ms));
            tokio::select! {
                _ = stop.cancelled() => return Ended::Stopped,
                msg = inbound.message() => match msg {
                    Ok(Some(env)) => {
                        if let Err(e) = self.take(env) {
                            return Ended::Failed(e);
                        }
                    }
                    Ok(None) => return Ended::Failed("the region closed the stream".into()),
                    Err(status) => return redirect_or_failed(&status),
                },
                _ = tokio::time::sleep(wait) => {
                    let now = self.sync.now();
                    self.sync.lock().handle_timeout(now);
                }
                _ = self.sync.appended.notified() => {}
            }
        }
    }

    async fn connect(&self, endpoint: &str) -> Result<tonic::transport::Channel, String> {
        let mut e = Endpoint::from_shared(endpoint.to_string())
            .map_err(|e| format!("{endpoint}: not an endpoint URL: {e}"))?
            .connect_timeout(Duration::from_millis(self.config.connect_timeout_ms))
            .http2_keep_alive_interval(Duration::from_secs(10))
            .keep_alive_timeout(Duration::from_secs(5));
        if let Some(tls) = &self.tls {
            e = e.tls_config(tls.clone()).map_err(|e| format!("{endpoint}: TLS: {e}"))?;
        }
        e.connect().await.map_err(|e| format!("{endpoint}: {e}"))
    }

    /// Handles one envelope from the region.
    fn take(&self, env: pb::SyncEnvelope) -> Result<(), String> {
        let (from, msg) =
            dcs_proto::sync_from_pb(env).map_err(|e| format!("from the region: {e}"))?;
        let acked = matches!(msg, dcs_sync::Message::Ack(_));
        let now = self.sync.now();
        {
            let mut m = self.sync.lock();
            m.handle_message(now, from, msg).map_err(|e| e.to_string())?;
            metrics::gauge!("dcs_local_sync_lag").set(m.lag() as f64);
            metrics::counter!("dcs_local_sync_rejected_total")
                .absolute(m.stats().refused_by_parent);
        }
        if acked {
            self.link.send_modify(|l| l.last_ack_unix_ms = now.wall_ms);
        }
        Ok(())
    }

    /// Makes the machine's writes durable, serves its outbox reads, and sends what it has to
    /// send, until it has nothing more.
    async fn settle(&self, tx: &mpsc::Sender<pb::SyncEnvelope>) -> Result<(), String> {
        loop {
            let (persist, read) = {
                let mut m = self.sync.lock();
                (m.wants_persist(), if m.wants_persist() { None } else { m.poll_read() })
            };
            if persist {
                self.writer.flush().await.map_err(|e| format!("flushing the sync state: {e}"))?;
                continue;
            }
            if let Some(r) = read {
                let store = Arc::clone(&self.store);
                let items = tokio::task::spawn_blocking(move || {
                    store.read_outbox_sync(r.after, r.max_items)
                })
                .await
                .map_err(|e| format!("outbox read: {e}"))?
                .map_err(|e| format!("outbox read: {e}"))?;
                self.sync.lock().handle_read(items);
                continue;
            }
            let me = self.sync.node();
            let out: Vec<_> = std::iter::from_fn(|| self.sync.lock().poll_transmit()).collect();
            if out.is_empty() {
                return Ok(());
            }
            for (_, msg) in out {
                let env = dcs_proto::sync_to_pb(me, &msg).map_err(|e| e.to_string())?;
                tx.send(env).await.map_err(|_| "the stream to the region closed".to_string())?;
            }
        }
    }
}

fn redirect_or_failed(status: &tonic::Status) -> Ended {
    if status.code() == tonic::Code::Unavailable
        && let Some(to) = status.metadata().get(LEADER_METADATA).and_then(|v| v.to_str().ok())
        && !to.is_empty()
    {
        return Ended::Redirect(to.to_string());
    }
    Ended::Failed(format!("{}: {}", status.code(), status.message()))
}
