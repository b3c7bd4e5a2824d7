//! Bulk ingest and global positions on PostgreSQL: re-sent and overlapping concurrent
//! batches leave one copy of each event, projections move in the same transaction, and a
//! catch-up reader following positions never skips an event that commits late.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pg_common;

use std::collections::BTreeSet;

use dcs_core::commerce::body::StockMovement;
use dcs_core::commerce::{EventBody, Sku};
use dcs_core::{BranchId, SovereignFinancialEvent};
use dcs_store::conformance::test_event;
use dcs_store::postgres::IngestEvent;
use dcs_store::{EventStore, ExpectedVersion, StreamId};
use pg_common::{TestDb, connect};

fn ingest_batch(range: std::ops::Range<u64>) -> Vec<IngestEvent> {
    range
        .map(|i| IngestEvent {
            stream: StreamId::new(format!("store-1/s{}", i % 7)).unwrap(),
            stream_version: i / 7 + 1,
            event: test_event("t1", i, &format!("k{i}")),
            body: None,
        })
        .collect()
}

/// The two bigint columns of the one row `sql` returns, read as the owner (past RLS).
async fn owner_pair(db: &TestDb, sql: &str) -> (i64, i64) {
    let owner = connect(&db.admin).await;
    let row = owner.query_one(sql, &[]).await.unwrap();
    (row.get(0), row.get(1))
}

/// (rows, distinct event ids) in the event log.
async fn copies(db: &TestDb) -> (i64, i64) {
    owner_pair(db, "SELECT count(*), count(DISTINCT event_id) FROM event_store").await
}

#[tokio::test]
async fn re_ingesting_a_batch_writes_nothing_new() {
    let db = TestDb::new().await;
    let store = db.store("t1");
    let batch = ingest_batch(0..500);
    let first = store.ingest(&batch).await.unwrap();
    assert_eq!((first.inserted, first.duplicates, first.head_position), (500, 0, 500));
    let again = store.ingest(&batch).await.unwrap();
    assert_eq!((again.inserted, again.duplicates, again.head_position), (0, 500, 500));
    assert_eq!(copies(&db).await, (500, 500));
    // Positions are gap-free and each event kept its store stream and version.
    let all = store.read_all(1, 1000).await.unwrap();
    assert_eq!(all.iter().map(|e| e.position).collect::<Vec<_>>(), (1..=500).collect::<Vec<_>>());
    let last_of_s3 = (0..500u64).filter(|i| i % 7 == 3).max().unwrap();
    assert_eq!(
        store.stream_version(&StreamId::new("store-1/s3").unwrap()).await.unwrap(),
        last_of_s3 / 7 + 1
    );
}

/// The versions a full read of `stream` returns, from version `from`.
async fn versions(store: &dcs_store::postgres::PgStore, stream: &str, from: u64) -> Vec<u64> {
    let events = store.read_stream(&StreamId::new(stream).unwrap(), from, 100).await.unwrap();
    events.iter().map(|e| e.stream_version).collect()
}

/// (rows that start a run, sum of the run lengths) in the event log.
async fn runs(db: &TestDb) -> (i64, i64) {
    let sql = "SELECT count(*) FILTER (WHERE run_len > 0), sum(run_len)::bigint FROM event_store";
    owner_pair(db, sql).await
}

#[tokio::test]
async fn ingest_puts_each_streams_events_in_runs() {
    let db = TestDb::new().await;
    let store = db.store("t1");
    // Streams s0..s6; s0, s1 and s2 have two events each in this batch.
    store.ingest(&ingest_batch(0..10)).await.unwrap();
    assert_eq!(runs(&db).await, (7, 10));
    let s0 = store.read_stream(&StreamId::new("store-1/s0").unwrap(), 1, 10).await.unwrap();
    let at: Vec<(u64, u64)> = s0.iter().map(|e| (e.position, e.stream_version)).collect();
    assert_eq!(at, [(1, 1), (2, 2)], "a stream's events of a batch are consecutive");
    assert_eq!(versions(&store, "store-1/s0", 2).await, [2], "a read may start inside a run");

    // An overlapping batch takes the careful statement: the new events are each their own run.
    let report = store.ingest(&ingest_batch(5..15)).await.unwrap();
    assert_eq!((report.inserted, report.duplicates, report.head_position), (5, 5, 15));
    assert_eq!(runs(&db).await, (12, 15));
    assert_eq!(versions(&store, "store-1/s0", 1).await, [1, 2, 3]);
    assert_eq!(versions(&store, "store-1/s3", 1).await, [1, 2]);
    assert_eq!(versions(&store, "store-1/s0", 3).await, [3]);
    assert!(versions(&store, "store-1/s0", 4).await.is_empty());
    assert_eq!(store.stream_version(&StreamId::new("store-1/s0").unwrap()).await.unwrap(), 3);
    let all = store.read_all(1, 100).await.unwrap();
    assert_eq!(all.iter().map(|e| e.position).collect::<Vec<_>>(), (1..=15).collect::<Vec<_>>());

    // Two stores' events with one idempotency key in one batch are both stored: the stores
    // deduplicated their own commands, the region deduplicates events by id.
    let mut both = ingest_batch(30..34);
    both[1].event = test_event("t1", 31, "twice");
    both[3].event = test_event("t1", 33, "twice");
    let report = store.ingest(&both).await.unwrap();
    assert_eq!((report.inserted, report.head_position), (4, 19));
    assert_eq!(copies(&db).await, (19, 19));
}

#[tokio::test]
async fn a_large_batch_of_two_tenants_lands_in_its_partitions_in_runs() {
    let db = TestDb::new().await;
    // 1,000 events, two tenants, 60 streams each with interleaved events (as from many stores).
    let batch: Vec<IngestEvent> = (0..1000u64)
        .map(|i| {
            let tenant = if i % 3 == 0 { "t2" } else { "t1" };
            IngestEvent {
                stream: StreamId::new(format!("store-{}/s{}", i % 4, i % 60)).unwrap(),
                stream_version: i / 60 + 1,
                event: test_event(tenant, i, &format!("k{i}")),
                body: None,
            }
        })
        .collect();
    let report = db.store("t1").ingest(&batch).await.unwrap();
    assert_eq!((report.inserted, report.duplicates, report.head_position), (1000, 0, 1000));

    // Every row sits in the partition the client computed for it.
    let owner = connect(&db.admin).await;
    let rows = owner
        .query("SELECT event_id, tableoid::regclass::text, position FROM event_store", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1000);
    for r in &rows {
        let id: uuid::Uuid = r.get(0);
        let table: String = r.get(1);
        assert_eq!(
            table,
            format!("event_store_p{}", dcs_store::postgres::partition_of(id.as_bytes()))
        );
    }
    let positions: BTreeSet<i64> = rows.iter().map(|r| r.get(2)).collect();
    assert_eq!(positions, (1..=1000).collect::<BTreeSet<i64>>(), "gap-free, each once");

    // Each stream reads back whole and in version order, in either tenant.
    for tenant in ["t1", "t2"] {
        let store = db.store(tenant);
        for s in 0..60u64 {
            let stream = format!("store-{}/s{s}", s % 4);
            let expected: Vec<u64> = (0..1000u64)
                .filter(|i| i % 60 == s && (i % 3 == 0) == (tenant == "t2"))
                .map(|i| i / 60 + 1)
                .collect();
            assert_eq!(versions(&store, &stream, 1).await, expected, "{tenant} {stream}");
        }
    }
    // Each stream belongs to one tenant and its versions follow each other, so each is one
    // run across all the partitions its events fell in: one stream-index entry per stream.
    assert_eq!(runs(&db).await, (60, 1000));
}

#[tokio::test]
async fn appends_see_the_versions_of_ingested_streams() {
    let db = TestDb::new().await;
    let store = db.store("t1");
    store.ingest(&ingest_batch(0..10)).await.unwrap();
    let s3 = StreamId::new("store-1/s3").unwrap();
    let err = store
        .append(&s3, ExpectedVersion::NoStream, &[test_event("t1", 900, "r1")])
        .await
        .unwrap_err();
    assert!(
        matches!(err, dcs_store::StoreError::Conflict { current: 1, .. }),
        "a forwarded stream exists for the region's version check: {err}"
    );
    let ok = store.append(&s3, ExpectedVersion::Exact(1), &[test_event("t1", 901, "r2")]).await;
    assert_eq!(ok.unwrap().stream_version, 2);
    assert_eq!(versions(&store, "store-1/s3", 1).await, [1, 2]);
    assert_eq!(store.stream_version(&s3).await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_concurrent_forwarders_leave_one_copy() {
    let db = TestDb::new().await;
    let a = db.store("t1");
    let b = db.store("t1");
    let mut tasks = Vec::new();
    for round in 0..10u64 {
        let (a, b) = (a.clone(), b.clone());
        // Forwarder A sends [100r, 100r+150), B sends [100r+50, 100r+200): they overlap.
        tasks.push(tokio::spawn(async move {
            a.ingest(&ingest_batch(round * 100..round * 100 + 150)).await
        }));
        tasks.push(tokio::spawn(async move {
            b.ingest(&ingest_batch(round * 100 + 50..round * 100 + 200)).await
        }));
    }
    let mut inserted = 0;
    for t in tasks {
        inserted += t.await.unwrap().unwrap().inserted;
    }
    assert_eq!(inserted, 1100, "events 0..1100 each inserted once");
    assert_eq!(copies(&db).await, (1100, 1100));
}

#[tokio::test]
async fn ingest_updates_the_projections_in_the_same_transaction() {
    let db = TestDb::new().await;
    let store = db.store("t1");
    let branch = BranchId::new("store-1").unwrap();
    let body = |q| {
        EventBody::InventoryReceived(StockMovement {
            branch: branch.clone(),
            sku: Sku::new("MUG").unwrap(),
            quantity: q,
        })
    };
    let mut batch = Vec::new();
    for i in 0..20u64 {
        let mut event = test_event("t1", i, &format!("k{i}"));
        // The conformance fixture is a SALE_COMPLETED; make it the stock fact it carries.
        event = rebuild_as_received(event);
        batch.push(IngestEvent {
            stream: StreamId::new("store-1/stock").unwrap(),
            stream_version: i + 1,
            event,
            body: Some(body(i as u32 + 1)),
        });
    }
    store.ingest(&batch).await.unwrap();
    store.ingest(&batch).await.unwrap(); // a re-send must not count twice
    let rows = store.projection_rows().await.unwrap();
    assert_eq!(rows.inventory.len(), 1);
    assert_eq!(rows.inventory[0].1.received, (1..=20).sum::<i64>());
    // A body that does not match its event's type is refused, and the batch with it.
    let mut bad = ingest_batch(100..101);
    bad[0].body = Some(body(1));
    assert!(store.ingest(&bad).await.is_err());
    assert_eq!(copies(&db).await.0, 20);
}

fn rebuild_as_received(e: SovereignFinancialEvent) -> SovereignFinancialEvent {
    dcs_core::EventBuilder::new()
        .event_id(e.event_id())
        .idempotency_key(e.idempotency_key().clone())
        .tenant_id(e.tenant_id().clone())
        .branch_id(e.branch_id().clone())
        .agent_id(e.agent_id().clone())
        .event_type(dcs_core::EventType::InventoryReceived)
        .amount(dcs_core::Money::zero(e.amount().currency()))
        .kek("kek", 1)
        .causality(e.causality().clone())
        .created_by(e.audit().created_by.clone())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catch_up_reader_never_skips_a_late_commit() {
    const WRITERS: u64 = 6;
    const EACH: u64 = 40;
    let db = TestDb::new().await;
    let store = db.store("t1");
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let s = store.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..EACH {
                let seq = w * 1000 + i;
                let stream = StreamId::new(format!("w{w}-{}", i % 3)).unwrap();
                s.append(
                    &stream,
                    ExpectedVersion::Any,
                    &[test_event("t1", seq, &format!("k{seq}"))],
                )
                .await
                .unwrap();
            }
        }));
    }
    let reader = {
        let s = store.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut cursor = 1;
            while (seen.len() as u64) < WRITERS * EACH {
                let page = s.read_all(cursor, 50).await.unwrap();
                for e in &page {
                    seen.push(e.position);
                }
                if let Some(last) = page.last() {
                    cursor = last.position + 1;
                } else {
                    tokio::task::yield_now().await;
                }
            }
            seen
        })
    };
    for w in writers {
        w.await.unwrap();
    }
    let seen =
        tokio::time::timeout(std::time::Duration::from_secs(60), reader).await.unwrap().unwrap();
    let expected: Vec<u64> = (1..=WRITERS * EACH).collect();
    assert_eq!(seen, expected, "the reader saw every position once, in order");
    let distinct: BTreeSet<_> = seen.iter().collect();
    assert_eq!(distinct.len() as u64, WRITERS * EACH);
}

/// A claim while another transaction holds the counter takes the waiting path of
/// `dcs_claim_positions` (the free counter is locked without waiting): it waits for the
/// holder's commit, then takes the position after the holder's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_waits_for_the_holder_and_follows_its_positions() {
    let db = TestDb::new().await;
    let holder = connect(&db.app).await;
    holder
        .batch_execute(
            "BEGIN; SELECT set_config('dcs.tenant_id', 't1', true), dcs_claim_positions(1);
             INSERT INTO event_store (event_id, position, tenant_id, branch_id, stream_id, stream_version,
               event_type, amount_minor, currency, hlc_time, idempotency_key, event)
             VALUES (gen_random_uuid(), (SELECT claimed_from FROM dcs_claim), 't1', 'store-1', 'h', 1,
               2, 1, 'USD', 1, 'h1', '\\x00')",
        )
        .await
        .unwrap();
    let store = db.store("t1");
    let waiter = tokio::spawn(async move {
        store
            .append(
                &StreamId::new("w").unwrap(),
                ExpectedVersion::Any,
                &[test_event("t1", 2, "w2")],
            )
            .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert!(!waiter.is_finished(), "the append did not wait for the holder of the counter");
    holder.batch_execute("COMMIT").await.unwrap();
    let appended = waiter.await.unwrap().unwrap();
    assert_eq!(appended.first_position, 2, "the position after the holder's");
    let (rows, distinct) =
        owner_pair(&db, "SELECT count(*), count(DISTINCT position) FROM event_store").await;
    assert_eq!((rows, distinct), (2, 2));
}
