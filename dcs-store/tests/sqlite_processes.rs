//! Several real processes on one store file: concurrent appends all succeed within the busy
//! timeout with a correct chain and positions, and concurrent first opens of a new file all
//! succeed. The children are this test binary re-executed with an environment variable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use dcs_store::conformance::test_event;
use dcs_store::sqlite::SqliteStore;
use dcs_store::{ExpectedVersion, StreamId};

const DB_ENV: &str = "DCS_PROC_CHILD_DB";
const ID_ENV: &str = "DCS_PROC_CHILD_ID";
const WRITERS: u64 = 4;
const APPENDS: u64 = 50;

fn spawn(test: &str, path: &Path, id: u64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(DB_ENV, path)
        .env(ID_ENV, id.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_all(children: Vec<Child>, what: &str) {
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{what}: child {i} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn child_args() -> (String, u64) {
    let path = std::env::var(DB_ENV).expect("the parent sets the database path");
    (path, std::env::var(ID_ENV).unwrap().parse().unwrap())
}

/// A writer child: `APPENDS` single-event appends to its own stream, each must succeed.
#[test]
#[ignore = "run by several_processes_append_to_one_store as its child process"]
fn child_writer() {
    let (path, id) = child_args();
    let store = SqliteStore::open(&path).unwrap();
    let stream = StreamId::new(format!("writer-{id}")).unwrap();
    for n in 0..APPENDS {
        let seq = id * 1_000 + n;
        store
            .append_sync(
                &stream,
                ExpectedVersion::Exact(n),
                &[test_event("t", seq, &format!("w{id}-{n}"))],
            )
            .unwrap_or_else(|e| panic!("writer {id}, append {n}: {e}"));
    }
    // A group commit from another process goes through the same lock.
    let a = StreamId::new(format!("group-{id}")).unwrap();
    let events = [test_event("t", id * 1_000 + 999, &format!("g{id}"))];
    let req = dcs_store::sqlite::AppendRequest {
        stream: &a,
        expected: ExpectedVersion::NoStream,
        events: &events,
        bodies: &[],
    };
    for r in store.append_group(&[req]).unwrap() {
        r.unwrap();
    }
}

#[test]
fn several_processes_append_to_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    SqliteStore::open(&path).unwrap();
    let children = (0..WRITERS).map(|id| spawn("child_writer", &path, id)).collect();
    wait_all(children, "concurrent writers");
    let store = SqliteStore::open(&path).unwrap();
    let report = store.verify_chain().unwrap();
    assert_eq!(report.rows, WRITERS * (APPENDS + 1));
    let all = store.read_all_sync(1, usize::MAX).unwrap();
    let positions: Vec<u64> = all.iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=WRITERS * (APPENDS + 1)).collect::<Vec<_>>());
    let keys: BTreeSet<&str> = all.iter().map(|e| e.event.idempotency_key().as_str()).collect();
    assert_eq!(keys.len() as u64, WRITERS * (APPENDS + 1));
    for id in 0..WRITERS {
        let s = StreamId::new(format!("writer-{id}")).unwrap();
        assert_eq!(store.stream_version_sync(&s).unwrap(), APPENDS);
    }
}

/// An opener child: opens (maybe creating) the store and appends one event.
#[test]
#[ignore = "run by concurrent_first_opens_of_a_new_store_all_succeed as its child process"]
fn child_opener() {
    let (path, id) = child_args();
    let store = SqliteStore::open(&path).unwrap_or_else(|e| panic!("opener {id}: {e}"));
    let stream = StreamId::new(format!("opener-{id}")).unwrap();
    store
        .append_sync(&stream, ExpectedVersion::NoStream, &[test_event("t", id, &format!("o{id}"))])
        .unwrap_or_else(|e| panic!("opener {id}: {e}"));
}

#[test]
fn concurrent_first_opens_of_a_new_store_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..15 {
        let path = dir.path().join(format!("new-{round}.db"));
        let children = (0..4).map(|id| spawn("child_opener", &path, id)).collect();
        wait_all(children, &format!("round {round}"));
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.verify_chain().unwrap().rows, 4, "round {round}");
    }
}
