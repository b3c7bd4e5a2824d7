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
