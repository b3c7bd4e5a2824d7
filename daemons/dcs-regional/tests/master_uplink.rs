//! The leader's uplink to the master, in one process on 127.0.0.1 (plaintext gRPC): three
//! regional nodes, two stores syncing over `LocalRegionalSync`, and a master serving
//! `RegionalMasterSync/Exchange` over a real `dcs_sync::MasterMachine` (its store the
//! simulator's `MemStore`). Every acknowledged event's summary reaches the master exactly
//! once, the region's outbox towards the master drains on every replica, a central price set
//! on the master reaches every replica, and after the leader goes the new leader reconnects
//! and the rest of the summaries still arrive exactly once. A "master" that speaks for
//! someone else has its stream dropped, and the leader reconnects with backoff.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::client::{StoreClient, wall};
use common::region::{Region, leader, node_config};
use dcs_core::EventId;
use dcs_crdt::ReplicaId;
use dcs_proto::pb;
use dcs_proto::pb::regional_master_sync_server::{RegionalMasterSync, RegionalMasterSyncServer};
use dcs_regional::config::MasterSection;
use dcs_regional::node::{MasterLink, NodeConfig, RegionNode};
use dcs_sync::sim::store::MemStore;
use dcs_sync::{Ack, LivenessConfig, MasterConfig, MasterMachine, Message, NodeId, Stats, pump};
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{Request, Response, Status, Streaming};

type Out = mpsc::Sender<Result<pb::SyncEnvelope, Status>>;

/// The master: its machine over its in-memory store, and how many streams it was opened.
struct MasterState {
    machine: MasterMachine,
    store: MemStore,
    streams: u64,
    /// The leaders' Raft status reports, in arrival order.
    reports: Vec<pb::RegionStatus>,
}

impl MasterState {
    /// Persists what the machine wrote and sends its outputs on `out`.
    fn step(&mut self, out: Option<&Out>) {
        pump(wall(), &mut self.machine, &mut self.store).unwrap();
        while let Some((to, msg)) = self.machine.poll_transmit() {
            assert_eq!(to, NodeId::Region(0), "the master only knows region 0");
            let env = dcs_proto::sync_to_pb(NodeId::Master, &msg).unwrap();
            if let Some(tx) = out {
                // A full stream drops the answer: the region retransmits.
                let _ = tx.try_send(Ok(env));
            }
        }
    }
}

type Shared = Arc<Mutex<MasterState>>;

/// How the test master answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Drives the master machine.
    Real,
    /// Answers every stream with an ack that claims to come from a store.
    Impostor,
}

#[derive(Clone)]
struct MasterService {
    shared: Shared,
    mode: Mode,
}

#[tonic::async_trait]
impl RegionalMasterSync for MasterService {
    type ExchangeStream = ReceiverStream<Result<pb::SyncEnvelope, Status>>;

    async fn exchange(
        &self,
        request: Request<Streaming<pb::SyncEnvelope>>,
    ) -> Result<Response<Self::ExchangeStream>, Status> {
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(256);
        self.shared.lock().unwrap().streams += 1;
        if self.mode == Mode::Impostor {
            let ack = Message::Ack(Ack {
                batch: 1,
                durable_pos: 1_000,
                rejected: vec![],
                crdt: None,
                have: 0,
                hlc: 0,
            });
            tx.try_send(Ok(dcs_proto::sync_to_pb(NodeId::Store(1), &ack).unwrap())).unwrap();
        }
        let shared = Arc::clone(&self.shared);
        let mode = self.mode;
        tokio::spawn(async move {
            while let Ok(Some(env)) = inbound.message().await {
                let (from, msg) = dcs_proto::sync_from_pb(env).unwrap();
                assert_eq!(from, NodeId::Region(0));
                if mode == Mode::Real {
                    let mut m = shared.lock().unwrap();
                    m.machine.handle_message(wall(), from, msg).unwrap();
                    m.step(Some(&tx));
                }
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
        self.shared.lock().unwrap().reports.push(request.into_inner());
        Ok(Response::new(pb::RegionStatusAck {}))
    }
}

/// Starts a master on 127.0.0.1; returns its state and URL.
async fn start_master(mode: Mode) -> (Shared, String) {
    let config = MasterConfig {
        regions: vec![NodeId::Region(0)],
        replica: ReplicaId(1),
        sync: common::sync_config(),
        liveness: LivenessConfig::default(),
    };
    let machine = MasterMachine::new(config, wall(), 5).unwrap();
    let shared = Arc::new(Mutex::new(MasterState {
        machine,
        store: MemStore::default(),
        streams: 0,
        reports: vec![],
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let service = MasterService { shared: Arc::clone(&shared), mode };
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(RegionalMasterSyncServer::new(service))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    // The master's own timers (failure detection of the region).
    let timers = Arc::clone(&shared);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let mut m = timers.lock().unwrap();
            m.machine.handle_timeout(wall());
            m.step(None);
        }
    });
    (shared, url)
}

fn link(url: &str) -> MasterLink {
    MasterLink {
        url: url.to_string(),
        tls: None,
        connect_timeout: Duration::from_secs(2),
        retry_base_ms: 50,
        retry_max_ms: 400,
        queue: 64,
        status_every: Duration::from_millis(200),
    }
}

/// Starts a region whose nodes stream to the master at `url`.
async fn start_region(dirs: &[tempfile::TempDir], url: &str) -> Region {
    Region::start(|id| NodeConfig {
        master: Some(link(url)),
        ..node_config(id, dirs[id as usize - 1].path(), Default::default())
    })
    .await
}

async fn eventually(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The events a replica accepted.
fn accepted(node: &RegionNode) -> BTreeSet<EventId> {
    let r = node.state_machine.replica().lock().unwrap();
    r.store().accepted_after(0, 100_000).unwrap().iter().map(|a| a.item.event_id()).collect()
}

/// The summaries the master stored: their region outbox positions and event ids.
fn at_master(master: &Shared) -> (Vec<u64>, Vec<EventId>, Stats) {
    let m = master.lock().unwrap();
    for (from, _, item) in &m.store.items {
        assert_eq!(*from, NodeId::Region(0));
        assert!(matches!(item, dcs_sync::Item::Summary(_)), "the master stores summaries");
    }
    let mut pos: Vec<u64> = m.store.items.iter().map(|(_, p, _)| *p).collect();
    pos.sort_unstable();
    let ids = m.store.items.iter().map(|(_, _, i)| i.event_id()).collect();
    (pos, ids, m.machine.stats())
}

/// Every summary of the events in `want` is at the master, exactly once.
async fn summaries_once(master: &Shared, want: &BTreeSet<EventId>) {
    let n = want.len() as u64;
    eventually("the master holds every summary", Duration::from_secs(30), || {
        at_master(master).0.len() as u64 >= n
    })
    .await;
    let (pos, ids, stats) = at_master(master);
    assert_eq!(pos, (1..=n).collect::<Vec<_>>(), "each region outbox position once");
    assert_eq!(ids.len(), want.len(), "no summary twice");
    assert_eq!(&ids.into_iter().collect::<BTreeSet<_>>(), want, "the acknowledged events");
    assert_eq!(stats.accepted, n, "the master stored each summary once");
}

/// Every replica's outbox towards the master is empty (the master's acks were applied).
async fn drained(nodes: &BTreeMap<u64, RegionNode>) {
    eventually("the outbox towards the master drains", Duration::from_secs(30), || {
        nodes.values().all(|n| n.state_machine.replica().lock().unwrap().machine().lag() == 0)
    })
    .await;
}

async fn sync_stores(stores: &mut [StoreClient], urls: &[String], events: u64) {
    for s in stores.iter_mut() {
        s.append(events);
        s.sync_any(urls).await;
        assert_eq!(s.acked, s.next, "store {} fully acknowledged", s.n);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn summaries_reach_the_master_once_and_prices_come_down_across_a_failover() {
    let (master, url) = start_master(Mode::Real).await;
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let region = start_region(&dirs, &url).await;
    let urls = region.urls();
    let mut nodes = region.nodes;
    let first = leader(&nodes).await;

    let mut stores = vec![StoreClient::new(1, None), StoreClient::new(2, None)];
    sync_stores(&mut stores, &urls, 20).await;
    sync_stores(&mut stores, &urls, 15).await;
    let events = accepted(&nodes[&first]);
    assert_eq!(events.len(), 70);
    summaries_once(&master, &events).await;
    drained(&nodes).await;
    assert_eq!(master.lock().unwrap().streams, 1, "one stream while one node leads");
    // The leader reports its cluster: itself as leader, three voters, each caught up.
    eventually("a status report with every member caught up", Duration::from_secs(20), || {
        let m = master.lock().unwrap();
        m.reports.last().is_some_and(|r| {
            r.leader == first
                && r.region == 0
                && r.nodes.len() == 3
                && r.nodes.iter().all(|n| n.voter && n.matched.is_some_and(|x| x >= r.committed))
        })
    })
    .await;

    // A central price set on the master comes down with its acks to every replica.
    {
        let mut m = master.lock().unwrap();
        m.machine.set_price(wall(), "MUG", 499).unwrap();
        m.step(None);
    }
    eventually("the central price reaches every replica", Duration::from_secs(30), || {
        nodes.values().all(|n| {
            n.state_machine.replica().lock().unwrap().machine().state().price("MUG") == Some(499)
        })
    })
    .await;

    // The leader goes: the new one reconnects; the rest arrives exactly once.
    nodes.remove(&first).unwrap().shutdown().await;
    let second = leader(&nodes).await;
    assert_ne!(first, second);
    let urls: Vec<String> =
        urls.into_iter().filter(|u| *u != region.members[&first].sync).collect();
    sync_stores(&mut stores, &urls, 25).await;
    let events = accepted(&nodes[&second]);
    assert_eq!(events.len(), 120);
    summaries_once(&master, &events).await;
    drained(&nodes).await;
    assert!(master.lock().unwrap().streams >= 2, "the new leader opened its own stream");
    eventually("the new leader reports, in a later term", Duration::from_secs(20), || {
        let m = master.lock().unwrap();
        let first_term = m.reports.iter().find(|r| r.leader == first).map_or(0, |r| r.term);
        m.reports.last().is_some_and(|r| r.leader == second && r.term > first_term)
    })
    .await;
    for n in nodes.into_values() {
        n.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stream_speaking_for_someone_else_is_dropped_and_reopened() {
    let (master, url) = start_master(Mode::Impostor).await;
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let region = start_region(&dirs, &url).await;
    let urls = region.urls();
    let nodes = region.nodes;
    let mut stores = vec![StoreClient::new(1, None)];
    sync_stores(&mut stores, &urls, 5).await;
    // Each stream is dropped at its first message and reopened after a backoff.
    eventually("the leader reconnects", Duration::from_secs(20), || {
        master.lock().unwrap().streams >= 4
    })
    .await;
    // The impostor's ack was never applied: the summaries are still unacknowledged.
    for n in nodes.values() {
        assert_eq!(n.state_machine.replica().lock().unwrap().machine().lag(), 5);
    }
    for n in nodes.into_values() {
        n.shutdown().await;
    }
}

#[test]
fn the_master_url_is_checked() {
    let with = |url: &str| MasterSection { url: url.into(), ..MasterSection::default() };
    assert!(MasterSection::default().check(true).is_ok(), "no master: the region runs alone");
    assert!(MasterSection::default().link(None).is_none());
    assert!(with("https://master.example:7500").check(true).is_ok());
    assert!(with("http://127.0.0.1:7500").check(false).is_ok());
    let err = with("http://master:7500").check(true).unwrap_err();
    assert!(err.contains("https"), "{err}");
    assert!(with("https://master:7500").check(false).is_err(), "plaintext needs http");
    assert!(with("master:7500").check(true).is_err());
    assert!(with("https://master:7500/sync").check(true).is_err());
    assert!(with("https://").check(true).is_err());
    assert!(with("https://master:99999").check(true).is_err());
    let mut s = with("https://master:7500");
    s.server_name.clear();
    assert!(s.check(true).unwrap_err().contains("master.server_name"));
    let l = with(" https://master:7500 ").link(None).unwrap();
    assert_eq!(l.url, "https://master:7500");
}
