//! Regional stream reads: `PgStore::read_stream` (the runs of schema 3: run starts from the
//! stream index, the rest of each run by position) beside the plain read of the same rows
//! through a full stream index (one entry per event, as before schema 3), both as the
//! application role under the tenant policy, in the same run and on the same server.
//!
//! Run: `eval "$(scripts/pg-dev start)" && cargo bench -p dcs-benches --bench pg_read`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pg_common;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use dcs_core::SovereignFinancialEvent;
use dcs_store::conformance::test_event;
use dcs_store::postgres::IngestEvent;
use dcs_store::{EventStore, ExpectedVersion, StreamId};
use pg_common::PgBench;
use tokio_postgres::{Client, Statement};

/// Events per measured stream (one read takes them all).
const LEN: u64 = 100;

/// The peer: the same rows, partitions and policy, with a stream index over every row.
const PEER: &str = "
CREATE TABLE full_index (LIKE event_store INCLUDING DEFAULTS) PARTITION BY HASH (event_id);
DO $$ BEGIN FOR i IN 0..7 LOOP
  EXECUTE format('CREATE TABLE full_index_p%s PARTITION OF full_index
    FOR VALUES WITH (MODULUS 8, REMAINDER %s)', i, i);
END LOOP; END $$;
CREATE INDEX ON full_index (position);
CREATE INDEX ON full_index (tenant_id, stream_id, stream_version);
ALTER TABLE full_index ENABLE ROW LEVEL SECURITY;
ALTER TABLE full_index FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON full_index FOR ALL TO dcs_app
  USING (tenant_id = dcs_tenant()) WITH CHECK (tenant_id = dcs_tenant());
GRANT SELECT ON full_index TO dcs_app;";

/// How a measured stream was written, and its name.
const FAMILIES: [(&str, &str); 3] = [
    ("forwarded in batches (runs of 2)", "ing/s7"),
    ("appended one event at a time (runs of 1)", "one/s0"),
    ("appended ten events at a time (runs of 10)", "ten/s0"),
];

/// Writes the three families (and, with the forwarded one, 49,000 events of other streams),
/// then copies every row to the peer's table.
fn fill(b: &PgBench) {
    b.rt.block_on(async {
        let mut n = 0u64;
        for batch in 0..LEN / 2 {
            let events: Vec<IngestEvent> = (0..1000u64)
                .map(|i| IngestEvent {
                    stream: StreamId::new(format!("ing/s{}", i % 500)).unwrap(),
                    stream_version: 2 * batch + i / 500 + 1,
                    event: test_event("bench", n + i, &format!("i{}", n + i)),
                    body: None,
                })
                .collect();
            n += 1000;
            b.store.ingest(&events).await.unwrap();
        }
        for (family, size) in [("one", 1u64), ("ten", 10)] {
            let stream = StreamId::new(format!("{family}/s0")).unwrap();
            for append in 0..LEN / size {
                let events: Vec<SovereignFinancialEvent> = (0..size)
                    .map(|_| {
                        n += 1;
                        test_event("bench", n, &format!("a{n}"))
                    })
                    .collect();
                let expected = ExpectedVersion::Exact(append * size);
                b.store.append(&stream, expected, &events).await.unwrap();
            }
        }
        b.owner
            .batch_execute("INSERT INTO full_index SELECT * FROM event_store; ANALYZE;")
            .await
            .unwrap();
    });
}

/// The peer's query: the rows in version order through the full stream index.
const PEER_READ: &str = "SELECT position, stream_id, stream_version, event FROM full_index
    WHERE tenant_id = dcs_tenant() AND stream_id = $1 AND stream_version >= 1
    ORDER BY stream_version LIMIT $2";

/// The peer's read: one transaction under the tenant's scope, the prepared [`PEER_READ`],
/// each event decoded (as the store does).
async fn peer_read(app: &mut Client, read: &Statement, stream: &str) -> usize {
    let tx = app.transaction().await.unwrap();
    tx.execute("SELECT set_config('dcs.tenant_id', 'bench', true)", &[]).await.unwrap();
    let rows = tx.query(read, &[&stream, &(LEN as i64)]).await.unwrap();
    tx.commit().await.unwrap();
    for r in &rows {
        let bytes: &[u8] = r.get(3);
        let _: SovereignFinancialEvent = postcard::from_bytes(bytes).unwrap();
    }
    rows.len()
}

/// The store's read of the whole stream.
async fn store_read(b: &PgBench, stream: &str) -> usize {
    b.store.read_stream(&StreamId::new(stream).unwrap(), 1, LEN as usize).await.unwrap().len()
}

fn reads(c: &mut Criterion) {
    let mut b = pg_common::fresh("dcs_bench_read", PEER);
    fill(&b);
    let read = b.rt.block_on(b.app.prepare(PEER_READ)).unwrap();
    let mut group = c.benchmark_group("pg_read_stream_100");
    group.sample_size(20).measurement_time(Duration::from_secs(3));
    for (family, stream) in FAMILIES {
        assert_eq!(b.rt.block_on(store_read(&b, stream)), LEN as usize, "{family}");
        group.bench_function(format!("dcs_store/{family}"), |i| {
            i.iter(|| b.rt.block_on(store_read(&b, stream)))
        });
        let PgBench { rt, app, .. } = &mut b;
        group.bench_function(format!("full_index_peer/{family}"), |i| {
            i.iter(|| rt.block_on(peer_read(app, &read, stream)))
        });
    }
    group.finish();
    // Only under `cargo bench` (which passes --bench), not when `cargo test` smoke-runs it.
    if std::env::args().any(|a| a == "--bench") {
        paired(&mut b, &read);
    }
}

/// Each family's two reads in alternating blocks; the median of the per-block time ratios.
fn paired(b: &mut PgBench, read: &Statement) {
    const ROUNDS: usize = 21;
    const PER_BLOCK: usize = 40;
    for (family, stream) in FAMILIES {
        let mut ratios = Vec::with_capacity(ROUNDS);
        let mut ours = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let t = Instant::now();
            for _ in 0..PER_BLOCK {
                b.rt.block_on(store_read(b, stream));
            }
            let store = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let PgBench { rt, app, .. } = &mut *b;
            for _ in 0..PER_BLOCK {
                rt.block_on(peer_read(app, read, stream));
            }
            let peer = t.elapsed().as_secs_f64();
            ratios.push(store / peer);
            ours.push(store / PER_BLOCK as f64);
        }
        ratios.sort_by(f64::total_cmp);
        ours.sort_by(f64::total_cmp);
        println!(
            "paired read of {LEN} events, {family}: store {:.2} ms, time ratio to the full-index peer {:.3} (median of {ROUNDS} blocks of {PER_BLOCK})",
            ours[ROUNDS / 2] * 1e3,
            ratios[ROUNDS / 2]
        );
    }
}

criterion_group!(benches, reads);

fn main() {
    benches();
    criterion::Criterion::default().configure_from_args().final_summary();
}
