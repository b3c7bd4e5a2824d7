//! The PostgreSQL backend of the regional tier: partitioned, append-only, row-level secured.
//!
//! - Schema: versioned migrations ([`migrate`]), `event_store` hash-partitioned into 8,
//!   append-only by trigger and privileges, every tenant table under forced RLS.
//! - Scope: a [`PgStore`] is bound to a tenant (and optionally a branch); every
//!   transaction sets `dcs.tenant_id` / `dcs.branch_id` so the database's policies decide
//!   what the session sees. The application connects as a login role that is a member of
//!   `dcs_app` (tenant-wide) or `dcs_branch` (one branch), never as the owner.
//! - Positions: every appending transaction locks the one row of `event_position` first
//!   and holds it until commit, so positions are handed out in commit order, without gaps:
//!   a catch-up reader that has seen position `p` committed will never later find a
//!   committed event below `p`. The price is that appends serialise on that row; bulk
//!   ingest amortises it over batches.
//! - Streams: a run of a stream's consecutive events at consecutive positions has one
//!   entry in the stream index, on its first row (which carries the run's length). An
//!   append is one run; [`PgStore::ingest`] orders each stream's events of a batch into
//!   one. A stream's version, which appends check, is the end of its last run.

mod append;
mod bootstrap;
mod ingest;
mod migrations;
mod partition;
mod pipeline;
mod projections;

use dcs_core::{BranchId, TenantId};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Config, NoTls, Transaction};

use crate::error::{Result, StoreError};
use crate::projection::Projector;

pub use bootstrap::{DATABASE_SQL, ROLES_SQL, bootstrap_database, bootstrap_roles};
pub use ingest::{IngestEvent, IngestReport};
pub use migrations::{MIGRATIONS, migrate};
pub use partition::partition_of;

/// Which rows a store handle may see and write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The tenant of every transaction.
    pub tenant: TenantId,
    /// The branch, for branch-scoped roles.
    pub branch: Option<BranchId>,
}

/// A tenant-scoped handle on the regional PostgreSQL event store, with a connection pool.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    scope: Scope,
    projector: Projector,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("scope", &self.scope).finish_non_exhaustive()
    }
}

impl PgStore {
    /// A store for `scope` over a pool of up to `max_connections` connections.
    ///
    /// Connections open lazily; the first operation reports a bad URL or refused login.
    pub fn connect(config: Config, scope: Scope, max_connections: usize) -> Result<Self> {
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(1))
            .build()
            .map_err(|e| StoreError::Database(format!("cannot build the connection pool: {e}")))?;
        Ok(PgStore { pool, scope, projector: Projector::default() })
    }

    /// The same pool, another scope (e.g. a tenant's branch).
    pub fn with_scope(&self, scope: Scope) -> Self {
        PgStore { scope, ..self.clone() }
    }

    /// Sets how ingested bodies count in the projections.
    pub fn with_projector(mut self, projector: Projector) -> Self {
        self.projector = projector;
        self
    }

    /// The scope of this handle.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => map_pg(e),
            other => StoreError::Database(format!("no database connection: {other}")),
        })
    }

    /// Runs `body` in a transaction whose RLS settings are this handle's scope.
    async fn in_scope<T>(
        &self,
        body: impl AsyncFnOnce(&deadpool_postgres::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        set_scope(&tx, &self.scope.tenant, self.scope.branch.as_ref()).await?;
        let out = body(&tx).await?;
        tx.commit().await.map_err(map_pg)?;
        Ok(out)
    }
}

/// Sets `$1` as the tenant and `$2` as the branch (or `''`) of the transaction.
const SCOPE_SQL: &str =
    "SELECT set_config('dcs.tenant_id', $1, true), set_config('dcs.branch_id', $2, true)";

/// Sets the tenant and branch the database's row-level policies check, for this transaction.
async fn set_scope(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    branch: Option<&BranchId>,
) -> Result<()> {
    tx.execute(SCOPE_SQL, &[&tenant.as_str(), &branch.map_or("", |b| b.as_str())])
        .await
        .map_err(map_pg)?;
    Ok(())
}

/// Maps a PostgreSQL error to the store error a caller can act on.
pub(crate) fn map_pg(e: tokio_postgres::Error) -> StoreError {
    let Some(db) = e.as_db_error() else {
        return StoreError::Database(e.to_string());
    };
    let code = db.code();
    if *code == SqlState::DISK_FULL {
        return StoreError::DiskFull;
    }
    if *code == SqlState::LOCK_NOT_AVAILABLE || *code == SqlState::T_R_SERIALIZATION_FAILURE {
        return StoreError::Locked;
    }
    if *code == SqlState::DATA_CORRUPTED || *code == SqlState::INDEX_CORRUPTED {
        return StoreError::Corrupt(db.message().to_string());
    }
    let detail = db.detail().map(|d| format!(" ({d})")).unwrap_or_default();
    StoreError::Database(format!("{}{detail} [SQLSTATE {}]", db.message(), code.code()))
}
