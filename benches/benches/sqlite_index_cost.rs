//! What the SQLite event log's unique indexes cost: durable batches of 100 rows of the
//! store's shape (WAL, `synchronous=FULL`) into the same table with no index and with each
//! index layout, interleaved in one run; each layout's rate as a ratio of the unindexed one.
//!
//! Run: `cargo bench -p dcs-benches --bench sqlite_index_cost` (about 20 s).
#![allow(missing_docs, clippy::unwrap_used)]

use std::time::Instant;

use rusqlite::{Connection, params};

const TABLE: &str = "CREATE TABLE events (position INTEGER PRIMARY KEY, event_id BLOB NOT NULL,
    stream_id TEXT NOT NULL, stream_version INTEGER NOT NULL, tenant_id TEXT NOT NULL,
    branch_id TEXT NOT NULL, event_type INTEGER NOT NULL, amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL, hlc_time INTEGER NOT NULL, idempotency_key TEXT NOT NULL,
    batch_first INTEGER NOT NULL, batch_last INTEGER NOT NULL, event BLOB NOT NULL,
    prev_hash BLOB NOT NULL, row_hash BLOB NOT NULL) STRICT;";

const EVENT_ID: &str = "CREATE UNIQUE INDEX e_id ON events (event_id);";
const KEY: &str = "CREATE UNIQUE INDEX e_key ON events (tenant_id, idempotency_key);";
const STREAM_PER_ROW: &str = "CREATE UNIQUE INDEX e_stream ON events (stream_id, stream_version);";
const STREAM_PER_APPEND: &str = "CREATE UNIQUE INDEX e_stream ON events (stream_id, stream_version)
    WHERE position = batch_first;";

/// One layout: its name, its indexes, and whether each batch runs inside a savepoint.
struct Layout {
    name: &'static str,
    indexes: Vec<&'static str>,
    savepoint: bool,
}

fn layouts() -> Vec<Layout> {
    let l = |name, indexes, savepoint| Layout { name, indexes, savepoint };
    vec![
        l("no index", vec![], false),
        l("event id only", vec![EVENT_ID], false),
        l("idempotency key only", vec![KEY], false),
        l("event id + key", vec![EVENT_ID, KEY], false),
        l("schema v1: + stream per row", vec![EVENT_ID, KEY, STREAM_PER_ROW], false),
        l("schema v2: + stream per append", vec![EVENT_ID, KEY, STREAM_PER_APPEND], false),
        l("schema v2 in a savepoint", vec![EVENT_ID, KEY, STREAM_PER_APPEND], true),
    ]
}

fn insert_batch(conn: &mut Connection, layout: &Layout, seq: &mut u64, event: &[u8]) -> f64 {
    let t = Instant::now();
    let tx = conn.transaction().unwrap();
    if layout.savepoint {
        tx.execute_batch("SAVEPOINT s").unwrap();
    }
    {
        let mut st = tx
            .prepare_cached(
                "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )
            .unwrap();
        let first = *seq + 1;
        for _ in 0..100 {
            *seq += 1;
            let s = *seq;
            // A UUIDv7-like id: time-ordered prefix, random-looking tail.
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(1_700_000_000_000u64 + s).to_be_bytes());
            id[8..].copy_from_slice(&s.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes());
            let hash = [id, id].concat();
            st.execute(params![
                s,
                &id[..],
                "store-1/bench",
                s,
                "t",
                "store-1",
                3,
                1000,
                "USD",
                s as i64,
                format!("key-{s}"),
                first,
                first + 99,
                event,
                &hash,
                &hash
            ])
            .unwrap();
        }
    }
    if layout.savepoint {
        tx.execute_batch("RELEASE s").unwrap();
    }
    tx.commit().unwrap();
    t.elapsed().as_secs_f64()
}

fn main() {
    // A smoke run under `cargo test`; the full run under `cargo bench` (which passes --bench).
    let rounds = if std::env::args().any(|a| a == "--bench") { 40 } else { 6 };
    const WARM_UP_ROUNDS: usize = 5;
    let layouts = layouts();
    let dir = tempfile::tempdir().unwrap();
    let mut conns: Vec<Connection> = layouts
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let c = Connection::open(dir.path().join(format!("{i}.db"))).unwrap();
            c.execute_batch(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -16384;
                 {TABLE} {}",
                l.indexes.concat()
            ))
            .unwrap();
            c
        })
        .collect();
    let event: Vec<u8> = (0..620).map(|i| (i * 7) as u8).collect();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); layouts.len()];
    let mut seq = vec![0u64; layouts.len()];
    for round in 0..rounds {
        for (v, conn) in conns.iter_mut().enumerate() {
            for _ in 0..10 {
                let t = insert_batch(conn, &layouts[v], &mut seq[v], &event);
                if round >= WARM_UP_ROUNDS {
                    times[v].push(t);
                }
            }
        }
    }
    let medians: Vec<f64> = times
        .iter_mut()
        .map(|t| {
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        })
        .collect();
    for (l, m) in layouts.iter().zip(&medians) {
        println!(
            "{:32} {:7.1} µs per batch of 100, {:5.2} µs per row, rate ratio to no index {:.3}",
            l.name,
            m * 1e6,
            m * 1e4,
            medians[0] / m
        );
    }
}
