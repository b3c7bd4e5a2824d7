//! The seven holes of issue 17, each attempted on the real server as the role that had it
//! (a tenant's application or branch login, the owner) and refused; the superuser only
//! seeds and counts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pg_common;

use std::time::{Duration, Instant};

use dcs_store::conformance::test_event;
use dcs_store::postgres::{IngestEvent, PgStore, Scope};
use dcs_store::{EventStore, ExpectedVersion, StreamId};
use pg_common::{TestDb, connect};
use tokio_postgres::Client;

fn stream(s: &str) -> StreamId {
    StreamId::new(s).unwrap()
}

/// The RLS settings of a transaction.
fn scope(tenant: &str, branch: &str) -> String {
    format!(
        "SELECT set_config('dcs.tenant_id', '{tenant}', true), set_config('dcs.branch_id', '{branch}', true)"
    )
}

/// Runs `sql` in a transaction after `setup` and commits; the server's message if refused.
async fn attempt(c: &Client, setup: &str, sql: &str) -> Result<(), String> {
    let result = c.batch_execute(&format!("BEGIN; {setup}; {sql}; COMMIT")).await;
    let _ = c.batch_execute("ROLLBACK").await;
    result.map_err(|e| e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_string()))
}

/// Asserts `sql` is refused and its message contains one of `why`.
async fn refused(c: &Client, setup: &str, sql: &str, why: &[&str]) {
    match attempt(c, setup, sql).await {
        Ok(()) => panic!("{sql}: was allowed"),
        Err(msg) => assert!(why.iter().any(|w| msg.contains(w)), "{sql}: refused for {msg:?}"),
    }
}

/// An event row of `tenant` at `position` (an SQL expression), as an attacker writes it.
fn insert_event(tenant: &str, position: &str) -> String {
    format!(
        "INSERT INTO event_store (event_id, position, tenant_id, branch_id, stream_id, stream_version, \
         event_type, amount_minor, currency, hlc_time, idempotency_key, event) VALUES \
         (gen_random_uuid(), {position}, '{tenant}', 'store-1', 'forged', 1, 2, 1, 'USD', 1, 'forged', '\\x00')"
    )
}

/// The one bigint `sql` returns, as the superuser.
async fn count(db: &TestDb, sql: &str) -> i64 {
    connect(&db.admin).await.query_one(sql, &[]).await.unwrap().get(0)
}

const DENIED: &[&str] = &["permission denied"];
const RLS: &[&str] = &["row-level security"];
const APPEND_ONLY: &[&str] = &["append-only"];

#[tokio::test]
async fn hole1_the_position_counter_is_not_a_tenants_to_move() {
    let db = TestDb::new().await;
    let (a, b) = (db.store("A"), db.store("B"));
    let two = [test_event("A", 1, "a1"), test_event("A", 2, "a2")];
    a.append(&stream("a"), ExpectedVersion::Any, &two).await.unwrap();
    let app = connect(&db.app).await;
    let as_a = scope("A", "");
    for sql in [
        "UPDATE event_position SET last = 0",
        "SELECT last FROM event_position",
        "SELECT 1 FROM event_position FOR UPDATE",
        "INSERT INTO event_position (id, last) VALUES (2, 0)",
        "SELECT 1 FROM dcs_claim FOR UPDATE",
        "UPDATE dcs_claim SET last = 0",
    ] {
        refused(&app, &as_a, sql, DENIED).await;
    }
    // The claim view shows a transaction its own claim and nothing else: no count of the
    // region's events without a claim, none of another transaction's claim.
    let claims_seen = async |c: &Client| -> i64 {
        c.query_one("SELECT count(*) FROM dcs_claim", &[]).await.unwrap().get(0)
    };
    assert_eq!(claims_seen(&app).await, 0, "no claim, no row");
    let holder = connect(&db.app).await;
    holder.batch_execute(&format!("BEGIN; {as_a}; SELECT dcs_claim_positions(1)")).await.unwrap();
    assert_eq!(claims_seen(&holder).await, 1, "the holder sees its claim");
    assert_eq!(claims_seen(&app).await, 0, "another session does not see it");
    holder.batch_execute("ROLLBACK").await.unwrap();
    // An event at a position of the session's choosing: without a claim, outside its
    // claim, or reusing a position another event holds.
    refused(&app, &as_a, &insert_event("A", "3"), RLS).await;
    refused(&app, &as_a, &insert_event("A", "1"), RLS).await;
    let claim = "SELECT dcs_claim_positions(1)";
    refused(&app, &format!("{as_a}; {claim}"), &insert_event("A", "1000"), RLS).await;
    refused(&app, &format!("{as_a}; {claim}"), &insert_event("A", "2"), RLS).await;
    // A gap: two claimed, one written; the same position twice.
    let two_claimed = format!("{as_a}; SELECT dcs_claim_positions(2)");
    refused(&app, &two_claimed, &insert_event("A", "3"), &["gap-free"]).await;
    let twice = format!("{}; {}", insert_event("A", "3"), insert_event("A", "3"));
    refused(&app, &two_claimed, &twice, &["gap-free"]).await;
    refused(&app, &as_a, "SELECT dcs_claim_positions(-5)", &["0 to 100000"]).await;
    // The owner cannot move it either, back or forward.
    let owner = db.owner().await;
    for (sql, why) in [
        ("UPDATE event_position SET last = 1", &["moves only forward"][..]),
        ("UPDATE event_position SET last = last + 10", &["moves only forward"]),
        (
            "UPDATE event_position SET holder = pg_current_xact_id(), claimed_from = last + 1, \
             claims = 1, last = last + 10",
            &["gap-free"],
        ),
        ("DELETE FROM event_position", APPEND_ONLY),
        ("TRUNCATE event_position", APPEND_ONLY),
        ("ALTER TABLE event_position DISABLE TRIGGER dcs_forward_only", &["stays append-only"]),
        ("ALTER TABLE event_position DISABLE TRIGGER dcs_claims_filled", &["stays append-only"]),
    ] {
        refused(&owner, "SELECT 1", sql, why).await;
    }
    // B's next event takes the next position, and B's catch-up reader finds it there.
    let r = b.append(&stream("b"), ExpectedVersion::Any, &[test_event("B", 3, "b3")]).await;
    assert_eq!(r.unwrap().first_position, 3);
    let seen = b.read_all(3, 10).await.unwrap();
    assert_eq!(seen.iter().map(|e| e.position).collect::<Vec<_>>(), [3]);
    let sql = "SELECT count(DISTINCT position) * 100 + max(position) FROM event_store";
    assert_eq!(count(&db, sql).await, 303, "positions 1 to 3, each once");
}

#[tokio::test]
async fn hole2_another_tenants_event_id_is_that_tenants_own_event() {
    let db = TestDb::new().await;
    let (a, b) = (db.store("A"), db.store("B"));
    a.append(&stream("s"), ExpectedVersion::Any, &[test_event("A", 7, "k7")]).await.unwrap();
    // The same event id (and key) under B is B's event, not a duplicate of A's.
    let r = b.append(&stream("s"), ExpectedVersion::Any, &[test_event("B", 7, "k7")]).await;
    let r = r.unwrap();
    assert!(!r.deduplicated);
    assert_eq!(r.first_position, 2);
    let mine = b.read_stream(&stream("s"), 1, 10).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].event.tenant_id().as_str(), "B");
    // Squatting: A stores the ids B's forwarder will send; B's batch still goes in whole.
    let batch = |tenant: &str| -> Vec<IngestEvent> {
        (100..110u64)
            .map(|i| IngestEvent {
                stream: stream("store-1/s"),
                stream_version: i - 99,
                event: test_event(tenant, i, &format!("k{i}")),
                body: None,
            })
            .collect()
    };
    a.ingest(&batch("A")).await.unwrap();
    let report = b.ingest(&batch("B")).await.unwrap();
    assert_eq!((report.inserted, report.duplicates), (10, 0));
    assert_eq!(b.ingest(&batch("B")).await.unwrap().duplicates, 10, "B's own re-send");
    // Probing: an insert of an id only B holds, ON CONFLICT DO NOTHING, inserts a row of A's
    // (so the row count says nothing about B).
    b.append(&stream("t"), ExpectedVersion::Any, &[test_event("B", 50, "k50")]).await.unwrap();
    let b50 = uuid::Uuid::from_bytes(*test_event("B", 50, "k50").event_id().as_bytes());
    let mut app = connect(&db.app).await;
    let tx = app.transaction().await.unwrap();
    tx.batch_execute(&format!("{}; SELECT dcs_claim_positions(1)", scope("A", ""))).await.unwrap();
    let n = tx
        .execute(
            "INSERT INTO event_store (event_id, position, tenant_id, branch_id, stream_id, stream_version, \
             event_type, amount_minor, currency, hlc_time, idempotency_key, event) \
             VALUES ($1, (SELECT claimed_from FROM dcs_claim), 'A', 'store-1', 'p', 1, 2, 1, 'USD', 1, 'p', '\\x00') \
             ON CONFLICT DO NOTHING",
            &[&b50],
        )
        .await
        .unwrap();
    assert_eq!(n, 1, "B's id is free for A: nothing about B shows");
    tx.rollback().await.unwrap();
    let per_tenant = "SELECT count(*) FILTER (WHERE tenant_id = 'A') * 1000 + count(*) FILTER (WHERE tenant_id = 'B') FROM event_store";
    assert_eq!(count(&db, per_tenant).await, 11 * 1000 + 12);
}

#[tokio::test]
async fn hole3_the_audit_log_and_the_idempotency_keys_are_append_only() {
    let db = TestDb::new().await;
    db.store("A")
        .append(&stream("s"), ExpectedVersion::Any, &[test_event("A", 1, "k1")])
        .await
        .unwrap();
    let app = connect(&db.app).await;
    let as_a = scope("A", "");
    let audit = "INSERT INTO audit_log (tenant_id, branch_id, actor, action, detail) VALUES ('A', 'store-1', 'till-1', 'refund', 'r1')";
    attempt(&app, &as_a, audit).await.unwrap();
    for sql in [
        "UPDATE audit_log SET at = at - interval '1 year'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "UPDATE idempotency_keys SET first_position = 0",
        "DELETE FROM idempotency_keys",
        "TRUNCATE idempotency_keys",
    ] {
        refused(&app, &as_a, sql, DENIED).await;
    }
    // Back-dating a new row.
    let back = "INSERT INTO audit_log (tenant_id, branch_id, at, actor, action, detail) VALUES ('A', 'store-1', now() - interval '1 day', 'x', 'y', 'z')";
    refused(&app, &as_a, back, RLS).await;
    // The owner: no TRUNCATE (parent or month), no disabling the triggers, no deleting.
    let owner = db.owner().await;
    let month: String = connect(&db.admin)
        .await
        .query_one("SELECT 'audit_log_' || to_char(now(), 'YYYY_MM')", &[])
        .await
        .unwrap()
        .get(0);
    for (sql, why) in [
        ("TRUNCATE audit_log".to_string(), APPEND_ONLY),
        (format!("TRUNCATE {month}"), APPEND_ONLY),
        ("TRUNCATE idempotency_keys".into(), APPEND_ONLY),
        ("ALTER TABLE idempotency_keys DISABLE TRIGGER dcs_append_only".into(), APPEND_ONLY),
        (
            format!("ALTER TABLE {month} DISABLE TRIGGER dcs_append_only"),
            &["append-only", "partition"],
        ),
    ] {
        refused(&owner, "SELECT 1", &sql, why).await;
    }
    // Row changes by the owner touch nothing (no policy of its own lets it see the rows);
    // even the superuser, who sees them, is stopped by the triggers.
    for sql in [
        "DELETE FROM idempotency_keys",
        "DELETE FROM audit_log",
        "UPDATE audit_log SET actor = 'x'",
    ] {
        let _ = attempt(&owner, "SELECT 1", sql).await;
        refused(&connect(&db.admin).await, "SELECT 1", sql, APPEND_ONLY).await;
    }
    assert_eq!(count(&db, "SELECT count(*) FROM audit_log WHERE actor = 'till-1'").await, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM idempotency_keys").await, 1);
}

#[tokio::test]
async fn hole4_every_partition_is_sealed_for_every_role() {
    let db = TestDb::new().await;
    let events: Vec<_> = (0..40u64).map(|i| test_event("A", i, &format!("k{i}"))).collect();
    db.store("A").append(&stream("s"), ExpectedVersion::Any, &events).await.unwrap();
    let admin = connect(&db.admin).await;
    admin
        .batch_execute(
            "INSERT INTO audit_log (tenant_id, branch_id, actor, action, detail) VALUES ('A', 'b', 'x', 'y', 'z')",
        )
        .await
        .unwrap();
    // The common mistake: every table of the schema granted to the application role.
    admin.batch_execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO dcs_app").await.unwrap();
    let parts: Vec<String> = admin
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent IN ('event_store'::regclass, 'audit_log'::regclass) ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(parts.len() >= 12, "{parts:?}");
    let app = connect(&db.app).await;
    for setup in [scope("A", ""), "SELECT 1".to_string()] {
        for p in &parts {
            let n: i64 = {
                app.batch_execute(&format!("BEGIN; {setup}")).await.unwrap();
                let n =
                    app.query_one(&format!("SELECT count(*) FROM {p}"), &[]).await.unwrap().get(0);
                app.batch_execute("ROLLBACK").await.unwrap();
                n
            };
            assert_eq!(n, 0, "{p} shows rows to the application role directly");
        }
    }
    // The owner cannot empty, unseal, detach or drop a partition, nor rewrite the log.
    let owner = db.owner().await;
    let month = parts.iter().find(|p| p.starts_with("audit_log_")).unwrap();
    let mut attacks: Vec<String> = (0..8).map(|k| format!("TRUNCATE event_store_p{k}")).collect();
    attacks.extend(
        [
            "ALTER TABLE event_store_p0 DISABLE TRIGGER dcs_no_truncate; TRUNCATE event_store_p0",
            "ALTER TABLE event_store_p0 DISABLE TRIGGER dcs_append_only; DELETE FROM event_store_p0",
            "ALTER TABLE event_store_p0 ENABLE REPLICA TRIGGER dcs_no_truncate",
            "ALTER TABLE event_store_p0 NO FORCE ROW LEVEL SECURITY",
            "ALTER TABLE event_store_p0 DISABLE ROW LEVEL SECURITY",
            "ALTER TABLE event_store DETACH PARTITION event_store_p0",
            "DROP TABLE event_store_p0",
            "DROP TRIGGER dcs_no_truncate ON event_store_p0",
            "ALTER TABLE event_store DROP COLUMN amount_minor",
            "ALTER TABLE event_store ALTER COLUMN amount_minor TYPE numeric",
            "DROP POLICY dcs_claimed_positions ON event_store",
            "CREATE OR REPLACE FUNCTION dcs_tenant() RETURNS text LANGUAGE sql STABLE AS $$ SELECT 'B' $$",
            "DROP FUNCTION dcs_claim_positions(bigint)",
            "CREATE OR REPLACE VIEW dcs_claim WITH (security_barrier) AS \
             SELECT 1::bigint AS claimed_from, 1000000::bigint AS last",
            "ALTER VIEW dcs_claim RESET (security_barrier)",
            "ALTER VIEW dcs_claim RENAME TO x; CREATE OR REPLACE VIEW x WITH (security_barrier) AS \
             SELECT 1::bigint AS claimed_from, 1000000::bigint AS last",
            "CREATE OR REPLACE RULE \"_RETURN\" AS ON SELECT TO dcs_claim DO INSTEAD \
             SELECT 1::bigint AS claimed_from, 1000000::bigint AS last",
            "DROP VIEW dcs_claim CASCADE",
        ]
        .map(String::from),
    );
    attacks.extend([
        format!("ALTER TABLE audit_log DETACH PARTITION {month}"),
        format!("ALTER TABLE {month} NO FORCE ROW LEVEL SECURITY"),
        format!("DROP TABLE {month}"),
    ]);
    for sql in &attacks {
        refused(&owner, "SELECT 1", sql, &["append-only", "partition", "may not be"]).await;
    }
    refused(
        &owner,
        "SELECT 1",
        "CREATE OR REPLACE FUNCTION dcs_guard.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
        &["must be owner", "permission denied"],
    )
    .await;
    assert_eq!(count(&db, "SELECT count(*) FROM event_store").await, 40);
    assert_eq!(count(&db, "SELECT count(*) FROM audit_log").await, 1);
    // New months come sealed.
    let made: i32 =
        owner.query_one("SELECT dcs_ensure_audit_partitions(8)", &[]).await.unwrap().get(0);
    assert!(made >= 4, "{made}");
    let unsealed = count(
        &db,
        "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent IN ('event_store'::regclass, 'audit_log'::regclass)
           AND NOT (c.relrowsecurity AND c.relforcerowsecurity
                    AND EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'dcs_no_truncate')
                    AND EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'dcs_append_only'))",
    )
    .await;
    assert_eq!(unsealed, 0, "every partition: RLS enabled and forced, both triggers");
}

#[tokio::test]
async fn hole5_the_owner_has_and_needs_no_createrole() {
    let db = TestDb::new().await;
    let roles = count(
        &db,
        "SELECT count(*) FROM pg_roles WHERE rolname IN ('dcs_owner', 'dcs_app', 'dcs_branch')
           AND NOT rolcanlogin AND NOT rolsuper AND NOT rolcreaterole AND NOT rolcreatedb AND NOT rolbypassrls",
    )
    .await;
    assert_eq!(roles, 3, "the group roles are NOLOGIN and have no special attributes");
    let logins = count(
        &db,
        "SELECT count(*) FROM pg_roles WHERE rolname IN ('dcs_t_migrator', 'dcs_t_app', 'dcs_t_branch')
           AND rolcanlogin AND NOT rolsuper AND NOT rolcreaterole AND NOT rolcreatedb AND NOT rolbypassrls",
    )
    .await;
    assert_eq!(logins, 3, "the logins are NOSUPERUSER, NOBYPASSRLS, NOCREATEROLE");
    let foreign = count(
        &db,
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) <> 'dcs_owner'",
    )
    .await;
    assert_eq!(foreign, 0, "the migrations ran as dcs_owner: it owns every relation");
    // Logins authenticate (scripts/pg-dev asks SCRAM of every login but the superuser).
    let mut wrong = db.app.clone();
    wrong.password("not-the-password");
    assert!(wrong.connect(tokio_postgres::NoTls).await.is_err(), "a wrong password got in");
    let owner = db.owner().await;
    let no = &["permission denied", "must be superuser", "must have admin option"][..];
    for (sql, why) in [
        ("CREATE ROLE dcs_t_evil LOGIN", no),
        ("CREATE ROLE dcs_t_evil LOGIN SUPERUSER", no),
        ("GRANT pg_execute_server_program TO dcs_owner", no),
        ("ALTER ROLE dcs_owner CREATEROLE", no),
        ("ALTER ROLE dcs_owner BYPASSRLS", no),
        ("COPY (SELECT 1) TO PROGRAM 'id'", &["permission denied", "must be superuser"][..]),
        (
            "CREATE EXTENSION IF NOT EXISTS plpython3u",
            &["permission denied", "must be superuser", "not available", "could not open"],
        ),
    ] {
        refused(&owner, "SELECT 1", sql, why).await;
    }
}

#[tokio::test]
async fn hole6_a_branch_login_cannot_switch_tenant_or_branch() {
    let db = TestDb::new().await;
    db.store("A")
        .append(&stream("a"), ExpectedVersion::Any, &[test_event("A", 1, "a1")])
        .await
        .unwrap();
    db.store("B")
        .append(&stream("b"), ExpectedVersion::Any, &[test_event("B", 2, "b2")])
        .await
        .unwrap();
    connect(&db.admin)
        .await
        .batch_execute(
            "INSERT INTO snapshots VALUES ('A', 's1', 'store-1', 1, '\\x00'), ('A', 's2', 'store-2', 1, '\\x00'), ('B', 's1', 'store-1', 1, '\\x00')",
        )
        .await
        .unwrap();
    let login = db.branch_login("A", "store-1").await;
    let c = connect(&login).await;
    let seen = async |setup: &str, table: &str| -> i64 {
        c.batch_execute(&format!("BEGIN; {setup}")).await.unwrap();
        let n = c.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.unwrap().get(0);
        c.batch_execute("ROLLBACK").await.unwrap();
        n
    };
    assert_eq!(seen(&scope("A", "store-1"), "snapshots").await, 1, "its own branch");
    assert_eq!(seen(&scope("A", "store-1"), "event_store").await, 1);
    for (t, b) in [("A", "store-2"), ("B", "store-1"), ("B", "store-2")] {
        for table in ["snapshots", "event_store", "idempotency_keys"] {
            assert_eq!(seen(&scope(t, b), table).await, 0, "{t}/{b} {table}");
        }
        let forged = format!("INSERT INTO snapshots VALUES ('{t}', 'x', '{b}', 1, '\\x00')");
        refused(&c, &scope(t, b), &forged, RLS).await;
    }
    // Dropping to the group role does not widen it.
    let as_group = format!("SET LOCAL ROLE dcs_branch; {}", scope("B", "store-1"));
    assert_eq!(seen(&as_group, "snapshots").await, 0);
    // Through the store: the handle's scope cannot take it elsewhere.
    let elsewhere = Scope {
        tenant: dcs_core::TenantId::new("B").unwrap(),
        branch: Some(dcs_core::BranchId::new("store-1").unwrap()),
    };
    let wrong = PgStore::connect(login.clone(), elsewhere, 1).unwrap();
    let err = wrong.append(&stream("b"), ExpectedVersion::Any, &[test_event("B", 9, "b9")]).await;
    assert!(err.is_err(), "a branch login of A wrote B's event");
    assert!(wrong.read_all(1, 10).await.unwrap().is_empty());
    let right = db.branch_store("A", "store-1").await;
    let ok =
        right.append(&stream("a"), ExpectedVersion::Exact(1), &[test_event("A", 3, "a3")]).await;
    assert_eq!(ok.unwrap().stream_version, 2);
    // A branch login nobody bound sees nothing, whatever it sets.
    db.owner()
        .await
        .execute("DELETE FROM dcs_logins WHERE login = $1", &[&pg_common::BRANCH])
        .await
        .unwrap();
    let unbound = connect(&db.branch).await;
    unbound.batch_execute(&format!("BEGIN; {}", scope("A", "store-1"))).await.unwrap();
    let n: i64 = unbound.query_one("SELECT count(*) FROM snapshots", &[]).await.unwrap().get(0);
    assert_eq!(n, 0, "an unbound branch login sees nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hole7_no_tenant_can_stall_or_count_the_others() {
    let db = TestDb::new().await;
    db.store("A")
        .append(&stream("a"), ExpectedVersion::Any, &[test_event("A", 1, "a1")])
        .await
        .unwrap();
    let branch = db.branch_login("A", "store-1").await;
    for (who, config) in [("app", db.app.clone()), ("branch", branch)] {
        let c = connect(&config).await;
        let as_a = scope("A", if who == "branch" { "store-1" } else { "" });
        let mut attacks = vec![
            "SELECT 1 FROM event_position FOR UPDATE",
            "LOCK TABLE event_position IN ACCESS EXCLUSIVE MODE",
            "LOCK TABLE event_store IN ACCESS EXCLUSIVE MODE",
            "LOCK TABLE event_store IN SHARE MODE",
            "LOCK TABLE idempotency_keys IN EXCLUSIVE MODE",
            "LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE",
            "LOCK TABLE stream_metadata IN ACCESS EXCLUSIVE MODE",
            "SELECT n_tup_ins FROM pg_stat_user_tables",
            "SELECT n_live_tup FROM pg_stat_all_tables",
            "SELECT pg_stat_get_tuples_inserted('event_store_p0'::regclass)",
            "SELECT pg_stat_get_live_tuples('event_store_p0'::regclass)",
        ];
        if who == "branch" {
            attacks.push("LOCK TABLE projection_inventory IN ACCESS EXCLUSIVE MODE");
        }
        for sql in attacks {
            refused(&c, &as_a, sql, DENIED).await;
        }
    }
    // A session that takes the position lock and sits on it is ended, and B goes on.
    let hostile = connect(&db.app).await;
    hostile
        .batch_execute(&format!("BEGIN; {}; SELECT dcs_claim_positions(0)", scope("A", "")))
        .await
        .unwrap();
    let started = Instant::now();
    let b = db.store("B");
    let r = tokio::time::timeout(
        Duration::from_secs(30),
        b.append(&stream("b"), ExpectedVersion::Any, &[test_event("B", 2, "b2")]),
    )
    .await
    .expect("B waited for ever behind A's idle lock");
    assert_eq!(r.unwrap().first_position, 2);
    assert!(started.elapsed() < Duration::from_secs(12), "{:?}", started.elapsed());
    assert!(hostile.batch_execute("SELECT 1").await.is_err(), "the idle holder was ended");
}
