//! The regional forwarder's term-fenced cursor on PostgreSQL: a forward moves the region's
//! cursor in the transaction of its events; a retried range, a stale term or a lost race
//! writes nothing; a newer term takes over where the cursor stands; only the schema's
//! functions move a cursor, and only the tenant-wide application role may call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pg_common;

use dcs_store::StoreError;
use dcs_store::conformance::test_event;
use dcs_store::postgres::{ForwardCursor, IngestEvent, PgStore};
use dcs_store::{EventStore, StreamId};
use pg_common::{TestDb, connect};
use tokio_postgres::Client;

/// The events with ids `ids` (tenant `t1`), in order, as a forwarder sends them.
fn events(ids: std::ops::Range<u64>) -> Vec<IngestEvent> {
    ids.map(|i| IngestEvent {
        stream: StreamId::new(format!("store-1/s{}", i % 5)).unwrap(),
        stream_version: i / 5 + 1,
        event: test_event("t1", i, &format!("k{i}")),
        body: None,
    })
    .collect()
}

/// The one bigint `sql` returns, as the superuser (past RLS).
async fn count(db: &TestDb, sql: &str) -> i64 {
    connect(&db.admin).await.query_one(sql, &[]).await.unwrap().get(0)
}

/// (rows, distinct event ids) in the event log.
async fn copies(db: &TestDb) -> (i64, i64) {
    let row = connect(&db.admin)
        .await
        .query_one("SELECT count(*), count(DISTINCT event_id) FROM event_store", &[])
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// The position counter's head: positions claimed by committed transactions.
async fn head(db: &TestDb) -> i64 {
    count(db, "SELECT last FROM event_position").await
}

fn cursor(position: u64, term: u64) -> Option<ForwardCursor> {
    Some(ForwardCursor { position, term })
}

#[tokio::test]
async fn the_first_forward_creates_the_cursor_and_the_next_moves_it() {
    let db = TestDb::new().await;
    let store = db.store("t1");
    assert_eq!(store.forward_cursor("eu-west").await.unwrap(), None);
    let report = store.ingest_forwarded("eu-west", 1, 0, 10, &events(0..10)).await.unwrap();
    assert_eq!((report.inserted, report.duplicates, report.head_position), (10, 0, 10));
    assert_eq!(store.forward_cursor("eu-west").await.unwrap(), cursor(10, 1));
    let report = store.ingest_forwarded("eu-west", 1, 10, 25, &events(10..25)).await.unwrap();
    assert_eq!((report.inserted, report.head_position), (15, 25));
    assert_eq!(store.forward_cursor("eu-west").await.unwrap(), cursor(25, 1));
    assert_eq!(copies(&db).await, (25, 25));
    // Regions are independent: another region starts at 0.
    assert_eq!(store.forward_cursor("eu-east").await.unwrap(), None);
    store.ingest_forwarded("eu-east", 7, 0, 1, &events(100..101)).await.unwrap();
    assert_eq!(store.forward_cursor("eu-east").await.unwrap(), cursor(1, 7));
    assert_eq!(store.forward_cursor("eu-west").await.unwrap(), cursor(25, 1));
    let all = store.read_all(1, 100).await.unwrap();
    assert_eq!(all.iter().map(|e| e.position).collect::<Vec<_>>(), (1..=26).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_retried_range_gets_cursor_moved_and_writes_nothing() {
    let db = TestDb::new().await;
    let store = db.store("t1");
    store.ingest_forwarded("r1", 3, 0, 10, &events(0..10)).await.unwrap();
    assert_eq!((copies(&db).await, head(&db).await), ((10, 10), 10));
    // The same range again: the same events, and other events (which ingest alone would
    // store), and a range from a position the cursor has not reached.
    for (from, to, batch) in
        [(0, 10, events(0..10)), (0, 10, events(500..510)), (15, 20, events(515..520))]
    {
        let err = store.ingest_forwarded("r1", 3, from, to, &batch).await.unwrap_err();
        match &err {
            StoreError::CursorMoved { region, expected } => {
                assert_eq!((region.as_str(), *expected), ("r1", from));
            }
            other => panic!("{from}..{to}: expected CursorMoved, got {other:?}"),
        }
        assert!(err.to_string().contains("forward_cursor"), "{err}");
        assert_eq!(copies(&db).await, (10, 10), "{from}..{to} wrote events");
        assert_eq!(head(&db).await, 10, "{from}..{to} claimed positions");
        assert_eq!(store.forward_cursor("r1").await.unwrap(), cursor(10, 3));
    }
    // Resuming from the cursor goes on.
    let report = store.ingest_forwarded("r1", 3, 10, 12, &events(10..12)).await.unwrap();
    assert_eq!((report.inserted, report.head_position), (2, 12));
}

#[tokio::test]
async fn a_forward_of_stored_events_moves_the_cursor_in_the_careful_retry() {
    let db = TestDb::new().await;
    let store = db.store("t1");
    // Half the range is stored already (e.g. ingested before the cursor existed): the fast
    // attempt collides and is rolled back with its cursor step, the careful one moves it.
    store.ingest(&events(0..5)).await.unwrap();
    let report = store.ingest_forwarded("r1", 1, 0, 10, &events(0..10)).await.unwrap();
    assert_eq!((report.inserted, report.duplicates, report.head_position), (5, 5, 10));
    assert_eq!(store.forward_cursor("r1").await.unwrap(), cursor(10, 1));
    assert_eq!(copies(&db).await, (10, 10));
    let err = store.ingest_forwarded("r1", 1, 0, 10, &events(0..10)).await.unwrap_err();
    assert!(matches!(err, StoreError::CursorMoved { expected: 0, .. }), "{err:?}");
}

#[tokio::test]
async fn a_stale_term_gets_stale_term_and_writes_nothing() {
    let db = TestDb::new().await;
    let store = db.store("t1");
    store.ingest_forwarded("r1", 5, 0, 10, &events(0..10)).await.unwrap();
    // An older term, from the cursor's position or any other: the stale term wins.
    for (from, to) in [(10, 20), (0, 10), (12, 22)] {
        let err = store.ingest_forwarded("r1", 4, from, to, &events(100..110)).await.unwrap_err();
        match &err {
            StoreError::StaleTerm { region, term } => {
                assert_eq!((region.as_str(), *term), ("r1", 4))
            }
            other => panic!("{from}..{to}: expected StaleTerm, got {other:?}"),
        }
        assert!(err.to_string().contains("stop forwarding"), "{err}");
    }
    assert_eq!(copies(&db).await, (10, 10));
    assert_eq!(head(&db).await, 10);
    assert_eq!(store.forward_cursor("r1").await.unwrap(), cursor(10, 5));
    // A stale first forward of a region is refused too, once a newer term made the cursor.
    store.ingest_forwarded("r2", 9, 0, 1, &events(200..201)).await.unwrap();
    let err = store.ingest_forwarded("r2", 8, 0, 1, &events(300..301)).await.unwrap_err();
    assert!(matches!(err, StoreError::StaleTerm { term: 8, .. }), "{err:?}");
    assert_eq!(copies(&db).await, (11, 11));
}

#[tokio::test]
async fn a_newer_term_takes_over_from_the_stored_position() {
    let db = TestDb::new().await;
    let old = db.store("t1");
    let new = db.store("t1");
    old.ingest_forwarded("r1", 1, 0, 10, &events(0..10)).await.unwrap();
    // The new leader reads where the region stands and resumes there, under its term.
    let at = new.forward_cursor("r1").await.unwrap().unwrap();
    assert_eq!(at, ForwardCursor { position: 10, term: 1 });
    let report = new.ingest_forwarded("r1", 2, at.position, 15, &events(10..15)).await.unwrap();
    assert_eq!((report.inserted, report.head_position), (5, 15));
    assert_eq!(new.forward_cursor("r1").await.unwrap(), cursor(15, 2));
    // The deposed leader, resuming from its own idea of the cursor or from the new one, is
    // refused from now on.
    for from in [10, 15] {
        let err =
            old.ingest_forwarded("r1", 1, from, from + 5, &events(400..405)).await.unwrap_err();
        assert!(matches!(err, StoreError::StaleTerm { term: 1, .. }), "{err:?}");
    }
    // A newer term from a position other than the cursor's re-reads first.
    let err = new.ingest_forwarded("r1", 3, 10, 15, &events(10..15)).await.unwrap_err();
    assert!(matches!(err, StoreError::CursorMoved { expected: 10, .. }), "{err:?}");
    assert_eq!(
        new.forward_cursor("r1").await.unwrap(),
        cursor(15, 2),
        "a refused term is not kept"
    );
    // Same term, next range: still the new leader.
    new.ingest_forwarded("r1", 2, 15, 16, &events(15..16)).await.unwrap();
    assert_eq!(new.forward_cursor("r1").await.unwrap(), cursor(16, 2));
    assert_eq!(copies(&db).await, (16, 16));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_concurrent_forwarders_of_one_range_exactly_one_wins() {
    let db = TestDb::new().await;
    let (a, b) = (db.store("t1"), db.store("t1"));
    // Each round, both forward the same range: first with events of their own (so that
    // only the cursor, not the event ids, keeps the second out), then with the same events.
    for round in 0..6u64 {
        let (from, to) = (round * 20, round * 20 + 20);
        let (batch_a, batch_b) = if round % 2 == 0 {
            (events(from..to), events(10_000 + from..10_000 + to))
        } else {
            (events(from..to), events(from..to))
        };
        let (ra, rb) = tokio::join!(
            a.ingest_forwarded("r1", 4, from, to, &batch_a),
            b.ingest_forwarded("r1", 4, from, to, &batch_b),
        );
        let (won, lost) = match (ra, rb) {
            (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
            (ra, rb) => panic!("round {round}: exactly one must win: {ra:?} / {rb:?}"),
        };
        assert_eq!((won.inserted, won.duplicates), (20, 0), "round {round}");
        assert!(
            matches!(lost, StoreError::CursorMoved { ref region, expected } if region == "r1" && expected == from),
            "round {round}: {lost:?}"
        );
        assert_eq!(a.forward_cursor("r1").await.unwrap(), cursor(to, 4));
        let stored = (to as i64, to as i64);
        assert_eq!(copies(&db).await, stored, "round {round}: the range is stored once");
        assert_eq!(head(&db).await, to as i64, "round {round}: positions claimed once");
    }
    let all = a.read_all(1, 1000).await.unwrap();
    assert_eq!(all.iter().map(|e| e.position).collect::<Vec<_>>(), (1..=120).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarder_waits_for_the_transaction_holding_the_cursor() {
    let db = TestDb::new().await;
    let store = db.store("t1");
    let holder = connect(&db.app).await;
    let forward = |from: u64, to: u64| {
        let store = store.clone();
        tokio::spawn(
            async move { store.ingest_forwarded("r1", 1, from, to, &events(from..to)).await },
        )
    };
    let still_waiting = async |task: &tokio::task::JoinHandle<_>| {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        !task.is_finished()
    };
    // The region's first forward, by a transaction that has not committed: the second
    // waits for it (on the cursor's key), and goes on from 0 when it rolls back.
    holder.batch_execute("BEGIN; SELECT dcs_advance_forward_cursor('r1', 0, 5, 1)").await.unwrap();
    let waiting = forward(0, 5);
    assert!(still_waiting(&waiting).await, "the second forwarder waits for the cursor");
    holder.batch_execute("ROLLBACK").await.unwrap();
    let report = waiting.await.unwrap().unwrap();
    assert_eq!((report.inserted, report.head_position), (5, 5));
    // A holder of the cursor's row that commits: the waiter finds the cursor moved.
    holder.batch_execute("BEGIN; SELECT dcs_advance_forward_cursor('r1', 5, 6, 1)").await.unwrap();
    let waiting = forward(5, 6);
    assert!(still_waiting(&waiting).await, "the second forwarder waits for the cursor's row");
    holder.batch_execute("COMMIT").await.unwrap();
    let err = waiting.await.unwrap().unwrap_err();
    assert!(matches!(err, StoreError::CursorMoved { expected: 5, .. }), "{err:?}");
    assert_eq!(copies(&db).await, (5, 5));
    assert_eq!(head(&db).await, 5);
    assert_eq!(store.forward_cursor("r1").await.unwrap(), cursor(6, 1));
}

/// Runs `sql` in a transaction; the server's SQLSTATE and message if refused.
async fn attempt(c: &Client, sql: &str) -> Result<(), (String, String)> {
    let result = c.batch_execute(&format!("BEGIN; {sql}; COMMIT")).await;
    let _ = c.batch_execute("ROLLBACK").await;
    result.map_err(|e| match e.as_db_error() {
        Some(d) => (d.code().code().to_owned(), d.message().to_owned()),
        None => (String::new(), e.to_string()),
    })
}

/// Asserts `sql` is refused with a message containing `why`.
async fn refused(c: &Client, sql: &str, why: &str) {
    match attempt(c, sql).await {
        Ok(()) => panic!("{sql}: was allowed"),
        Err((_, msg)) => assert!(msg.contains(why), "{sql}: refused for {msg:?}"),
    }
}

/// The cursors, as the superuser.
async fn all_cursors(db: &TestDb) -> Vec<(String, i64, i64)> {
    connect(&db.admin)
        .await
        .query("SELECT region, position, term FROM forward_cursor ORDER BY region", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test]
async fn only_the_functions_move_a_cursor_and_only_the_app_role_calls_them() {
    let db = TestDb::new().await;
    db.store("t1").ingest_forwarded("r1", 2, 0, 3, &events(0..3)).await.unwrap();
    let expected = vec![("r1".to_string(), 3, 2)];
    // The application login: the functions, nothing of the table itself.
    let app = connect(&db.app).await;
    for sql in [
        "INSERT INTO forward_cursor (region, position, term) VALUES ('r9', 100, 100)",
        "UPDATE forward_cursor SET position = 0",
        "UPDATE forward_cursor SET term = 1000",
        "DELETE FROM forward_cursor",
        "TRUNCATE forward_cursor",
        "SELECT * FROM forward_cursor",
        "SELECT 1 FROM forward_cursor FOR UPDATE",
        "LOCK TABLE forward_cursor IN ACCESS EXCLUSIVE MODE",
    ] {
        refused(&app, sql, "permission denied").await;
    }
    let row =
        app.query_one("SELECT position, term FROM dcs_forward_cursor('r1')", &[]).await.unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (3, 2), "the app role reads it");
    // A branch login neither reads nor moves a cursor, even through the functions.
    let branch = connect(&db.branch).await;
    for sql in [
        "SELECT dcs_advance_forward_cursor('r1', 3, 4, 9)",
        "SELECT * FROM dcs_forward_cursor('r1')",
        "SELECT * FROM forward_cursor",
        "UPDATE forward_cursor SET position = 0",
    ] {
        refused(&branch, sql, "permission denied").await;
    }
    let branch_store: PgStore = db.branch_store("t1", "store-1").await;
    assert!(branch_store.forward_cursor("r1").await.is_err());
    let err = branch_store.ingest_forwarded("r1", 9, 3, 4, &events(3..4)).await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    // The owner moves a cursor only forward, never deletes it and cannot unseal it.
    let owner = db.owner().await;
    for (sql, why) in [
        ("UPDATE forward_cursor SET position = 1", "moves only forward"),
        ("UPDATE forward_cursor SET term = 1", "moves only forward"),
        ("UPDATE forward_cursor SET position = position + 1, term = 0", "moves only forward"),
        ("DELETE FROM forward_cursor", "append-only"),
        ("TRUNCATE forward_cursor", "append-only"),
        ("ALTER TABLE forward_cursor DISABLE TRIGGER dcs_forward_only", "stays append-only"),
        ("ALTER TABLE forward_cursor NO FORCE ROW LEVEL SECURITY", "stays append-only"),
        ("DROP TRIGGER dcs_forward_only ON forward_cursor", "append-only"),
        ("DROP POLICY dcs_owner_only ON forward_cursor", "append-only"),
        ("DROP FUNCTION dcs_advance_forward_cursor(text, bigint, bigint, bigint)", "append-only"),
        ("DROP TABLE forward_cursor", "append-only"),
        ("ALTER TABLE forward_cursor DROP COLUMN term", "append-only"),
    ] {
        refused(&owner, sql, why).await;
    }
    assert_eq!(all_cursors(&db).await, expected, "nothing moved the cursor");
    assert_eq!(copies(&db).await, (3, 3));
}

#[tokio::test]
async fn the_function_raises_the_documented_sqlstates() {
    let db = TestDb::new().await;
    let app = connect(&db.app).await;
    let call = |from: i64, to: i64, term: i64| {
        format!("SELECT dcs_advance_forward_cursor('r1', {from}, {to}, {term})")
    };
    attempt(&app, &call(0, 4, 2)).await.unwrap();
    for (sql, code) in [
        (call(4, 8, 1), "DC001"), // an older term
        (call(3, 8, 2), "DC002"), // not the cursor's position
        (call(0, 4, 2), "DC002"), // the same range again
        (call(4, 4, 2), "DC003"), // nothing to move
        (call(4, 3, 2), "DC003"),
        (call(-1, 3, 2), "22023"),
        ("SELECT dcs_advance_forward_cursor('', 0, 1, 1)".into(), "22023"),
        ("SELECT dcs_advance_forward_cursor(NULL, 0, 1, 1)".into(), "22023"),
    ] {
        let (got, msg) = attempt(&app, &sql).await.unwrap_err();
        assert_eq!(got, code, "{sql}: {msg}");
    }
    // An absent cursor is at 0.
    let (got, _) =
        attempt(&app, "SELECT dcs_advance_forward_cursor('r2', 1, 2, 1)").await.unwrap_err();
    assert_eq!(got, "DC002");
    assert_eq!(all_cursors(&db).await, vec![("r1".to_string(), 4, 2)]);
}

/// The field an `Invalid` error names.
fn field<T: std::fmt::Debug>(r: Result<T, StoreError>) -> &'static str {
    match r {
        Err(StoreError::Invalid { field, .. }) => field,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn an_invalid_argument_names_its_field() {
    let db = TestDb::new().await;
    let store = db.store("t1");
    let long = "r".repeat(201);
    assert_eq!(field(store.ingest_forwarded("", 1, 0, 1, &events(0..1)).await), "region");
    assert_eq!(field(store.ingest_forwarded(&long, 1, 0, 1, &events(0..1)).await), "region");
    assert_eq!(field(store.forward_cursor("").await), "region");
    assert_eq!(field(store.forward_cursor(&long).await), "region");
    assert_eq!(field(store.ingest_forwarded("r1", 1, 5, 5, &[]).await), "to");
    assert_eq!(field(store.ingest_forwarded("r1", 1, 5, 4, &events(0..1)).await), "to");
    assert_eq!(field(store.ingest_forwarded("r1", 1, 0, 1, &events(0..2)).await), "batch");
    assert_eq!(field(store.ingest_forwarded("r1", u64::MAX, 0, 1, &events(0..1)).await), "term");
    let huge = u64::MAX - 1;
    assert_eq!(field(store.ingest_forwarded("r1", 1, huge, huge + 1, &events(0..1)).await), "to");
    assert_eq!(copies(&db).await, (0, 0));
    assert!(all_cursors(&db).await.is_empty());
    // 200 characters, not bytes: the longest region both sides accept.
    let wide = "é".repeat(200);
    store.ingest_forwarded(&wide, 1, 0, 1, &events(0..1)).await.unwrap();
    assert_eq!(store.forward_cursor(&wide).await.unwrap(), cursor(1, 1));
}

#[tokio::test]
async fn positions_without_events_move_the_cursor_only() {
    let db = TestDb::new().await;
    let store = db.store("t1");
    // Positions 1..=3 hold two events and one item that is not an event (a summary).
    let r = store.ingest_forwarded("r1", 1, 0, 3, &events(0..2)).await.unwrap();
    assert_eq!(r.inserted, 2);
    // Positions 4..=5 hold no event at all.
    let r = store.ingest_forwarded("r1", 1, 3, 5, &[]).await.unwrap();
    assert_eq!(r.inserted, 0);
    let c = store.forward_cursor("r1").await.unwrap().unwrap();
    assert_eq!((c.position, c.term), (5, 1));
    // The empty advance is fenced like any other.
    let e = store.ingest_forwarded("r1", 1, 3, 6, &[]).await.unwrap_err();
    assert!(matches!(e, StoreError::CursorMoved { .. }), "{e}");
    let e = store.ingest_forwarded("r1", 0, 5, 6, &[]).await.unwrap_err();
    assert!(matches!(e, StoreError::StaleTerm { .. }), "{e}");
}
