//! `LocalRegionalSync` on a regional node: the leader turns each store message into a Raft
//! entry (with its verdicts on the events, judged on a blocking thread) and registers the
//! stream for the acks; a follower answers UNAVAILABLE naming the leader's sync URL in the
//! `dcs-leader` metadata, or without it when no leader is known (retry, not redirect).

use std::sync::Arc;
use std::time::Duration;

use dcs_proto::pb;
use dcs_proto::pb::local_regional_sync_server::LocalRegionalSync;
use dcs_sync::{Message, NodeId, Verifier};
use openraft::async_runtime::WatchReceiver;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::Streams;
use super::driver::{clock, is_leader};
use crate::raft::Raft;
use crate::replica::{Input, Proposal, judge};

/// The metadata key a follower names its leader's endpoint in (what dcs-local follows).
pub const LEADER_METADATA: &str = "dcs-leader";

/// Retries of a proposal answered "no known leader" (a new leader confirming its lease).
const LEASE_RETRIES: u32 = 40;

pub(crate) struct SyncService {
    raft: Raft,
    verifier: Arc<dyn Verifier>,
    streams: Streams,
    stores: Vec<NodeId>,
    region: NodeId,
    queue: usize,
    max_items: usize,
}

impl SyncService {
    pub(crate) fn new(
        raft: Raft,
        region: NodeId,
        verifier: Arc<dyn Verifier>,
        streams: Streams,
        stores: Vec<NodeId>,
        queue: usize,
        max_items: usize,
    ) -> Self {
        SyncService { raft, verifier, streams, stores, region, queue: queue.max(1), max_items }
    }
}

/// UNAVAILABLE, naming the leader's sync URL when one is known.
fn not_leader(raft: &Raft) -> Status {
    let m = raft.metrics().borrow_watched().clone();
    let url = m
        .current_leader
        .and_then(|l| m.membership_config.membership().get_node(&l).map(|n| n.sync.clone()))
        .filter(|u| !u.is_empty());
    let mut s = Status::unavailable(match &url {
        Some(u) => format!("not the leader of the region: the leader is {u}"),
        None => "no leader known in the region yet: retry".to_string(),
    });
    if let Some(v) = url.and_then(|u| u.parse().ok()) {
        s.metadata_mut().insert(LEADER_METADATA, v);
    }
    s
}

#[tonic::async_trait]
impl LocalRegionalSync for SyncService {
    type PushStream = ReceiverStream<Result<pb::SyncEnvelope, Status>>;

    async fn push(
        &self,
        request: Request<Streaming<pb::SyncEnvelope>>,
    ) -> Result<Response<Self::PushStream>, Status> {
        if !is_leader(&self.raft) {
            return Err(not_leader(&self.raft));
        }
        let certs = request.peer_certs();
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(self.queue);
        let (raft, verifier, streams, stores, region, max_items) = (
            self.raft.clone(),
            Arc::clone(&self.verifier),
            Arc::clone(&self.streams),
            self.stores.clone(),
            self.region,
            self.max_items,
        );
        tokio::spawn(async move {
            let mut me = None;
            loop {
                let env = match inbound.message().await {
                    Ok(Some(env)) => env,
                    Ok(None) => break,
                    // Too large, undecodable: say why (the status carries the limit).
                    Err(s) => {
                        let why = format!("the push stream failed: {}", s.message());
                        let _ = tx.send(Err(Status::new(s.code(), why))).await;
                        break;
                    }
                };
                let (from, msg) = match dcs_proto::sync_from_pb(env) {
                    Ok(x) => x,
                    Err(e) => {
                        // A newer protocol version gets a Refuse naming ours; anything else is
                        // the sender's bug: INVALID_ARGUMENT naming the field.
                        let answer = match dcs_proto::sync_refusal(region, &e) {
                            Some(refuse) => Ok(refuse),
                            None => Err(Status::invalid_argument(e.to_string())),
                        };
                        let _ = tx.send(answer).await;
                        break;
                    }
                };
                if !stores.contains(&from) {
                    let why = format!("from: {from} is not a store of this region");
                    let _ = tx.send(Err(Status::permission_denied(why))).await;
                    break;
                }
                if let Message::Push(p) = &msg
                    && p.items.len() > max_items
                {
                    let why = format!(
                        "items: {} items in one push, this region takes at most {max_items} \
                         (the store's sync max_batch_items must not exceed it)",
                        p.items.len()
                    );
                    let _ = tx.send(Err(Status::invalid_argument(why))).await;
                    break;
                }
                if me.is_some_and(|m| m != from) {
                    let why = format!("from: a push stream speaks for one store, not {from}");
                    let _ = tx.send(Err(Status::permission_denied(why))).await;
                    break;
                }
                if me.is_none() {
                    // Mutual TLS: store N's certificate is issued for the name `store-N`.
                    if let Err(denied) = dcs_daemon::peer::require(&certs, &from.to_string()) {
                        let _ = tx.send(Err(denied)).await;
                        break;
                    }
                    me = Some(from);
                    if let Ok(mut map) = streams.lock() {
                        map.insert(from, tx.clone());
                    }
                }
                // Encoded for the entry and judged as decoded, off the runtime threads.
                let v = Arc::clone(&verifier);
                let judged = tokio::task::spawn_blocking(move || {
                    dcs_sync::encode(&msg).map(|bytes| (bytes, judge(&msg, v.as_ref())))
                })
                .await;
                let (bytes, verdicts) = match judged {
                    Ok(Ok(x)) => x,
                    // Our bug, not the store's: say so, and the store retries the push.
                    Ok(Err(e)) => {
                        let why = format!("the region cannot encode this push for its log: {e}");
                        let _ = tx.send(Err(Status::internal(why))).await;
                        break;
                    }
                    Err(e) => {
                        let why = format!("the region's verifier stopped: {e}");
                        let _ = tx.send(Err(Status::internal(why))).await;
                        break;
                    }
                };
                let p = Proposal {
                    clock: clock(),
                    input: Input::Message { from, bytes: bytes.into(), verdicts: verdicts.into() },
                };
                if let Err(status) = propose(&raft, p).await {
                    let _ = tx.send(Err(status)).await;
                    break;
                }
            }
            if let Some(from) = me
                && let Ok(mut map) = streams.lock()
                && map.get(&from).is_some_and(|t| t.same_channel(&tx))
            {
                map.remove(&from);
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn heartbeat(
        &self,
        _request: Request<pb::SyncEnvelope>,
    ) -> Result<Response<pb::SyncEnvelope>, Status> {
        Err(Status::unimplemented("heartbeats travel on the push stream"))
    }
}

/// Proposes `p`; a leader still confirming its lease is retried, a lost leadership ends the
/// stream with the redirect.
pub(super) async fn propose(raft: &Raft, p: Proposal) -> Result<(), Status> {
    for _ in 0..LEASE_RETRIES {
        match raft.client_write(p.clone()).await {
            Ok(_) => return Ok(()),
            Err(e) => match e.forward_to_leader() {
                Some(f) if f.leader_id.is_none() => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Some(_) => return Err(not_leader(raft)),
                None => return Err(Status::unavailable(format!("the region cannot commit: {e}"))),
            },
        }
    }
    Err(not_leader(raft))
}
