//! Three regional nodes (the daemon's runtime: Raft over gRPC, `LocalRegionalSync`, the
//! driver) in one process on 127.0.0.1, and a store syncing over real gRPC streams: a
//! follower redirects the store to the leader, every acknowledged event is on every replica
//! once, the leader goes away, the store finds the new leader and nothing is lost or doubled.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use dcs_proto::pb::local_regional_sync_client::LocalRegionalSyncClient;
use dcs_regional::node::{LEADER_METADATA, NodeConfig, RaftTimings, RegionNode, sync_url};
use dcs_regional::raft::NodeAddr;
use dcs_sync::sim::store::MemStore;
use dcs_sync::{LocalMachine, NodeId, Now, pump};
use openraft::async_runtime::WatchReceiver;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

fn wall() -> Now {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    Now { mono_ms: ms, wall_ms: ms }
}

fn node_config(id: u64, dir: &std::path::Path) -> NodeConfig {
    NodeConfig {
        node_id: id,
        data_dir: dir.to_path_buf(),
        replica: replica_config(),
        timings: RaftTimings::default(),
        verifier: Arc::new(verifier()),
        stream_queue: 256,
        max_snapshot_bytes: 1 << 30,
    }
}

struct Store {
    m: LocalMachine,
    host: MemStore,
    next: u64,
}

impl Store {
    fn append(&mut self, n: u64) {
        for _ in 0..n {
            self.next += 1;
            let at = wall();
            let (e, body) = event(&mut self.m, 1, self.next, at);
            self.m.append(at, e, Some(&body)).unwrap();
        }
        pump(wall(), &mut self.m, &mut self.host).unwrap();
    }

    /// Syncs over one stream to `url` until nothing is left to send; a redirect is followed
    /// (returned as Err(Some(url))), a failure is Err(None).
    async fn sync(&mut self, url: &str) -> Result<(), Option<String>> {
        let channel = tonic::transport::Endpoint::from_shared(url.to_string())
            .map_err(|_| None)?
            .connect()
            .await
            .map_err(|_| None)?;
        let mut client = LocalRegionalSyncClient::new(channel);
        let (tx, rx) = mpsc::channel(64);
        let mut inbound = match client.push(ReceiverStream::new(rx)).await {
            Ok(r) => r.into_inner(),
            Err(s) => {
                let to = s.metadata().get(LEADER_METADATA).and_then(|v| v.to_str().ok());
                return Err(to.map(str::to_string));
            }
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let now = wall();
            self.m.handle_timeout(now);
            pump(now, &mut self.m, &mut self.host).unwrap();
            while let Some((_, msg)) = self.m.poll_transmit() {
                let env = dcs_proto::sync_to_pb(NodeId::Store(1), &msg).unwrap();
                tx.send(env).await.map_err(|_| None)?;
            }
            if self.m.lag() == 0 {
                return Ok(());
            }
            assert!(
                Instant::now() < deadline,
                "the region never acknowledged (lag {})",
                self.m.lag()
            );
            match tokio::time::timeout(Duration::from_millis(100), inbound.message()).await {
                Ok(Ok(Some(env))) => {
                    let (from, msg) = dcs_proto::sync_from_pb(env).unwrap();
                    self.m.handle_message(wall(), from, msg).unwrap();
                    pump(wall(), &mut self.m, &mut self.host).unwrap();
                }
                Ok(Ok(None)) | Ok(Err(_)) => return Err(None),
                Err(_) => {}
            }
        }
    }

    /// Syncs through any of `urls`, following redirects; returns the URL that served.
    async fn sync_any(&mut self, urls: &[String]) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            for u in urls {
                let mut url = u.clone();
                for _ in 0..3 {
                    match self.sync(&url).await {
                        Ok(()) => return url,
                        Err(Some(to)) => url = to,
                        Err(None) => break,
                    }
                }
            }
            assert!(Instant::now() < deadline, "no node took the store's pushes");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn accepted(node: &RegionNode) -> Vec<u64> {
    let r = node.state_machine.replica().lock().unwrap();
    r.store().accepted_after(0, 100_000).unwrap().iter().map(|a| a.child_pos).collect()
}

async fn leader(nodes: &BTreeMap<u64, RegionNode>) -> u64 {
    let start = Instant::now();
    loop {
        for (id, n) in nodes {
            if n.raft.metrics().borrow_watched().current_leader == Some(*id) {
                return *id;
            }
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no leader");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn converged(nodes: &BTreeMap<u64, RegionNode>, want: &[u64]) {
    let start = Instant::now();
    while !nodes.values().all(|n| accepted(n) == want) {
        assert!(start.elapsed() < Duration::from_secs(20), "replicas did not converge");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_syncs_through_the_leader_and_survives_a_failover() {
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut listeners = BTreeMap::new();
    let mut members = BTreeMap::new();
    for id in 1..=3u64 {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        members.insert(id, NodeAddr { raft: addr.to_string(), sync: sync_url(addr, false) });
        listeners.insert(id, l);
    }
    let mut nodes = BTreeMap::new();
    for (id, l) in listeners {
        let n = RegionNode::start(node_config(id, dirs[id as usize - 1].path()), l, None)
            .await
            .unwrap();
        nodes.insert(id, n);
    }
    nodes[&1].initialize(members.clone()).await.unwrap();
    let first = leader(&nodes).await;
    let follower = (1..=3).find(|i| *i != first).unwrap();

    let mut s = Store { m: store(1), host: MemStore::default(), next: 0 };
    // A follower names the leader.
    s.append(1);
    let err = s.sync(&members[&follower].sync).await.unwrap_err();
    assert_eq!(err.as_deref(), Some(members[&first].sync.as_str()), "redirected to the leader");
    for _ in 0..10 {
        s.append(10);
        let served = s.sync_any(&[members[&follower].sync.clone()]).await;
        assert_eq!(served, members[&first].sync);
    }
    let want: Vec<u64> = (1..=101).collect();
    converged(&nodes, &want).await;

    // The leader goes; the store finds the new one through whichever node it asks.
    let old = nodes.remove(&first).unwrap();
    old.shutdown().await;
    s.append(50);
    let urls: Vec<String> = members.values().map(|a| a.sync.clone()).collect();
    let served = s.sync_any(&urls).await;
    let second = leader(&nodes).await;
    assert_eq!(served, members[&second].sync);
    let want: Vec<u64> = (1..=151).collect();
    converged(&nodes, &want).await;
    for n in nodes.into_values() {
        n.shutdown().await;
    }
}
