//! Regional bulk ingest into PostgreSQL (batches of 1,000 events with 256-byte sealed
//! payloads) beside a bare binary COPY of the same rows into an unindexed table, in the
//! same run and on the same server.
//!
//! Run: `eval "$(scripts/pg-dev start)" && cargo bench -p dcs-benches --bench pg_ingest`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::pin::pin;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use dcs_core::{BranchId, TenantId};
use dcs_store::StreamId;
use dcs_store::conformance::test_event;
use dcs_store::postgres::{IngestEvent, PgStore, Scope, migrate};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Config, NoTls};

const BATCH: u64 = 1000;
const SEALED_LEN: usize = 256 + 160;

async fn connect(config: &Config) -> Client {
    let (client, conn) = config.connect(NoTls).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

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

/// Binary COPY of the rows into `table`.
async fn copy_into(client: &Client, table: &str, rows: &[IngestEvent], first_position: i64) {
    let sink = client
        .copy_in(&format!(
            "COPY {table} (event_id, position, tenant_id, branch_id, stream_id, stream_version, event_type,
               amount_minor, currency, hlc_time, idempotency_key, event) FROM STDIN BINARY"
        ))
        .await
        .unwrap();
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
        let e = &r.event;
        let bytes = postcard::to_allocvec(e).unwrap();
        writer
            .as_mut()
            .write(&[
                &uuid::Uuid::from_bytes(*e.event_id().as_bytes()),
                &(first_position + i as i64),
                &e.tenant_id().as_str(),
                &e.branch_id().as_str(),
                &r.stream.as_str(),
                &(r.stream_version as i64),
                &(e.event_type().code() as i16),
                &e.amount().minor(),
                &e.amount().currency().code(),
                &(e.causality().hlc.time as i64),
                &e.idempotency_key().as_str(),
                &bytes,
            ])
            .await
            .unwrap();
    }
    writer.finish().await.unwrap();
}

/// A fresh database `name` with the schema, an application login and the peer's table.
fn setup(name: &str) -> (tokio::runtime::Runtime, PgStore, Client) {
    let url = std::env::var("DCS_PG_URL")
        .expect("DCS_PG_URL is not set: run `eval \"$(scripts/pg-dev start)\"` first");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server: Config = url.parse().unwrap();
    let (store, bare) = rt.block_on(async {
        let root = connect(&server).await;
        root.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).await.unwrap();
        root.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
        let mut admin = server.clone();
        admin.dbname(name);
        let mut owner = connect(&admin).await;
        migrate(&mut owner).await.unwrap();
        let _ = root.batch_execute("CREATE ROLE dcs_bench_app LOGIN IN ROLE dcs_app").await;
        owner
            .batch_execute(
                "CREATE TABLE bare_events (event_id uuid, position bigint, tenant_id text, branch_id text,
                   stream_id text, stream_version bigint, event_type smallint, amount_minor bigint, currency text,
                   hlc_time bigint, idempotency_key text, event bytea);
                 -- The second peer: the event log's own partitions and indexes, without
                 -- row-level security (COPY is refused under it) or any of the ingest's work.
                 CREATE TABLE bare_indexed (LIKE event_store INCLUDING DEFAULTS INCLUDING INDEXES)
                   PARTITION BY HASH (event_id);
                 DO $$ BEGIN FOR i IN 0..7 LOOP
                   EXECUTE format('CREATE TABLE bare_indexed_p%s PARTITION OF bare_indexed
                     FOR VALUES WITH (MODULUS 8, REMAINDER %s)', i, i);
                 END LOOP; END $$;",
            )
            .await
            .unwrap();
        let mut app = admin.clone();
        app.user("dcs_bench_app");
        let scope = Scope { tenant: TenantId::new("bench").unwrap(), branch: None::<BranchId> };
        (PgStore::connect(app, scope, 2).unwrap(), owner)
    });
    (rt, store, bare)
}

fn ingest(c: &mut Criterion) {
    let (rt, store, bare) = setup("dcs_bench_ingest");
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
            |(rows, first)| rt.block_on(bare_copy(&bare, &rows, first)),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// Ingest and bare COPY in alternating blocks (the server's checkpoints and the disk drift
/// between criterion's consecutive figures), then the median of the per-block rate ratios.
fn paired() {
    const ROUNDS: usize = 21;
    const PER_BLOCK: u64 = 5;
    let (rt, store, bare) = setup("dcs_bench_ingest_paired");
    let (mut next_store, mut next_bare, mut next_indexed) = (0u64, 0u64, 0u64);
    let (mut ratios, mut store_times, mut bare_times) = (Vec::new(), Vec::new(), Vec::new());
    let (mut indexed_ratios, mut indexed_times, mut copy_ratios) =
        (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let mut time_store = || {
            let inputs: Vec<_> = (0..PER_BLOCK).map(|i| batch(next_store + i * BATCH)).collect();
            next_store += PER_BLOCK * BATCH;
            let t = std::time::Instant::now();
            for rows in &inputs {
                rt.block_on(store.ingest(rows)).unwrap();
            }
            t.elapsed().as_secs_f64()
        };
        let time_copy = |table: &str, next: &mut u64| {
            let inputs: Vec<_> = (0..PER_BLOCK).map(|i| batch(*next + i * BATCH)).collect();
            let firsts: Vec<i64> = (0..PER_BLOCK).map(|i| (*next + i * BATCH) as i64).collect();
            *next += PER_BLOCK * BATCH;
            let t = std::time::Instant::now();
            for (rows, first) in inputs.iter().zip(firsts) {
                rt.block_on(copy_into(&bare, table, rows, first));
            }
            t.elapsed().as_secs_f64()
        };
        let (ts, tb, ti) = if round % 2 == 0 {
            let ts = time_store();
            (
                ts,
                time_copy("bare_events", &mut next_bare),
                time_copy("bare_indexed", &mut next_indexed),
            )
        } else {
            let tb = time_copy("bare_events", &mut next_bare);
            let ti = time_copy("bare_indexed", &mut next_indexed);
            (time_store(), tb, ti)
        };
        store_times.push(ts);
        bare_times.push(tb);
        indexed_times.push(ti);
        ratios.push(tb / ts);
        indexed_ratios.push(ti / ts);
        copy_ratios.push(tb / ti);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let per_block = (PER_BLOCK * BATCH) as f64;
    println!(
        "paired ingest / bare COPY: rate ratio {:.3} (median of {ROUNDS} blocks of {PER_BLOCK} batches of {BATCH}; ingest {:.0} ev/s, COPY {:.0} ev/s; {} events ingested)",
        median(&mut ratios),
        per_block / median(&mut store_times),
        per_block / median(&mut bare_times),
        next_store
    );
    println!(
        "paired ingest / COPY into the same partitions and indexes: rate ratio {:.3} (that COPY {:.0} ev/s); that COPY / bare COPY: {:.3}",
        median(&mut indexed_ratios),
        per_block / median(&mut indexed_times),
        median(&mut copy_ratios)
    );
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
