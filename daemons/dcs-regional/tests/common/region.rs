//! Three regional nodes in one process on 127.0.0.1 (plaintext gRPC), initialised by node 1.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;

use std::sync::Arc;
use std::time::{Duration, Instant};

use dcs_regional::node::{Forwarding, NodeConfig, RaftTimings, RegionNode, sync_url};
use dcs_regional::raft::NodeAddr;
use openraft::async_runtime::WatchReceiver;

/// A running in-process region: its nodes and their addresses.
pub struct Region {
    /// The nodes by Raft id.
    pub nodes: BTreeMap<u64, RegionNode>,
    /// Their addresses by Raft id.
    pub members: BTreeMap<u64, NodeAddr>,
}

impl Region {
    /// Starts nodes 1..=3, node `id` with `config(id)`, and makes them the first membership.
    pub async fn start(mut config: impl FnMut(u64) -> NodeConfig) -> Region {
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
            nodes.insert(id, RegionNode::start(config(id), l).await.unwrap());
        }
        nodes[&1].initialize(members.clone()).await.unwrap();
        Region { nodes, members }
    }

    /// Every node's sync URL.
    pub fn urls(&self) -> Vec<String> {
        self.members.values().map(|a| a.sync.clone()).collect()
    }
}

/// Node `id` of a test region (plaintext, the simulator's keyed verifier), its data in `dir`,
/// forwarding to `forward`'s sinks.
pub fn node_config(id: u64, dir: &std::path::Path, forward: Forwarding) -> NodeConfig {
    NodeConfig {
        node_id: id,
        data_dir: dir.to_path_buf(),
        replica: super::replica_config(),
        timings: RaftTimings::default(),
        verifier: Arc::new(super::verifier()),
        stream_queue: 1_024,
        max_snapshot_bytes: 1 << 30,
        tls: None,
        forward,
        dial: Default::default(),
        master: None,
    }
}

/// The node that says it leads (within 10 s).
pub async fn leader(nodes: &BTreeMap<u64, RegionNode>) -> u64 {
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
