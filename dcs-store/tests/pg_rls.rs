//! Row-level security: a tenant-A session reading, inserting, updating or deleting tenant
//! B's rows in every table gets nothing or an error; a branch session sees only its
//! branch; the event log refuses UPDATE and DELETE even for the application role.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pg_common;

use pg_common::{TestDb, connect};
use tokio_postgres::Client;

/// One row per table, for tenant `{t}` and branch `{b}`; `{k}` keeps keys unique.
const ROWS: &[(&str, &str)] = &[
    (
        "event_store",
        "INSERT INTO event_store (event_id, position, tenant_id, branch_id, stream_id, stream_version, event_type, amount_minor, currency, hlc_time, idempotency_key, event) VALUES (gen_random_uuid(), {k}, '{t}', '{b}', 's{k}', 1, 2, 100, 'USD', 1, 'k{k}', '\\x00')",
    ),
    ("idempotency_keys", "INSERT INTO idempotency_keys VALUES ('{t}', 'k{k}', '{b}', 1, 1, 1)"),
    (
        "stream_metadata",
        "INSERT INTO stream_metadata (tenant_id, stream_id, branch_id, version) VALUES ('{t}', 's{k}', '{b}', 1)",
    ),
    ("snapshots", "INSERT INTO snapshots VALUES ('{t}', 's{k}', '{b}', 1, '\\x00')"),
    (
        "saga_instances",
        "INSERT INTO saga_instances VALUES ('{t}', 'g{k}', '{b}', 'transfer', 'running', '\\x00')",
    ),
    (
        "saga_steps",
        "INSERT INTO saga_steps VALUES ('{t}', 'g{k}', '{b}', 1, 'reserve', 'done', '\\x00')",
    ),
    (
        "projection_sales_summary",
        "INSERT INTO projection_sales_summary VALUES ('{t}', '{b}', {k}, 'USD', 2, 1, 0, 100, 0, 0, 8, 92)",
    ),
    (
        "projection_inventory",
        "INSERT INTO projection_inventory VALUES ('{t}', '{b}', 'SKU{k}', 5, 1, 0, 0, 0)",
    ),
    (
        "projection_customer_loyalty",
        "INSERT INTO projection_customer_loyalty (tenant_id, customer_id, branch_id, purchases, net_spend) VALUES ('{t}', 'C{k}', '{b}', 1, 100)",
    ),
    (
        "crdt_state",
        "INSERT INTO crdt_state (tenant_id, node_id, name, branch_id, state) VALUES ('{t}', 'n{k}', 'stock', '{b}', '\\x00')",
    ),
    (
        "agent_registry",
        "INSERT INTO agent_registry VALUES ('{t}', 'a{k}', '{b}', 'local', '127.0.0.1:1', now(), 'up')",
    ),
    (
        "audit_log",
        "INSERT INTO audit_log (tenant_id, branch_id, actor, action, detail) VALUES ('{t}', '{b}', 'x', 'y', 'z')",
    ),
];

/// The tables the application roles may read and insert into, never update or delete.
const READ_AND_APPEND_ONLY: &[&str] =
    &["event_store", "idempotency_keys", "audit_log", "stream_metadata"];

fn row(sql: &str, t: &str, b: &str, k: u32) -> String {
    sql.replace("{t}", t).replace("{b}", b).replace("{k}", &k.to_string())
}

/// Fills every table with rows of tenants A and B, branches b1 and b2, as the owner.
async fn seed(db: &TestDb) {
    let owner = connect(&db.admin).await;
    let mut k = 1;
    for (t, b) in [("A", "b1"), ("A", "b2"), ("B", "b1")] {
        for (_, sql) in ROWS {
            owner.batch_execute(&row(sql, t, b, k)).await.unwrap();
            k += 1;
        }
    }
}

/// Opens a transaction as `client` with the given RLS settings.
async fn scoped<'c>(
    client: &'c mut Client,
    tenant: &str,
    branch: &str,
) -> tokio_postgres::Transaction<'c> {
    let tx = client.transaction().await.unwrap();
    tx.execute(
        "SELECT set_config('dcs.tenant_id', $1, true), set_config('dcs.branch_id', $2, true)",
        &[&tenant, &branch],
    )
    .await
    .unwrap();
    tx
}

async fn count(tx: &tokio_postgres::Transaction<'_>, table: &str, filter: &str) -> i64 {
    tx.query_one(&format!("SELECT count(*) FROM {table} WHERE {filter}"), &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn tenant_a_cannot_touch_tenant_b_in_any_table() {
    let db = TestDb::new().await;
    seed(&db).await;
    let mut app = connect(&db.app).await;
    for (table, sql) in ROWS {
        let tx = scoped(&mut app, "A", "").await;
        assert_eq!(
            count(&tx, table, "tenant_id = 'B'").await,
            0,
            "{table}: B's rows are visible to A"
        );
        assert_eq!(count(&tx, table, "true").await, 2, "{table}: A sees its own two rows");
        tx.rollback().await.unwrap();

        let tx = scoped(&mut app, "A", "").await;
        let err = tx.batch_execute(&row(sql, "B", "b1", 900)).await.unwrap_err();
        assert!(
            format!("{err:?}").contains("row-level security")
                || format!("{err:?}").contains("permission denied"),
            "{table}: inserting B's row as A must fail, got {err}"
        );
        drop(tx);

        if READ_AND_APPEND_ONLY.contains(table) {
            let tx = scoped(&mut app, "A", "").await;
            let err = tx
                .execute(
                    &format!("UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = 'B'"),
                    &[],
                )
                .await
                .unwrap_err();
            assert!(format!("{err:?}").contains("permission denied"), "{table}: {err:?}");
        } else {
            let tx = scoped(&mut app, "A", "").await;
            let n = tx
                .execute(
                    &format!("UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = 'B'"),
                    &[],
                )
                .await
                .unwrap();
            assert_eq!(n, 0, "{table}: A updated B's rows");
            let n = tx
                .execute(&format!("DELETE FROM {table} WHERE tenant_id = 'B'"), &[])
                .await
                .unwrap();
            assert_eq!(n, 0, "{table}: A deleted B's rows");
            let err = tx
                .execute(&format!("UPDATE {table} SET tenant_id = 'B' WHERE tenant_id = 'A'"), &[])
                .await;
            assert!(err.is_err(), "{table}: A moved its rows to B");
        }
    }
    // B's rows are all still there.
    let owner = connect(&db.admin).await;
    for (table, _) in ROWS {
        let n: i64 = owner
            .query_one(&format!("SELECT count(*) FROM {table} WHERE tenant_id = 'B'"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 1, "{table}");
    }
}

#[tokio::test]
async fn a_session_without_a_tenant_sees_nothing() {
    let db = TestDb::new().await;
    seed(&db).await;
    let app = connect(&db.app).await;
    for (table, _) in ROWS {
        let n: i64 =
            app.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.unwrap().get(0);
        assert_eq!(n, 0, "{table}: visible without dcs.tenant_id");
    }
}

#[tokio::test]
async fn a_branch_session_sees_only_its_branch() {
    let db = TestDb::new().await;
    seed(&db).await;
    let mut branch = connect(&db.branch).await;
    for (table, sql) in ROWS {
        let tx = scoped(&mut branch, "A", "b1").await;
        assert_eq!(count(&tx, table, "true").await, 1, "{table}: a b1 session sees exactly A/b1");
        assert_eq!(count(&tx, table, "branch_id = 'b2'").await, 0, "{table}");
        drop(tx);
        let tx = scoped(&mut branch, "A", "b1").await;
        assert!(
            tx.batch_execute(&row(sql, "A", "b2", 901)).await.is_err(),
            "{table}: b1 wrote b2's row"
        );
    }
}

#[tokio::test]
async fn the_event_log_refuses_update_and_delete_for_every_role() {
    let db = TestDb::new().await;
    seed(&db).await;
    let mut app = connect(&db.app).await;
    let tx = scoped(&mut app, "A", "").await;
    let err = tx.execute("UPDATE event_store SET amount_minor = 1", &[]).await.unwrap_err();
    assert!(format!("{err:?}").contains("permission denied"), "{err:?}");
    drop(tx);
    let tx = scoped(&mut app, "A", "").await;
    assert!(tx.execute("DELETE FROM event_store", &[]).await.is_err());
    drop(tx);
    // Even the owner (a superuser here) is stopped by the trigger.
    let owner = connect(&db.admin).await;
    for sql in [
        "UPDATE event_store SET amount_minor = 1",
        "DELETE FROM event_store",
        "TRUNCATE event_store",
    ] {
        let err = owner.batch_execute(sql).await.unwrap_err();
        assert!(format!("{err:?}").contains("append-only"), "{sql}: {err:?}");
    }
    let n: i64 = owner.query_one("SELECT count(*) FROM event_store", &[]).await.unwrap().get(0);
    assert_eq!(n, 3);
}
