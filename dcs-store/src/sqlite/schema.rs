//! The SQLite schema, its version marker, the check that a file is ours, and the
//! migration of older versions.

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::error::{Result, StoreError};

/// Marker stored in `dcs_meta` so a foreign SQLite file is never mistaken for a store.
pub const FORMAT: &str = "dcs-event-store";
/// Schema version this code writes and reads (older versions are migrated on open).
///
/// Version 3 adds the store's id, the chain kind (`sha256` or `hmac-sha256/v1`, see
/// [`crate::chain`]) in `dcs_meta`, and the `chain_anchor` table. Version 4 adds the sync
/// machine's checkpoint, its checkpoint log and the region's refusals (see `sync_store`).
/// Version 5 adds the data keys leased to self-sealing tills (see `leases`).
pub const SCHEMA_VERSION: i64 = 6;
/// The `dcs_meta` chain kind of an unkeyed chain.
pub const CHAIN_UNKEYED: &str = "sha256";
/// The `dcs_meta` chain kind of a chain keyed by the tenant's chain key.
pub const CHAIN_KEYED: &str = "hmac-sha256/v1";

/// Version 3's additions, idempotent: the newest signed anchor of the chain (one row: the
/// chain up to an anchored position commits to every row before it), the store's random
/// id (what its chain key is derived for) and its chain kind.
const V3_ADDITIONS: &str = "
CREATE TABLE IF NOT EXISTS chain_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL, chain_head BLOB NOT NULL,
    signer TEXT NOT NULL, signature BLOB NOT NULL
) STRICT;
INSERT OR IGNORE INTO dcs_meta (key, value) VALUES ('store_id', lower(hex(randomblob(16))));
INSERT OR IGNORE INTO dcs_meta (key, value) VALUES ('chain', 'sha256');
UPDATE dcs_meta SET value = '3' WHERE key = 'schema_version';
";

/// Version 4's additions, idempotent: the sync machine's compact checkpoint (one row), the
/// log of checkpoint changes since it (folded into it every `CHECKPOINT_EVERY` entries),
/// and the events the region refused, with its reasons.
const V4_ADDITIONS: &str = "
CREATE TABLE IF NOT EXISTS sync_rejections (
    position INTEGER PRIMARY KEY, event_id BLOB NOT NULL, reason TEXT NOT NULL
) STRICT;
UPDATE dcs_meta SET value = '4' WHERE key = 'schema_version';
";

/// Version 5's additions, idempotent: each data key the store leased to a till, with the
/// till it was leased to and its bounds.
const V5_ADDITIONS: &str = "
CREATE TABLE IF NOT EXISTS till_leases (
    data_key_id BLOB PRIMARY KEY, agent TEXT NOT NULL, max_uses INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL, issued_ms INTEGER NOT NULL
) STRICT;
UPDATE dcs_meta SET value = '5' WHERE key = 'schema_version';
";

/// Version 6's addition, idempotent: how many events a till has sealed under each leased key
/// (a lease's uses are reserved before its events are stored, so they never pass `max_uses`).
fn add_v6(tx: &Transaction<'_>) -> Result<()> {
    let has_used: i64 = tx
        .query_row(
            "SELECT count(*) FROM pragma_table_info('till_leases') WHERE name = 'used'",
            [],
            |r| r.get(0),
        )
        .map_err(super::map_err)?;
    if has_used == 0 {
        tx.execute_batch("ALTER TABLE till_leases ADD COLUMN used INTEGER NOT NULL DEFAULT 0;")
            .map_err(super::map_err)?;
    }
    tx.execute_batch("UPDATE dcs_meta SET value = '6' WHERE key = 'schema_version';")
        .map_err(super::map_err)
}

/// The event log. `(stream_id, stream_version)` is indexed once per append, at the row
/// that starts it (`position = batch_first`): an append's rows are consecutive positions of
/// one stream with consecutive versions, so that entry finds all of them, and the index
/// costs one entry per append instead of one per event. Version 1 indexed every row.
const EVENTS_TABLE: &str = "
CREATE TABLE events (
    position        INTEGER PRIMARY KEY,
    event_id        BLOB    NOT NULL UNIQUE,
    stream_id       TEXT    NOT NULL,
    stream_version  INTEGER NOT NULL,
    tenant_id       TEXT    NOT NULL,
    branch_id       TEXT    NOT NULL,
    event_type      INTEGER NOT NULL,
    amount_minor    INTEGER NOT NULL,
    currency        TEXT    NOT NULL,
    hlc_time        INTEGER NOT NULL,
    idempotency_key TEXT    NOT NULL,
    batch_first     INTEGER NOT NULL,
    batch_last      INTEGER NOT NULL,
    event           BLOB    NOT NULL,
    prev_hash       BLOB    NOT NULL,
    row_hash        BLOB    NOT NULL,
    UNIQUE (tenant_id, idempotency_key)
) STRICT;
CREATE UNIQUE INDEX events_stream_batches ON events (stream_id, stream_version)
    WHERE position = batch_first;
";

const SCHEMA: &str = "
CREATE TABLE dcs_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE streams (stream_id TEXT PRIMARY KEY, version INTEGER NOT NULL) STRICT;
CREATE TABLE chain_head (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL, hash BLOB NOT NULL) STRICT;
INSERT INTO chain_head VALUES (1, 0, zeroblob(32));
CREATE TABLE sync_state (id INTEGER PRIMARY KEY CHECK (id = 1), acked_position INTEGER NOT NULL) STRICT;
INSERT INTO sync_state VALUES (1, 0);
CREATE TABLE cursors (name TEXT PRIMARY KEY, position INTEGER NOT NULL) STRICT;
CREATE TABLE snapshots (stream_id TEXT PRIMARY KEY, stream_version INTEGER NOT NULL, state BLOB NOT NULL) STRICT;
CREATE TABLE crdt_state (replica_id TEXT NOT NULL, name TEXT NOT NULL, state BLOB NOT NULL, PRIMARY KEY (replica_id, name)) STRICT;
CREATE TABLE saga_instances (saga_id TEXT PRIMARY KEY, saga_type TEXT NOT NULL, status TEXT NOT NULL, data BLOB NOT NULL) STRICT;
CREATE TABLE projection_sales_summary (
    tenant_id TEXT NOT NULL, branch_id TEXT NOT NULL, day INTEGER NOT NULL,
    currency TEXT NOT NULL, exponent INTEGER NOT NULL,
    sales_count INTEGER NOT NULL, refund_count INTEGER NOT NULL, gross INTEGER NOT NULL,
    discounts INTEGER NOT NULL, refunds INTEGER NOT NULL, tax INTEGER NOT NULL, net INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, branch_id, day, currency)
) STRICT;
CREATE TABLE projection_inventory (
    tenant_id TEXT NOT NULL, branch_id TEXT NOT NULL, sku TEXT NOT NULL,
    received INTEGER NOT NULL, sold INTEGER NOT NULL, transferred_out INTEGER NOT NULL,
    transferred_in INTEGER NOT NULL, adjusted INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, branch_id, sku)
) STRICT;
CREATE TABLE projection_customer_loyalty (
    tenant_id TEXT NOT NULL, customer_id TEXT NOT NULL,
    purchases INTEGER NOT NULL, net_spend INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, customer_id)
) STRICT;
CREATE TABLE saga_steps (saga_id TEXT NOT NULL, step_no INTEGER NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (saga_id, step_no)) STRICT;
";

/// Creates the schema in an empty database, or checks that an existing one is ours and
/// migrates an older version.
///
/// Read-write, everything runs in one `BEGIN IMMEDIATE` transaction: of several processes
/// opening one new file at once, the first creates the schema and the others, waiting for
/// its lock, find it made. Read-only, the check runs in a read transaction and an older
/// version is refused (migrating writes).
pub fn ensure(conn: &mut Connection, path: &str, read_only: bool) -> Result<()> {
    let behavior =
        if read_only { TransactionBehavior::Deferred } else { TransactionBehavior::Immediate };
    let tx = conn.transaction_with_behavior(behavior).map_err(super::map_err)?;
    let tables: i64 = tx
        .query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'table'", [], |r| r.get(0))
        .map_err(super::map_err)?;
    let not_ours = |reason: String| StoreError::NotAStore { path: path.to_string(), reason };
    if tables == 0 {
        if read_only {
            return Err(not_ours(
                "it is empty, and a read-only open does not create a store".into(),
            ));
        }
        tx.execute_batch(SCHEMA).map_err(super::map_err)?;
        tx.execute_batch(EVENTS_TABLE).map_err(super::map_err)?;
        tx.execute(
            "INSERT INTO dcs_meta (key, value) VALUES ('format', ?1), ('schema_version', ?2)",
            rusqlite::params![FORMAT, SCHEMA_VERSION.to_string()],
        )
        .map_err(super::map_err)?;
        tx.execute_batch(V3_ADDITIONS).map_err(super::map_err)?;
        tx.execute_batch(super::checkpoint_log::DDL).map_err(super::map_err)?;
        tx.execute_batch(V4_ADDITIONS).map_err(super::map_err)?;
        tx.execute_batch(V5_ADDITIONS).map_err(super::map_err)?;
        add_v6(&tx)?;
        return tx.commit().map_err(super::map_err);
    }
    let has_meta: bool = tx
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'dcs_meta'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(super::map_err)?
        == 1;
    if !has_meta {
        return Err(not_ours("it is an SQLite database without the dcs_meta table".into()));
    }
    let meta = |key: &str| -> Result<Option<String>> {
        tx.query_row("SELECT value FROM dcs_meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(super::map_err)
    };
    if meta("format")?.as_deref() != Some(FORMAT) {
        return Err(not_ours("its format marker is missing or foreign".into()));
    }
    let version = meta("schema_version")?.unwrap_or_default();
    if version == SCHEMA_VERSION.to_string() {
        return tx.commit().map_err(super::map_err);
    }
    if ["1", "2", "3", "4", "5"].contains(&version.as_str()) {
        if read_only {
            return Err(not_ours(format!(
                "schema version {version} must be migrated to {SCHEMA_VERSION}: open it read-write once"
            )));
        }
        if version == "1" {
            migrate_v1(&tx)?;
        }
        if version != "4" && version != "5" {
            tx.execute_batch(V3_ADDITIONS).map_err(super::map_err)?;
            tx.execute_batch(super::checkpoint_log::DDL).map_err(super::map_err)?;
            tx.execute_batch(V4_ADDITIONS).map_err(super::map_err)?;
        }
        if version != "5" {
            tx.execute_batch(V5_ADDITIONS).map_err(super::map_err)?;
        }
        add_v6(&tx)?;
        return tx.commit().map_err(super::map_err);
    }
    Err(not_ours(format!(
        "schema version {version:?}, this build reads versions 1 to {SCHEMA_VERSION}"
    )))
}

/// Version 1 to 2: rebuilds the event log without the per-row stream index (a table
/// constraint, so the table is copied), in one transaction; rows and hashes are unchanged.
fn migrate_v1(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch("ALTER TABLE events RENAME TO events_v1;").map_err(super::map_err)?;
    tx.execute_batch(EVENTS_TABLE).map_err(super::map_err)?;
    tx.execute_batch(
        "INSERT INTO events SELECT * FROM events_v1 ORDER BY position;
         DROP TABLE events_v1;
         UPDATE dcs_meta SET value = '2' WHERE key = 'schema_version';",
    )
    .map_err(super::map_err)
}
