//! Opening foreign, corrupt, truncated and locked files gives clear errors and changes nothing.
#![allow(clippy::unwrap_used)]

use dcs_store::conformance::test_event;
use dcs_store::sqlite::{Options, SqliteStore};
use dcs_store::{ExpectedVersion, StoreError, StreamId};

#[test]
fn a_text_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    let content = b"this is not a database, but it is somebody's file\n".repeat(100);
    std::fs::write(&path, &content).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::NotAStore { .. }), "{err:?}");
    assert!(err.to_string().contains("nothing was changed"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), content);
}

#[test]
fn a_foreign_sqlite_database_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE customers (id INTEGER); INSERT INTO customers VALUES (1);")
        .unwrap();
    drop(conn);
    let before = std::fs::read(&path).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::NotAStore { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_truncated_store_is_reported_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        let s = StreamId::new("x").unwrap();
        for i in 0..200u64 {
            store
                .append_sync(&s, ExpectedVersion::Any, &[test_event("t", i, &format!("k{i}"))])
                .unwrap();
        }
    }
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 8192, "the store should span several pages");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let result = SqliteStore::open(&path).and_then(|s| {
        s.integrity_check()?;
        s.verify_chain()
    });
    let err = result.unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt(_) | StoreError::Tampered { .. }),
        "a truncated file must be reported, got {err:?}"
    );
}

#[test]
fn garbage_pages_are_reported_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        let s = StreamId::new("x").unwrap();
        for i in 0..100u64 {
            store
                .append_sync(&s, ExpectedVersion::Any, &[test_event("t", i, &format!("k{i}"))])
                .unwrap();
        }
    }
    let mut bytes = std::fs::read(&path).unwrap();
    for b in &mut bytes[4096 + 100..4096 * 3] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let result = SqliteStore::open(&path).and_then(|s| {
        s.integrity_check()?;
        s.verify_chain()
    });
    assert!(
        matches!(result, Err(StoreError::Corrupt(_) | StoreError::Tampered { .. })),
        "{result:?}"
    );
}

#[test]
fn a_locked_store_gives_locked_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let opts = Options { busy_timeout: std::time::Duration::from_millis(50), ..Options::default() };
    let store = SqliteStore::open_with(&path, opts).unwrap();
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let s = StreamId::new("x").unwrap();
    let err = store.append_sync(&s, ExpectedVersion::Any, &[test_event("t", 1, "k")]).unwrap_err();
    assert!(matches!(err, StoreError::Locked), "{err:?}");
    holder.execute_batch("ROLLBACK").unwrap();
    store.append_sync(&s, ExpectedVersion::Any, &[test_event("t", 1, "k")]).unwrap();
}

#[test]
fn a_full_disk_fails_the_append_whole_and_keeps_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let opts = Options { max_size_bytes: Some(64 * 1024), ..Options::default() };
    let store = SqliteStore::open_with(&path, opts).unwrap();
    let s = StreamId::new("x").unwrap();
    let mut appended = 0u64;
    let err = loop {
        let batch: Vec<_> = (0..5)
            .map(|i| test_event("t", appended * 5 + i, &format!("k{}", appended * 5 + i)))
            .collect();
        match store.append_sync(&s, ExpectedVersion::Any, &batch) {
            Ok(_) => appended += 1,
            Err(e) => break e,
        }
        assert!(appended < 10_000, "the size cap never triggered");
    };
    assert!(matches!(err, StoreError::DiskFull), "{err:?}");
    assert!(err.to_string().contains("nothing was written"), "{err}");
    let report = store.verify_chain().unwrap();
    assert_eq!(report.rows, appended * 5, "no half batch after a full disk");
    assert_eq!(store.stream_version_sync(&s).unwrap(), appended * 5);
}

#[test]
fn an_empty_path_is_refused() {
    let err = SqliteStore::open("").unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "path", .. }), "{err:?}");
    assert!(err.to_string().contains("temporary database"), "{err}");
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(made.success());
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::NotAStore { .. }), "{err:?}");
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let err = SqliteStore::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("a directory"), "{err}");
}

fn read_only() -> Options {
    Options { read_only: true, ..Options::default() }
}

#[test]
fn a_read_only_store_reads_and_refuses_writes() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let s = StreamId::new("x").unwrap();
    SqliteStore::open(&path)
        .unwrap()
        .append_sync(&s, ExpectedVersion::Any, &[test_event("t", 1, "k")])
        .unwrap();
    // The file and its directory are read-only, as on a mounted backup.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let opened = SqliteStore::open_with(&path, read_only());
    let writable_dir = std::fs::File::create(dir.path().join("probe")).is_ok();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let store = opened.unwrap();
    assert!(store.is_read_only());
    assert_eq!(store.verify_chain().unwrap().rows, 1);
    assert_eq!(store.read_all_sync(1, 10).unwrap().len(), 1);
    let err = store.append_sync(&s, ExpectedVersion::Any, &[test_event("t", 2, "k2")]).unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
    assert!(err.to_string().contains("read-only"), "{err}");
    let err = store.ack(1).unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
    // Root ignores permissions; the read-only flag alone is then what is tested.
    let _ = writable_dir;
}

#[test]
fn a_read_only_open_does_not_create_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.db");
    let err = SqliteStore::open_with(&path, read_only()).unwrap_err();
    assert!(matches!(err, StoreError::NotAStore { .. }), "{err:?}");
    assert!(!path.exists());
}
