//! dcs-store SQLite appends and reads, each beside a bare rusqlite insert of the same rows
//! with the same durability (WAL, synchronous=FULL) in the same run.
//!
//! Run: `cargo bench -p dcs-benches --bench store`. Prints p50/p99 of single durable appends.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use dcs_core::SovereignFinancialEvent;
use dcs_store::conformance::test_event;
use dcs_store::sqlite::SqliteStore;
use dcs_store::{ExpectedVersion, StreamId};
use rusqlite::{Connection, params};

/// Size of a sealed 256-byte payload: 256 bytes of ciphertext plus the envelope's header,
/// wrapped key, commitment, nonce and tag (rounded up).
const SEALED_LEN: usize = 256 + 160;

fn event(seq: u64) -> SovereignFinancialEvent {
    let mut e = test_event("t", seq, &format!("key-{seq}"));
    let payload: Vec<u8> = (0..SEALED_LEN).map(|i| (i as u64 ^ seq) as u8).collect();
    e.set_envelope(payload).unwrap();
    e
}

/// The peer: the same rows (every column the store writes, chain hashes included, as
/// precomputed bytes) into a plain table, same pragmas, no chain, no checks.
struct Bare {
    conn: Connection,
    next: i64,
}

impl Bare {
    /// The same table with the unique indexes the store keeps for its guarantees (event
    /// id, the per-append stream entry, idempotency key): separates their cost from the
    /// store's own code.
    fn open_indexed(path: &std::path::Path) -> Self {
        let bare = Self::open(path);
        bare.conn
            .execute_batch(
                "CREATE UNIQUE INDEX e_id ON events (event_id);
                 CREATE UNIQUE INDEX e_stream ON events (stream_id, stream_version) WHERE position = batch_first;
                 CREATE UNIQUE INDEX e_key ON events (tenant_id, idempotency_key);",
            )
            .unwrap();
        bare
    }

    fn open(path: &std::path::Path) -> Self {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -16384;
             CREATE TABLE events (position INTEGER PRIMARY KEY, event_id BLOB NOT NULL, stream_id TEXT NOT NULL,
               stream_version INTEGER NOT NULL, tenant_id TEXT NOT NULL, branch_id TEXT NOT NULL, event_type INTEGER NOT NULL,
               amount_minor INTEGER NOT NULL, currency TEXT NOT NULL, hlc_time INTEGER NOT NULL, idempotency_key TEXT NOT NULL,
               batch_first INTEGER NOT NULL, batch_last INTEGER NOT NULL, event BLOB NOT NULL,
               prev_hash BLOB NOT NULL, row_hash BLOB NOT NULL) STRICT;",
        )
        .unwrap();
        Bare { conn, next: 0 }
    }

    fn insert(&mut self, events: &[SovereignFinancialEvent]) {
        const HASH: [u8; 32] = [0xab; 32];
        let tx = self.conn.transaction().unwrap();
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                )
                .unwrap();
            let (first, last) = (self.next + 1, self.next + events.len() as i64);
            for e in events {
                self.next += 1;
                let bytes = postcard::to_allocvec(e).unwrap();
                stmt.execute(params![
                    self.next,
                    e.event_id().as_bytes().as_slice(),
                    "bench",
                    self.next,
                    e.tenant_id().as_str(),
                    e.branch_id().as_str(),
                    e.event_type().code(),
                    e.amount().minor(),
                    e.amount().currency().code(),
                    e.causality().hlc.time as i64,
                    e.idempotency_key().as_str(),
                    first,
                    last,
                    bytes,
                    HASH.as_slice(),
                    HASH.as_slice()
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
    }
}

fn appends(c: &mut Criterion) {
    for batch in [1usize, 100] {
        let mut group = c.benchmark_group(format!("durable_append_batch_{batch}"));
        group.throughput(Throughput::Elements(batch as u64));
        group.sample_size(20).measurement_time(Duration::from_secs(4));
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("dcs.db")).unwrap();
        let stream = StreamId::new("bench").unwrap();
        let mut seq = 0u64;
        group.bench_function("dcs_store", |b| {
            b.iter_batched(
                || {
                    let events: Vec<_> = (0..batch as u64).map(|i| event(seq + i)).collect();
                    seq += batch as u64;
                    events
                },
                |events| store.append_sync(&stream, ExpectedVersion::Any, &events).unwrap(),
                BatchSize::PerIteration,
            )
        });
        for (name, indexed) in
            [("bare_rusqlite", false), ("bare_rusqlite_same_unique_indexes", true)]
        {
            let path = dir.path().join(format!("{name}.db"));
            let mut bare = if indexed { Bare::open_indexed(&path) } else { Bare::open(&path) };
            let mut seq = 0u64;
            group.bench_function(name, |b| {
                b.iter_batched(
                    || {
                        let events: Vec<_> = (0..batch as u64).map(|i| event(seq + i)).collect();
                        seq += batch as u64;
                        events
                    },
                    |events| bare.insert(&events),
                    BatchSize::PerIteration,
                )
            });
        }
        group.finish();
    }
}

fn read_all(c: &mut Criterion) {
    const N: u64 = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("dcs.db")).unwrap();
    let stream = StreamId::new("bench").unwrap();
    let events: Vec<_> = (0..N).map(event).collect();
    for chunk in events.chunks(1000) {
        store.append_sync(&stream, ExpectedVersion::Any, chunk).unwrap();
    }
    let mut bare = Bare::open(&dir.path().join("bare.db"));
    for chunk in events.chunks(1000) {
        bare.insert(chunk);
    }
    let mut group = c.benchmark_group("read_all_10k");
    group.throughput(Throughput::Elements(N));
    group.sample_size(10).measurement_time(Duration::from_secs(4));
    group.bench_function("dcs_store_verified_decoded", |b| {
        b.iter(|| assert_eq!(store.read_all_sync(1, N as usize).unwrap().len() as u64, N))
    });
    group.bench_function("bare_rusqlite_decoded", |b| {
        b.iter(|| {
            let mut stmt =
                bare.conn.prepare_cached("SELECT event FROM events ORDER BY position").unwrap();
            let rows = stmt
                .query_map([], |r| r.get::<_, Vec<u8>>(0))
                .unwrap()
                .map(|b| postcard::from_bytes::<SovereignFinancialEvent>(&b.unwrap()).unwrap())
                .collect::<Vec<_>>()
                .len();
            assert_eq!(rows as u64, N)
        })
    });
    group.finish();
}

/// p50/p99 of single durable appends, timed one by one (criterion reports means).
fn latency() {
    const N: usize = 2000;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("lat.db")).unwrap();
    let mut bare = Bare::open(&dir.path().join("bare.db"));
    let stream = StreamId::new("lat").unwrap();
    let mut ours = Vec::with_capacity(N);
    let mut peer = Vec::with_capacity(N);
    for i in 0..N as u64 {
        let e = [event(i)];
        let t = Instant::now();
        store.append_sync(&stream, ExpectedVersion::Any, &e).unwrap();
        ours.push(t.elapsed());
        let t = Instant::now();
        bare.insert(&e);
        peer.push(t.elapsed());
    }
    let pct = |v: &mut Vec<Duration>, p: usize| {
        v.sort();
        v[(v.len() * p / 100).min(v.len() - 1)]
    };
    println!(
        "single durable append latency over {N}: dcs_store p50 {:?} p99 {:?}; bare_rusqlite p50 {:?} p99 {:?}",
        pct(&mut ours, 50),
        pct(&mut ours, 99),
        pct(&mut peer, 50),
        pct(&mut peer, 99)
    );
}

/// Batches of 100: the store and each peer in alternating blocks (the disk's fsync time
/// drifts between criterion's consecutive figures by more than the store's own cost), and
/// the median of the per-block rate ratios.
fn paired_batches() {
    const ROUNDS: usize = 31;
    const PER_BLOCK: usize = 10;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("dcs.db")).unwrap();
    let stream = StreamId::new("bench").unwrap();
    let mut peers = [
        ("bare_rusqlite", Bare::open(&dir.path().join("bare.db"))),
        ("bare_rusqlite_same_unique_indexes", Bare::open_indexed(&dir.path().join("idx.db"))),
    ];
    let mut seq = 0u64;
    let mut batches = move || -> Vec<Vec<SovereignFinancialEvent>> {
        (0..PER_BLOCK)
            .map(|_| {
                let b = (0..100).map(|i| event(seq + i)).collect();
                seq += 100;
                b
            })
            .collect()
    };
    let mut ratios = vec![Vec::new(); peers.len()];
    let mut ours = Vec::new();
    for round in 0..ROUNDS {
        let store_input = batches();
        let time_store = || {
            let t = Instant::now();
            for b in &store_input {
                store.append_sync(&stream, ExpectedVersion::Any, b).unwrap();
            }
            t.elapsed().as_secs_f64()
        };
        let first = if round % 2 == 0 { Some(time_store()) } else { None };
        let mut peer_times = Vec::new();
        for (_, peer) in peers.iter_mut() {
            let input = batches();
            let t = Instant::now();
            for b in &input {
                peer.insert(b);
            }
            peer_times.push(t.elapsed().as_secs_f64());
        }
        let ts = first.unwrap_or_else(time_store);
        ours.push(ts);
        for (r, tp) in ratios.iter_mut().zip(peer_times) {
            r.push(tp / ts);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let per_sec = (PER_BLOCK * 100) as f64 / median(&mut ours);
    for ((name, _), r) in peers.iter().zip(ratios.iter_mut()) {
        println!(
            "paired batch_100 dcs_store / {name}: rate ratio {:.3} (median of {ROUNDS} blocks of {PER_BLOCK} batches; dcs_store {per_sec:.0} ev/s)",
            median(r)
        );
    }
}

criterion_group!(benches, appends, read_all);

fn main() {
    benches();
    // Only under `cargo bench` (which passes --bench), not when `cargo test` smoke-runs it.
    if std::env::args().any(|a| a == "--bench") {
        latency();
        paired_batches();
    }
    Criterion::default().configure_from_args().final_summary();
}
