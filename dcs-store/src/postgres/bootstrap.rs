//! The one-time superuser bootstrap: the roles, and each store database's guard.
//!
//! The migrations need no CREATEROLE, CREATEDB or SUPERUSER: a superuser runs this once
//! per cluster ([`bootstrap_roles`]) and once per store database ([`bootstrap_database`]),
//! and from then on the schema is migrated by a login that is a member of the NOLOGIN
//! owner `dcs_owner` (after `SET ROLE dcs_owner`). The same SQL is in the crate as
//! [`ROLES_SQL`] and [`DATABASE_SQL`] for `psql -f`.

use tokio_postgres::Client;

use super::map_pg;
use crate::error::{Result, StoreError};

/// Part 1, once per cluster: the NOLOGIN group roles `dcs_owner`, `dcs_app`, `dcs_branch`.
pub const ROLES_SQL: &str = include_str!("bootstrap_roles.sql");

/// Part 2, once per database (made with `CREATE DATABASE … OWNER dcs_owner`): connect
/// rights, the schema's owner, no statistics for PUBLIC, and the `dcs_guard` schema with the
/// append-only trigger function and the event triggers that keep the event log sealed.
pub const DATABASE_SQL: &str = include_str!("bootstrap_database.sql");

/// Runs [`ROLES_SQL`]; `client` must be a superuser's connection.
pub async fn bootstrap_roles(client: &Client) -> Result<()> {
    require_superuser(client).await?;
    client.batch_execute(ROLES_SQL).await.map_err(|e| failed("roles", e))
}

/// Runs [`DATABASE_SQL`]; `client` must be a superuser's connection to the store database.
pub async fn bootstrap_database(client: &Client) -> Result<()> {
    require_superuser(client).await?;
    client.batch_execute(DATABASE_SQL).await.map_err(|e| failed("database", e))
}

async fn require_superuser(client: &Client) -> Result<()> {
    let row = client
        .query_one("SELECT rolsuper FROM pg_roles WHERE rolname = current_user", &[])
        .await
        .map_err(map_pg)?;
    if row.get::<_, bool>(0) {
        return Ok(());
    }
    Err(StoreError::Invalid {
        field: "client",
        reason: "the bootstrap runs as a superuser (it creates roles and event triggers); \
                 connect as one, once, then migrate as a member of dcs_owner"
            .into(),
    })
}

fn failed(part: &str, e: tokio_postgres::Error) -> StoreError {
    StoreError::Database(format!("the {part} bootstrap failed: {}", map_pg(e)))
}
