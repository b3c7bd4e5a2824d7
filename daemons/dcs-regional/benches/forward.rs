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
use common::region::{Region, node_config};
use common::sinks::{Broker, pg_sink};
use dcs_regional::forward::kafka::{KafkaSink, produce_in_transactions, read_progress, record};
use dcs_regional::forward::postgres::PgSink;
use dcs_regional::forward::{Limits, Sink, run};
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

/// A pass's timing: the whole pass, and the part after its first transaction committed
/// (steady state: a leader's takeover, topic creation and the first batch excluded).
struct Pass {
    total: Duration,
    first: Duration,
    first_pos: u64,
}

impl Pass {
    fn steady(&self, n: u64) -> f64 {
        rate(n - self.first_pos, self.total - self.first)
    }
}

/// Runs the forwarding loop with `sink` until `position` says the sink holds `total`.
async fn forwarded<S: Sink>(
    sink: S,
    node: &dcs_regional::node::RegionNode,
    total: u64,
    mut position: impl AsyncFnMut() -> u64,
) -> Pass {
    let stop = CancellationToken::new();
    let limits = Limits { batch_items: BATCH, poll_ms: 1, ..Limits::default() };
    let start = Instant::now();
    let task = tokio::spawn(run(
        sink,
        node.raft.clone(),
        Arc::clone(node.state_machine.replica()),
        limits,
        Default::default(),
        stop.clone(),
    ));
    let mut first = None;
    loop {
        let p = position().await;
        if p > 0 && first.is_none() {
            first = Some((start.elapsed(), p));
        }
        if p >= total {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(600), "the forwarder stalled");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let took = start.elapsed();
    stop.cancel();
    let _ = task.await;
    let (first, first_pos) = first.unwrap_or((took, 0));
    Pass { total: took, first, first_pos }
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// Prints one pair and answers its steady-state ratio.
fn report(round: u32, sink: &str, total: u64, bare: &Pass, fwd: &Pass) -> f64 {
    let steady = fwd.steady(total) / bare.steady(total);
    println!(
        "round {round} {sink}: whole pass bare {:.0} ev/s, forwarder {:.0} ev/s ({:.3}); \
         steady bare {:.0} ev/s, forwarder {:.0} ev/s ({steady:.3}); forwarder's first \
         commit after {:?}",
        rate(total, bare.total),
        rate(total, fwd.total),
        bare.total.as_secs_f64() / fwd.total.as_secs_f64(),
        bare.steady(total),
        fwd.steady(total),
        fwd.first
    );
    steady
}

async fn bench(total: u64) {
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let region =
        Region::start(|id| node_config(id, dirs[id as usize - 1].path(), Default::default())).await;
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
        let mut first = None;
        for chunk in events.chunks(BATCH) {
            store.ingest(chunk).await.unwrap();
            first.get_or_insert((start.elapsed(), chunk.len() as u64));
        }
        let (t, p) = first.unwrap();
        let bare = Pass { total: start.elapsed(), first: t, first_pos: p };
        // PostgreSQL, forwarded.
        let (_db2, pg2) = pg_sink(tmp.path()).await;
        let reader = pg2.connect().unwrap();
        let sink = PgSink::new(pg2.connect().unwrap(), "bench");
        let fwd = forwarded(sink, node, total, async || {
            reader.forward_cursor("bench").await.unwrap().map_or(0, |c| c.position)
        })
        .await;
        pg_pairs.push(report(round, "postgres", total, &bare, &fwd));

        // Kafka, bare: the topic is made before the clock starts (the forwarder makes its
        // own before its first transaction, inside its clock).
        let cfg = broker.sink(&format!("bare{round}."));
        let records: Vec<_> = items.iter().filter_map(|a| record(&cfg, "bench", a)).collect();
        let topics = vec![(records[0].topic().to_string(), cfg.partitions)];
        KafkaSink::new(cfg.clone(), "bench").unwrap().ensure_topics(topics).await.unwrap();
        let start = Instant::now();
        let first = tokio::task::spawn_blocking(move || {
            let refs: Vec<_> = records.iter().collect();
            let (head, rest) = refs.split_at(BATCH.min(refs.len()));
            let id = format!("bare-{round}");
            produce_in_transactions(&cfg, &id, head, BATCH).unwrap();
            let first = start.elapsed();
            produce_in_transactions(&cfg, &id, rest, BATCH).unwrap();
            first
        })
        .await
        .unwrap();
        let head = BATCH.min(items.len()) as u64;
        let bare = Pass { total: start.elapsed(), first, first_pos: head };
        // Kafka, forwarded.
        let cfg = broker.sink(&format!("fwd{round}."));
        let sink = KafkaSink::new(cfg.clone(), "bench").unwrap();
        let topic = cfg.progress_topic("bench");
        let fwd = forwarded(sink, node, total, async || {
            let (c, t) = (cfg.clone(), topic.clone());
            tokio::task::spawn_blocking(move || read_progress(&c, &t))
                .await
                .unwrap()
                .ok()
                .flatten()
                .map_or(0, |p| p.position)
        })
        .await;
        kafka_pairs.push(report(round, "kafka", total, &bare, &fwd));
    }
    println!(
        "steady forwarder / bare: postgres {:?}, kafka {:?} (goal >= 0.7 each)",
        pg_pairs.iter().map(|r| format!("{r:.3}")).collect::<Vec<_>>(),
        kafka_pairs.iter().map(|r| format!("{r:.3}")).collect::<Vec<_>>()
    );
    for n in region.nodes.into_values() {
        n.shutdown().await;
    }
    sustained(total, &broker, tmp.path()).await;
}

/// Forward lag under sustained load: a region forwarding to both sinks while a store pushes
/// `total` events as fast as the region acknowledges them; every 250 ms the lag of each sink
/// (events accepted by the leader minus the sink's resume point) is sampled.
async fn sustained(total: u64, broker: &Broker, tmp: &std::path::Path) {
    let (_db, pg) = pg_sink(tmp).await;
    let kafka = broker.sink("sustained.");
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let region = Region::start(|id| {
        let forward = dcs_regional::node::Forwarding {
            limits: Limits { batch_items: BATCH, ..Limits::default() },
            postgres: Some(PgSink::new(pg.connect().unwrap(), "sustained")),
            kafka: Some(KafkaSink::new(kafka.clone(), "sustained").unwrap()),
        };
        node_config(id, dirs[id as usize - 1].path(), forward)
    })
    .await;
    let urls = region.urls();
    let reader = pg.connect().unwrap();
    let progress = kafka.progress_topic("sustained");
    let pushing = tokio::spawn(async move {
        let mut s = StoreClient::new(1, None);
        while s.acked < total {
            s.append((total - s.acked).min(256));
            s.sync_any(&urls).await;
        }
    });
    let start = Instant::now();
    let mut samples: Vec<(f64, u64, u64)> = vec![];
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let accepted = region
            .nodes
            .values()
            .map(|n| n.state_machine.replica().lock().unwrap().store().accepted_len().unwrap())
            .max()
            .unwrap();
        let pg_at = reader.forward_cursor("sustained").await.unwrap().map_or(0, |c| c.position);
        let (c, t) = (kafka.clone(), progress.clone());
        let kafka_at = tokio::task::spawn_blocking(move || read_progress(&c, &t))
            .await
            .unwrap()
            .ok()
            .flatten()
            .map_or(0, |p| p.position);
        let t = start.elapsed().as_secs_f64();
        samples.push((t, accepted.saturating_sub(pg_at), accepted.saturating_sub(kafka_at)));
        if accepted >= total && pg_at >= total && kafka_at >= total {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(600), "the forwarders stalled");
    }
    pushing.await.unwrap();
    let took = start.elapsed();
    let half = samples.len() / 2;
    let max = |xs: &[(f64, u64, u64)], f: fn(&(f64, u64, u64)) -> u64| {
        xs.iter().map(f).max().unwrap_or(0)
    };
    println!(
        "sustained: {total} events acknowledged and forwarded in {took:?} ({:.0} ev/s); forward \
         lag max, first half / second half of the run: postgres {} / {} events, kafka {} / {} \
         events ({} samples every 250 ms)",
        rate(total, took),
        max(&samples[..half], |s| s.1),
        max(&samples[half..], |s| s.1),
        max(&samples[..half], |s| s.2),
        max(&samples[half..], |s| s.2),
        samples.len()
    );
    for n in region.nodes.into_values() {
        n.shutdown().await;
    }
}
