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
    let sink = client
        .copy_in(
            "COPY bare_events (event_id, position, tenant_id, branch_id, stream_id, stream_version, event_type,
               amount_minor, currency, hlc_time, idempotency_key, event) FROM STDIN BINARY",
        )
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

fn ingest(c: &mut Criterion) {
    let url = std::env::var("DCS_PG_URL")
        .expect("DCS_PG_URL is not set: run `eval \"$(scripts/pg-dev start)\"` first");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server: Config = url.parse().unwrap();
    let (store, bare) = rt.block_on(async {
        let root = connect(&server).await;
        root.batch_execute("DROP DATABASE IF EXISTS dcs_bench_ingest").await.unwrap();
        root.batch_execute("CREATE DATABASE dcs_bench_ingest").await.unwrap();
        let mut admin = server.clone();
        admin.dbname("dcs_bench_ingest");
        let mut owner = connect(&admin).await;
        migrate(&mut owner).await.unwrap();
        let _ = root.batch_execute("CREATE ROLE dcs_bench_app LOGIN IN ROLE dcs_app").await;
        owner
            .batch_execute(
                "CREATE TABLE bare_events (event_id uuid, position bigint, tenant_id text, branch_id text,
                   stream_id text, stream_version bigint, event_type smallint, amount_minor bigint, currency text,
                   hlc_time bigint, idempotency_key text, event bytea)",
            )
            .await
            .unwrap();
        let mut app = admin.clone();
        app.user("dcs_bench_app");
        let scope = Scope { tenant: TenantId::new("bench").unwrap(), branch: None::<BranchId> };
        (PgStore::connect(app, scope, 2).unwrap(), owner)
    });
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

criterion_group!(benches, ingest);

fn main() {
    benches();
    criterion::Criterion::default().configure_from_args().final_summary();
}
