//! Bad input to a regional node over gRPC: a push from a store that is not the region's, a
//! batch with one tampered event, a message of a newer protocol version, an oversized batch.
//! Each is refused with a reason, and nothing of it is applied (a tampered event's good
//! neighbours go in: the refusal is per event).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::client::{StoreClient, wall};
use common::*;
use dcs_proto::pb;
use dcs_proto::pb::local_regional_sync_client::LocalRegionalSyncClient;
use dcs_regional::node::{NodeConfig, RaftTimings, RegionNode, sync_url};
use dcs_regional::raft::NodeAddr;
use dcs_sync::sim::mac::KeyedVerifier;
use dcs_sync::{Item, Message, NodeId, Positioned, Push};
use openraft::async_runtime::WatchReceiver;
use tokio_stream::wrappers::ReceiverStream;

async fn one_node() -> (RegionNode, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let config = NodeConfig {
        node_id: 1,
        data_dir: dir.path().to_path_buf(),
        replica: replica_config(),
        timings: RaftTimings::default(),
        verifier: Arc::new(verifier()),
        stream_queue: 64,
        max_snapshot_bytes: 1 << 20,
        tls: None,
        forward: Default::default(),
        dial: Default::default(),
        master: None,
    };
    let node = RegionNode::start(config, l).await.unwrap();
    let url = sync_url(addr, false);
    let members = [(1, NodeAddr { raft: addr.to_string(), sync: url.clone() })].into();
    node.initialize(members).await.unwrap();
    for _ in 0..200 {
        if node.raft.metrics().borrow_watched().current_leader == Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (node, url, dir)
}

/// Sends `envs` on one stream; the first answer (an envelope or the status that ended it).
async fn first_answer(
    url: &str,
    envs: Vec<pb::SyncEnvelope>,
) -> Result<pb::SyncEnvelope, tonic::Status> {
    let channel =
        tonic::transport::Endpoint::from_shared(url.to_string()).unwrap().connect().await.unwrap();
    let mut client = LocalRegionalSyncClient::new(channel).max_encoding_message_size(64 << 20);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    for e in envs {
        tx.send(e).await.unwrap();
    }
    let mut inbound = client.push(ReceiverStream::new(rx)).await?.into_inner();
    let answer = tokio::time::timeout(Duration::from_secs(10), inbound.message()).await.unwrap();
    drop(tx);
    match answer {
        Ok(Some(env)) => Ok(env),
        Ok(None) => Err(tonic::Status::unknown("the stream ended without an answer")),
        Err(s) => Err(s),
    }
}

fn accepted(node: &RegionNode) -> u64 {
    node.state_machine.replica().lock().unwrap().store().accepted_len().unwrap()
}

fn push_of(items: Vec<Positioned>) -> Message {
    Message::Push(Push { batch: 1, items, crdt: None, have: 0, hlc: wall().wall_ms, lag: 0 })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_a_reason_and_applies_nothing() {
    let (node, url, _dir) = one_node().await;

    // A store the region does not serve.
    let mut m9 = store(9);
    let (e, _) = event(&mut m9, 9, 1, wall());
    let env = dcs_proto::sync_to_pb(
        NodeId::Store(9),
        &push_of(vec![Positioned { pos: 1, item: Item::Event(Box::new(e)) }]),
    )
    .unwrap();
    let status = first_answer(&url, vec![env]).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert!(status.message().contains("from"), "{}", status.message());
    assert_eq!(accepted(&node), 0);

    // A batch with one event sealed under another key: that one is refused, the rest go in.
    let mut s = StoreClient::new(1, None);
    s.reseal = Some(Box::new(|e| {
        if e.idempotency_key().as_str() == "s1/3" {
            KeyedVerifier::new([9; 32]).seal(e);
        }
    }));
    s.append(5);
    s.sync(&url).await.unwrap();
    assert_eq!(s.acked, 5);
    assert_eq!(accepted(&node), 4);
    let refused = node.state_machine.replica().lock().unwrap().store().refused(10).unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!((refused[0].0, refused[0].1), (NodeId::Store(1), 3));
    assert!(refused[0].2.contains("MAC"), "{}", refused[0].2);

    // A newer protocol version: a Refuse naming the version this node speaks.
    let mut env = dcs_proto::sync_to_pb(NodeId::Store(1), &push_of(vec![])).unwrap();
    env.version = 99;
    let answer = first_answer(&url, vec![env]).await.unwrap();
    let (_, msg) = dcs_proto::sync_from_pb(answer).unwrap();
    let Message::Refuse(r) = msg else { panic!("expected a refusal, got {msg:?}") };
    assert_eq!(r.supported_version, dcs_sync::PROTOCOL_VERSION);
    assert_eq!(accepted(&node), 4);

    // A batch over the region's max_batch_items (256): refused naming the field.
    let mut m = store(1);
    let items: Vec<Positioned> = (0..1_000u64)
        .map(|k| {
            let (e, _) = event(&mut m, 1, 1_000 + k, wall());
            Positioned { pos: 6 + k, item: Item::Event(Box::new(e)) }
        })
        .collect();
    let env = dcs_proto::sync_to_pb(NodeId::Store(1), &push_of(items)).unwrap();
    let status = first_answer(&url, vec![env]).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(status.message().starts_with("items:"), "{}", status.message());
    // A message over the 16 MiB limit (a CRDT payload of 17 MiB): refused before decoding.
    let mut env = dcs_proto::sync_to_pb(NodeId::Store(1), &push_of(vec![])).unwrap();
    if let Some(pb::sync_envelope::Message::Push(p)) = &mut env.message {
        p.crdt = Some(pb::CrdtPayload {
            payload: Some(pb::crdt_payload::Payload::Delta(pb::CrdtDelta {
                from: 0,
                upto: 1,
                delta: vec![0; 17 << 20],
            })),
        });
    }
    let status = first_answer(&url, vec![env]).await.unwrap_err();
    assert!(
        matches!(status.code(), tonic::Code::ResourceExhausted | tonic::Code::OutOfRange),
        "{status:?}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(accepted(&node), 4, "nothing of either oversized push applied");
    node.shutdown().await;
}
