//! Authorization by certificate name on real processes over mutual TLS: every certificate
//! comes from the region's CA, but a store's certificate may not call the Raft service, and
//! store 1's certificate may not push as store 2. A node's certificate passes the Raft check
//! (its malformed request is then refused as malformed, not as unauthorized).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::Duration;

use common::procs::{Cluster, leader};
use dcs_proto::pb;
use dcs_proto::pb::local_regional_sync_client::LocalRegionalSyncClient;
use dcs_proto::pb::region_raft_client::RegionRaftClient;
use dcs_sync::{Heartbeat, Message, NodeId};
use tonic::Code;
use tonic::transport::{ClientTlsConfig, Endpoint};

async fn channel(url: &str, tls: ClientTlsConfig) -> tonic::transport::Channel {
    Endpoint::from_shared(url.to_string())
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_is_authorized_by_its_name() {
    let mut c = Cluster::start(|_, t| {
        let stores = toml::Value::Array(vec![1.into(), 2.into()]);
        t["cluster"].as_table_mut().unwrap().insert("stores".into(), stores);
    })
    .await;
    let l = leader(&c.nodes, Duration::from_secs(20)).await;
    let url = c.nodes[l].url();
    let ca = dcs_daemon::tls::DevCa::open_or_create(&c.root.path().join("ca")).unwrap();
    let store1 = ca.write_node(&c.root.path().join("s1"), "store-1", &["store-1"]).unwrap();
    let store1 = store1.client_config("dcs-regional").unwrap();
    let node = dcs_daemon::tls::TlsFiles::in_dir(&c.nodes[0].dir.join("tls"), "dcs-regional");
    let node = node.client_config("dcs-regional").unwrap();

    // A store's certificate on the Raft service.
    let mut raft = RegionRaftClient::new(channel(&url, store1.clone()).await);
    let e = raft.vote(pb::RaftPayload { data: vec![] }).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e}");
    assert!(e.message().contains("dcs-regional"), "{}", e.message());
    // Nor may it change the membership (the route a follower forwards operators' changes by).
    let e = raft.change_members(pb::RaftPayload { data: vec![] }).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e}");
    // A node's certificate passes (and its empty request is refused for what it is).
    let mut raft = RegionRaftClient::new(channel(&url, node).await);
    let e = raft.vote(pb::RaftPayload { data: vec![] }).await.unwrap_err();
    assert_ne!(e.code(), Code::PermissionDenied, "{e}");
    let e = raft.change_members(pb::RaftPayload { data: vec![7] }).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "a malformed change names its field: {e}");
    assert!(e.message().starts_with("data:"), "{}", e.message());

    // Store 1's certificate speaking for store 2, then for itself.
    let push_as = |n: u32| {
        let msg = Message::Heartbeat(Heartbeat { hlc: 1, lag: 0 });
        dcs_proto::sync_to_pb(NodeId::Store(n), &msg).unwrap()
    };
    let mut sync = LocalRegionalSyncClient::new(channel(&url, store1.clone()).await);
    let mut answers = sync.push(tokio_stream::iter(vec![push_as(2)])).await.unwrap().into_inner();
    let e = answers.message().await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e}");
    assert!(e.message().contains("store-2"), "{}", e.message());
    let mut sync = LocalRegionalSyncClient::new(channel(&url, store1).await);
    let mut answers = sync.push(tokio_stream::iter(vec![push_as(1)])).await.unwrap().into_inner();
    let answer = tokio::time::timeout(Duration::from_secs(2), answers.message()).await;
    if let Ok(Err(e)) = answer {
        assert_ne!(e.code(), Code::PermissionDenied, "store 1 may speak for itself: {e}");
    }

    // The region is unharmed: a real store syncs and the checker finds everything.
    let mut s = c.store.take().unwrap();
    s.append(10);
    s.sync_any(&c.urls()).await;
    c.check(&s).await;
}
