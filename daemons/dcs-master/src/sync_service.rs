//! `RegionalMasterSync` on the master: a region's leader opens one `Exchange` stream and
//! sends its pushes and heartbeats on it; the master answers on the same stream. A stream
//! speaks for one region, whose certificate must be named `region-N`; a message of a newer
//! protocol version gets a `Refuse` naming the master's version.

use std::sync::Arc;

use dcs_proto::pb;
use dcs_proto::pb::regional_master_sync_server::RegionalMasterSync;
use dcs_sync::{Message, NodeId};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::driver::{Input, Inputs, Streams};

/// The service.
pub struct SyncService {
    inputs: Inputs,
    streams: Streams,
    regions: Arc<Vec<NodeId>>,
    queue: usize,
    max_items: usize,
}

impl SyncService {
    /// Serves `regions`, queueing their messages on `inputs`; up to `queue` answers wait per
    /// stream, and a push may carry at most `max_items` items.
    pub fn new(
        inputs: Inputs,
        streams: Streams,
        regions: Vec<NodeId>,
        queue: usize,
        max_items: usize,
    ) -> Self {
        SyncService { inputs, streams, regions: Arc::new(regions), queue: queue.max(1), max_items }
    }
}

#[tonic::async_trait]
impl RegionalMasterSync for SyncService {
    type ExchangeStream = ReceiverStream<Result<pb::SyncEnvelope, Status>>;

    async fn exchange(
        &self,
        request: Request<Streaming<pb::SyncEnvelope>>,
    ) -> Result<Response<Self::ExchangeStream>, Status> {
        let certs = request.peer_certs();
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(self.queue);
        let (inputs, streams, regions, max_items) = (
            self.inputs.clone(),
            Arc::clone(&self.streams),
            Arc::clone(&self.regions),
            self.max_items,
        );
        tokio::spawn(async move {
            let mut me = None;
            loop {
                let env = match inbound.message().await {
                    Ok(Some(env)) => env,
                    Ok(None) => break,
                    Err(s) => {
                        let why = format!("the exchange stream failed: {}", s.message());
                        let _ = tx.send(Err(Status::new(s.code(), why))).await;
                        break;
                    }
                };
                let version = env.version;
                let (from, msg) = match dcs_proto::sync_from_pb(env) {
                    Ok(x) => x,
                    Err(e) => {
                        let answer = match dcs_proto::sync_refusal(NodeId::Master, &e) {
                            Some(refuse) => Ok(refuse),
                            None => Err(Status::invalid_argument(e.to_string())),
                        };
                        let _ = tx.send(answer).await;
                        break;
                    }
                };
                if !regions.contains(&from) {
                    let why = format!("from: {from} is not a region of this master");
                    let _ = tx.send(Err(Status::permission_denied(why))).await;
                    break;
                }
                if me.is_some_and(|m| m != from) {
                    let why = format!("from: an exchange stream speaks for one region, not {from}");
                    let _ = tx.send(Err(Status::permission_denied(why))).await;
                    break;
                }
                if let Message::Push(p) = &msg
                    && p.items.len() > max_items
                {
                    let why = format!(
                        "items: {} items in one push, the master takes at most {max_items}",
                        p.items.len()
                    );
                    let _ = tx.send(Err(Status::invalid_argument(why))).await;
                    break;
                }
                if me.is_none() {
                    // Mutual TLS: region N's leader presents a certificate named `region-N`.
                    if let Err(denied) = dcs_daemon::peer::require(&certs, &from.to_string()) {
                        let _ = tx.send(Err(denied)).await;
                        break;
                    }
                    me = Some(from);
                    if let Ok(mut map) = streams.lock() {
                        map.insert(from, tx.clone());
                    }
                    tracing::info!(region = %from, "a region connected");
                }
                metrics::counter!("dcs_master_messages_total", "direction" => "in").increment(1);
                // A full queue drops the message: the region resends it.
                inputs.offer(Input::Message { from, msg: Box::new(msg), version });
            }
            if let Some(from) = me
                && let Ok(mut map) = streams.lock()
                && map.get(&from).is_some_and(|t| t.same_channel(&tx))
            {
                map.remove(&from);
                tracing::info!(region = %from, "a region's stream ended");
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn heartbeat(
        &self,
        _request: Request<pb::SyncEnvelope>,
    ) -> Result<Response<pb::SyncEnvelope>, Status> {
        Err(Status::unimplemented("heartbeats travel on the exchange stream"))
    }

    async fn report_status(
        &self,
        request: Request<pb::RegionStatus>,
    ) -> Result<Response<pb::RegionStatusAck>, Status> {
        let certs = request.peer_certs();
        let status = request.into_inner();
        let number = u16::try_from(status.region)
            .map_err(|_| Status::invalid_argument("region: not a region number (0–65535)"))?;
        let region = NodeId::Region(number);
        if !self.regions.contains(&region) {
            return Err(Status::permission_denied(format!(
                "region: {region} is not a region of this master"
            )));
        }
        // Mutual TLS: only region N's certificate speaks for region N.
        dcs_daemon::peer::require(&certs, &region.to_string())?;
        let reach = store_reach(&status.stores)?;
        let names = store_names(&status.stores)?;
        let report = raft_report(status)?;
        // A full queue drops the report: the next one comes in a few seconds.
        self.inputs.offer(Input::RaftReport {
            region: u32::from(number),
            report: Box::new(report),
            reach,
            names,
        });
        Ok(Response::new(pb::RegionStatusAck {}))
    }
}

/// Longest address or version a status report may carry.
const MAX_STATUS_TEXT: usize = 256;

/// The report's per-store reach, checked: at most `MAX_REACH_STORES`, each store once.
fn store_reach(stores: &[pb::StoreReach]) -> Result<Vec<(u32, u64)>, Status> {
    use dcs_store::sqlite::MAX_REACH_STORES;
    if stores.len() > MAX_REACH_STORES {
        return Err(Status::invalid_argument(format!(
            "stores: {} stores, at most {MAX_REACH_STORES}",
            stores.len()
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::with_capacity(stores.len());
    for (i, s) in stores.iter().enumerate() {
        if !seen.insert(s.store) {
            return Err(Status::invalid_argument(format!(
                "stores[{i}].store: store {} is named twice",
                s.store
            )));
        }
        if i64::try_from(s.master_position).is_err() {
            return Err(Status::invalid_argument(format!(
                "stores[{i}].master_position: past the largest position a master makes"
            )));
        }
        out.push((s.store, s.master_position));
    }
    Ok(out)
}

/// The branch each store of the report is named by (stores not yet named are left out),
/// checked as an event's branch id is. Call after `store_reach` (which bounds the list).
fn store_names(stores: &[pb::StoreReach]) -> Result<Vec<(u32, String)>, Status> {
    let mut out = Vec::new();
    for (i, s) in stores.iter().enumerate().filter(|(_, s)| !s.branch.is_empty()) {
        let branch = dcs_core::BranchId::new(&s.branch)
            .map_err(|e| Status::invalid_argument(format!("stores[{i}].branch: {e}")))?;
        out.push((s.store, branch.as_str().to_string()));
    }
    Ok(out)
}

/// A region's status report, checked: INVALID_ARGUMENT names the field out of bounds.
fn raft_report(s: pb::RegionStatus) -> Result<dcs_store::sqlite::RaftReport, Status> {
    use dcs_store::sqlite::{MAX_RAFT_MEMBERS, RaftMember, RaftReport, SinkBacklog};
    if s.nodes.len() > MAX_RAFT_MEMBERS {
        return Err(Status::invalid_argument(format!(
            "nodes: {} members, at most {MAX_RAFT_MEMBERS}",
            s.nodes.len()
        )));
    }
    if s.version.len() > MAX_STATUS_TEXT {
        return Err(Status::invalid_argument(format!(
            "version: longer than {MAX_STATUS_TEXT} bytes"
        )));
    }
    let mut members = Vec::with_capacity(s.nodes.len());
    for (i, n) in s.nodes.into_iter().enumerate() {
        if n.addr.len() > MAX_STATUS_TEXT {
            return Err(Status::invalid_argument(format!(
                "nodes[{i}].addr: longer than {MAX_STATUS_TEXT} bytes"
            )));
        }
        members.push(RaftMember { id: n.id, addr: n.addr, voter: n.voter, matched: n.matched });
    }
    if s.sinks.len() > MAX_RAFT_MEMBERS {
        return Err(Status::invalid_argument(format!(
            "sinks: {} sinks, at most {MAX_RAFT_MEMBERS}",
            s.sinks.len()
        )));
    }
    let mut sinks = Vec::with_capacity(s.sinks.len());
    for (i, k) in s.sinks.into_iter().enumerate() {
        if k.sink.len() > MAX_STATUS_TEXT {
            return Err(Status::invalid_argument(format!(
                "sinks[{i}].sink: longer than {MAX_STATUS_TEXT} bytes"
            )));
        }
        // A long error is cut, not refused: the report is still worth keeping.
        let mut problem = k.problem;
        if problem.len() > MAX_STATUS_TEXT {
            let mut end = MAX_STATUS_TEXT;
            while !problem.is_char_boundary(end) {
                end -= 1;
            }
            problem.truncate(end);
            problem.push('…');
        }
        sinks.push(SinkBacklog {
            sink: k.sink,
            backlog: k.backlog,
            problem: (!problem.is_empty()).then_some(problem),
        });
    }
    if !members.iter().any(|m| m.id == s.leader) {
        return Err(Status::invalid_argument("leader: not one of nodes"));
    }
    Ok(RaftReport {
        term: s.term,
        leader: s.leader,
        committed: s.committed,
        applied: s.applied,
        members,
        at_ms: s.at_unix_ms,
        version: s.version,
        sinks,
    })
}
