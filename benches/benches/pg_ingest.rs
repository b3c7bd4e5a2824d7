//! Regional bulk ingest into PostgreSQL (batches of 1,000 events with 256-byte sealed
//! payloads) beside a bare binary COPY of the same rows into an unindexed table, in the
//! same run and on the same server.
//!
//! Run: `eval "$(scripts/pg-dev start)" && cargo bench -p dcs-benches --bench pg_ingest`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pg_common;

use std::pin::pin;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use dcs_store::StreamId;
use dcs_store::conformance::test_event;
use dcs_store::postgres::IngestEvent;
use pg_common::PgBench;
use tokio_postgres::Client;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

const BATCH: u64 = 1000;
const SEALED_LEN: usize = 256 + 160;

fn batch(start: u64) -> Vec<IngestEvent> {
    (start..start + BATCH)
        .map(|i| {
            let mut event = test_event("bench", i, &format!("k{i}"));
            event.set_envelope((0..SEALED_LEN).map(|j| (j as u64 ^ i) as u8).collect()).unwrap();
            IngestEvent {
                stream: StreamId::new(format!("store-{}/s{}", i % 50, i % 500)).unwrap(),
                stream_version: i / 500 + 1,
                event,
                body: None,
            }
        })
        .collect()
}

/// The peer: binary COPY of the same columns into a table with no index, no RLS.
async fn bare_copy(client: &Client, rows: &[IngestEvent], first_position: i64) {
    copy_into(client, "bare_events", rows, first_position).await
}

/// One row's columns, in `event_store`'s order (what every peer writes).
struct Fields<'a> {
    event_id: uuid::Uuid,
    position: i64,
    tenant: &'a str,
    branch: &'a str,
    stream: &'a str,
    version: i64,
    event_type: i16,
    amount: i64,
    currency: String,
    hlc: i64,
    key: &'a str,
    bytes: Vec<u8>,
}

impl<'a> Fields<'a> {
    fn of(r: &'a IngestEvent, position: i64) -> Fields<'a> {
        let e = &r.event;
        Fields {
            event_id: uuid::Uuid::from_bytes(*e.event_id().as_bytes()),
            position,
            tenant: e.tenant_id().as_str(),
            branch: e.branch_id().as_str(),
            stream: r.stream.as_str(),
            version: r.stream_version as i64,
            event_type: e.event_type().code() as i16,
            amount: e.amount().minor(),
            currency: e.amount().currency().code().to_string(),
            hlc: e.causality().hlc.time as i64,
            key: e.idempotency_key().as_str(),
            bytes: postcard::to_allocvec(e).unwrap(),
        }
    }
}

const COLUMNS: &str =
    "event_id, position, tenant_id, branch_id, stream_id, stream_version, event_type,
    amount_minor, currency, hlc_time, idempotency_key, event";

/// Binary COPY of the rows into `table`.
async fn copy_into(client: &Client, table: &str, rows: &[IngestEvent], first_position: i64) {
    let sink =
        client.copy_in(&format!("COPY {table} ({COLUMNS}) FROM STDIN BINARY")).await.unwrap();
    let types = [
        Type::UUID,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
        Type::INT2,
        Type::INT8,
        Type::TEXT,
        Type::INT8,
        Type::TEXT,
        Type::BYTEA,
    ];
    let mut writer = pin!(BinaryCopyInWriter::new(sink, &types));
    for (i, r) in rows.iter().enumerate() {
        let f = Fields::of(r, first_position + i as i64);
        writer
            .as_mut()
            .write(&[
                &f.event_id,
                &f.position,
                &f.tenant,
                &f.branch,
                &f.stream,
                &f.version,
                &f.event_type,
                &f.amount,
                &f.currency,
                &f.hlc,
                &f.key,
                &f.bytes,
            ])
            .await
            .unwrap();
    }
    writer.finish().await.unwrap();
}

/// The plain way to insert under row-level security: the same rows inserted as the
/// application role, in one `INSERT … SELECT FROM unnest(…)` under the tenant's RLS
/// setting, into a table with the event log's partitions, indexes and policy — and
/// nothing else (no dedup, no runs: every row in the stream index; no position lock).
async fn insert_under_rls(app: &mut Client, rows: &[IngestEvent], first_position: i64) {
    let f: Vec<Fields> =
        rows.iter().enumerate().map(|(i, r)| Fields::of(r, first_position + i as i64)).collect();
    let ids: Vec<uuid::Uuid> = f.iter().map(|f| f.event_id).collect();
    let positions: Vec<i64> = f.iter().map(|f| f.position).collect();
    let tenants: Vec<&str> = f.iter().map(|f| f.tenant).collect();
    let branches: Vec<&str> = f.iter().map(|f| f.branch).collect();
    let streams: Vec<&str> = f.iter().map(|f| f.stream).collect();
    let versions: Vec<i64> = f.iter().map(|f| f.version).collect();
    let types: Vec<i16> = f.iter().map(|f| f.event_type).collect();
    let amounts: Vec<i64> = f.iter().map(|f| f.amount).collect();
    let currencies: Vec<&str> = f.iter().map(|f| f.currency.as_str()).collect();
    let hlcs: Vec<i64> = f.iter().map(|f| f.hlc).collect();
    let keys: Vec<&str> = f.iter().map(|f| f.key).collect();
    let bytes: Vec<&[u8]> = f.iter().map(|f| f.bytes.as_slice()).collect();
    let tx = app.transaction().await.unwrap();
    tx.execute("SELECT set_config('dcs.tenant_id', 'bench', true)", &[]).await.unwrap();
    tx.execute(
        &format!(
            "INSERT INTO rls_indexed ({COLUMNS})
             SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[],
                 $7::smallint[], $8::bigint[], $9::text[], $10::bigint[], $11::text[], $12::bytea[])"
        ),
        &[
            &ids,
            &positions,
            &tenants,
            &branches,
            &streams,
            &versions,
            &types,
            &amounts,
            &currencies,
            &hlcs,
            &keys,
            &bytes,
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// The peers' tables: the bare one, and the event log's partitions and indexes without and
/// with its forced tenant policy.
const PEERS: &str = "CREATE TABLE bare_events (event_id uuid, position bigint, tenant_id text, branch_id text,
       stream_id text, stream_version bigint, event_type smallint, amount_minor bigint, currency text,
       hlc_time bigint, idempotency_key text, event bytea);
     -- The second peer: the event log's own partitions and indexes, without
     -- row-level security (COPY is refused under it) or any of the ingest's work.
     -- The third (the plain RLS insert): the same with the event log's forced policy.
     CREATE TABLE bare_indexed (LIKE event_store INCLUDING DEFAULTS INCLUDING INDEXES)
       PARTITION BY HASH (event_id);
     CREATE TABLE rls_indexed (LIKE event_store INCLUDING DEFAULTS INCLUDING INDEXES)
       PARTITION BY HASH (event_id);
     DO $$ BEGIN FOR i IN 0..7 LOOP
       EXECUTE format('CREATE TABLE bare_indexed_p%s PARTITION OF bare_indexed
         FOR VALUES WITH (MODULUS 8, REMAINDER %s)', i, i);
       EXECUTE format('CREATE TABLE rls_indexed_p%s PARTITION OF rls_indexed
         FOR VALUES WITH (MODULUS 8, REMAINDER %s)', i, i);
     END LOOP; END $$;
     ALTER TABLE rls_indexed ENABLE ROW LEVEL SECURITY;
     ALTER TABLE rls_indexed FORCE ROW LEVEL SECURITY;
     CREATE POLICY tenant_rows ON rls_indexed FOR ALL TO dcs_app
       USING (tenant_id = dcs_tenant()) WITH CHECK (tenant_id = dcs_tenant());
     GRANT SELECT, INSERT ON rls_indexed TO dcs_app;";

/// A fresh benchmark database with the peers' tables.
fn setup(name: &str) -> PgBench {
    pg_common::fresh(name, PEERS)
}

fn ingest(c: &mut Criterion) {
    let PgBench { rt, store, owner, .. } = setup("dcs_bench_ingest");
    let mut group = c.benchmark_group("pg_ingest_batch_1000");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(10).measurement_time(Duration::from_secs(8));
    let mut next = 0u64;
    group.bench_function("dcs_store_ingest", |b| {
        b.iter_batched(
            || {
                let rows = batch(next);
                next += BATCH;
                rows
            },
            |rows| rt.block_on(store.ingest(&rows)).unwrap(),
            BatchSize::PerIteration,
        )
    });
    let mut next = 0u64;
    group.bench_function("bare_copy_unindexed", |b| {
        b.iter_batched(
            || {
                let rows = batch(next);
                next += BATCH;
                (rows, next as i64)
            },
            |(rows, first)| rt.block_on(bare_copy(&owner, &rows, first)),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// The contenders of the paired measurement, in the order of `paired`'s figures.
const CONTENDERS: [&str; 4] = [
    "dcs-store ingest",
    "bare COPY (no index, no RLS)",
    "COPY into the event log's partitions and indexes (no RLS)",
    "one INSERT under RLS into them, nothing else (the plain RLS insert)",
];

/// The contenders in alternating blocks (the server's checkpoints and the disk drift
/// between criterion's consecutive figures), then the median of the per-block rate ratios
/// to the bare COPY.
fn paired() {
    const ROUNDS: usize = 21;
    const PER_BLOCK: u64 = 5;
    let PgBench { rt, store, owner, mut app } = setup("dcs_bench_ingest_paired");
    let mut next = [0u64; 4];
    let mut times: [Vec<f64>; 4] = Default::default();
    for round in 0..ROUNDS {
        for k in 0..CONTENDERS.len() {
            let who = (round + k) % CONTENDERS.len();
            let inputs: Vec<_> = (0..PER_BLOCK).map(|i| batch(next[who] + i * BATCH)).collect();
            let first = next[who] as i64;
            next[who] += PER_BLOCK * BATCH;
            let t = std::time::Instant::now();
            for (i, rows) in inputs.iter().enumerate() {
                let position = first + (i as u64 * BATCH) as i64 + 1;
                match who {
                    0 => drop(rt.block_on(store.ingest(rows)).unwrap()),
                    1 => rt.block_on(copy_into(&owner, "bare_events", rows, position)),
                    2 => rt.block_on(copy_into(&owner, "bare_indexed", rows, position)),
                    _ => rt.block_on(insert_under_rls(&mut app, rows, position)),
                }
            }
            times[who].push(t.elapsed().as_secs_f64());
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let per_block = (PER_BLOCK * BATCH) as f64;
    let ratio_to = |who: usize, of: usize| {
        median(times[of].iter().zip(&times[who]).map(|(o, w)| o / w).collect())
    };
    println!(
        "paired ingest / bare COPY: rate ratio {:.3} (median of {ROUNDS} blocks of {PER_BLOCK} batches of {BATCH}; {} events ingested)",
        ratio_to(0, 1),
        next[0]
    );
    for (who, name) in CONTENDERS.iter().enumerate() {
        println!(
            "paired {name}: {:.0} ev/s, rate ratio to the bare COPY {:.3}, to the plain RLS insert {:.3}",
            per_block / median(times[who].clone()),
            ratio_to(who, 1),
            ratio_to(who, 3)
        );
    }
}

criterion_group!(benches, ingest);

fn main() {
    benches();
    // Only under `cargo bench` (which passes --bench), not when `cargo test` smoke-runs it.
    if std::env::args().any(|a| a == "--bench") {
        paired();
    }
    criterion::Criterion::default().configure_from_args().final_summary();
}
