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
    let mut owner = db.owner().await;
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
    let parts =
        count(&owner, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'event_store'::regclass")
            .await;
    assert_eq!(parts, 8, "event_store is hash-partitioned into 8");
    let months =
        count(&owner, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'audit_log'::regclass")
            .await;
    assert!(months >= 4, "this month and three ahead, got {months}");
    // Schema 2: every text column of the tenant tables compares bytewise, and the policies
    // that had to be dropped for the change are back.
    let not_c = count(
        &owner,
        "SELECT count(*) FROM information_schema.columns
         WHERE table_schema = 'public' AND data_type = 'text'
           AND table_name IN ('event_store', 'idempotency_keys', 'stream_metadata', 'audit_log')
           AND coalesce(collation_name, '') <> 'C'",
    )
    .await;
    assert_eq!(not_c, 0, "identifier columns use COLLATE \"C\"");
    let policies =
        count(&owner, "SELECT count(*) FROM pg_policies WHERE schemaname = 'public' AND policyname IN ('tenant_rows', 'branch_rows')").await;
    assert_eq!(policies, 24, "two policies on each of the 12 tenant tables");
    // Schema 3: the stream index holds run starts only, and the per-event one is gone.
    let stream_indexes = count(
        &owner,
        "SELECT count(*) FROM pg_indexes WHERE tablename = 'event_store'
         AND indexdef LIKE '%(tenant_id, stream_id, stream_version)%'
         AND indexdef LIKE '%WHERE (run_len > 0)'",
    )
    .await;
    assert_eq!(stream_indexes, 1, "one partial stream index on run starts");
    let old =
        count(&owner, "SELECT count(*) FROM pg_indexes WHERE indexname = 'event_store_stream'")
            .await;
    assert_eq!(old, 0, "the per-event stream index of schema 1 is dropped");
}

/// The one bigint `sql` returns.
async fn count(owner: &tokio_postgres::Client, sql: &str) -> i64 {
    owner.query_one(sql, &[]).await.unwrap().get(0)
}
