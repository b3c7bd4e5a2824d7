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

async fn copies(db: &TestDb) -> (i64, i64) {
    let owner = connect(&db.admin).await;
    let row = owner
        .query_one("SELECT count(*), count(DISTINCT event_id) FROM event_store", &[])
        .await
        .unwrap();
    (row.get(0), row.get(1))
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

/// The idempotency key recorded for `key` in the tenant: (first, last position, version).
async fn recorded_key(db: &TestDb, key: &str) -> Option<(i64, i64, i64)> {
    let owner = connect(&db.admin).await;
    owner
        .query_opt(
            "SELECT first_position, last_position, stream_version FROM idempotency_keys
             WHERE tenant_id = 't1' AND key = $1",
            &[&key],
        )
        .await
        .unwrap()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
}

#[tokio::test]
async fn ingested_keys_are_the_tenants_keys() {
    let db = TestDb::new().await;
    let store = db.store("t1");
    store.ingest(&ingest_batch(0..10)).await.unwrap();
    // Every ingested event's key is recorded with its position and stream version ...
    assert_eq!(recorded_key(&db, "k3").await, Some((4, 4, 1)));
    // ... so a regional append retrying that command finds the ingested event.
    let retry = store
        .append(
            &StreamId::new("store-1/s3").unwrap(),
            ExpectedVersion::Any,
            &[test_event("t1", 900, "k3")],
        )
        .await
        .unwrap();
    assert!(retry.deduplicated);
    assert_eq!((retry.first_position, retry.last_position, retry.stream_version), (4, 4, 1));
    assert_eq!(copies(&db).await.0, 10);

    // A key first used by a regional append keeps that append; an event forwarded later
    // with the same key (another store's command) is still stored once.
    let appended = store
        .append(
            &StreamId::new("region/x").unwrap(),
            ExpectedVersion::NoStream,
            &[test_event("t1", 500, "shared")],
        )
        .await
        .unwrap();
    let mut late = ingest_batch(20..25);
    late[2].event = test_event("t1", 22, "shared");
    let report = store.ingest(&late).await.unwrap();
    assert_eq!((report.inserted, report.duplicates), (5, 0));
    let p = appended.first_position as i64;
    assert_eq!(recorded_key(&db, "shared").await, Some((p, p, 1)));

    // Two stores' events with one key in one batch: both stored, the first keeps the key.
    let mut both = ingest_batch(30..34);
    both[1].event = test_event("t1", 31, "twice");
    both[3].event = test_event("t1", 33, "twice");
    let report = store.ingest(&both).await.unwrap();
    assert_eq!((report.inserted, report.head_position), (4, 20));
    // Positions 17..=20; both[1] sits at 18.
    assert_eq!(recorded_key(&db, "twice").await.map(|k| k.0), Some(18));
    assert_eq!(copies(&db).await, (20, 20));
    // Positions stay gap-free through the fast, the retried and the careful statements.
    let all = store.read_all(1, 100).await.unwrap();
    assert_eq!(all.iter().map(|e| e.position).collect::<Vec<_>>(), (1..=20).collect::<Vec<_>>());
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
