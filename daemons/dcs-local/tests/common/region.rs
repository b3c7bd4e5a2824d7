//! A region for dcs-local's sync tests: the real `RegionalMachine` behind the real
//! `LocalRegionalSync` gRPC service over mutual TLS, on an ephemeral 127.0.0.1 port, with
//! the simulator's in-memory store (it keeps every accepted event, for the checks), and a
//! real `MasterMachine` above it in the same process (central prices come down from it). The
//! regional daemon (dcs-regional) replaces it once it exists. It checks every event's MAC
//! with the tenant's key, as a region does.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use dcs_core::SovereignFinancialEvent;
use dcs_crdt::ReplicaId;
use dcs_proto::pb;
use dcs_proto::pb::local_regional_sync_server::{LocalRegionalSync, LocalRegionalSyncServer};
use dcs_sync::sim::store::MemStore;
use dcs_sync::{
    Item, LivenessConfig, MasterConfig, MasterMachine, Message, NodeId, Now, RegionalConfig,
    RegionalMachine, SyncConfig, Verifier, VerifyError, pump,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

/// Checks the tenant MAC of every event.
pub struct MacVerifier(pub dcs_crypto::MacKey);

impl Verifier for MacVerifier {
    fn verify(&self, e: &SovereignFinancialEvent) -> Result<(), VerifyError> {
        self.0.verify(&e.canonical_bytes(), &e.audit().mac).map_err(|_| VerifyError::BadMac)
    }
}

/// The region's machine, its store and the open streams to its stores.
pub struct State {
    pub machine: RegionalMachine,
    pub store: MemStore,
    pub master: MasterMachine,
    master_store: MemStore,
    streams: BTreeMap<NodeId, mpsc::Sender<Result<pb::SyncEnvelope, Status>>>,
    started: Instant,
}

impl State {
    fn now(&self) -> Now {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        Now { mono_ms: self.started.elapsed().as_millis() as u64, wall_ms: wall }
    }

    /// Persists, then sends what the machines have: to the stores' streams, and between
    /// region and master in process.
    fn settle(&mut self) {
        let now = self.now();
        loop {
            pump(now, &mut self.machine, &mut self.store).unwrap();
            pump(now, &mut self.master, &mut self.master_store).unwrap();
            let mut up: Vec<Message> = Vec::new();
            while let Some((to, msg)) = self.machine.poll_transmit() {
                if to == NodeId::Master {
                    up.push(msg);
                } else if let Some(tx) = self.streams.get(&to) {
                    let env = dcs_proto::sync_to_pb(NodeId::Region(0), &msg).unwrap();
                    let _ = tx.try_send(Ok(env));
                }
            }
            let down: Vec<Message> =
                std::iter::from_fn(|| self.master.poll_transmit()).map(|(_, m)| m).collect();
            if up.is_empty() && down.is_empty() {
                return;
            }
            for m in up {
                let _ = self.master.handle_message(now, NodeId::Region(0), m);
            }
            for m in down {
                let _ = self.machine.handle_message(now, NodeId::Master, m);
            }
        }
    }

    /// Fires both machines' due timers.
    fn tick(&mut self) {
        let now = self.now();
        self.machine.handle_timeout(now);
        self.master.handle_timeout(now);
        self.settle();
    }

    /// Sets a central price at the master (it reaches the store through the region).
    pub fn set_price(&mut self, sku: &str, minor: i64) {
        let now = self.now();
        self.master.set_price(now, sku, minor).unwrap();
        self.settle();
    }

    /// Registers `key` as `agent`'s public key at the master (it reaches the store through
    /// the region).
    pub fn register(&mut self, tenant: &str, agent: &str, algorithm: &str, key: &[u8]) {
        let now = self.now();
        self.master.register_key(now, tenant, agent, algorithm, key).unwrap();
        self.settle();
    }

    /// Revokes `agent` of `tenant` at the master from `from_ms` (it reaches the store
    /// through the region).
    pub fn revoke(&mut self, tenant: &str, agent: &str, from_ms: u64, reason: &str) {
        let now = self.now();
        self.master.revoke_key(now, tenant, agent, from_ms, reason).unwrap();
        self.settle();
    }

    /// Ids of the events this region holds, in acceptance order.
    pub fn event_ids(&self) -> Vec<[u8; 16]> {
        self.store
            .items
            .iter()
            .filter_map(|(_, _, i)| match i {
                Item::Event(e) => Some(*e.event_id().as_bytes()),
                Item::Summary(_) => None,
            })
            .collect()
    }
}

/// A running test region.
pub struct TestRegion {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestRegion {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

struct Service {
    state: Arc<Mutex<State>>,
    /// Some: a follower that names this leader instead of serving.
    leader: Option<String>,
}

#[tonic::async_trait]
impl LocalRegionalSync for Service {
    type PushStream = ReceiverStream<Result<pb::SyncEnvelope, Status>>;

    async fn push(
        &self,
        request: Request<Streaming<pb::SyncEnvelope>>,
    ) -> Result<Response<Self::PushStream>, Status> {
        if let Some(leader) = &self.leader {
            let mut s = Status::unavailable("not the leader of the region");
            s.metadata_mut().insert("dcs-leader", leader.parse().unwrap());
            return Err(s);
        }
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(256);
        let state = Arc::clone(&self.state);
        tokio::spawn(async move {
            while let Ok(Some(env)) = inbound.message().await {
                let Ok((from, msg)) = dcs_proto::sync_from_pb(env) else { return };
                let mut s = state.lock().unwrap();
                s.streams.insert(from, tx.clone());
                let now = s.now();
                let _ = s.machine.handle_message(now, from, msg);
                s.settle();
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn heartbeat(
        &self,
        request: Request<pb::SyncEnvelope>,
    ) -> Result<Response<pb::SyncEnvelope>, Status> {
        let _ = request;
        Err(Status::unimplemented("heartbeats travel on the push stream"))
    }
}

/// The certificates of a test: a development CA, the region's and the store's (in `dir`).
pub fn certs(dir: &Path) -> (dcs_daemon::tls::TlsFiles, dcs_daemon::tls::TlsFiles) {
    let ca = dcs_daemon::tls::DevCa::open_or_create(&dir.join("ca")).unwrap();
    let region = ca.write_node(&dir.join("region"), "region", &["dcs-regional"]).unwrap();
    let store = ca.write_node(&dir.join("store"), "store", &["store-1"]).unwrap();
    (region, store)
}

/// Starts a region for store 1 on `addr` (port 0: any); `leader`: a follower pointing there.
pub async fn start(
    addr: SocketAddr,
    tls: &dcs_daemon::tls::TlsFiles,
    mac: dcs_crypto::MacKey,
    leader: Option<String>,
) -> TestRegion {
    let sync = SyncConfig { sync_interval_ms: 500, batch_delay_ms: 0, ..SyncConfig::default() };
    let cfg = RegionalConfig {
        node: NodeId::Region(0),
        master: NodeId::Master,
        stores: vec![NodeId::Store(1)],
        replica: ReplicaId(100),
        sync,
        liveness: LivenessConfig::default(),
    };
    let started = Instant::now();
    let now = Now { mono_ms: 0, wall_ms: 0 };
    let machine = RegionalMachine::new(cfg, Box::new(MacVerifier(mac)), now, 5).unwrap();
    let master_cfg = MasterConfig {
        regions: vec![NodeId::Region(0)],
        replica: ReplicaId(1),
        sync,
        liveness: LivenessConfig::default(),
    };
    let master = MasterMachine::new(master_cfg, now, 6).unwrap();
    let state = Arc::new(Mutex::new(State {
        machine,
        store: MemStore::default(),
        master,
        master_store: MemStore::default(),
        streams: BTreeMap::new(),
        started,
    }));
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let service = Service { state: Arc::clone(&state), leader };
    let server = tonic::transport::Server::builder()
        .tls_config(tls.server_config().unwrap())
        .unwrap()
        .add_service(LocalRegionalSyncServer::new(service))
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            async {
                let _ = stopped.await;
            },
        );
    tokio::spawn(server);
    let ticking = Arc::downgrade(&state);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let Some(state) = ticking.upgrade() else { return };
            let Ok(mut s) = state.lock() else { return };
            s.tick();
        }
    });
    TestRegion { addr, state, stop: Some(stop) }
}

/// The daemon's config pointed at `endpoints` with the store's certificates in `tls`.
pub fn point_at(data_dir: &Path, endpoints: &[String], tls: &dcs_daemon::tls::TlsFiles) {
    let path = data_dir.join("dcs-local.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let list = endpoints.iter().map(|e| format!("{e:?}")).collect::<Vec<_>>().join(", ");
    let mut text = text.replace("endpoints = []", &format!("endpoints = [{list}]"));
    text = text.replace("sync_interval_ms = 5000", "sync_interval_ms = 300");
    text.push_str(&format!(
        "\n[region.tls]\nca = {:?}\ncert = {:?}\nkey = {:?}\n",
        tls.ca.display().to_string(),
        tls.cert.display().to_string(),
        tls.key.display().to_string()
    ));
    std::fs::write(path, text).unwrap();
}

/// A free 127.0.0.1 port (bound then released).
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// The tenant MAC key of a data directory.
pub fn mac_key(data_dir: &Path) -> dcs_crypto::MacKey {
    dcs_crypto::MacKey::from_bytes(&std::fs::read(data_dir.join("keys/mac.key")).unwrap()).unwrap()
}
