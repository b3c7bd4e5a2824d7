//! The forwarders against real sinks: a PostgreSQL server (`DCS_PG_URL`, a fresh database)
//! and a Kafka-protocol broker (noida-db, a process per test). Three regional nodes in one
//! process forward what a store pushes; the leader goes away mid-stream; both sinks must hold
//! every acknowledged event exactly once, and a replay from position 0 writes nothing again.
//! Then the fencing, sink by sink: a deposed leader's forwarder is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::client::StoreClient;
use common::region::{Region, leader, node_config};
use common::sinks::{Broker, kafka_keys, pg_rows, pg_sink};
use common::*;
use dcs_regional::forward::kafka::KafkaSink;
use dcs_regional::forward::postgres::PgSink;
use dcs_regional::forward::{ReplaySink, Sink, SinkError, replay};
use dcs_regional::node::{Forwarding, RegionNode};
use dcs_store::sqlite::Accepted;
use dcs_sync::{Item, NodeId};

const REGION: &str = "region-0";

/// The event ids of store 1's events at positions 1..=n, from a replica.
fn ids(node: &RegionNode, n: u64) -> BTreeMap<u64, Vec<u8>> {
    let r = node.state_machine.replica().lock().unwrap();
    r.store()
        .accepted_after(0, 1_000_000)
        .unwrap()
        .into_iter()
        .filter(|a| a.child == NodeId::Store(1) && a.child_pos <= n)
        .map(|a| (a.child_pos, a.item.event_id().to_string().into_bytes()))
        .collect()
}

/// Waits until PostgreSQL and Kafka each hold store 1's positions 1..=n; then checks each
/// exactly once and nothing else.
async fn both_hold(
    db: &common::sinks::pg_common::TestDb,
    broker: &Broker,
    node: &RegionNode,
    n: u64,
) {
    let want = ids(node, n);
    assert_eq!(want.len() as u64, n, "the replica holds every acknowledged event");
    let topics = vec!["dcs.events.acme".to_string()];
    let start = Instant::now();
    loop {
        let rows = pg_rows(db).await;
        let brokers = broker.brokers.clone();
        let t = topics.clone();
        let keys = tokio::task::spawn_blocking(move || kafka_keys(&brokers, &t)).await.unwrap();
        let pg_done = (1..=n).all(|p| rows.contains_key(&("store-1".to_string(), p)));
        let kafka_done = want.values().all(|k| keys.contains_key(k));
        if pg_done && kafka_done {
            assert_eq!(rows.len() as u64, n, "PostgreSQL holds nothing unexpected");
            assert!(rows.values().all(|c| *c == 1), "PostgreSQL holds each event once");
            assert_eq!(keys.len() as u64, n, "Kafka holds nothing unexpected");
            assert!(keys.values().all(|c| *c == 1), "Kafka holds each event once: {keys:?}");
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not forwarded within 30 s: PostgreSQL {} of {n}, Kafka {} of {n}",
            rows.len(),
            keys.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_event_reaches_postgres_and_kafka_once_across_a_failover() {
    let broker = Broker::start();
    let tmp = tempfile::tempdir().unwrap();
    let (db, pg) = pg_sink(tmp.path()).await;
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let region = Region::start(|id| {
        let forward = Forwarding {
            limits: dcs_regional::forward::Limits { batch_items: 64, ..Default::default() },
            postgres: Some(PgSink::new(pg.connect().unwrap(), REGION)),
            kafka: Some(KafkaSink::new(broker.sink("dcs."), REGION).unwrap()),
        };
        node_config(id, dirs[id as usize - 1].path(), forward)
    })
    .await;
    let urls = region.urls();
    let mut nodes = region.nodes;
    let first = leader(&nodes).await;

    let mut s = StoreClient::new(1, None);
    for _ in 0..4 {
        s.append(50);
        s.sync_any(&urls).await;
    }
    assert_eq!(s.acked, 200);
    both_hold(&db, &broker, &nodes[&first], 200).await;

    // The leader goes while events keep coming; the new leader's forwarders take over from
    // what each sink committed.
    s.append(50);
    let pushing = s.sync_any(&urls);
    let old = nodes.remove(&first).unwrap();
    let (_, ()) = tokio::join!(pushing, old.shutdown());
    for _ in 0..2 {
        s.append(25);
        s.sync_any(&urls).await;
    }
    assert_eq!(s.acked, 300);
    let second = leader(&nodes).await;
    both_hold(&db, &broker, &nodes[&second], 300).await;

    // A replay from the start writes nothing twice, in either sink.
    let replica = dirs[second as usize - 1].path().join("replica.db");
    let pg_replay =
        replay(&replica, REGION, 0, None, ReplaySink::Postgres(pg.clone()), 100).await.unwrap();
    assert_eq!((pg_replay.written, pg_replay.skipped), (0, 300));
    let kafka_replay =
        replay(&replica, REGION, 0, None, ReplaySink::Kafka(broker.sink("dcs.")), 100)
            .await
            .unwrap();
    assert_eq!((kafka_replay.written, kafka_replay.skipped), (0, 300));
    both_hold(&db, &broker, &nodes[&second], 300).await;
    // Into empty sinks (a fresh database, fresh topics), the same replay writes everything once.
    let (db2, pg2) = pg_sink(tmp.path()).await;
    let r = replay(&replica, REGION, 0, None, ReplaySink::Postgres(pg2), 100).await.unwrap();
    assert_eq!((r.written, r.skipped), (300, 0));
    assert_eq!(pg_rows(&db2).await.len(), 300);
    let r = replay(&replica, REGION, 100, Some(250), ReplaySink::Kafka(broker.sink("re.")), 100)
        .await
        .unwrap();
    assert_eq!((r.written, r.skipped), (150, 0));
    let brokers = broker.brokers.clone();
    let keys =
        tokio::task::spawn_blocking(move || kafka_keys(&brokers, &["re.events.acme".into()]))
            .await
            .unwrap();
    assert_eq!(keys.len(), 150);
    assert!(keys.values().all(|c| *c == 1));
    for n in nodes.into_values() {
        n.shutdown().await;
    }
}

/// Accepted items seq `from + 1 ..= to` of store 1.
fn items(m: &mut dcs_sync::LocalMachine, from: u64, to: u64) -> Vec<Accepted> {
    (from + 1..=to)
        .map(|seq| {
            let (e, _) = event(m, 1, seq, now(seq));
            Accepted {
                seq,
                child: NodeId::Store(1),
                child_pos: seq,
                item: Item::Event(Box::new(e)),
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposed_leaders_forwarder_is_fenced_in_each_sink() {
    let mut m = store(1);
    let batch1 = items(&mut m, 0, 10);
    let batch2 = items(&mut m, 10, 20);

    // PostgreSQL: the cursor's term decides.
    let tmp = tempfile::tempdir().unwrap();
    let (db, pg) = pg_sink(tmp.path()).await;
    let mut old = PgSink::new(pg.connect().unwrap(), REGION);
    let mut new = PgSink::new(pg.connect().unwrap(), REGION);
    assert_eq!(old.resume(1).await.unwrap(), 0);
    old.forward(1, 0, 10, &batch1).await.unwrap();
    assert_eq!(new.resume(2).await.unwrap(), 10);
    new.forward(2, 10, 20, &batch2).await.unwrap();
    // The deposed leader, still at term 1, cannot write its next batch nor take over again.
    let late = old.forward(1, 10, 20, &batch2).await.unwrap_err();
    assert!(matches!(late, SinkError::Fenced(_)), "{late}");
    assert!(matches!(old.resume(1).await.unwrap_err(), SinkError::Fenced(_)));
    let rows = pg_rows(&db).await;
    assert_eq!(rows.len(), 20);
    assert!(rows.values().all(|c| *c == 1));

    // Kafka: the new leader's init fences the old producer; the old one re-initialising
    // finds the newer term in the progress topic and stops.
    let broker = Broker::start();
    let cfg = broker.sink("dcs.");
    let (mut old, mut new) =
        (KafkaSink::new(cfg.clone(), REGION).unwrap(), KafkaSink::new(cfg, REGION).unwrap());
    assert_eq!(old.resume(1).await.unwrap(), 0);
    old.forward(1, 0, 10, &batch1).await.unwrap();
    assert_eq!(new.resume(2).await.unwrap(), 10);
    let late = old.forward(1, 10, 20, &batch2).await.unwrap_err();
    assert!(matches!(late, SinkError::Moved(_)), "the old producer is fenced: {late}");
    assert!(matches!(old.resume(1).await.unwrap_err(), SinkError::Fenced(_)));
    // The old one's re-init fenced the new producer in turn: it resumes where it was.
    let again = new.forward(2, 10, 20, &batch2).await;
    if let Err(e) = again {
        assert!(matches!(e, SinkError::Moved(_)), "{e}");
        assert_eq!(new.resume(2).await.unwrap(), 10);
        new.forward(2, 10, 20, &batch2).await.unwrap();
    }
    let brokers = broker.brokers.clone();
    let keys =
        tokio::task::spawn_blocking(move || kafka_keys(&brokers, &["dcs.events.acme".into()]))
            .await
            .unwrap();
    assert_eq!(keys.len(), 20, "{keys:?}");
    assert!(keys.values().all(|c| *c == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_that_is_down_stops_nothing_and_the_leader_reports_it() {
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let dead = dcs_regional::forward::postgres::PostgresSink {
        url: "host=127.0.0.1 port=1 user=nobody dbname=none".into(),
        password_file: None,
        max_connections: 1,
    };
    let region = Region::start(|id| {
        let forward = Forwarding {
            postgres: Some(PgSink::new(dead.connect().unwrap(), REGION)),
            ..Default::default()
        };
        node_config(id, dirs[id as usize - 1].path(), forward)
    })
    .await;
    let urls = region.urls();
    let mut s = StoreClient::new(1, None);
    s.append(30);
    s.sync_any(&urls).await;
    assert_eq!(s.acked, 30, "the region acknowledges with its sink down");
    let l = leader(&region.nodes).await;
    let start = Instant::now();
    let problem = loop {
        if let Some(p) = region.nodes[&l].sinks.problem() {
            break p;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "the leader did not report its sink");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(problem.starts_with("sink postgres: unavailable"), "{problem}");
    for (id, n) in &region.nodes {
        if *id != l {
            assert_eq!(n.sinks.problem(), None, "followers do not forward");
        }
    }
    for n in region.nodes.into_values() {
        n.shutdown().await;
    }
}
