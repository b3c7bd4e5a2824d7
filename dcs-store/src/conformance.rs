//! The behaviour every `EventStore` backend must show, written once.
//!
//! A backend's test calls [`run_all`] with a factory that makes a fresh, empty store; each
//! check gets its own store and fails with an assertion that names what broke.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dcs_core::causality::HlcTimestamp;
use dcs_core::*;

use crate::api::{EventStore, ExpectedVersion, Snapshot, StreamId};
use crate::error::StoreError;

/// A valid event for tests: `seq` makes its id, key and HLC time unique.
pub fn test_event(tenant: &str, seq: u64, key: &str) -> SovereignFinancialEvent {
    let agent = AgentId::new("pos-1").unwrap();
    let mut random = [0u8; 10];
    random[..8].copy_from_slice(&seq.to_be_bytes());
    EventBuilder::new()
        .event_id(EventId::new_v7(1_767_225_600_000 + seq, random))
        .idempotency_key(IdempotencyKey::new(key).unwrap())
        .tenant_id(TenantId::new(tenant).unwrap())
        .branch_id(BranchId::new("store-1").unwrap())
        .agent_id(agent.clone())
        .event_type(EventType::SaleCompleted)
        .amount(Money::from_minor(100 + seq as i64, Currency::USD))
        .kek("kek", 1)
        .envelope(vec![seq as u8; 32])
        .causality(CausalContext {
            hlc: HlcTimestamp { time: (1 << 40) + seq, node: [1; 16] },
            vector_clock: [(agent.clone(), seq + 1)].into_iter().collect(),
        })
        .created_by(agent)
        .mac(vec![7; 64])
        .build()
        .unwrap()
}

fn events(tenant: &str, range: std::ops::Range<u64>) -> Vec<SovereignFinancialEvent> {
    range.map(|i| test_event(tenant, i, &format!("key-{i}"))).collect()
}

fn stream(name: &str) -> StreamId {
    StreamId::new(name).unwrap()
}

/// Runs every check, each on a fresh store from `make`.
pub async fn run_all<S: EventStore, F: AsyncFnMut() -> S>(mut make: F) {
    append_and_read(&make().await).await;
    version_conflict_names_current_version(&make().await).await;
    idempotent_retry_writes_nothing(&make().await).await;
    partial_idempotency_overlap_is_refused(&make().await).await;
    key_reused_by_another_event_is_refused(&make().await).await;
    retry_into_another_stream_is_refused(&make().await).await;
    batch_is_all_or_nothing(&make().await).await;
    positions_are_gap_free_across_streams(&make().await).await;
    snapshots_round_trip(&make().await).await;
    empty_and_oversized_batches_are_refused(&make().await).await;
}

/// Appended events come back from stream and global reads, in order and unchanged.
pub async fn append_and_read<S: EventStore>(s: &S) {
    let batch = events("t1", 0..3);
    let r = s.append(&stream("sale-1"), ExpectedVersion::NoStream, &batch).await.unwrap();
    assert_eq!((r.first_position, r.last_position, r.stream_version), (1, 3, 3));
    assert!(!r.deduplicated);
    let read = s.read_stream(&stream("sale-1"), 1, 100).await.unwrap();
    assert_eq!(read.iter().map(|e| e.event.clone()).collect::<Vec<_>>(), batch);
    assert_eq!(read.iter().map(|e| e.stream_version).collect::<Vec<_>>(), [1, 2, 3]);
    let from2 = s.read_stream(&stream("sale-1"), 2, 1).await.unwrap();
    assert_eq!(from2.len(), 1);
    assert_eq!(from2[0].stream_version, 2);
    let all = s.read_all(2, 100).await.unwrap();
    assert_eq!(all.iter().map(|e| e.position).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(s.stream_version(&stream("sale-1")).await.unwrap(), 3);
    assert_eq!(s.stream_version(&stream("nope")).await.unwrap(), 0);
    assert_eq!(s.head_position().await.unwrap(), 3);
}

/// A stale expected version is refused with the current version, and nothing is written.
pub async fn version_conflict_names_current_version<S: EventStore>(s: &S) {
    let st = stream("sale-2");
    s.append(&st, ExpectedVersion::NoStream, &events("t1", 0..2)).await.unwrap();
    let err = s.append(&st, ExpectedVersion::Exact(1), &events("t1", 2..3)).await.unwrap_err();
    match err {
        StoreError::Conflict { current, .. } => assert_eq!(current, 2),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let err = s.append(&st, ExpectedVersion::NoStream, &events("t1", 2..3)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { current: 2, .. }), "{err:?}");
    assert_eq!(s.head_position().await.unwrap(), 2);
    s.append(&st, ExpectedVersion::Exact(2), &events("t1", 2..3)).await.unwrap();
    s.append(&st, ExpectedVersion::Any, &events("t1", 3..4)).await.unwrap();
    assert_eq!(s.stream_version(&st).await.unwrap(), 4);
}

/// Re-sending an append returns the original result and writes nothing.
pub async fn idempotent_retry_writes_nothing<S: EventStore>(s: &S) {
    let st = stream("sale-3");
    let batch = events("t1", 0..3);
    let first = s.append(&st, ExpectedVersion::NoStream, &batch).await.unwrap();
    // Even with a now-stale expected version, the retry is recognised.
    let again = s.append(&st, ExpectedVersion::NoStream, &batch).await.unwrap();
    assert!(again.deduplicated);
    assert_eq!(
        (again.first_position, again.last_position, again.stream_version),
        (first.first_position, first.last_position, first.stream_version)
    );
    assert_eq!(s.head_position().await.unwrap(), 3);
}

/// A batch that reuses some but not all keys of an earlier append is refused whole.
pub async fn partial_idempotency_overlap_is_refused<S: EventStore>(s: &S) {
    let st = stream("sale-4");
    s.append(&st, ExpectedVersion::Any, &events("t1", 0..2)).await.unwrap();
    let mixed = events("t1", 1..4);
    let err = s.append(&st, ExpectedVersion::Any, &mixed).await.unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyMismatch { .. }), "{err:?}");
    assert_eq!(s.head_position().await.unwrap(), 2);
}

/// A key already used by one event, offered again with a different event, is an error that
/// names the key (never a silent "deduplicated"), and nothing is written; the genuine retry
/// still deduplicates.
pub async fn key_reused_by_another_event_is_refused<S: EventStore>(s: &S) {
    let st = stream("sale-5");
    let first = vec![test_event("t1", 0, "till-1/0001")];
    s.append(&st, ExpectedVersion::Any, &first).await.unwrap();
    let other_sale = vec![test_event("t1", 1, "till-1/0001")];
    let err = s.append(&st, ExpectedVersion::Any, &other_sale).await.unwrap_err();
    match &err {
        StoreError::IdempotencyKeyReused { key, .. } => assert_eq!(key, "till-1/0001"),
        other => panic!("expected IdempotencyKeyReused, got {other:?}"),
    }
    assert!(err.to_string().contains("till-1/0001"), "{err}");
    assert_eq!(s.head_position().await.unwrap(), 1);
    // In another stream too.
    let err = s.append(&stream("sale-5b"), ExpectedVersion::Any, &other_sale).await.unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyKeyReused { .. }), "{err:?}");
    assert_eq!(s.head_position().await.unwrap(), 1);
    let again = s.append(&st, ExpectedVersion::Any, &first).await.unwrap();
    assert!(again.deduplicated);
    assert_eq!(s.head_position().await.unwrap(), 1);
}

/// Re-sending the same events to a different stream is not a retry of the first append: it
/// is refused, not reported as deduplicated, and nothing is written.
pub async fn retry_into_another_stream_is_refused<S: EventStore>(s: &S) {
    let batch = events("t1", 0..2);
    s.append(&stream("sale-6"), ExpectedVersion::NoStream, &batch).await.unwrap();
    let err = s.append(&stream("sale-6b"), ExpectedVersion::NoStream, &batch).await.unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyKeyReused { .. }), "{err:?}");
    assert_eq!(s.head_position().await.unwrap(), 2);
    assert_eq!(s.stream_version(&stream("sale-6b")).await.unwrap(), 0);
}

/// A batch that fails part-way (a duplicate event id) leaves nothing behind.
pub async fn batch_is_all_or_nothing<S: EventStore>(s: &S) {
    s.append(&stream("a"), ExpectedVersion::Any, &events("t1", 0..1)).await.unwrap();
    let mut batch = events("t1", 10..13);
    // Same event id as the stored event 0, under a fresh idempotency key.
    batch.push(test_event("t1", 0, "fresh-key"));
    let err = s.append(&stream("b"), ExpectedVersion::Any, &batch).await.unwrap_err();
    assert!(matches!(err, StoreError::DuplicateEvent(_)), "{err:?}");
    assert_eq!(s.head_position().await.unwrap(), 1);
    assert_eq!(s.stream_version(&stream("b")).await.unwrap(), 0);
    // The keys of the failed batch are still free.
    s.append(&stream("b"), ExpectedVersion::NoStream, &events("t1", 10..13)).await.unwrap();
}

/// Positions are global, gap-free and in append order across streams.
pub async fn positions_are_gap_free_across_streams<S: EventStore>(s: &S) {
    for i in 0..10u64 {
        let st = stream(&format!("s-{}", i % 3));
        s.append(&st, ExpectedVersion::Any, &events("t1", i * 2..i * 2 + 2)).await.unwrap();
    }
    let all = s.read_all(1, 1000).await.unwrap();
    assert_eq!(all.iter().map(|e| e.position).collect::<Vec<_>>(), (1..=20).collect::<Vec<_>>());
    let v: u64 = [0, 1, 2]
        .iter()
        .map(|k| all.iter().filter(|e| e.stream_id.as_str() == format!("s-{k}")).count() as u64)
        .sum();
    assert_eq!(v, 20);
}

/// Snapshots replace and load.
pub async fn snapshots_round_trip<S: EventStore>(s: &S) {
    let st = stream("agg");
    assert_eq!(s.load_snapshot(&st).await.unwrap(), None);
    let snap = Snapshot { stream_id: st.clone(), stream_version: 3, state: vec![1, 2, 3] };
    s.save_snapshot(&snap).await.unwrap();
    let newer = Snapshot { stream_version: 5, state: vec![9], ..snap };
    s.save_snapshot(&newer).await.unwrap();
    assert_eq!(s.load_snapshot(&st).await.unwrap(), Some(newer));
}

/// Empty batches and duplicate keys inside one batch are refused with a clear error.
pub async fn empty_and_oversized_batches_are_refused<S: EventStore>(s: &S) {
    let err = s.append(&stream("x"), ExpectedVersion::Any, &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "events", .. }), "{err:?}");
    let twice = vec![test_event("t1", 1, "k"), test_event("t1", 2, "k")];
    let err = s.append(&stream("x"), ExpectedVersion::Any, &twice).await.unwrap_err();
    assert!(err.to_string().contains("appears twice"), "{err}");
    assert_eq!(s.head_position().await.unwrap(), 0);
}
