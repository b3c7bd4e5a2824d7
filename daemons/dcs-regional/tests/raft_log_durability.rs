//! What openraft's suite cannot see of the SQLite log: entries are readable as soon as `append`
//! returns though not yet committed, the flush callback fires only after COMMIT and in order,
//! many appends share one transaction, and what was flushed survives reopening the file.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use dcs_regional::raft::{Entry, LogStoreConfig, SqliteLogStore, TypeConfig, Vote};
use dcs_regional::replica::{Clock, Input, Proposal};
use openraft::entry::RaftEntry;
use openraft::impls::leader_id_adv::LeaderId;
use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::type_config::TypeConfigExt;
use openraft::{LogId, RaftLogReader};
use rusqlite::Connection;
use tokio::sync::oneshot;

fn entry(term: u64, index: u64) -> Entry {
    let id = LogId { leader_id: LeaderId { term, node_id: 1 }, index };
    Entry::new_normal(
        id,
        Proposal { clock: Clock { mono_ms: index, wall_ms: index }, input: Input::Tick },
    )
}

async fn append(
    store: &mut SqliteLogStore,
    entries: Vec<Entry>,
) -> oneshot::Receiver<std::io::Result<()>> {
    let (tx, rx) = <TypeConfig as TypeConfigExt>::oneshot();
    store.append(entries, IOFlushed::<TypeConfig>::signal(tx)).await.unwrap();
    rx
}

#[tokio::test]
async fn appends_are_readable_before_commit_and_flushed_only_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raft.db");
    let mut store = SqliteLogStore::open(&path, LogStoreConfig::default()).unwrap();
    // Another connection holds the write lock: the writer cannot COMMIT until it lets go.
    let blocker = Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut flushed = append(&mut store, (1..=3).map(|i| entry(1, i)).collect()).await;
    let mut reader = store.get_log_reader().await;
    let got = reader.try_get_log_entries(1..=3).await.unwrap();
    assert_eq!(got.iter().map(|e| e.index()).collect::<Vec<_>>(), [1, 2, 3], "readable on return");
    let state = store.get_log_state().await.unwrap();
    assert_eq!(state.last_log_id.map(|l| l.index), Some(3));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(flushed.try_recv().is_err(), "no flush callback before COMMIT");
    blocker.execute_batch("COMMIT").unwrap();
    let r = tokio::time::timeout(Duration::from_secs(10), flushed).await.unwrap().unwrap();
    assert!(r.is_ok(), "flushed once committed: {r:?}");
    let rows: i64 = blocker.query_row("SELECT count(*) FROM raft_log", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 3, "on disk when the callback fired");
}

#[tokio::test]
async fn queued_appends_share_a_commit_and_flush_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raft.db");
    let mut store = SqliteLogStore::open(&path, LogStoreConfig::default()).unwrap();
    let blocker = Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    // The first append takes the writer (blocked in its transaction); the next 50 queue up.
    let mut waits = vec![];
    for i in 1..=51 {
        waits.push(append(&mut store, vec![entry(1, i)]).await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    blocker.execute_batch("COMMIT").unwrap();
    drop(blocker);
    for w in waits {
        tokio::time::timeout(Duration::from_secs(10), w).await.unwrap().unwrap().unwrap();
    }
    // The WAL holds at most two commits' frames for 51 appends: the first append's transaction
    // and one for the 50 queued behind it.
    let conn = Connection::open(&path).unwrap();
    let frames: i64 = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1)).unwrap();
    let rows: i64 = conn.query_row("SELECT count(*) FROM raft_log", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 51);
    assert!(frames < 51, "{frames} WAL frames for 51 appends: group commit");
}

#[tokio::test]
async fn flushed_entries_votes_and_purges_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raft.db");
    let vote = Vote::new_committed(3, 2);
    {
        let mut store = SqliteLogStore::open(&path, LogStoreConfig::default()).unwrap();
        store.save_vote(&vote).await.unwrap();
        append(&mut store, (1..=10).map(|i| entry(2, i)).collect()).await.await.unwrap().unwrap();
        store.purge(LogId { leader_id: LeaderId { term: 2, node_id: 1 }, index: 4 }).await.unwrap();
        store
            .truncate_after(Some(LogId { leader_id: LeaderId { term: 2, node_id: 1 }, index: 8 }))
            .await
            .unwrap();
    }
    let mut store = SqliteLogStore::open(&path, LogStoreConfig::default()).unwrap();
    assert_eq!(store.read_vote().await.unwrap(), Some(vote), "the vote is durable");
    let state = store.get_log_state().await.unwrap();
    assert_eq!(state.last_purged_log_id.map(|l| l.index), Some(4));
    let last = state.last_log_id.unwrap();
    assert_eq!((last.index, last.leader_id.term, last.leader_id.node_id), (8, 2, 1), "full log id");
    let got = store.try_get_log_entries(0..100).await.unwrap();
    assert_eq!(got.iter().map(|e| e.index()).collect::<Vec<_>>(), [5, 6, 7, 8]);
}
