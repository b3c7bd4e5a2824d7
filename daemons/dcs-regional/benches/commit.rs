//! A 3-node region's committed-and-applied event rate on this machine: three `RegionNode`s in
//! one process on 127.0.0.1 (each with its own SQLite Raft log and replica file,
//! `synchronous=FULL`), `STORES` stores pushing sealed events concurrently over
//! `LocalRegionalSync` streams; an event counts once the region's ack for it arrived (its entry
//! committed by a majority and applied). The events are sealed as a real till seals them:
//! HMAC-SHA512 under the tenant's MAC key and an Ed25519 signature, both of which the leader
//! checks (`TenantVerifier`, the push's signatures in one batch). Beside it, in the same run: one core batch-verifying the same events'
//! signatures in pushes of 256 (`dcs_crypto::verify_event_signatures`: the leader's limit once
//! it checks signatures too), and one core checking their MACs. Also: the latency of a push
//! (up to 256 events) from send to ack, p50 and p99, and the Raft log's entries and events
//! per fsync.
//!
//! The stores seal every event and append it to their outbox before the clock starts; the
//! clock runs while they sync that backlog, each over one long-lived stream. `cargo bench -p dcs-regional --bench
//! commit` (`DCS_BENCH_EVENTS`, default 120,000; 512 when `cargo test` runs it as a smoke test).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::client::{StoreClient, wall};
use common::region::Region;
use common::*;
use dcs_core::event::SignatureAlgorithm;
use dcs_crypto::{KeyRegistry, MacKey, Signer};
use dcs_regional::node::{NodeConfig, RaftTimings, RegionNode};
use dcs_regional::verify::TenantVerifier;
use dcs_sync::{SyncConfig, Verifier};
use openraft::async_runtime::WatchReceiver;

/// Stores pushing at once (`DCS_BENCH_STORES` overrides): a region of the README's simulated
/// day (100 stores, 3 regions). Each store has one push in flight, so with fewer the region
/// waits on round trips rather than on its cores.
const STORES: u32 = 32;
const PUSH: u64 = 256;

fn main() {
    // `cargo bench` builds it optimised; `cargo test --all-targets` runs the debug build as a
    // smoke test.
    let default = if cfg!(debug_assertions) { 512 } else { 120_000 };
    let total: u64 =
        std::env::var("DCS_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(run(total));
}

async fn run(total: u64) {
    let stores: u32 = std::env::var("DCS_BENCH_STORES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(STORES)
        .max(1);
    let mut rng = rand_core::OsRng;
    let mac = MacKey::random(&mut rng);
    let seed = Signer::generate(SignatureAlgorithm::Ed25519, &mut rng);
    let seal = {
        let (mac, signer) = (mac.clone(), seed.clone());
        move |e: &mut dcs_core::SovereignFinancialEvent| dcs_crypto::sign_event(e, &mac, &signer)
    };
    // Every store's till signs with the same key here; the region knows it for each till.
    let mut terminals = KeyRegistry::new();
    for n in 1..=stores {
        let agent = dcs_core::AgentId::new(format!("pos-{n}")).unwrap();
        terminals.register(&agent, seed.verifier());
    }
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let region = Region::start(|id| {
        let mut replica = replica_config_for(stores);
        replica.region.sync.max_batch_items = PUSH as usize;
        NodeConfig {
            node_id: id,
            data_dir: dirs[id as usize - 1].path().to_path_buf(),
            replica,
            timings: RaftTimings::default(),
            verifier: Arc::new(
                TenantVerifier::new([("acme".to_string(), mac.clone())].into())
                    .with_signers("acme", terminals.clone()),
            ),
            stream_queue: 1_024,
            max_snapshot_bytes: 1 << 30,
            tls: None,
            forward: Default::default(),
            dial: Default::default(),
            master: None,
        }
    })
    .await;
    let (nodes, members) = (region.nodes, region.members);
    let leader = loop {
        if let Some(l) = nodes[&1].raft.metrics().borrow_watched().current_leader {
            break l;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let url = members[&leader].sync.clone();

    // The stores seal their events and append them to their outboxes before the clock starts
    // (a store's own writes are not the region's work): the clock runs while they sync the
    // backlog, each over one long-lived stream as dcs-local does, one push in flight each.
    let per_store = total / u64::from(stores);
    let mut clients = vec![];
    for n in 1..=stores {
        let mut c = StoreClient::new(n, None);
        // A store's production timers (dcs-local's defaults): a busy region's queueing is not
        // mistaken for a lost push.
        c.m = store_with(
            n,
            SyncConfig {
                batch_delay_ms: 0,
                max_batch_items: PUSH as usize,
                ..SyncConfig::default()
            },
        );
        c.push_deadline = Duration::from_secs(600);
        let s = seal.clone();
        c.reseal = Some(Box::new(move |e| s(e)));
        let events = c.prepare(per_store);
        c.append_prepared(events);
        clients.push(c);
    }
    let before: Vec<(u64, u64)> = nodes.values().map(stats).collect();
    let started = Instant::now();
    let mut tasks = vec![];
    for mut c in clients {
        let urls = [url.clone()];
        tasks.push(tokio::spawn(async move {
            c.sync_any(&urls).await;
            (c.acked, c.latencies)
        }));
    }
    let mut acked = 0;
    let mut latencies = vec![];
    for t in tasks {
        let (a, l) = t.await.unwrap();
        acked += a;
        latencies.extend(l);
    }
    let secs = started.elapsed().as_secs_f64();
    let after: Vec<(u64, u64)> = nodes.values().map(stats).collect();
    let (commits, entries) = {
        let l = (leader - 1) as usize;
        (after[l].0 - before[l].0, after[l].1 - before[l].1)
    };

    // The peers: one core batch-verifying the same kind of events' signatures, and one core
    // checking their MACs.
    let mut m = store(1);
    let events: Vec<_> = (1..=total.min(40_000))
        .map(|k| {
            let mut e = event(&mut m, 1, k, wall()).0;
            seal(&mut e);
            e
        })
        .collect();
    let mut registry = KeyRegistry::new();
    registry.register(&events[0].audit().created_by, seed.verifier());
    let t = Instant::now();
    for chunk in events.chunks(PUSH as usize) {
        assert!(dcs_crypto::verify_event_signatures(chunk, &registry).iter().all(Result::is_ok));
    }
    let verify_rate = events.len() as f64 / t.elapsed().as_secs_f64();
    let macs = TenantVerifier::new([("acme".to_string(), mac)].into());
    let t = Instant::now();
    for e in &events {
        macs.verify(e).unwrap();
    }
    let mac_rate = events.len() as f64 / t.elapsed().as_secs_f64();

    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
    let rate = acked as f64 / secs;
    println!(
        "region commit: {acked} events acknowledged in {secs:.2} s by a 3-node region: {rate:.0} events/s"
    );
    println!(
        "one core batch-verifying the same events' Ed25519 signatures: {verify_rate:.0} events/s; ratio {:.2} (goal >= 0.5)",
        rate / verify_rate
    );
    println!("one core checking their MACs: {mac_rate:.0} events/s");
    println!(
        "push of up to {PUSH} events, send to ack: p50 {:?}, p99 {:?} ({} pushes)",
        pct(0.5),
        pct(0.99),
        latencies.len()
    );
    println!(
        "leader's Raft log: {commits} commits (fsyncs) for {entries} entries: {:.1} entries and {:.0} events per fsync",
        entries as f64 / commits.max(1) as f64,
        acked as f64 / commits.max(1) as f64
    );
    assert_eq!(acked, per_store * u64::from(stores), "every event acknowledged");
    for n in nodes.into_values() {
        n.shutdown().await;
    }
}

fn stats(n: &RegionNode) -> (u64, u64) {
    (n.log_stats.commits.load(Ordering::Relaxed), n.log_stats.entries.load(Ordering::Relaxed))
}
