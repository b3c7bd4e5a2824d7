//! The forwarders' throughput beside each sink's bare rate, in the same run: a 3-node region
//! in one process holds `DCS_BENCH_EVENTS` accepted events (default 10,000; 300 when `cargo
//! test` runs it as a smoke test), then, alternating twice per sink, each into a fresh target:
//! - PostgreSQL bare: `PgStore::ingest` of the same events in batches of `BATCH`, one after
//!   another; forwarder: the leader's forwarding loop (`PgSink`, cursor moved in each ingest
//!   transaction) from position 0 until the cursor reaches the last event.
//! - Kafka bare: the same librdkafka client producing the same records in transactions of
//!   `BATCH` (`produce_in_transactions`); forwarder: the loop (`KafkaSink`: the records plus a
//!   progress record per transaction) until the progress topic reaches the last event.
//!
//! Needs `DCS_PG_URL` (`eval "$(scripts/pg-dev start)"`) and noida-db (`scripts/kafka-dev
//! install`). `cargo bench -p dcs-regional --bench forward`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::client::StoreClient;
use common::region::Region;
use common::sinks::{Broker, pg_sink};
use common::*;
use dcs_regional::forward::kafka::{KafkaSink, produce_in_transactions, read_progress, record};
use dcs_regional::forward::postgres::PgSink;
use dcs_regional::forward::{Limits, Sink, run};
use dcs_regional::node::{NodeConfig, RaftTimings};
use dcs_store::sqlite::Accepted;
use openraft::async_runtime::WatchReceiver;
use tokio_util::sync::CancellationToken;

const BATCH: usize = 1_000;

fn main() {
    let default = if cfg!(debug_assertions) { 300 } else { 10_000 };
    let total: u64 =
        std::env::var("DCS_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(bench(total));
}

/// Runs the forwarding loop with `sink` until `done` says the sink holds `total`; the time.
async fn forwarded<S: Sink>(
    sink: S,
    node: &dcs_regional::node::RegionNode,
    mut done: impl AsyncFnMut() -> bool,
) -> Duration {
    let stop = CancellationToken::new();
    let limits = Limits { batch_items: BATCH, poll_ms: 1, ..Limits::default() };
    let start = Instant::now();
    let task = tokio::spawn(run(
        sink,
        node.raft.clone(),
        Arc::clone(node.state_machine.replica()),
        limits,
        stop.clone(),
    ));
    while !done().await {
        assert!(start.elapsed() < Duration::from_secs(600), "the forwarder stalled");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let took = start.elapsed();
    stop.cancel();
    let _ = task.await;
    took
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

async fn bench(total: u64) {
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let region = Region::start(|id| NodeConfig {
        node_id: id,
        data_dir: dirs[id as usize - 1].path().to_path_buf(),
        replica: replica_config(),
        timings: RaftTimings::default(),
        verifier: Arc::new(verifier()),
        stream_queue: 1_024,
        max_snapshot_bytes: 1 << 30,
        tls: None,
        forward: Default::default(),
        dial: Default::default(),
    })
    .await;
    let urls = region.urls();
    let mut s = StoreClient::new(1, None);
    while s.acked < total {
        s.append((total - s.acked).min(256));
        s.sync_any(&urls).await;
    }
    let leader = loop {
        if let Some(l) = region.nodes[&1].raft.metrics().borrow_watched().current_leader {
            break l;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let node = &region.nodes[&leader];
    let items: Vec<Accepted> =
        node.state_machine.replica().lock().unwrap().store().accepted_after(0, 1 << 30).unwrap();
    assert_eq!(items.len() as u64, total);
    let tmp = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    println!("{total} accepted events, batches of {BATCH}; each pass into a fresh target");

    let mut pg_pairs = vec![];
    let mut kafka_pairs = vec![];
    for round in 0..2 {
        // PostgreSQL, bare.
        let (_db, pg) = pg_sink(tmp.path()).await;
        let store = pg.connect().unwrap();
        let events: Vec<_> =
            items.iter().filter_map(dcs_regional::forward::postgres::ingest_event).collect();
        let start = Instant::now();
        for chunk in events.chunks(BATCH) {
            store.ingest(chunk).await.unwrap();
        }
        let bare = start.elapsed();
        // PostgreSQL, forwarded.
        let (_db2, pg2) = pg_sink(tmp.path()).await;
        let reader = pg2.connect().unwrap();
        let sink = PgSink::new(pg2.connect().unwrap(), "bench");
        let fwd = forwarded(sink, node, async || {
            reader.forward_cursor("bench").await.unwrap().is_some_and(|c| c.position == total)
        })
        .await;
        println!(
            "round {round} postgres: bare {:.0} ev/s, forwarder {:.0} ev/s: {:.3}",
            rate(total, bare),
            rate(total, fwd),
            bare.as_secs_f64() / fwd.as_secs_f64()
        );
        pg_pairs.push(bare.as_secs_f64() / fwd.as_secs_f64());

        // Kafka, bare: the topic is made before the clock starts (the forwarder makes its
        // own before its first transaction, inside its clock).
        let cfg = broker.sink(&format!("bare{round}."));
        let records: Vec<_> = items.iter().filter_map(|a| record(&cfg, "bench", a)).collect();
        let topics = vec![(records[0].topic().to_string(), cfg.partitions)];
        KafkaSink::new(cfg.clone(), "bench").unwrap().ensure_topics(topics).await.unwrap();
        let start = Instant::now();
        tokio::task::spawn_blocking(move || {
            let refs: Vec<_> = records.iter().collect();
            produce_in_transactions(&cfg, &format!("bare-{round}"), &refs, BATCH)
        })
        .await
        .unwrap()
        .unwrap();
        let bare = start.elapsed();
        // Kafka, forwarded.
        let cfg = broker.sink(&format!("fwd{round}."));
        let sink = KafkaSink::new(cfg.clone(), "bench").unwrap();
        let topic = cfg.progress_topic("bench");
        let fwd = forwarded(sink, node, async || {
            let (c, t) = (cfg.clone(), topic.clone());
            tokio::task::spawn_blocking(move || read_progress(&c, &t))
                .await
                .unwrap()
                .ok()
                .flatten()
                .is_some_and(|p| p.position == total)
        })
        .await;
        println!(
            "round {round} kafka: bare {:.0} ev/s, forwarder {:.0} ev/s: {:.3}",
            rate(total, bare),
            rate(total, fwd),
            bare.as_secs_f64() / fwd.as_secs_f64()
        );
        kafka_pairs.push(bare.as_secs_f64() / fwd.as_secs_f64());
    }
    println!(
        "forwarder / bare: postgres {:?}, kafka {:?} (goal >= 0.7 each)",
        pg_pairs.iter().map(|r| format!("{r:.3}")).collect::<Vec<_>>(),
        kafka_pairs.iter().map(|r| format!("{r:.3}")).collect::<Vec<_>>()
    );
    for n in region.nodes.into_values() {
        n.shutdown().await;
    }
}
