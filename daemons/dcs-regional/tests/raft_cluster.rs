//! Three regional nodes in one process, each with its own SQLite log and replica file, talking
//! Raft over tonic on 127.0.0.1: a store's pushes committed through the leader are applied on
//! every replica identically; the ack comes from the applied entry; the leader is shut down
//! and a new one takes over within two election timeouts; the store's retransmitted push adds
//! nothing; the old leader restarts from its files and catches up.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use dcs_proto::pb::region_raft_server::RegionRaftServer;
use dcs_regional::raft::{
    LogStoreConfig, Network, NetworkConfig, NodeAddr, Raft, RaftService, RegionStateMachine,
    SqliteLogStore,
};
use dcs_regional::replica::{Input, Proposal, Replica, judge};
use dcs_sync::sim::store::MemStore;
use dcs_sync::{LocalMachine, Message, NodeId, encode, pump};
use openraft::async_runtime::WatchReceiver;

const ELECTION_MAX_MS: u64 = 1_200;

struct Node {
    raft: Raft,
    sm: RegionStateMachine,
    server: tokio::task::JoinHandle<()>,
}

fn config() -> Arc<openraft::Config> {
    Arc::new(
        openraft::Config {
            cluster_name: "region-0".into(),
            heartbeat_interval: 100,
            election_timeout_min: 600,
            election_timeout_max: ELECTION_MAX_MS,
            enable_pre_vote: Some(true),
            ..Default::default()
        }
        .validate()
        .unwrap(),
    )
}

async fn start(id: u64, dir: &std::path::Path, listener: tokio::net::TcpListener) -> Node {
    let log = SqliteLogStore::open(&dir.join("raft.db"), LogStoreConfig::default()).unwrap();
    let replica = Replica::open(&dir.join("replica.db"), replica_config()).unwrap();
    let sm =
        RegionStateMachine::new(Arc::new(Mutex::new(replica)), &dir.join("snapshots")).unwrap();
    let raft = Raft::new(id, config(), Network::new(NetworkConfig::default()), log, sm.clone())
        .await
        .unwrap();
    let service = RaftService::new(raft.clone(), sm.clone(), dir.join("snapshots"), 1 << 30);
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let server = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(RegionRaftServer::new(service))
            .serve_with_incoming(incoming)
            .await;
    });
    Node { raft, sm, server }
}

async fn leader(nodes: &BTreeMap<u64, Node>, timeout: Duration) -> u64 {
    let start = Instant::now();
    loop {
        for n in nodes.values() {
            let m = n.raft.metrics().borrow_watched().clone();
            if m.current_leader == Some(m.id) && nodes.contains_key(&m.id) {
                return m.id;
            }
        }
        assert!(start.elapsed() < timeout, "no leader within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every message the replica of `node` computed (drained on every node: only the leader's
/// would be sent).
fn drain(node: &Node) -> Vec<(NodeId, Message)> {
    let mut r = node.sm.replica().lock().unwrap();
    std::iter::from_fn(|| r.poll_transmit()).collect()
}

/// The store's next push (after appending `events` new events), as bytes.
fn next_push(
    m: &mut LocalMachine,
    host: &mut MemStore,
    t: &mut u64,
    next: &mut u64,
    events: u64,
) -> Vec<u8> {
    for _ in 0..events {
        *t += 1;
        *next += 1;
        let (e, body) = event(m, 1, *next, now(*t));
        m.append(now(*t), e, Some(&body)).unwrap();
    }
    loop {
        *t += 600;
        pump(now(*t), m, host).unwrap();
        m.handle_timeout(now(*t));
        pump(now(*t), m, host).unwrap();
        let push = std::iter::from_fn(|| m.poll_transmit())
            .map(|(_, msg)| msg)
            .find(|msg| matches!(msg, Message::Push(_)));
        if let Some(p) = push {
            return encode(&p).unwrap();
        }
    }
}

async fn propose(raft: &Raft, bytes: Vec<u8>, t: u64) -> u64 {
    let verdicts = judge(&dcs_sync::decode(&bytes).unwrap(), &verifier());
    let p = Proposal {
        clock: clock(t),
        input: Input::Message {
            from: NodeId::Store(1),
            bytes: bytes.into(),
            verdicts: verdicts.into(),
        },
    };
    // A leader that has not yet confirmed its lease answers "no known leader": retry.
    for _ in 0..100 {
        match raft.client_write(p.clone()).await {
            Ok(r) => {
                assert_eq!(r.data.refused, None);
                return r.log_id.index;
            }
            Err(e) if e.forward_to_leader().is_some_and(|f| f.leader_id.is_none()) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("client_write: {e}"),
        }
    }
    panic!("the leader never took the write")
}

fn accepted(node: &Node) -> Vec<u64> {
    let r = node.sm.replica().lock().unwrap();
    r.store().accepted_after(0, 100_000).unwrap().iter().map(|a| a.child_pos).collect()
}

async fn wait_applied(nodes: &BTreeMap<u64, Node>, index: u64) {
    for n in nodes.values() {
        n.raft
            .wait(Some(Duration::from_secs(20)))
            .applied_index_at_least(Some(index), "replicated")
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_three_node_region_applies_everywhere_survives_its_leader_and_catches_up() {
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut listeners = vec![];
    let mut members = BTreeMap::new();
    for id in 1..=3u64 {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        members.insert(
            id,
            NodeAddr { raft: l.local_addr().unwrap().to_string(), sync: String::new() },
        );
        listeners.push(l);
    }
    let mut nodes = BTreeMap::new();
    for (id, l) in (1..=3u64).zip(listeners) {
        nodes.insert(id, start(id, dirs[id as usize - 1].path(), l).await);
    }
    nodes[&1].raft.initialize(members.clone()).await.unwrap();
    let first = leader(&nodes, Duration::from_secs(10)).await;

    let (mut m, mut host, mut t, mut next) = (store(1), MemStore::default(), 10_000, 0);
    let mut acked = BTreeSet::new();
    let mut last_index = 0;
    for _ in 0..5 {
        let bytes = next_push(&mut m, &mut host, &mut t, &mut next, 10);
        last_index = propose(&nodes[&first].raft, bytes, t).await;
        // The ack comes out of the applied entry, on the leader.
        let out = drain(&nodes[&first]);
        let ack = out.iter().find_map(|(to, msg)| match msg {
            Message::Ack(a) if *to == NodeId::Store(1) => Some(a.clone()),
            _ => None,
        });
        let ack = ack.expect("the applied push produced an ack");
        acked.extend(1..=ack.durable_pos);
        m.handle_message(now(t), NodeId::Region(0), Message::Ack(ack)).unwrap();
    }
    assert_eq!(acked.len(), 50);
    wait_applied(&nodes, last_index).await;
    for n in nodes.values() {
        drain(n);
        assert_eq!(
            accepted(n),
            (1..=50).collect::<Vec<_>>(),
            "every replica holds every event once"
        );
    }

    // The leader goes away; a new one within two election timeouts.
    let old = nodes.remove(&first).unwrap();
    old.server.abort();
    let _ = old.server.await;
    old.raft.shutdown().await.unwrap();
    let gone_at = Instant::now();
    // Two election timeouts (the followers' leader lease runs out, then one election), plus
    // scheduling slack for a loaded 2-core machine.
    let second = leader(&nodes, Duration::from_millis(2 * ELECTION_MAX_MS + 500)).await;
    let took = gone_at.elapsed();
    assert_ne!(second, first);
    println!("new leader {second} after {took:?}");

    // 10 more events, pushed to the new leader; then the same push again (as a store whose ack
    // was lost would): nothing new.
    let bytes = next_push(&mut m, &mut host, &mut t, &mut next, 10);
    propose(&nodes[&second].raft, bytes.clone(), t).await;
    last_index = propose(&nodes[&second].raft, bytes, t + 1).await;
    wait_applied(&nodes, last_index).await;
    for n in nodes.values() {
        drain(n);
        assert_eq!(accepted(n), (1..=60).collect::<Vec<_>>());
    }

    // The old leader restarts from its files and catches up.
    let l = tokio::net::TcpListener::bind(members[&first].raft.as_str()).await.unwrap();
    let back = start(first, dirs[first as usize - 1].path(), l).await;
    nodes.insert(first, back);
    wait_applied(&nodes, last_index).await;
    drain(&nodes[&first]);
    assert_eq!(accepted(&nodes[&first]), (1..=60).collect::<Vec<_>>());
    let files: Vec<_> = nodes
        .values()
        .map(|n| n.sm.replica().lock().unwrap().store().restored().unwrap())
        .collect();
    assert!(files.windows(2).all(|w| w[0] == w[1]), "every replica's checkpoint is the same");
    for n in nodes.values() {
        n.raft.shutdown().await.unwrap();
    }
}
