//! Stream reads through the per-append stream index, and the migration of version-1 files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dcs_store::conformance::test_event;
use dcs_store::sqlite::SqliteStore;
use dcs_store::{ExpectedVersion, StreamId, chain};
use proptest::prelude::*;
use rusqlite::Connection;

/// Appends `batches` (stream index, size) and returns each stream's positions in order.
fn fill(store: &SqliteStore, batches: &[(usize, usize)]) -> Vec<Vec<u64>> {
    let mut positions = vec![Vec::new(); 3];
    let mut seq = 0u64;
    for &(s, n) in batches {
        let events: Vec<_> =
            (0..n as u64).map(|i| test_event("t", seq + i, &format!("k{}", seq + i))).collect();
        seq += n as u64;
        let stream = StreamId::new(format!("sale-{s}")).unwrap();
        let r = store.append_sync(&stream, ExpectedVersion::Any, &events).unwrap();
        positions[s].extend(r.first_position..=r.last_position);
    }
    positions
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Every stream read, from any version with any limit, equals the model.
    #[test]
    fn stream_reads_match_the_model(
        batches in prop::collection::vec((0usize..3, 1usize..5), 1..40),
        limits in prop::collection::vec(1usize..8, 3),
    ) {
        let store = SqliteStore::open_in_memory().unwrap();
        let positions = fill(&store, &batches);
        for (s, expected) in positions.iter().enumerate() {
            let stream = StreamId::new(format!("sale-{s}")).unwrap();
            for from in 0..=expected.len() as u64 + 1 {
                for &limit in limits.iter().chain([&1000]) {
                    let got = store.read_stream_sync(&stream, from, limit).unwrap();
                    let skip = from.saturating_sub(1) as usize;
                    let want: Vec<u64> = expected.iter().skip(skip).take(limit).copied().collect();
                    let got_pos: Vec<u64> = got.iter().map(|e| e.position).collect();
                    prop_assert_eq!(&got_pos, &want, "stream {} from {} limit {}", s, from, limit);
                    for (i, e) in got.iter().enumerate() {
                        prop_assert_eq!(e.stream_version, from.max(1) + i as u64);
                        prop_assert_eq!(e.stream_id.as_str(), stream.as_str());
                    }
                }
            }
        }
        prop_assert_eq!(store.verify_chain().unwrap().rows, batches.iter().map(|b| b.1 as u64).sum::<u64>());
    }
}

#[test]
fn one_index_entry_per_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    fill(&store, &[(0, 4), (1, 1), (0, 3), (2, 5)]);
    drop(store);
    let conn = Connection::open(&path).unwrap();
    let entries: i64 = conn
        .query_row("SELECT count(*) FROM events INDEXED BY events_stream_batches WHERE position = batch_first", [], |r| r.get(0))
        .unwrap();
    assert_eq!(entries, 4);
}

/// Recomputes every row's chain hashes and the chain head, as a forger who knows the
/// (keyless) hash would after editing rows.
fn rehash(conn: &Connection) {
    let rows: Vec<(u64, String, u64, u64, u64, Vec<u8>)> = conn
        .prepare("SELECT position, stream_id, stream_version, batch_first, batch_last, event FROM events ORDER BY position")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut prev = chain::GENESIS;
    for (position, stream_id, stream_version, batch_first, batch_last, event) in rows {
        let place = chain::RowPlace {
            position,
            stream_id: &stream_id,
            stream_version,
            batch_first,
            batch_last,
        };
        let hash = chain::row_hash(&prev, &place, &event);
        conn.execute(
            "UPDATE events SET prev_hash = ?1, row_hash = ?2 WHERE position = ?3",
            rusqlite::params![prev.as_slice(), hash.as_slice(), position],
        )
        .unwrap();
        prev = hash;
    }
    conn.execute("UPDATE chain_head SET hash = ?1", [prev.as_slice()]).unwrap();
}

#[test]
fn a_version_jump_inside_a_stream_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    fill(&store, &[(0, 3), (1, 2), (0, 2)]);
    drop(store);
    // Renumber the second append of stream 0 (versions 4, 5 become 5, 6), move the stream
    // head and re-hash the chain: only the per-stream sequence check can see it.
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "UPDATE events SET stream_version = stream_version + 1 WHERE position >= 6;
         UPDATE streams SET version = 6 WHERE stream_id = 'sale-0';",
    )
    .unwrap();
    rehash(&conn);
    drop(conn);
    let err = SqliteStore::open(&path).unwrap().verify_chain().unwrap_err();
    assert!(err.to_string().contains("jumps from version 3 to 5"), "{err}");
}

/// Rewrites a current store into the version-1 layout (a per-row UNIQUE stream constraint).
fn downgrade_to_v1(path: &std::path::Path) {
    let conn = Connection::open(path).unwrap();
    let ddl: String = conn
        .query_row("SELECT sql FROM sqlite_schema WHERE name = 'events'", [], |r| r.get(0))
        .unwrap();
    let v1 = ddl.replacen(
        "UNIQUE (tenant_id, idempotency_key)",
        "UNIQUE (stream_id, stream_version),\n    UNIQUE (tenant_id, idempotency_key)",
        1,
    );
    assert_ne!(v1, ddl, "the events DDL changed: update this test");
    conn.execute_batch(&format!(
        "BEGIN;
         ALTER TABLE events RENAME TO events_now;
         DROP INDEX events_stream_batches;
         {v1};
         INSERT INTO events SELECT * FROM events_now;
         DROP TABLE events_now;
         UPDATE dcs_meta SET value = '1' WHERE key = 'schema_version';
         COMMIT;"
    ))
    .unwrap();
}

#[test]
fn a_version_1_store_is_migrated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    let positions = fill(&store, &[(0, 3), (1, 2), (0, 2), (2, 1)]);
    let before = store.verify_chain().unwrap();
    drop(store);
    downgrade_to_v1(&path);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.verify_chain().unwrap(), before, "rows and hashes are unchanged");
    let s0 = StreamId::new("sale-0").unwrap();
    let read: Vec<u64> =
        store.read_stream_sync(&s0, 2, 10).unwrap().iter().map(|e| e.position).collect();
    assert_eq!(read, positions[0][1..]);
    store.append_sync(&s0, ExpectedVersion::Exact(5), &[test_event("t", 99, "k99")]).unwrap();
    drop(store);
    let conn = Connection::open(&path).unwrap();
    let version: String = conn
        .query_row("SELECT value FROM dcs_meta WHERE key = 'schema_version'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, "6");
    let per_row_constraint: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'events' AND sql LIKE '%UNIQUE (stream_id%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(per_row_constraint, 0);
}
