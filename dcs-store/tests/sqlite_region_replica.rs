//! The region replica's SQLite store does for a `RegionalMachine` what the simulator's
//! in-memory store model does (the model every invariant of the simulator was checked
//! against): same outcomes, same outbox, same checkpoint, batch for batch; plus dedup by
//! idempotency key at a new position, and a restart from the file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sync_common;

use dcs_store::sqlite::{RegionReplicaStore, SqliteStore};
use dcs_sync::sim::store::MemStore;
use dcs_sync::{
    Item, LocalMachine, Outcome, PersistBatch, Positioned, RegionalMachine, Restored, SyncStore,
    WriteOp,
};
use sync_common::*;

/// Both stores, every write to both: the SQLite store must answer as the model does.
struct Tee {
    model: MemStore,
    sqlite: RegionReplicaStore,
    batches: usize,
}

impl SyncStore for Tee {
    type Error = dcs_store::StoreError;

    fn persist(&mut self, batch: &PersistBatch) -> Result<Vec<Outcome>, Self::Error> {
        let want = self.model.persist(batch).unwrap();
        let got = self.sqlite.persist(batch)?;
        assert_eq!(got, want, "batch {}: outcomes", batch.token);
        self.batches += 1;
        Ok(got)
    }

    fn read_outbox(&mut self, after: u64, max: usize) -> Result<Vec<Positioned>, Self::Error> {
        let want = self.model.read_outbox(after, max).unwrap();
        let got = self.sqlite.read_outbox(after, max)?;
        assert_eq!(got, want, "outbox after {after}");
        Ok(got)
    }

    fn load(&mut self) -> Result<Restored, Self::Error> {
        let want = self.model.load().unwrap();
        let got = self.sqlite.load()?;
        assert_eq!(got, want, "what a restart reads");
        Ok(got)
    }
}

#[test]
fn the_sqlite_replica_store_answers_as_the_model_and_a_region_restarts_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replica.db");
    let mut store = SqliteStore::open_in_memory().unwrap();
    let mut m = LocalMachine::new(local_config(), now(0), 1).unwrap();
    let mut host = Tee {
        model: MemStore::default(),
        sqlite: RegionReplicaStore::open(&path).unwrap(),
        batches: 0,
    };
    let (mut r, mut t) = (region(), 0);
    for k in 0..5 {
        append(&store, &mut m, k * 40..k * 40 + 40, now(k));
        sync(&mut store, &mut m, &mut r, &mut host, &mut t);
    }
    assert!(host.batches > 5);
    assert_eq!(host.sqlite.accepted_len().unwrap(), 200);
    let accepted = host.sqlite.accepted_after(0, 1_000).unwrap();
    assert_eq!(accepted.iter().map(|a| a.seq).collect::<Vec<_>>(), (1..=200).collect::<Vec<_>>());
    assert!(accepted.iter().all(|a| a.child == STORE));
    assert_eq!(
        accepted.iter().map(|a| a.child_pos).collect::<Vec<_>>(),
        (1..=200).collect::<Vec<_>>()
    );
    // The store is named by the branch of the events it sent.
    let tenant = accepted[0].item.idempotency().unwrap().0;
    let named = vec![(STORE, tenant, BRANCH.to_string())];
    assert_eq!(host.sqlite.child_branches().unwrap(), named);
    // The region restarts from the file (and the model): both give the same thing to restore.
    let stock = r.state().on_hand(BRANCH, "SKU-1");
    drop(r);
    host.sqlite = RegionReplicaStore::open(&path).unwrap();
    assert_eq!(host.sqlite.child_branches().unwrap(), named, "kept in the file");
    let restored = host.load().unwrap();
    let mut r =
        RegionalMachine::restore(region_config(), Box::new(TakesAll), restored, now(t), 9).unwrap();
    assert_eq!(r.state().on_hand(BRANCH, "SKU-1"), stock);
    append(&store, &mut m, 200..260, now(t));
    sync(&mut store, &mut m, &mut r, &mut host, &mut t);
    assert_eq!(host.sqlite.accepted_len().unwrap(), 260, "every event once, across the restart");
}

#[test]
fn a_known_idempotency_key_at_a_new_position_is_a_duplicate_and_the_meta_commits_with_it() {
    let mut s = RegionReplicaStore::open_in_memory().unwrap();
    let accept = |pos: u64, e: dcs_core::SovereignFinancialEvent| WriteOp::Accept {
        from: STORE,
        pos,
        item: Item::Event(Box::new(e)),
        forward: None,
    };
    let first = PersistBatch { token: 1, ops: vec![accept(1, event(1)), accept(2, event(2))] };
    let out = s.persist_all(&[first], &[("applied", b"one".to_vec())]).unwrap();
    assert_eq!(out, [vec![Outcome::Stored { forwarded: None }; 2]]);
    // Same key "ev-1" under another event id, at a new position (a store that lost its file
    // and re-sealed the sale): caught by the unique index, not stored.
    let resealed = dcs_store::conformance::test_event("t", 99, "ev-1");
    assert_ne!(resealed.event_id(), event(1).event_id());
    let second = PersistBatch { token: 2, ops: vec![accept(3, resealed), accept(4, event(2))] };
    let out = s.persist_all(&[second], &[("applied", b"two".to_vec())]).unwrap();
    assert_eq!(out, [vec![Outcome::Duplicate, Outcome::Duplicate]]);
    assert_eq!(s.accepted_len().unwrap(), 2);
    assert_eq!(s.meta("applied").unwrap().as_deref(), Some(&b"two"[..]));
    // A failing batch writes nothing, its meta included.
    let bad = PersistBatch {
        token: 3,
        ops: vec![WriteOp::Append { pos: 7, item: Item::Event(Box::new(event(7))) }],
    };
    assert!(s.persist_all(&[bad], &[("applied", b"three".to_vec())]).is_err());
    assert_eq!(s.meta("applied").unwrap().as_deref(), Some(&b"two"[..]));
}

#[test]
fn a_local_store_file_is_not_a_replica_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    drop(SqliteStore::open(&path).unwrap());
    assert!(matches!(
        RegionReplicaStore::open(&path),
        Err(dcs_store::StoreError::NotAStore { .. })
    ));
}

#[test]
fn a_replica_file_made_before_stores_were_named_gets_the_table_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replica.db");
    drop(RegionReplicaStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TABLE child_branch").unwrap();
    drop(conn);
    let mut s = RegionReplicaStore::open(&path).unwrap();
    assert!(s.child_branches().unwrap().is_empty());
    let accept = WriteOp::Accept {
        from: STORE,
        pos: 1,
        item: Item::Event(Box::new(event(1))),
        forward: None,
    };
    s.persist_all(&[PersistBatch { token: 1, ops: vec![accept] }], &[]).unwrap();
    assert_eq!(s.child_branches().unwrap().len(), 1);
    assert_eq!(s.child_branches().unwrap()[0].2, BRANCH);
}
