//! Sync cursor, catch-up cursors, group commit, CRDT states and sagas of the SQLite store.
#![allow(clippy::unwrap_used)]

use dcs_store::conformance::test_event;
use dcs_store::sqlite::{AppendRequest, SagaRecord, SqliteStore};
use dcs_store::{ExpectedVersion, StoreError, StreamId};

#[test]
fn unacked_events_follow_the_ack() {
    let store = SqliteStore::open_in_memory().unwrap();
    let s = StreamId::new("x").unwrap();
    for i in 0..5u64 {
        store
            .append_sync(&s, ExpectedVersion::Any, &[test_event("t", i, &format!("k{i}"))])
            .unwrap();
    }
    assert_eq!(store.unacked(100).unwrap().len(), 5);
    store.ack(3).unwrap();
    let left: Vec<u64> = store.unacked(100).unwrap().iter().map(|e| e.position).collect();
    assert_eq!(left, [4, 5]);
    store.ack(1).unwrap();
    assert_eq!(store.acked_position().unwrap(), 3, "an ack never moves backwards");
    let err = store.ack(6).unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "position", .. }), "{err:?}");
}

#[test]
fn group_commit_isolates_each_request() {
    let store = SqliteStore::open_in_memory().unwrap();
    let a = StreamId::new("a").unwrap();
    let b = StreamId::new("b").unwrap();
    let e1 = [test_event("t", 1, "k1")];
    let e2 = [test_event("t", 2, "k2")];
    let e3 = [test_event("t", 3, "k3")];
    let results = store
        .append_group(&[
            AppendRequest {
                stream: &a,
                expected: ExpectedVersion::NoStream,
                events: &e1,
                bodies: &[],
            },
            AppendRequest {
                stream: &a,
                expected: ExpectedVersion::NoStream,
                events: &e2,
                bodies: &[],
            },
            AppendRequest {
                stream: &b,
                expected: ExpectedVersion::NoStream,
                events: &e3,
                bodies: &[],
            },
        ])
        .unwrap();
    assert_eq!(results[0].as_ref().unwrap().last_position, 1);
    assert!(matches!(results[1], Err(StoreError::Conflict { current: 1, .. })));
    assert_eq!(results[2].as_ref().unwrap().last_position, 2);
    assert_eq!(store.verify_chain().unwrap().rows, 2);
}

#[test]
fn cursors_crdts_and_sagas_persist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        store.save_cursor("projector", 42).unwrap();
        store.save_crdt("store-1", "stock", &[1, 2, 3]).unwrap();
        store.save_crdt("store-1", "stock", &[4]).unwrap();
        store
            .save_saga(&SagaRecord {
                saga_id: "s1".into(),
                saga_type: "transfer".into(),
                status: "running".into(),
                data: vec![9],
            })
            .unwrap();
        store.save_saga_step("s1", 1, "reserve", "done", &[]).unwrap();
        store.save_saga_step("s1", 2, "ship", "pending", &[1]).unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.load_cursor("projector").unwrap(), 42);
    assert_eq!(store.load_cursor("never").unwrap(), 0);
    assert_eq!(store.load_crdt("store-1", "stock").unwrap(), Some(vec![4]));
    assert_eq!(store.load_crdt("store-2", "stock").unwrap(), None);
    assert_eq!(store.load_saga("s1").unwrap().unwrap().status, "running");
    let steps = store.saga_steps("s1").unwrap();
    assert_eq!(steps.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["reserve", "ship"]);
}

#[test]
fn a_snapshot_goes_in_with_its_append_or_not_at_all() {
    use dcs_store::{SnapshotVersion, SnapshotWith};
    let store = SqliteStore::open_in_memory().unwrap();
    let (session, sale) = (StreamId::new("session-s").unwrap(), StreamId::new("sale-r").unwrap());
    let snap = |stream: &StreamId, version, state: &[u8]| {
        Some(SnapshotWith { stream_id: stream.clone(), version, state: state.to_vec() })
    };
    let req = |stream, expected, events| AppendRequest { stream, expected, events, bodies: &[] };
    let (e1, e2, e3) =
        ([test_event("t", 1, "k1")], [test_event("t", 2, "k2")], [test_event("t", 3, "k3")]);
    // The session opens (its snapshot at the append's version); a sale in it moves the
    // session's snapshot at the session's own version; a refused append writes no snapshot.
    let (results, _) = store
        .append_group_synced_with(
            &[
                req(&session, ExpectedVersion::NoStream, &e1),
                req(&sale, ExpectedVersion::NoStream, &e2),
                req(&sale, ExpectedVersion::NoStream, &e3),
            ],
            &[
                snap(&session, SnapshotVersion::OfTheAppend, b"open"),
                snap(&session, SnapshotVersion::Fixed(1), b"one sale"),
                snap(&session, SnapshotVersion::Fixed(1), b"refused"),
            ],
            |_| Ok(vec![]),
        )
        .unwrap();
    assert!(results[0].is_ok() && results[1].is_ok() && results[2].is_err());
    let s = store.load_snapshot_sync(&session).unwrap().unwrap();
    assert_eq!((s.stream_version, s.state.as_slice()), (1, b"one sale".as_slice()));
    // A resend (deduplicated) leaves the snapshot as it is.
    let (results, _) = store
        .append_group_synced_with(
            &[req(&sale, ExpectedVersion::NoStream, &e2)],
            &[snap(&session, SnapshotVersion::Fixed(1), b"stale")],
            |_| Ok(vec![]),
        )
        .unwrap();
    assert!(results[0].as_ref().unwrap().deduplicated);
    assert_eq!(store.load_snapshot_sync(&session).unwrap().unwrap().state, b"one sale");
    // A failing group (here its sync step) rolls the snapshot back with the events.
    let e4 = [test_event("t", 4, "k4")];
    let failed = store.append_group_synced_with(
        &[req(&session, ExpectedVersion::Any, &e4)],
        &[snap(&session, SnapshotVersion::OfTheAppend, b"closed")],
        |_| Err(StoreError::Database("the machine refused".into())),
    );
    assert!(failed.is_err());
    let s = store.load_snapshot_sync(&session).unwrap().unwrap();
    assert_eq!((s.stream_version, s.state.as_slice()), (1, b"one sale".as_slice()));
    assert_eq!(store.verify_chain().unwrap().rows, 2, "nothing of the failed group is in");
}
