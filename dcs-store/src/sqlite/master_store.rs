//! The Master Agent's store: the durable home of its `MasterMachine`, and what the master
//! aggregates from the regions' event summaries.
//!
//! One SQLite file (WAL, `synchronous=FULL`, its own format marker) holds every summary the
//! regions pushed (once: the event id is unique, a summary already held is an
//! [`Outcome::Duplicate`]), the hourly sales aggregate and the stock levels those summaries
//! add up to (written in the same transaction as the summary, so they never count one twice
//! nor miss one), the regions' refusals, the machine's checkpoint (see `checkpoint_log`), and
//! the region registry its host keeps ([`MasterStore::record_region`]). The master has no
//! outbox: it forwards nothing.

use std::path::Path;

use dcs_core::EventId;
use dcs_core::EventType;
use dcs_core::causality::HlcTimestamp;
use dcs_sync::{
    EventSummary, Item, NodeId, Outcome, PersistBatch, Positioned, Restored, StockEffect,
    SyncStore, WriteOp,
};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::checkpoint_log::{self, fold_if_due, load_checkpoint, log_batch};
use super::{check_header, check_path, exec, map_err};
use crate::error::{Result, StoreError};

/// The marker a master file carries (a local store's or a replica's file is refused).
const FORMAT: &str = "dcs-master-1";

/// Milliseconds in an hour (the sales aggregate's bucket).
const HOUR_MS: u64 = 3_600_000;

const DDL: &str = "
CREATE TABLE IF NOT EXISTS master_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS summaries (
    id INTEGER PRIMARY KEY, event_id BLOB NOT NULL UNIQUE, region INTEGER NOT NULL,
    child_pos INTEGER NOT NULL, tenant TEXT NOT NULL, branch TEXT NOT NULL,
    event_type TEXT NOT NULL, amount_minor INTEGER NOT NULL, currency TEXT NOT NULL,
    hlc INTEGER NOT NULL, stock_branch TEXT, stock_sku TEXT, stock_delta INTEGER
) STRICT;
CREATE TABLE IF NOT EXISTS sales_hourly (
    tenant TEXT NOT NULL, region INTEGER NOT NULL, branch TEXT NOT NULL, hour INTEGER NOT NULL,
    event_type TEXT NOT NULL, currency TEXT NOT NULL,
    event_count INTEGER NOT NULL, amount_minor INTEGER NOT NULL,
    PRIMARY KEY (tenant, region, branch, hour, event_type, currency)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sales_hourly_by_hour
    ON sales_hourly (hour, region, branch, tenant, event_type, currency);
CREATE INDEX IF NOT EXISTS sales_hourly_by_tenant_hour
    ON sales_hourly (tenant, hour, region, branch, event_type, currency);
CREATE TABLE IF NOT EXISTS stock (
    tenant TEXT NOT NULL, branch TEXT NOT NULL, sku TEXT NOT NULL, on_hand INTEGER NOT NULL,
    PRIMARY KEY (tenant, branch, sku)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tenants (tenant TEXT PRIMARY KEY) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS region_samples (
    region INTEGER NOT NULL, at_ms INTEGER NOT NULL, lag INTEGER NOT NULL,
    health TEXT NOT NULL, PRIMARY KEY (region, at_ms)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS branches (
    tenant TEXT NOT NULL, region INTEGER NOT NULL, branch TEXT NOT NULL,
    events INTEGER NOT NULL, last_event_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant, region, branch)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS refused (
    region INTEGER NOT NULL, child_pos INTEGER NOT NULL, event_id BLOB NOT NULL,
    reason TEXT NOT NULL, PRIMARY KEY (region, child_pos)
) STRICT;
CREATE TABLE IF NOT EXISTS regions (
    region INTEGER PRIMARY KEY, last_seen_ms INTEGER NOT NULL, last_ack_ms INTEGER,
    lag INTEGER NOT NULL, version TEXT NOT NULL
) STRICT;
";

/// One row of the hourly sales aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesRow {
    /// The tenant.
    pub tenant: String,
    /// The region that pushed the summaries (`NodeId::Region(n)`'s `n`).
    pub region: u32,
    /// The branch that produced the events.
    pub branch: String,
    /// Hours since the Unix epoch of the events' HLC wall time.
    pub hour: u64,
    /// The events' type.
    pub event_type: EventType,
    /// The three-letter currency code of the amounts.
    pub currency: String,
    /// How many events.
    pub count: u64,
    /// The sum of their amounts, in minor units.
    pub amount_minor: i64,
}

/// The stock of one SKU at one branch: the sum of every summary's stock effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockRow {
    /// The tenant.
    pub tenant: String,
    /// The branch whose stock it is.
    pub branch: String,
    /// The SKU.
    pub sku: String,
    /// Units on hand (received and transferred in, less sold, transferred out, adjusted).
    pub on_hand: i64,
}

/// A store (branch) the master holds events of, as one region reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchRow {
    /// The tenant.
    pub tenant: String,
    /// The region that pushed its summaries.
    pub region: u32,
    /// The branch.
    pub branch: String,
    /// How many of its events the master holds.
    pub events: u64,
    /// Its newest event's time (Unix ms, from the event's HLC).
    pub last_event_ms: u64,
}

/// What the master's host knows of one region (see [`MasterStore::record_region`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionRow {
    /// The region (`NodeId::Region(n)`'s `n`).
    pub region: u32,
    /// When the master last heard from it (Unix ms, the greatest recorded).
    pub last_seen_ms: u64,
    /// When the master last acknowledged a push of it (Unix ms, the greatest recorded).
    pub last_ack_ms: Option<u64>,
    /// Its outbox items not yet acknowledged, as last recorded.
    pub lag: u64,
    /// Its software version, as last recorded.
    pub version: String,
}

/// The Master Agent's SQLite file (see the module doc).
#[derive(Debug)]
pub struct MasterStore {
    pub(super) conn: Connection,
}

/// `v` as an SQLite integer; past `i64::MAX` is refused, naming `field`.
fn int(v: u64, field: &'static str) -> Result<i64> {
    i64::try_from(v)
        .map_err(|_| StoreError::Invalid { field, reason: format!("{v} is past 2^63 - 1") })
}

/// `v` as an SQLite integer bound of a range query (past `i64::MAX` means no bound).
fn bound(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A stored non-negative integer (`what` names it in the error).
fn uint(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| {
        StoreError::Corrupt(format!("the master's {what} is negative ({v}): the file was altered"))
    })
}

/// A stored region number.
fn region_num(v: i64) -> Result<u32> {
    u32::try_from(v)
        .map_err(|_| StoreError::Corrupt(format!("the master's region number {v} is out of range")))
}

/// A stored event id.
fn event_id(bytes: &[u8]) -> Result<EventId> {
    let raw: [u8; 16] = bytes.try_into().map_err(|_| {
        StoreError::Corrupt(format!("a stored event id has {} bytes, not 16", bytes.len()))
    })?;
    EventId::from_bytes(raw)
        .map_err(|e| StoreError::Corrupt(format!("a stored event id does not decode: {e}")))
}

/// The hour bucket (hours since the Unix epoch) of an NTP64 HLC time.
fn hour_of(hlc: u64) -> u64 {
    unix_ms_of(hlc) / HOUR_MS
}

/// The Unix ms of an HLC time (NTP64 layout).
fn unix_ms_of(hlc: u64) -> u64 {
    HlcTimestamp { time: hlc, node: [0; 16] }.unix_ms()
}

/// The region number of a child of the master (only regions are).
fn region_of(from: &NodeId) -> Result<u32> {
    match *from {
        NodeId::Region(n) => Ok(u32::from(n)),
        other => Err(StoreError::Invalid {
            field: "from",
            reason: format!("{other} is not a region: the master's children are regions"),
        }),
    }
}

/// The range a running sum may be in for `add` to be added to it without leaving `i64`.
fn room_for(add: i64) -> (i64, i64) {
    (i64::MIN.saturating_sub(add.min(0)), i64::MAX.saturating_sub(add.max(0)))
}

impl MasterStore {
    /// Opens (or creates) the master's file at `path`: WAL, `synchronous=FULL`.
    ///
    /// # Errors
    /// [`StoreError::NotAStore`] for anything that is not a master's file (another DCS or
    /// SQLite database, a file that is not SQLite, a directory), left untouched; the
    /// database's error.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        check_path(path, &shown, false)?;
        check_header(path, &shown)?;
        let store = Self::init(Connection::open(path).map_err(map_err)?, &shown)?;
        // Only once the file is known to be a master's: switching a foreign file to WAL
        // would rewrite its header.
        store.conn.pragma_update(None, "journal_mode", "WAL").map_err(map_err)?;
        Ok(store)
    }

    /// A master store in memory (tests).
    ///
    /// # Errors
    /// The database's error.
    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory().map_err(map_err)?, ":memory:")
    }

    fn init(mut conn: Connection, path: &str) -> Result<Self> {
        let not_ours = |reason: &str| StoreError::NotAStore {
            path: path.to_string(),
            reason: format!("{reason} (a master's file was expected)"),
        };
        conn.pragma_update(None, "synchronous", "FULL").map_err(map_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(map_err)?;
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        // Every statement of the persist path is cached (see `exec`): room for all of them.
        conn.set_prepared_statement_cache_capacity(64);
        let tx = conn.transaction().map_err(map_err)?;
        let tables: i64 = tx
            .query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'table'", [], |r| r.get(0))
            .map_err(map_err)?;
        let marker: Option<Vec<u8>> = if tables == 0 {
            None
        } else {
            let has_meta: i64 = tx
                .query_row(
                    "SELECT count(*) FROM sqlite_schema WHERE name = 'master_meta'",
                    [],
                    |r| r.get(0),
                )
                .map_err(map_err)?;
            if has_meta == 0 {
                return Err(not_ours("it is an SQLite database without the master_meta table"));
            }
            let m = tx
                .query_row(
                    "SELECT CAST(value AS BLOB) FROM master_meta WHERE key = 'format'",
                    [],
                    |r| r.get::<_, Option<Vec<u8>>>(0),
                )
                .optional()
                .map_err(map_err)?
                .flatten();
            if m.is_none() {
                return Err(not_ours("its master_meta table has no format marker"));
            }
            m
        };
        match marker {
            Some(m) if m == FORMAT.as_bytes() => {
                // Tables added since the file was made.
                tx.execute_batch(super::region_raft::DDL).map_err(map_err)?;
                tx.execute_batch(super::price_arrival::DDL).map_err(map_err)?;
            }
            Some(_) => return Err(not_ours("its format marker is another kind of file's")),
            None => {
                tx.execute_batch(DDL).map_err(map_err)?;
                tx.execute_batch(checkpoint_log::DDL).map_err(map_err)?;
                tx.execute_batch(super::region_raft::DDL).map_err(map_err)?;
                tx.execute_batch(super::price_arrival::DDL).map_err(map_err)?;
                exec(
                    &tx,
                    "INSERT INTO master_meta (key, value) VALUES ('format', ?1)",
                    [FORMAT.as_bytes()],
                )?;
            }
        }
        tx.commit().map_err(map_err)?;
        Ok(MasterStore { conn })
    }

    /// What the machine restarts from (as [`SyncStore::load`], without `&mut`).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the checkpoint does not decode; the database's error.
    pub fn restored(&self) -> Result<Restored> {
        Ok(Restored { checkpoint: load_checkpoint(&self.conn)?, acked: 0, head: 0 })
    }

    /// Records what the host saw of `region`: `last_seen_ms` and `last_ack_ms` (the last push
    /// the master acknowledged; kept when None) keep their greatest value, `lag` and
    /// `version` take this call's.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a time or lag past `i64::MAX`; the database's error.
    pub fn record_region(
        &mut self,
        region: u32,
        seen_at_ms: u64,
        acked_at_ms: Option<u64>,
        lag: u64,
        version: &str,
    ) -> Result<()> {
        let acked = acked_at_ms.map(|a| int(a, "acked_at_ms")).transpose()?;
        exec(
            &self.conn,
            "INSERT INTO regions (region, last_seen_ms, last_ack_ms, lag, version)
                 VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (region) DO UPDATE SET
                 last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),
                 last_ack_ms = max(coalesce(last_ack_ms, excluded.last_ack_ms),
                                   coalesce(excluded.last_ack_ms, last_ack_ms)),
                 lag = excluded.lag,
                 version = excluded.version",
            params![region, int(seen_at_ms, "seen_at_ms")?, acked, int(lag, "lag")?, version],
        )?;
        Ok(())
    }

    /// Records one sample of each region's lag and health at `at_ms` (the dashboard's lag over
    /// time), and drops the samples older than `keep_ms` before it: the table holds at most
    /// `keep_ms` / the sampling interval rows per region.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a time or lag past `i64::MAX`; the database's error.
    pub fn record_samples(
        &mut self,
        at_ms: u64,
        keep_ms: u64,
        rows: &[(u32, u64, &str)],
    ) -> Result<()> {
        let at = int(at_ms, "at_ms")?;
        let tx = self.conn.transaction().map_err(map_err)?;
        for (region, lag, health) in rows {
            exec(
                &tx,
                "INSERT OR REPLACE INTO region_samples (region, at_ms, lag, health) VALUES (?1, ?2, ?3, ?4)",
                params![region, at, int(*lag, "lag")?, health],
            )?;
        }
        exec(
            &tx,
            "DELETE FROM region_samples WHERE at_ms < ?1",
            [at.saturating_sub(int(keep_ms, "keep_ms")?)],
        )?;
        tx.commit().map_err(map_err)
    }

    /// The samples of every region since `since_ms`, oldest first, at most `limit`:
    /// (region, at_ms, lag, health).
    ///
    /// # Errors
    /// The database's error.
    pub fn samples(&self, since_ms: u64, limit: usize) -> Result<Vec<(u32, u64, u64, String)>> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT region, at_ms, lag, health FROM region_samples WHERE at_ms >= ?1
                 ORDER BY at_ms, region LIMIT ?2",
            )
            .map_err(map_err)?;
        q.query_map(params![int(since_ms, "since_ms")?, int(limit as u64, "limit")?], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64, r.get(3)?))
        })
        .and_then(|rows| rows.collect())
        .map_err(map_err)
    }

    /// The region registry, by region number.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for a row out of range; the database's error.
    pub fn regions(&self) -> Result<Vec<RegionRow>> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT region, last_seen_ms, last_ack_ms, lag, version FROM regions ORDER BY region",
            )
            .map_err(map_err)?;
        let rows = q
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .map_err(map_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (region, seen, ack, lag, version) = row.map_err(map_err)?;
            out.push(RegionRow {
                region: region_num(region)?,
                last_seen_ms: uint(seen, "last seen time")?,
                last_ack_ms: ack.map(|a| uint(a, "last ack time")).transpose()?,
                lag: uint(lag, "region lag")?,
                version,
            });
        }
        Ok(out)
    }

    /// How many summaries the master holds.
    ///
    /// # Errors
    /// The database's error.
    pub fn summary_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM summaries")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(map_err)?;
        uint(n, "summary count")
    }

    /// Up to `limit` summaries after row `after_rowid`, in row order: (row, event id, region).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for a row that does not decode; the database's error.
    pub fn summary_ids(&self, after_rowid: u64, limit: usize) -> Result<Vec<(u64, EventId, u32)>> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT id, event_id, region FROM summaries WHERE id > ?1 ORDER BY id LIMIT ?2",
            )
            .map_err(map_err)?;
        let rows = q
            .query_map(params![bound(after_rowid), int(limit as u64, "limit")?], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, i64>(2)?))
            })
            .map_err(map_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, event, region) = row.map_err(map_err)?;
            out.push((uint(id, "summary row id")?, event_id(&event)?, region_num(region)?));
        }
        Ok(out)
    }

    /// Up to `limit` hourly sales rows of hours `from_hour ≤ hour < to_hour` (of `tenant`, or
    /// of every tenant), ordered by hour, region, branch (then tenant, type, currency).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for a row that does not decode; the database's error.
    pub fn sales(
        &self,
        tenant: Option<&str>,
        from_hour: u64,
        to_hour: u64,
        limit: usize,
    ) -> Result<Vec<SalesRow>> {
        const COLUMNS: &str = "SELECT tenant, region, branch, hour, event_type, currency, \
                               event_count, amount_minor FROM sales_hourly";
        const ORDER: &str = "ORDER BY hour, region, branch, tenant, event_type, currency LIMIT";
        let limit = int(limit as u64, "limit")?;
        let (from, to) = (bound(from_hour), bound(to_hour));
        let mut q = match tenant {
            Some(_) => self.conn.prepare_cached(&format!(
                "{COLUMNS} WHERE tenant = ?1 AND hour >= ?2 AND hour < ?3 {ORDER} ?4"
            )),
            None => self
                .conn
                .prepare_cached(&format!("{COLUMNS} WHERE hour >= ?1 AND hour < ?2 {ORDER} ?3")),
        }
        .map_err(map_err)?;
        let read = |r: &rusqlite::Row<'_>| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, i64>(7)?,
            ))
        };
        let rows: Vec<_> = match tenant {
            Some(t) => q.query_map(params![t, from, to, limit], read),
            None => q.query_map(params![from, to, limit], read),
        }
        .and_then(|rows| rows.collect::<rusqlite::Result<_>>())
        .map_err(map_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for (tenant, region, branch, hour, event_type, currency, count, amount_minor) in rows {
            out.push(SalesRow {
                tenant,
                region: region_num(region)?,
                branch,
                hour: uint(hour, "sales hour")?,
                event_type: EventType::from_name(&event_type).map_err(|e| {
                    StoreError::Corrupt(format!("a sales row's event type does not decode: {e}"))
                })?,
                currency,
                count: uint(count, "sales count")?,
                amount_minor,
            });
        }
        Ok(out)
    }

    /// Up to `limit` branches (stores) the master holds events of, of `tenant` or of every
    /// tenant, by region and branch: how many events and the newest event's time.
    ///
    /// # Errors
    /// The database's error.
    pub fn branches(&self, tenant: Option<&str>, limit: usize) -> Result<Vec<BranchRow>> {
        const COLUMNS: &str = "SELECT tenant, region, branch, events, last_event_ms FROM branches";
        let limit = int(limit as u64, "limit")?;
        let mut q = match tenant {
            Some(_) => self.conn.prepare_cached(&format!(
                "{COLUMNS} WHERE tenant = ?1 ORDER BY region, branch, tenant LIMIT ?2"
            )),
            None => self
                .conn
                .prepare_cached(&format!("{COLUMNS} ORDER BY region, branch, tenant LIMIT ?1")),
        }
        .map_err(map_err)?;
        let read = |r: &rusqlite::Row<'_>| {
            Ok(BranchRow {
                tenant: r.get(0)?,
                region: r.get(1)?,
                branch: r.get(2)?,
                events: r.get::<_, i64>(3)? as u64,
                last_event_ms: r.get::<_, i64>(4)? as u64,
            })
        };
        match tenant {
            Some(t) => q.query_map(params![t, limit], read),
            None => q.query_map(params![limit], read),
        }
        .and_then(|rows| rows.collect())
        .map_err(map_err)
    }

    /// Up to `limit` stock rows (of `tenant`, or of every tenant), by tenant, branch, SKU.
    ///
    /// # Errors
    /// The database's error.
    pub fn stock(&self, tenant: Option<&str>, limit: usize) -> Result<Vec<StockRow>> {
        const COLUMNS: &str = "SELECT tenant, branch, sku, on_hand FROM stock";
        let limit = int(limit as u64, "limit")?;
        let mut q = match tenant {
            Some(_) => self.conn.prepare_cached(&format!(
                "{COLUMNS} WHERE tenant = ?1 ORDER BY tenant, branch, sku LIMIT ?2"
            )),
            None => self
                .conn
                .prepare_cached(&format!("{COLUMNS} ORDER BY tenant, branch, sku LIMIT ?1")),
        }
        .map_err(map_err)?;
        let read = |r: &rusqlite::Row<'_>| {
            Ok(StockRow {
                tenant: r.get(0)?,
                branch: r.get(1)?,
                sku: r.get(2)?,
                on_hand: r.get(3)?,
            })
        };
        match tenant {
            Some(t) => q.query_map(params![t, limit], read),
            None => q.query_map(params![limit], read),
        }
        .and_then(|rows| rows.collect())
        .map_err(map_err)
    }

    /// Up to `limit` refused items, newest first: (region, its position, event id, reason).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for a row that does not decode; the database's error.
    pub fn refused(&self, limit: usize) -> Result<Vec<(u32, u64, EventId, String)>> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT region, child_pos, event_id, reason FROM refused ORDER BY rowid DESC LIMIT ?1",
            )
            .map_err(map_err)?;
        let rows = q
            .query_map([int(limit as u64, "limit")?], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(map_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (region, pos, event, reason) = row.map_err(map_err)?;
            out.push((
                region_num(region)?,
                uint(pos, "refused position")?,
                event_id(&event)?,
                reason,
            ));
        }
        Ok(out)
    }

    /// Every tenant a stored summary named, in order.
    ///
    /// # Errors
    /// The database's error.
    pub fn tenants(&self) -> Result<Vec<String>> {
        let mut q = self
            .conn
            .prepare_cached("SELECT tenant FROM tenants ORDER BY tenant")
            .map_err(map_err)?;
        q.query_map([], |r| r.get(0)).and_then(|rows| rows.collect()).map_err(map_err)
    }
}

/// One write of the machine; the outcome of an accepted summary.
fn write_op(tx: &Transaction<'_>, op: &WriteOp) -> Result<Option<Outcome>> {
    match op {
        WriteOp::Accept { from, pos, item, forward } => {
            let Item::Summary(summary) = item else {
                return Err(StoreError::Invalid {
                    field: "item",
                    reason: format!(
                        "{from} sent the full event {} (position {pos}): the master takes event summaries only",
                        item.event_id()
                    ),
                });
            };
            if forward.is_some() {
                return Err(StoreError::Invalid {
                    field: "forward",
                    reason: "the master has no outbox: it forwards nothing".into(),
                });
            }
            accept_summary(tx, region_of(from)?, *pos, summary).map(Some)
        }
        WriteOp::Reject { from, pos, event_id, reason } => {
            exec(
                tx,
                "INSERT OR IGNORE INTO refused (region, child_pos, event_id, reason)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    region_of(from)?,
                    int(*pos, "pos")?,
                    event_id.as_bytes().as_slice(),
                    reason
                ],
            )?;
            Ok(None)
        }
        WriteOp::Append { .. } => Err(StoreError::Invalid {
            field: "append",
            reason: "the master has no outbox: an outbox append is not a master's write".into(),
        }),
        WriteOp::Acked { .. } => Err(StoreError::Invalid {
            field: "acked",
            reason: "the master has no outbox (nor parent): an outbox ack is not a master's write"
                .into(),
        }),
        WriteOp::Delta { .. } | WriteOp::Full { .. } | WriteOp::Hlc { .. } => Ok(None),
    }
}

/// Stores `s` unless its event id is held, and adds it to the sales and the stock.
fn accept_summary(
    tx: &Transaction<'_>,
    region: u32,
    pos: u64,
    s: &EventSummary,
) -> Result<Outcome> {
    let tenant = s.tenant.as_str();
    let currency = s.amount.currency();
    let (stock_branch, stock_sku, stock_delta) = match &s.stock {
        Some(e) => (Some(e.branch.as_str()), Some(e.sku.as_str()), Some(e.delta)),
        None => (None, None, None),
    };
    let inserted = exec(
        tx,
        "INSERT INTO summaries (event_id, region, child_pos, tenant, branch, event_type,
             amount_minor, currency, hlc, stock_branch, stock_sku, stock_delta)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (event_id) DO NOTHING",
        params![
            s.event_id.as_bytes().as_slice(),
            region,
            int(pos, "pos")?,
            tenant,
            s.branch.as_str(),
            s.event_type.name(),
            s.amount.minor(),
            currency.code(),
            // The NTP64 bits as they are: times past 2038 read back negative in SQL.
            i64::from_ne_bytes(s.hlc.to_ne_bytes()),
            stock_branch,
            stock_sku,
            stock_delta
        ],
    )?;
    if inserted == 0 {
        return Ok(Outcome::Duplicate);
    }
    exec(tx, "INSERT INTO tenants (tenant) VALUES (?1) ON CONFLICT DO NOTHING", [tenant])?;
    let event_ms = int(unix_ms_of(s.hlc), "hlc")?;
    exec(
        tx,
        "INSERT INTO branches (tenant, region, branch, events, last_event_ms) VALUES (?1, ?2, ?3, 1, ?4)
         ON CONFLICT (tenant, region, branch) DO UPDATE SET
             events = events + 1, last_event_ms = max(last_event_ms, excluded.last_event_ms)",
        params![tenant, region, s.branch.as_str(), event_ms],
    )?;
    let hour = hour_of(s.hlc);
    let amount = s.amount.minor();
    let (low, high) = room_for(amount);
    // The sum stays in SQLite's integer arithmetic; the update only runs while the sum has
    // room for the amount (SQLite would turn an overflowing sum into a float).
    let added = exec(
        tx,
        "INSERT INTO sales_hourly
             (tenant, region, branch, hour, event_type, currency, event_count, amount_minor)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)
         ON CONFLICT (tenant, region, branch, hour, event_type, currency) DO UPDATE SET
             event_count = event_count + 1, amount_minor = amount_minor + excluded.amount_minor
         WHERE amount_minor BETWEEN ?8 AND ?9 AND event_count < ?10",
        params![
            tenant,
            region,
            s.branch.as_str(),
            int(hour, "hour")?,
            s.event_type.name(),
            currency.code(),
            amount,
            low,
            high,
            i64::MAX
        ],
    )?;
    if added == 0 {
        return Err(StoreError::Invalid {
            field: "amount_minor",
            reason: format!(
                "adding {amount} (event {}) to the sales of tenant {tenant}, region {region}, branch {}, hour {hour}, {} in {} would pass the 64-bit range; nothing of the batch was written",
                s.event_id,
                s.branch,
                s.event_type,
                currency.code()
            ),
        });
    }
    if let Some(effect) = &s.stock {
        add_stock(tx, tenant, effect, s.event_id)?;
    }
    Ok(Outcome::Stored { forwarded: None })
}

/// Adds a stock effect to its SKU's stock, refusing a sum that leaves `i64`.
fn add_stock(tx: &Transaction<'_>, tenant: &str, e: &StockEffect, id: EventId) -> Result<()> {
    let (low, high) = room_for(e.delta);
    let added = exec(
        tx,
        "INSERT INTO stock (tenant, branch, sku, on_hand) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (tenant, branch, sku) DO UPDATE SET on_hand = on_hand + excluded.on_hand
         WHERE on_hand BETWEEN ?5 AND ?6",
        params![tenant, e.branch, e.sku, e.delta, low, high],
    )?;
    if added == 0 {
        return Err(StoreError::Invalid {
            field: "stock.delta",
            reason: format!(
                "adding {} (event {id}) to the stock of tenant {tenant}, branch {}, SKU {} would pass the 64-bit range; nothing of the batch was written",
                e.delta, e.branch, e.sku
            ),
        });
    }
    Ok(())
}

impl SyncStore for MasterStore {
    type Error = StoreError;

    fn persist(&mut self, batch: &PersistBatch) -> Result<Vec<Outcome>> {
        let tx = self.conn.transaction().map_err(map_err)?;
        let mut outcomes = Vec::with_capacity(batch.accepts());
        for op in &batch.ops {
            if let Some(o) = write_op(&tx, op)? {
                outcomes.push(o);
            }
        }
        let logged = log_batch(&tx, batch)?;
        fold_if_due(&tx, logged)?;
        tx.commit().map_err(map_err)?;
        Ok(outcomes)
    }

    fn read_outbox(&mut self, _after: u64, _max_items: usize) -> Result<Vec<Positioned>> {
        Ok(Vec::new())
    }

    fn load(&mut self) -> Result<Restored> {
        self.restored()
    }
}

#[cfg(test)]
mod tests {
    use super::{HOUR_MS, hour_of, room_for};

    #[test]
    fn the_hour_of_an_ntp64_time_is_its_unix_hour() {
        let ms = 1_795_600_000_000 + 3 * HOUR_MS + 1_234;
        let hlc = dcs_core::causality::unix_ms_to_ntp64(ms) | 0x7; // counter bits ignored
        assert_eq!(hour_of(hlc), ms / 3_600_000);
        assert_eq!(hour_of(0), 0);
    }

    #[test]
    fn the_room_for_an_amount_keeps_the_sum_in_range() {
        assert_eq!(room_for(5), (i64::MIN, i64::MAX - 5));
        assert_eq!(room_for(-5), (i64::MIN + 5, i64::MAX));
        assert_eq!(room_for(i64::MIN), (0, i64::MAX));
        assert_eq!(room_for(0), (i64::MIN, i64::MAX));
    }
}
