//! Three regional nodes in one process on 127.0.0.1 (plaintext gRPC), initialised by node 1.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;

use dcs_regional::node::{NodeConfig, RegionNode, sync_url};
use dcs_regional::raft::NodeAddr;

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
