//! Three regional nodes (the daemon's runtime: Raft over gRPC, `LocalRegionalSync`, the
//! driver) in one process on 127.0.0.1, and a store syncing over real gRPC streams: a
//! follower redirects the store to the leader, every acknowledged event is on every replica
//! once, the leader goes away, the store finds the new leader and nothing is lost or doubled.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::client::StoreClient;
use common::region::{Region, leader, node_config};
use dcs_regional::node::RegionNode;

fn accepted(node: &RegionNode) -> Vec<u64> {
    let r = node.state_machine.replica().lock().unwrap();
    r.store().accepted_after(0, 100_000).unwrap().iter().map(|a| a.child_pos).collect()
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
    let region =
        Region::start(|id| node_config(id, dirs[id as usize - 1].path(), Default::default())).await;
    let (mut nodes, members) = (region.nodes, region.members);
    let first = leader(&nodes).await;
    let follower = (1..=3).find(|i| *i != first).unwrap();

    let mut s = StoreClient::new(1, None);
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
