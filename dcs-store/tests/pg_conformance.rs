//! The shared conformance suite against PostgreSQL, unchanged.
#![allow(clippy::unwrap_used)]

mod pg_common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_postgres() {
    dcs_store::conformance::run_all(async || pg_common::TestDb::new().await.store("t1")).await;
}

#[tokio::test]
async fn migrations_are_recorded_and_idempotent() {
    let db = pg_common::TestDb::new().await;
    let mut owner = pg_common::connect(&db.admin).await;
    assert_eq!(
        dcs_store::postgres::migrate(&mut owner).await.unwrap(),
        0,
        "a second run applies nothing"
    );
    let rows = owner
        .query("SELECT version, name FROM dcs_migrations ORDER BY version", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), dcs_store::postgres::MIGRATIONS.len());
    let parts: i64 = owner
        .query_one(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'event_store'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(parts, 8, "event_store is hash-partitioned into 8");
    let months: i64 = owner
        .query_one("SELECT count(*) FROM pg_inherits WHERE inhparent = 'audit_log'::regclass", &[])
        .await
        .unwrap()
        .get(0);
    assert!(months >= 4, "this month and three ahead, got {months}");
    // Schema 2: every text column of the tenant tables compares bytewise, and the policies
    // that had to be dropped for the change are back.
    let not_c: i64 = owner
        .query_one(
            "SELECT count(*) FROM information_schema.columns
             WHERE table_schema = 'public' AND data_type = 'text'
               AND table_name IN ('event_store', 'idempotency_keys', 'stream_metadata', 'audit_log')
               AND coalesce(collation_name, '') <> 'C'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(not_c, 0, "identifier columns use COLLATE \"C\"");
    let policies: i64 = owner
        .query_one("SELECT count(*) FROM pg_policies WHERE schemaname = 'public'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(policies, 24, "two policies on each of the 12 tenant tables");
}
