//! Editing, deleting, inserting and reordering rows with plain SQL is found by `verify_chain`,
//! and reads never serve a row that fails its hash.
#![allow(clippy::unwrap_used, clippy::panic)]

use dcs_store::conformance::test_event;
use dcs_store::sqlite::SqliteStore;
use dcs_store::{ExpectedVersion, StoreError, StreamId};
use rusqlite::Connection;

fn store_with_ten(path: &std::path::Path) {
    let store = SqliteStore::open(path).unwrap();
    for i in 0..10u64 {
        let s = StreamId::new(format!("sale-{}", i % 4)).unwrap();
        store
            .append_sync(&s, ExpectedVersion::Any, &[test_event("t1", i, &format!("k{i}"))])
            .unwrap();
    }
    assert_eq!(store.verify_chain().unwrap().rows, 10);
}

/// Applies raw SQL to a fresh ten-row store and returns the verification error.
fn tamper(sql: &str) -> StoreError {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    store_with_ten(&path);
    Connection::open(&path).unwrap().execute_batch(sql).unwrap();
    SqliteStore::open(&path).unwrap().verify_chain().unwrap_err()
}

fn position_of(err: &StoreError) -> u64 {
    match err {
        StoreError::Tampered { position, .. } => *position,
        other => panic!("expected Tampered, got {other:?}"),
    }
}

#[test]
fn editing_a_visible_column_is_found() {
    let err = tamper("UPDATE events SET amount_minor = 1 WHERE position = 4");
    assert_eq!(position_of(&err), 4, "{err}");
}

#[test]
fn editing_the_event_bytes_is_found() {
    let err = tamper("UPDATE events SET event = CAST(event || x'00' AS BLOB) WHERE position = 6");
    assert_eq!(position_of(&err), 6, "{err}");
}

#[test]
fn editing_the_event_and_its_own_hash_breaks_the_next_link() {
    // Re-hashing one row cannot hide an edit: the next row still points at the old hash.
    let err = tamper("UPDATE events SET row_hash = zeroblob(32) WHERE position = 3");
    assert_eq!(position_of(&err), 3, "{err}");
}

#[test]
fn deleting_a_row_is_found() {
    let err = tamper("DELETE FROM events WHERE position = 5");
    assert_eq!(position_of(&err), 5, "{err}");
}

#[test]
fn deleting_the_last_rows_is_found() {
    let err = tamper("DELETE FROM events WHERE position >= 9");
    assert_eq!(position_of(&err), 9, "{err}");
}

#[test]
fn reordering_rows_is_found() {
    let err = tamper(
        "UPDATE events SET position = 100 WHERE position = 2;
         UPDATE events SET position = 2 WHERE position = 7;
         UPDATE events SET position = 7 WHERE position = 100;",
    );
    assert_eq!(position_of(&err), 2, "{err}");
}

#[test]
fn inserting_a_copied_row_is_found() {
    let err = tamper(
        "INSERT INTO events SELECT 11, CAST(x'00' || substr(event_id, 2) AS BLOB), stream_id, 99, tenant_id, branch_id, event_type,
                amount_minor, currency, hlc_time, 'new-key', batch_first, batch_last, event, prev_hash, row_hash
         FROM events WHERE position = 10",
    );
    assert!(position_of(&err) >= 10, "{err}");
}

#[test]
fn reads_refuse_a_row_that_fails_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    store_with_ten(&path);
    Connection::open(&path)
        .unwrap()
        .execute_batch("UPDATE events SET event = CAST(substr(event, 1, 40) || x'ff' || substr(event, 42) AS BLOB) WHERE position = 2")
        .unwrap();
    let store = SqliteStore::open(&path).unwrap();
    let err = store.read_all_sync(1, 100).unwrap_err();
    assert!(matches!(err, StoreError::Tampered { position: 2, .. }), "{err:?}");
    // Rows before the bad one are still served.
    assert_eq!(store.read_all_sync(1, 1).unwrap().len(), 1);
}

#[test]
fn deleting_a_stream_row_is_found_and_never_restarts_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    store_with_ten(&path);
    Connection::open(&path)
        .unwrap()
        .execute_batch("DELETE FROM streams WHERE stream_id = 'sale-1'")
        .unwrap();
    let store = SqliteStore::open(&path).unwrap();
    let err = store.verify_chain().unwrap_err();
    assert!(matches!(err, StoreError::Tampered { .. }), "{err:?}");
    assert!(err.to_string().contains("sale-1") && err.to_string().contains("streams"), "{err}");
    // sale-1 holds versions 1 to 3: an append is refused as tampering, not as a conflict
    // with "version 0" nor an unknown unique-constraint failure.
    let s = StreamId::new("sale-1").unwrap();
    for expected in [ExpectedVersion::Exact(3), ExpectedVersion::Any, ExpectedVersion::NoStream] {
        let err = store.append_sync(&s, expected, &[test_event("t1", 50, "k50")]).unwrap_err();
        assert!(matches!(err, StoreError::Tampered { .. }), "{expected}: {err:?}");
        assert!(err.to_string().contains("streams table"), "{err}");
    }
}

#[test]
fn editing_a_stream_version_or_the_ack_cursor_is_found() {
    let err = tamper("UPDATE streams SET version = 2 WHERE stream_id = 'sale-1'");
    assert!(err.to_string().contains("version 2"), "{err}");
    let err = tamper("INSERT INTO streams VALUES ('ghost', 4)");
    assert!(err.to_string().contains("ghost"), "{err}");
    let err = tamper("UPDATE sync_state SET acked_position = 12");
    assert!(err.to_string().contains("acknowledged"), "{err}");
}
