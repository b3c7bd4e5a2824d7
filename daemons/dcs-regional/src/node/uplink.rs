//! The leader's uplink to the master: while this node leads, one
//! `dcs.v1.RegionalMasterSync/Exchange` stream is open. Its sending half is registered in
//! `Streams` for [`NodeId::Master`], so the driver's `send` delivers the machine's
//! master-bound messages (summaries, region state, heartbeats); every message the master
//! sends back (acks with the global state) is proposed as a Raft entry, as a store's messages
//! are. Lost leadership or a failed stream unregisters and closes it; while leading, the
//! node reconnects with bounded exponential backoff. Nothing is buffered beyond the bounded
//! channel: the machine retransmits on its own timers.

use std::time::Duration;

use dcs_proto::pb;
use dcs_proto::pb::regional_master_sync_client::RegionalMasterSyncClient;
use dcs_sync::{Backoff, Message, NodeId, PROTOCOL_VERSION, SplitMix64};
use openraft::async_runtime::WatchReceiver;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::Status;
use tonic::transport::{ClientTlsConfig, Endpoint};

use super::Streams;
use super::driver::{clock, is_leader};
use super::sync_service::propose;
use crate::raft::Raft;
use crate::replica::{Input, Proposal};

/// How often the link checks that this node still leads.
const LEADER_POLL: Duration = Duration::from_millis(50);
/// HTTP/2 pings on the stream, so a master that went silent is noticed.
const KEEP_ALIVE: Duration = Duration::from_secs(10);
/// A ping unanswered this long ends the connection.
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// Where and how the leader reaches the master.
#[derive(Debug, Clone)]
pub struct MasterLink {
    /// The master's `RegionalMasterSync` endpoint (`https://host:port`, `http://` in tests).
    pub url: String,
    /// Mutual TLS towards the master: this node's certificate as the client's (None: plaintext).
    pub tls: Option<ClientTlsConfig>,
    /// Longest wait for the connection and the stream's opening.
    pub connect_timeout: Duration,
    /// First reconnect delay after a failure, ms.
    pub retry_base_ms: u64,
    /// Largest reconnect delay, ms.
    pub retry_max_ms: u64,
    /// Messages queued towards the master before new ones are dropped (the machine resends).
    pub queue: usize,
    /// How often the leader reports the cluster's Raft health (zero: never).
    pub status_every: Duration,
}

impl Default for MasterLink {
    fn default() -> Self {
        MasterLink {
            url: String::new(),
            tls: None,
            connect_timeout: Duration::from_secs(5),
            retry_base_ms: 200,
            retry_max_ms: 10_000,
            queue: 256,
            status_every: Duration::from_secs(5),
        }
    }
}

/// Why one stream ended.
enum End {
    /// The node is stopping.
    Stopped,
    /// This node no longer leads (no backoff: wait to lead again).
    NotLeader,
    /// The connection or the stream failed (back off, then retry while leading).
    Failed(String),
}

/// Runs until `stop`: waits to lead, keeps one stream to the master open while leading, and
/// reconnects with backoff after a failure.
pub(crate) async fn run(
    raft: Raft,
    streams: Streams,
    region: NodeId,
    link: MasterLink,
    sinks: crate::forward::SinkHealth,
    replica: SharedReplica,
    stop: CancellationToken,
) {
    let mut backoff = Backoff::new(link.retry_base_ms, link.retry_max_ms);
    let seed = raft.metrics().borrow_watched().id
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
    let mut rng = SplitMix64::new(seed);
    metrics::gauge!("dcs_regional_master_connected").set(0.0);
    loop {
        if !is_leader(&raft) {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(LEADER_POLL) => continue,
            }
        }
        let report = Report { sinks: &sinks, replica: &replica };
        match exchange(&raft, &streams, region, &link, report, &stop, &mut backoff).await {
            End::Stopped => return,
            End::NotLeader => {
                tracing::info!("no longer the leader: the master stream is closed");
            }
            End::Failed(why) => {
                metrics::counter!("dcs_regional_master_stream_errors_total").increment(1);
                let delay = backoff.next_delay(rng.next_u64());
                tracing::warn!(
                    url = %link.url,
                    error = %why,
                    retry_in_ms = delay,
                    "the stream to the master failed"
                );
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(delay)) => {}
                }
            }
        }
    }
}

/// The open stream: its sending half (for `Streams`), the master's messages, and the client
/// (for status reports on the same connection).
type Opened = (
    mpsc::Sender<Result<pb::SyncEnvelope, Status>>,
    tonic::Streaming<pb::SyncEnvelope>,
    RegionalMasterSyncClient<tonic::transport::Channel>,
);

/// Connects and opens the `Exchange` stream.
async fn open(link: &MasterLink) -> Result<Opened, String> {
    let mut endpoint = Endpoint::from_shared(link.url.clone())
        .map_err(|e| format!("master.url {:?}: {e}", link.url))?
        .connect_timeout(link.connect_timeout)
        .http2_keep_alive_interval(KEEP_ALIVE)
        .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
        .keep_alive_while_idle(true);
    if let Some(tls) = &link.tls {
        endpoint = endpoint.tls_config(tls.clone()).map_err(|e| format!("tls: {e}"))?;
    }
    let channel = endpoint.connect().await.map_err(|e| format!("cannot connect: {e}"))?;
    let client = RegionalMasterSyncClient::new(channel)
        .max_decoding_message_size(dcs_sync::MAX_MESSAGE_LEN)
        .max_encoding_message_size(dcs_sync::MAX_MESSAGE_LEN);
    let (tx, rx) = mpsc::channel(link.queue.max(1));
    // The driver only queues Ok envelopes; an Err would end the request stream.
    let outbound = ReceiverStream::new(rx).map_while(|m: Result<pb::SyncEnvelope, Status>| {
        let env = m.ok()?;
        metrics::counter!("dcs_regional_master_messages_total", "direction" => "out").increment(1);
        Some(env)
    });
    let inbound = client
        .clone()
        .exchange(outbound)
        .await
        .map_err(|s| format!("the master refused the stream: {}: {}", s.code(), s.message()))?
        .into_inner();
    Ok((tx, inbound, client))
}

/// One stream, from connecting to its end.
async fn exchange(
    raft: &Raft,
    streams: &Streams,
    region: NodeId,
    link: &MasterLink,
    report: Report<'_>,
    stop: &CancellationToken,
    backoff: &mut Backoff,
) -> End {
    let (tx, mut inbound, client) = tokio::select! {
        _ = stop.cancelled() => return End::Stopped,
        opened = tokio::time::timeout(link.connect_timeout, open(link)) => match opened {
            Ok(Ok(o)) => o,
            Ok(Err(why)) => return End::Failed(why),
            Err(_) => {
                return End::Failed(format!(
                    "no stream within the connect timeout ({} ms)",
                    link.connect_timeout.as_millis()
                ));
            }
        },
    };
    if !is_leader(raft) {
        return End::NotLeader;
    }
    {
        let mut map = match streams.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.insert(NodeId::Master, tx.clone());
    }
    metrics::gauge!("dcs_regional_master_connected").set(1.0);
    tracing::info!(url = %link.url, "the stream to the master is open");
    let mut leading = tokio::time::interval(LEADER_POLL);
    let mut reporting = tokio::time::interval(link.status_every.max(LEADER_POLL));
    let end = loop {
        tokio::select! {
            _ = stop.cancelled() => break End::Stopped,
            _ = reporting.tick(), if !link.status_every.is_zero() => {
                // On its own task: a slow master delays the report, never the stream.
                // The replica is read on the blocking pool: an apply can hold it for
                // milliseconds, and a runtime thread must not wait on it.
                let replica = std::sync::Arc::clone(report.replica);
                let stores = tokio::task::spawn_blocking(move || store_reach(&replica))
                    .await
                    .unwrap_or_default();
                if let Some(status) = raft_status(raft, region, report, stores) {
                    let mut client = client.clone();
                    let timeout = link.connect_timeout;
                    tokio::spawn(async move {
                        match tokio::time::timeout(timeout, client.report_status(status)).await {
                            Ok(Ok(_)) => {}
                            Ok(Err(s)) => tracing::debug!(error = %s.message(), "the master refused a status report"),
                            Err(_) => tracing::debug!("a status report timed out"),
                        }
                    });
                }
            }
            _ = leading.tick() => {
                if !is_leader(raft) {
                    break End::NotLeader;
                }
            }
            next = inbound.message() => match next {
                Ok(Some(env)) => {
                    if let Err(end) = take(raft, region, &tx, env, stop).await {
                        break end;
                    }
                    // The master answers: the link works again.
                    backoff.reset();
                }
                Ok(None) => break End::Failed("the master closed the stream".into()),
                Err(s) => {
                    break End::Failed(format!("the stream failed: {}: {}", s.code(), s.message()));
                }
            },
        }
    };
    {
        let mut map = match streams.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        if map.get(&NodeId::Master).is_some_and(|t| t.same_channel(&tx)) {
            map.remove(&NodeId::Master);
        }
    }
    metrics::gauge!("dcs_regional_master_connected").set(0.0);
    // Dropping the last sender ends the request stream; dropping `inbound` the response.
    drop(tx);
    drop(inbound);
    end
}

/// The replica (with the machine) as the state machine shares it.
type SharedReplica = std::sync::Arc<std::sync::Mutex<crate::replica::Replica>>;

/// What a status report reads besides Raft's metrics.
#[derive(Clone, Copy)]
struct Report<'a> {
    sinks: &'a crate::forward::SinkHealth,
    replica: &'a SharedReplica,
}

/// How far each store has merged the master's state through this region.
fn store_reach(replica: &SharedReplica) -> Vec<pb::StoreReach> {
    let r = match replica.lock() {
        Ok(r) => r,
        Err(p) => p.into_inner(),
    };
    // A store is named by the branch of the events it sends (none yet: unnamed).
    let branches = r.store().child_branches().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the stores' branches are unreadable; reporting them unnamed");
        Vec::new()
    });
    let branch_of = |node: NodeId| {
        branches.iter().find(|(c, _, _)| *c == node).map(|(_, _, b)| b.clone()).unwrap_or_default()
    };
    r.machine()
        .store_reach()
        .into_iter()
        .filter_map(|(store, position)| match store {
            NodeId::Store(s) => Some(pb::StoreReach {
                store: s,
                master_position: position,
                branch: branch_of(store),
            }),
            _ => None,
        })
        // The master refuses a longer list (and with it the whole report).
        .take(dcs_store::sqlite::MAX_REACH_STORES)
        .collect()
}

/// The cluster as this leader sees it, for the master's dashboard (None unless it leads).
fn raft_status(
    raft: &Raft,
    region: NodeId,
    report: Report<'_>,
    stores: Vec<pb::StoreReach>,
) -> Option<pb::RegionStatus> {
    let NodeId::Region(number) = region else { return None };
    let m = raft.metrics().borrow_watched().clone();
    if m.current_leader != Some(m.id) {
        return None;
    }
    let index = |l: Option<openraft::alias::LogIdOf<crate::raft::TypeConfig>>| l.map(|l| l.index);
    let membership = m.membership_config.membership();
    let voters: Vec<u64> = membership.voter_ids().collect();
    let nodes = membership
        .nodes()
        .map(|(id, node)| pb::RaftNodeStatus {
            id: *id,
            addr: node.raft.clone(),
            voter: voters.contains(id),
            matched: if *id == m.id {
                m.last_log_index
            } else {
                m.replication.as_ref().and_then(|r| r.get(id).copied().flatten()).map(|l| l.index)
            },
        })
        .collect();
    Some(pb::RegionStatus {
        region: u32::from(number),
        term: m.current_term,
        leader: m.id,
        committed: index(m.cluster_committed.or(m.local_committed)).unwrap_or(0),
        applied: index(m.last_applied).unwrap_or(0),
        nodes,
        at_unix_ms: clock().wall_ms,
        version: env!("CARGO_PKG_VERSION").to_string(),
        stores,
        sinks: report
            .sinks
            .states()
            .into_iter()
            .map(|(sink, s)| pb::SinkStatus {
                sink: sink.to_string(),
                backlog: s.backlog,
                problem: s.problem.unwrap_or_default(),
            })
            .collect(),
    })
}

/// Checks one envelope from the master and proposes it as a Raft entry.
async fn take(
    raft: &Raft,
    region: NodeId,
    tx: &mpsc::Sender<Result<pb::SyncEnvelope, Status>>,
    env: pb::SyncEnvelope,
    stop: &CancellationToken,
) -> Result<(), End> {
    let (from, msg) = match dcs_proto::sync_from_pb(env) {
        Ok(x) => x,
        Err(e) => {
            if let dcs_proto::ProtoError::UnsupportedVersion { got, supported } = &e {
                tracing::warn!(
                    master_version = got,
                    region_version = supported,
                    "the master speaks a newer sync protocol: upgrade this region"
                );
                // Say which version this region speaks (best effort: the stream ends).
                if let Some(refuse) = dcs_proto::sync_refusal(region, &e) {
                    let _ = tx.try_send(Ok(refuse));
                }
            }
            return Err(End::Failed(format!("a message from the master does not decode: {e}")));
        }
    };
    if from != NodeId::Master {
        tracing::warn!(from = %from, "a message on the master stream is not from the master");
        return Err(End::Failed(format!("from: {from} is not the master")));
    }
    metrics::counter!("dcs_regional_master_messages_total", "direction" => "in").increment(1);
    if let Message::Refuse(r) = &msg {
        tracing::warn!(
            master_version = r.supported_version,
            region_version = PROTOCOL_VERSION,
            reason = %r.reason,
            "the master refused this region's messages: it speaks an older sync protocol"
        );
    }
    let bytes = dcs_sync::encode(&msg)
        .map_err(|e| End::Failed(format!("cannot encode the master's message: {e}")))?;
    let p = Proposal {
        clock: clock(),
        input: Input::Message {
            from: NodeId::Master,
            bytes: bytes.into(),
            verdicts: std::sync::Arc::from([]),
        },
    };
    tokio::select! {
        _ = stop.cancelled() => Err(End::Stopped),
        proposed = propose(raft, p) => proposed.map_err(|s| {
            if is_leader(raft) {
                End::Failed(format!("cannot propose the master's message: {}", s.message()))
            } else {
                End::NotLeader
            }
        }),
    }
}
