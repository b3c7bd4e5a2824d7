//! Real processes, every tier: a `dcs-master`, three `dcs-regional` nodes whose leader
//! streams to it over mutual TLS, and a store syncing through the region. The leader is
//! SIGKILLed once under load. At the end: the master holds the summary of every event the
//! store saw acknowledged exactly once (the same event ids the replicas accepted, none
//! more), a price an operator sets on the master's API reaches the store through the region,
//! and the region's own checker finds PostgreSQL and Kafka complete. Then the master's key
//! registry decides the terminal's signatures at the region: a registered key is required,
//! a rotated one refuses events signed with the old key after the rotation. Last, a terminal
//! the master revokes has its later events refused by the region.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::master::MasterProc;
use common::procs::{Cluster, accepted_ids, free_port, leader, leader_after};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_sale_reaches_the_master_once_and_its_prices_reach_the_store() {
    let master_grpc = free_port();
    let master_url = format!("https://127.0.0.1:{master_grpc}");
    let mut c = Cluster::start(|_, t| {
        let mut m = toml::Table::new();
        m.insert("url".into(), master_url.clone().into());
        m.insert("retry_max_ms".into(), 1_000.into());
        t.insert("master".into(), m.into());
    })
    .await;

    // The master, its certificate from the region's CA; region 0 is the region's number.
    let master = MasterProc::start(c.root.path(), master_grpc, None);

    let mut s = c.store.take().unwrap();
    let urls = c.urls();
    leader(&c.nodes, Duration::from_secs(20)).await;
    s.append(30);
    s.sync_any(&urls).await;
    // The leader dies under load; its successor opens its own stream to the master.
    let (l, term) = leader_after(&c.nodes, 0.0, Duration::from_secs(10)).await;
    s.append(30);
    let u = urls.clone();
    let pushing = tokio::spawn(async move {
        s.sync_any(&u).await;
        s
    });
    tokio::time::sleep(Duration::from_millis(15)).await;
    c.nodes[l].kill();
    leader_after(&c.nodes, term, Duration::from_secs(10)).await;
    let mut s = pushing.await.unwrap();
    c.nodes[l].spawn();
    s.append(20);
    s.sync_any(&urls).await;

    // The master holds each acknowledged event's summary once.
    let start = Instant::now();
    let ids = loop {
        let ids = master.summary_ids().await;
        if ids.len() as u64 >= s.acked {
            break ids;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the master holds {} of {} summaries after 60 s",
            ids.len(),
            s.acked
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!("the master held all {} summaries {:?} after the last ack", s.acked, start.elapsed());
    let held: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(held.len(), ids.len(), "no summary twice");
    let accepted = accepted_ids(&c.nodes[(l + 1) % 3].dir);
    let acked: BTreeSet<String> =
        (1..=s.acked).map(|p| String::from_utf8(accepted[&p].clone()).unwrap()).collect();
    let lost = acked.iter().filter(|id| !held.contains(id)).count();
    let unexpected = ids.iter().filter(|id| !acked.contains(*id)).count();
    assert_eq!(
        (ids.len() as u64, lost, unexpected),
        (s.acked, 0, 0),
        "master: held, lost, unexpected"
    );
    let (_, body) = master.api("GET", "/api/v1/regions", "").await;
    let r = &body["regions"][0];
    assert_eq!(r["health"], "alive", "{body}");
    assert!(r["last_successful_sync_ms"].as_u64().is_some(), "{body}");

    // An operator's price reaches the store through the region.
    let (status, body) =
        master.api("PUT", "/api/v1/prices/COFFEE-250G", r#"{"price_minor": 450}"#).await;
    assert_eq!(status, 200, "{body}");
    let took =
        s.sync_until(&urls, "the price", |s| s.m.state().price("COFFEE-250G") == Some(450)).await;
    println!("the price reached the store {took:?} after it was set");

    // The tenant's admin registers the terminal's key on the master: from when the region has
    // it, the terminal's events must carry a signature under it.
    let mac =
        dcs_crypto::MacKey::from_bytes(&std::fs::read(c.root.path().join("acme.mac")).unwrap())
            .unwrap();
    let ed = dcs_core::event::SignatureAlgorithm::Ed25519;
    let (first, second) = (
        dcs_crypto::Signer::generate(ed, &mut rand_core::OsRng),
        dcs_crypto::Signer::generate(ed, &mut rand_core::OsRng),
    );
    let register = |signer: &dcs_crypto::Signer| {
        use base64::Engine as _;
        let key = base64::engine::general_purpose::STANDARD.encode(signer.verifier().to_bytes());
        format!(r#"{{"algorithm": "ed25519", "public_key": "{key}"}}"#)
    };
    let registered = |s: &common::client::StoreClient, signer: &dcs_crypto::Signer| {
        let want = signer.verifier().to_bytes();
        s.m.state()
            .agent_key("acme", "pos-1")
            .is_some_and(|k| k.key.as_ref().is_some_and(|(_, b)| *b == want))
    };
    let sign_with =
        |signer: dcs_crypto::Signer, mac: dcs_crypto::MacKey| -> common::client::Reseal {
            Box::new(move |e| dcs_crypto::sign_event(e, &mac, &signer))
        };
    let (status, body) = master.api("PUT", "/api/v1/keys/acme/pos-1", &register(&first)).await;
    assert_eq!(status, 200, "{body}");
    s.sync_until(&urls, "the registered key", |s| registered(s, &first)).await;
    let refused = s.push_new(&urls, 2).await; // sealed with the MAC only: no signature
    assert_eq!(refused.len(), 2, "unsigned events of a registered terminal: {refused:?}");
    assert!(refused.iter().all(|r| r.reason.contains("signature")), "{refused:?}");
    s.reseal = Some(sign_with(first.clone(), mac.clone()));
    let refused = s.push_new(&urls, 2).await;
    assert!(refused.is_empty(), "signed under the registered key: {refused:?}");
    // A rotation: events the terminal makes after it under the old key are refused; under
    // the new key they go in.
    let (status, body) = master.api("PUT", "/api/v1/keys/acme/pos-1", &register(&second)).await;
    assert_eq!(status, 200, "{body}");
    s.sync_until(&urls, "the rotated key", |s| registered(s, &second)).await;
    let refused = s.push_new(&urls, 2).await;
    assert_eq!(refused.len(), 2, "the old key after the rotation: {refused:?}");
    s.reseal = Some(sign_with(second, mac));
    let refused = s.push_new(&urls, 2).await;
    assert!(refused.is_empty(), "signed under the rotated key: {refused:?}");
    println!("the region checked the registry's keys, before and after a rotation");

    // The tenant's admin revokes the store's terminal on the master: the revocation reaches
    // the region and the store, and the region refuses the terminal's later events.
    let (status, body) =
        master.api("POST", "/api/v1/keys/acme/pos-1/revoke", r#"{"reason": "till stolen"}"#).await;
    assert_eq!(status, 200, "{body}");
    let revoked = |s: &common::client::StoreClient| {
        s.m.state().agent_key("acme", "pos-1").is_some_and(|k| k.revoked.is_some())
    };
    let took = s.sync_until(&urls, "the revocation", revoked).await;
    println!("the revocation reached the store {took:?} after it was made");
    let refused = s.push_new(&urls, 3).await;
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused.iter().all(|r| r.reason.contains("revoked")), "{refused:?}");
    // The master holds a summary of each event the region took, and of none it refused.
    let taken = s.acked - s.m.rejections().count() as u64;
    let start = Instant::now();
    while (master.summary_ids().await.len() as u64) < taken {
        assert!(start.elapsed() < Duration::from_secs(30), "the master lacks summaries");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(master.summary_ids().await.len() as u64, taken, "no refused event at the master");

    // The region's checker: every replica, PostgreSQL and Kafka hold every acknowledged
    // event once, and none of the refused ones.
    c.check(&s).await;
}
