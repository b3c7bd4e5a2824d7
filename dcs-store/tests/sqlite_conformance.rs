//! The shared conformance suite against the SQLite backend (in memory and on disk).
#![allow(clippy::unwrap_used)]

use dcs_store::sqlite::SqliteStore;

#[test]
fn conformance_in_memory() {
    futures_executor::block_on(dcs_store::conformance::run_all(async || {
        SqliteStore::open_in_memory().unwrap()
    }));
}

#[test]
fn conformance_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    futures_executor::block_on(dcs_store::conformance::run_all(async || {
        n += 1;
        SqliteStore::open(dir.path().join(format!("store-{n}.db"))).unwrap()
    }));
}

/// A retried command finds the append that used its key, and nothing else does.
#[test]
fn an_append_is_found_by_any_of_its_keys() {
    use dcs_store::conformance::test_event;
    use dcs_store::{ExpectedVersion, StreamId};
    let store = dcs_store::sqlite::SqliteStore::open_in_memory().unwrap();
    let stream = StreamId::new("sale-1").unwrap();
    store.append_sync(&stream, ExpectedVersion::Any, &[test_event("t1", 0, "x")]).unwrap();
    let batch = [test_event("t1", 1, "cmd-7/0"), test_event("t1", 2, "cmd-7/1")];
    let first = store.append_sync(&stream, ExpectedVersion::Any, &batch).unwrap();
    for key in ["cmd-7/0", "cmd-7/1"] {
        let found = store.append_of_key("t1", key).unwrap().unwrap();
        assert_eq!(
            (found.first_position, found.last_position),
            (first.first_position, first.last_position)
        );
        assert_eq!(found.stream_version, 3);
        assert!(found.deduplicated);
    }
    assert_eq!(store.append_of_key("t2", "cmd-7/0").unwrap(), None, "keys are per tenant");
    assert_eq!(store.append_of_key("t1", "cmd-8/0").unwrap(), None);
}
