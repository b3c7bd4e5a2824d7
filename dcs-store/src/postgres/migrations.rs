//! Versioned migrations, applied in order and recorded in `dcs_migrations`.

use tokio_postgres::Client;

use super::map_pg;
use crate::error::{Result, StoreError};

/// The migrations, in order: (version, name, SQL).
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "initial schema", include_str!("schema_v1.sql")),
    (2, "bytewise identifiers", include_str!("schema_v2.sql")),
    (3, "one stream-index entry per run", include_str!("schema_v3.sql")),
    (4, "hardened against the tenants and the owner", include_str!("schema_v4.sql")),
    (5, "the forwarder's term-fenced cursor", include_str!("schema_v5.sql")),
];

/// A fixed key for the advisory lock that keeps two migrators from racing.
const LOCK_KEY: i64 = 0x6463_735f_6d69_6772; // "dcs_migr"

/// Applies every migration the database has not recorded yet; returns how many ran.
///
/// Runs as the NOLOGIN owner `dcs_owner` (a login that is its member, after
/// `SET ROLE dcs_owner`; never the application role or a superuser), after the superuser
/// bootstrap ([`super::bootstrap_roles`], [`super::bootstrap_database`]). Each migration
/// runs in its own transaction, under an advisory lock so concurrent starts do not race.
/// Also creates the coming months' `audit_log` partitions, sealed.
pub async fn migrate(client: &mut Client) -> Result<usize> {
    client.execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY]).await.map_err(map_pg)?;
    let result = apply(client).await;
    let unlock =
        client.execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY]).await.map_err(map_pg);
    let ran = result?;
    unlock?;
    Ok(ran)
}

async fn apply(client: &mut Client) -> Result<usize> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS dcs_migrations (
                version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(map_pg)?;
    let applied: i32 = client
        .query_one("SELECT coalesce(max(version), 0) FROM dcs_migrations", &[])
        .await
        .map_err(map_pg)?
        .get(0);
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if applied > newest {
        return Err(StoreError::NotAStore {
            path: "the PostgreSQL database".into(),
            reason: format!("its schema is at version {applied}, newer than this build's {newest}"),
        });
    }
    let mut ran = 0;
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > applied) {
        let tx = client.transaction().await.map_err(map_pg)?;
        tx.batch_execute(sql).await.map_err(|e| {
            StoreError::Database(format!("migration {version} ({name}) failed: {}", map_pg(e)))
        })?;
        tx.execute("INSERT INTO dcs_migrations (version, name) VALUES ($1, $2)", &[version, name])
            .await
            .map_err(map_pg)?;
        tx.commit().await.map_err(map_pg)?;
        ran += 1;
    }
    client.execute("SELECT dcs_ensure_audit_partitions(3)", &[]).await.map_err(map_pg)?;
    Ok(ran)
}
