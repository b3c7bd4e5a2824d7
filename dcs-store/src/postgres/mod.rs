//! The PostgreSQL backend of the regional tier: partitioned, append-only, row-level secured,
//! hardened against every role but the superuser.
//!
//! - Schema: versioned migrations ([`migrate`]), `event_store` hash-partitioned into 8,
//!   append-only by trigger and privileges, every tenant table under forced RLS; schema 4
//!   seals the event log, the idempotency keys, the audit log and every partition (below).
//! - Scope: a [`PgStore`] is bound to a tenant (and optionally a branch); every
//!   transaction sets `dcs.tenant_id` / `dcs.branch_id` so the database's policies decide
//!   what the session sees. The application connects as a login role that is a member of
//!   `dcs_app` (tenant-wide) or `dcs_branch` (one branch, bound to the login), never as
//!   the owner.
//! - Positions: every appending transaction claims its positions through
//!   `dcs_claim_positions(n)` (a `SECURITY DEFINER` function with a pinned `search_path`),
//!   which locks the one row of `event_position` and holds it until commit, so positions
//!   are handed out in commit order, without gaps: a catch-up reader that has seen position
//!   `p` committed will never later find a committed event below `p`. The database, not
//!   this code, enforces it: a policy refuses an event row outside its transaction's claim
//!   (read once per statement from the `dcs_claim` view, where a transaction sees its own
//!   claim and no other), and a deferred trigger refuses a commit whose claimed positions
//!   do not hold exactly one event each. The price is that appends serialise on that row;
//!   bulk ingest amortises it over batches.
//! - Streams: a run of a stream's consecutive events at consecutive positions has one
//!   entry in the stream index, on its first row (which carries the run's length). An
//!   append is one run; [`PgStore::ingest`] orders each stream's events of a batch into
//!   one. A stream's version, which appends check, is the end of its last run.
//! - Forwarding: the region's Raft leader forwards with [`PgStore::ingest_forwarded`],
//!   which moves the region's `forward_cursor` (schema 5) first in the transaction of the
//!   events, through `dcs_advance_forward_cursor` (`SECURITY DEFINER`, pinned
//!   `search_path`): the cursor's row lock makes two forwarders of a region take turns, a
//!   deposed leader's older term is refused ([`StoreError::StaleTerm`], SQLSTATE `DC001`)
//!   and so is a forward from anywhere but the cursor ([`StoreError::CursorMoved`],
//!   `DC002`), before anything is written. [`PgStore::forward_cursor`] reads it.
//!
//! # Threat model
//!
//! What each role can and cannot do once the bootstrap has run and schema 4 is applied
//! (each "cannot" is attempted on a real server by `tests/pg_holes.rs`, one test per hole
//! of the attacker's report, and `tests/pg_rls.rs`):
//!
//! | role | can | cannot |
//! |---|---|---|
//! | `dcs_app` login (the regional service: forwarder ingest, tenant-wide appends) | read and write the tenant its transaction sets, in every table; claim positions; append to the event log, keys and audit log; read and move a region's forward cursor through `dcs_forward_cursor` / `dcs_advance_forward_cursor` | read, write or lock `forward_cursor` itself, move a cursor but from where it stands, or under a term older than its own; read, update, lock (`FOR UPDATE`, `LOCK … EXCLUSIVE`) or count `event_position` (the `dcs_claim` view shows a transaction its own claim only); write an event at a position its transaction did not claim, leave a claimed position empty or fill it twice; update, delete or truncate events, idempotency keys or audit rows, or back-date an audit row; see or squat another tenant's event ids (they are the other tenant's own: `tenant_id` leads the key); read any partition directly, even if granted; read the per-table statistics views and functions; hold the position lock for more than 5 seconds (the next waiter ends its session) |
//! | `dcs_branch` login | the same, for the one tenant and branch its row in `dcs_logins` names, but no forward cursor | everything `dcs_app` cannot; read or move a forward cursor, even through the functions; see or write any other branch or tenant, whatever it sets (`dcs.tenant_id`, `dcs.branch_id`, `SET ROLE dcs_branch`): the policies compare the rows with the login's identity (`current_user` in `dcs_logins`); write the projections, so it can take no lock that stalls the region's ingest |
//! | `dcs_owner` (NOLOGIN; a migrator login `SET ROLE`s to it) | migrate; create the monthly audit partitions; bind branch logins in `dcs_logins`; change policies and grants of future writes | create roles or grant itself `pg_execute_server_program` (it has no CREATEROLE: `COPY … TO PROGRAM` stays refused); write tenant rows or see any but the event log's (RLS is forced on it; it reads the event log, whose payloads are sealed, to check claims); move `event_position` back or forward outside a claim; move a forward cursor back, lower its term, delete or truncate it; truncate, detach, drop, rewrite (`ALTER COLUMN … TYPE`), drop a column of, unforce RLS on or disable a `dcs_*` trigger of the event log, the keys, the audit log, the counter or any of their partitions; replace or drop the `dcs_*` functions those rest on, or alter, rename or drop the view a policy reads (`dcs_claim`) (the bootstrap's event triggers refuse it) |
//! | superuser | everything (it runs the bootstrap, and can disable the event triggers) | — |
//!
//! What this does not cover: a stolen `dcs_app` login can read and write every tenant,
//! because the regional service that uses it ingests every tenant's events (its tenant is
//! a setting); where one tenant or branch must be confined, give it a `dcs_branch` login of
//! its own. Positions are global, so a tenant learns the region's event count from its own
//! positions, and PostgreSQL's `pg_class.reltuples` estimates stay readable by every role.
//! A tenant-wide login can still `LOCK` the tables it upserts into (snapshots, sagas, CRDT
//! states, agents, projections): PostgreSQL ties `LOCK` to `UPDATE`. The owner can move a
//! forward cursor forward (its forwarder would skip events) or raise its term (stopping its
//! forwarder), and, because the bootstrap's event triggers name the tables and functions
//! they keep as of schema 4, it can drop `forward_cursor` or one of its columns and replace
//! the schema-5 functions (`dcs_advance_forward_cursor`, `dcs_forward_cursor`,
//! `dcs_cursor_forward`); dropping those functions, the table's `dcs_*` triggers or its
//! policy, disabling a trigger, unforcing its RLS and rewriting it stay refused.
//!
//! # Operator setup
//!
//! 1. Once per cluster, as a superuser: [`ROLES_SQL`] (or [`bootstrap_roles`]) makes the
//!    NOLOGIN roles `dcs_owner`, `dcs_app`, `dcs_branch`.
//! 2. Once per store database, as a superuser: `CREATE DATABASE dcs OWNER dcs_owner`, then,
//!    connected to it, [`DATABASE_SQL`] (or [`bootstrap_database`]): only the DCS roles
//!    connect, PUBLIC loses the statistics views and the schema, and the `dcs_guard` schema
//!    and event triggers keep the event log sealed.
//! 3. Logins, each NOSUPERUSER, NOBYPASSRLS, NOCREATEROLE, NOCREATEDB, with a password:
//!    `CREATE ROLE dcs_migrator LOGIN PASSWORD '…' IN ROLE dcs_owner` (runs [`migrate`]
//!    after `SET ROLE dcs_owner`), `CREATE ROLE region_app LOGIN PASSWORD '…' IN ROLE
//!    dcs_app`, and per confined branch `CREATE ROLE br_t1_s42 LOGIN PASSWORD '…' IN ROLE
//!    dcs_branch` plus, as the owner, `INSERT INTO dcs_logins VALUES ('br_t1_s42', 't1',
//!    's42')`. Grant nothing else to them; a `GRANT … ON ALL TABLES` exposes no partition
//!    (each has RLS and no policy) but is not needed.
//! 4. `pg_hba.conf`: `scram-sha-256` for every DCS login (`hostssl … scram-sha-256`), never
//!    `trust` (scripts/pg-dev trusts loopback for its throwaway test server only);
//!    `password_encryption = scram-sha-256`.
//! 5. Monthly, as the owner: `SELECT dcs_ensure_audit_partitions(3)` (also run by
//!    [`migrate`]), which creates the coming months' `audit_log` partitions, sealed. Rows
//!    for a month with no partition are refused, so schedule it (cron, pg_cron) well ahead.
//!    Dropping an old month (retention) is a superuser's task (`ALTER EVENT TRIGGER
//!    dcs_refuse_drop DISABLE` around the `DROP`): the event triggers refuse it to everyone.

mod append;
mod bootstrap;
mod forward;
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
pub use forward::ForwardCursor;
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
