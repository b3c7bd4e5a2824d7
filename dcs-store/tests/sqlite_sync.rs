//! The SQLite store as the sync machine's durable home: the event log is the outbox, the
//! checkpoint lives beside it, and a restart reads neither the history nor the whole outbox.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sync_common;

use dcs_store::StoreError;
use dcs_store::sqlite::{CHECKPOINT_EVERY, SqliteStore};
use dcs_sync::sim::store::MemStore;
use dcs_sync::{Item, LocalMachine, PersistBatch, SyncStore, WriteOp};
use sync_common::*;

#[test]
fn the_event_log_is_the_outbox_and_a_restart_resumes_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let mut store = SqliteStore::open(&path).unwrap();
    let mut m = LocalMachine::new(local_config(), now(0), 1).unwrap();
    let (mut r, mut host, mut t) = (region(), MemStore::default(), 0);
    for k in 0..10 {
        append(&store, &mut m, k * 10..k * 10 + 10, now(k));
    }
    assert_eq!((m.lag(), store.head_position_sync().unwrap()), (100, 100));
    sync(&mut store, &mut m, &mut r, &mut host, &mut t);
    assert_eq!(store.acked_position().unwrap(), 100, "the region's ack is the store's ack");
    assert_eq!(host.items.len(), 100);
    // 150 more while the region is away, then a crash: the machine is gone, the file stays.
    append(&store, &mut m, 100..250, now(t));
    let stock = m.state().on_hand(BRANCH, "SKU-1");
    drop(m);
    drop(store);
    let mut store = SqliteStore::open(&path).unwrap();
    let restored = store.load_sync().unwrap();
    assert_eq!((restored.acked, restored.head), (100, 250));
    let mut m = LocalMachine::restore(local_config(), restored, now(t), 2).unwrap();
    assert_eq!(m.state().on_hand(BRANCH, "SKU-1"), stock, "the checkpoint covers every event");
    assert_eq!((m.lag(), m.outbox_held()), (150, 0), "nothing of the outbox loaded up front");
    assert_eq!(m.next_position(), 251);
    sync(&mut store, &mut m, &mut r, &mut host, &mut t);
    assert_eq!(store.acked_position().unwrap(), 250);
    let positions: Vec<u64> = host.items.iter().map(|(_, p, _)| *p).collect();
    assert_eq!(positions, (1..=250).collect::<Vec<_>>(), "every event once, in order");
    for (_, pos, item) in &host.items {
        let Item::Event(e) = item else { panic!() };
        assert_eq!(seq_of(e) + 1, *pos, "the region holds the store's event at each position");
    }
    assert!(m.stats().outbox_reads >= 150 / 32, "read back in pages: {:?}", m.stats());
    assert_eq!(r.state().on_hand(BRANCH, "SKU-1"), stock);
}

#[test]
fn the_checkpoint_log_is_folded_and_a_restore_reads_a_bounded_amount() {
    let store = SqliteStore::open_in_memory().unwrap();
    let mut m = LocalMachine::new(local_config(), now(0), 1).unwrap();
    let n = (CHECKPOINT_EVERY as u64) + 17;
    for seq in 0..n {
        append(&store, &mut m, seq..seq + 1, now(seq));
    }
    let conn_log = store.sync_log_len().unwrap();
    assert!(conn_log < CHECKPOINT_EVERY, "the log was folded: {conn_log} entries left");
    let restored = store.load_sync().unwrap();
    let mut without_tail = restored.checkpoint.clone();
    let tail = core::mem::take(&mut without_tail.log_tail);
    // The machine keeps the cursors; the state is the store's (compared below).
    let state = core::mem::take(&mut without_tail.state);
    assert_eq!(&without_tail, m.checkpoint(), "row + log = the machine's checkpoint");
    assert!(!m.writes_pending());
    assert!(
        !tail.is_empty() && tail.len() <= dcs_sync::LOG_TAIL,
        "the store keeps the delta-log tail (the machine: in its delta log)"
    );
    assert_eq!(tail.back().map(|e| e.seq), Some(m.checkpoint().log_seq));
    assert_eq!(state, *m.state(), "the store's state = the machine's at rest");
}

#[test]
fn a_machine_write_that_does_not_match_the_file_is_refused_and_writes_nothing() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let e = event(1);
    let wrong = PersistBatch {
        token: 1,
        ops: vec![WriteOp::Append { pos: 1, item: Item::Event(Box::new(e.clone())) }],
    };
    let err = store.persist(&wrong).unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "pos", .. }), "{err}");
    assert!(err.to_string().contains("append the event first"), "{err}");
    let past = PersistBatch { token: 2, ops: vec![WriteOp::Acked { upto: 5, rejected: vec![] }] };
    let err = store.persist(&past).unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "upto", .. }), "{err}");
    assert_eq!(store.acked_position().unwrap(), 0);
    let mut m = LocalMachine::new(local_config(), now(0), 1).unwrap();
    append(&store, &mut m, 1..2, now(1));
    let other = PersistBatch {
        token: 3,
        ops: vec![WriteOp::Append { pos: 1, item: Item::Event(Box::new(event(9))) }],
    };
    let err = store.persist(&other).unwrap_err();
    assert!(err.to_string().contains("holds another event"), "{err}");
    let err = m.append_at(now(2), 5, event(2), None).unwrap_err();
    assert!(err.to_string().contains("in the store's order"), "{err}");
}
