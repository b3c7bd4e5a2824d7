//! The master's record of each central price change and of when it reached each store: the
//! master notes the delta-log position of every change it makes; each region leader's status
//! report says how far every store has merged the master's log through it; a change has
//! reached a store once that position is at least the change's. The first report that shows
//! it fixes the arrival time (to within the report period). Bounded: the last
//! [`MAX_PRICE_CHANGES`] changes are kept, with one arrival row per change and store.

use rusqlite::{OptionalExtension, params};

use super::master_store::MasterStore;
use super::{exec, map_err};
use crate::error::{Result, StoreError};

/// The tables (created with the file, or added to an older master file when it is opened).
pub(super) const DDL: &str = "
CREATE TABLE IF NOT EXISTS price_changes (
    id INTEGER PRIMARY KEY, sku TEXT NOT NULL, price_minor INTEGER NOT NULL,
    position INTEGER NOT NULL, at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS price_changes_by_sku ON price_changes (sku, id);
CREATE TABLE IF NOT EXISTS store_reach (
    region INTEGER NOT NULL, store INTEGER NOT NULL, position INTEGER NOT NULL,
    at_ms INTEGER NOT NULL, PRIMARY KEY (region, store)
) STRICT;
CREATE TABLE IF NOT EXISTS price_arrivals (
    change INTEGER NOT NULL, region INTEGER NOT NULL, store INTEGER NOT NULL,
    at_ms INTEGER NOT NULL, PRIMARY KEY (change, region, store)
) STRICT;
CREATE TABLE IF NOT EXISTS store_names (
    region INTEGER NOT NULL, store INTEGER NOT NULL, branch TEXT NOT NULL,
    PRIMARY KEY (region, store)
) STRICT;
";

/// Price changes whose arrival is kept (older ones and their arrivals are dropped).
pub const MAX_PRICE_CHANGES: i64 = 256;

/// Most stores one region's report may name.
pub const MAX_REACH_STORES: usize = 4_096;

/// A central price change as the master made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceChange {
    /// Its row id.
    pub id: i64,
    /// The SKU.
    pub sku: String,
    /// The new price, in minor units.
    pub price_minor: i64,
    /// The master's delta-log position of the change.
    pub position: u64,
    /// When the master made it (Unix ms).
    pub at_ms: u64,
}

/// One store's view of a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreArrival {
    /// The store's region.
    pub region: u32,
    /// The store's node number in its region.
    pub store: u32,
    /// When a report first showed the change at the store (None: not yet).
    pub arrived_ms: Option<u64>,
    /// The branch its region names it by (None: the region has named it by no event yet).
    pub branch: Option<String>,
}

fn ms(field: &'static str, v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Invalid { field, reason: "past i64::MAX".into() })
}

fn unsigned(what: &str, v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("price_arrival: negative {what}")))
}

impl MasterStore {
    /// Records a price change the master made at its log position `position`; returns its id.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a position or time past `i64::MAX`; the database's error.
    pub fn record_price_change(
        &mut self,
        sku: &str,
        price_minor: i64,
        position: u64,
        at_ms: u64,
    ) -> Result<i64> {
        let (position, at) = (ms("position", position)?, ms("at_ms", at_ms)?);
        let tx = self.conn.transaction().map_err(map_err)?;
        exec(
            &tx,
            "INSERT INTO price_changes (sku, price_minor, position, at_ms) VALUES (?1, ?2, ?3, ?4)",
            params![sku, price_minor, position, at],
        )?;
        let id = tx.last_insert_rowid();
        let oldest_kept = id - MAX_PRICE_CHANGES + 1;
        exec(&tx, "DELETE FROM price_arrivals WHERE change < ?1", [oldest_kept])?;
        exec(&tx, "DELETE FROM price_changes WHERE id < ?1", [oldest_kept])?;
        tx.commit().map_err(map_err)?;
        Ok(id)
    }

    /// Records the branch region `region` names each of its stores by (store, branch): the
    /// branch of the last event it accepted from it.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for more than [`MAX_REACH_STORES`] stores; the database's error.
    pub fn record_store_names(&mut self, region: u32, names: &[(u32, String)]) -> Result<()> {
        if names.len() > MAX_REACH_STORES {
            return Err(StoreError::Invalid {
                field: "stores",
                reason: format!("{} stores in one report, at most {MAX_REACH_STORES}", names.len()),
            });
        }
        let tx = self.conn.transaction().map_err(map_err)?;
        for (store, branch) in names {
            exec(
                &tx,
                "INSERT INTO store_names (region, store, branch) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (region, store) DO UPDATE SET branch = excluded.branch \
                 WHERE branch IS NOT excluded.branch",
                params![region, store, branch],
            )?;
        }
        tx.commit().map_err(map_err)
    }

    /// Records region `region`'s report of how far each store has merged the master's log
    /// (store, position), received at `at_ms`: a store's position only moves forward, and every
    /// change it now covers for the first time is marked arrived at `at_ms`.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for more than [`MAX_REACH_STORES`] stores or a value past
    /// `i64::MAX`; the database's error.
    pub fn record_reach(&mut self, region: u32, at_ms: u64, stores: &[(u32, u64)]) -> Result<()> {
        if stores.len() > MAX_REACH_STORES {
            return Err(StoreError::Invalid {
                field: "stores",
                reason: format!(
                    "{} stores in one report, at most {MAX_REACH_STORES}",
                    stores.len()
                ),
            });
        }
        let at = ms("at_ms", at_ms)?;
        let tx = self.conn.transaction().map_err(map_err)?;
        for &(store, position) in stores {
            let position = ms("position", position)?;
            let old: i64 = tx
                .query_row(
                    "SELECT position FROM store_reach WHERE region = ?1 AND store = ?2",
                    params![region, store],
                    |r| r.get(0),
                )
                .optional()
                .map_err(map_err)?
                .unwrap_or(-1);
            if position <= old {
                continue;
            }
            exec(
                &tx,
                "INSERT OR REPLACE INTO store_reach (region, store, position, at_ms) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![region, store, position, at],
            )?;
            exec(
                &tx,
                "INSERT OR IGNORE INTO price_arrivals (change, region, store, at_ms) \
                 SELECT id, ?1, ?2, ?3 FROM price_changes WHERE position > ?4 AND position <= ?5",
                params![region, store, at, old, position],
            )?;
        }
        tx.commit().map_err(map_err)
    }

    /// The latest change of `sku` and, for every store any region has reported, whether and
    /// when it arrived there (None: the master has made no change of `sku`).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for a negative stored number; the database's error.
    pub fn price_arrival(&self, sku: &str) -> Result<Option<(PriceChange, Vec<StoreArrival>)>> {
        let change = self
            .conn
            .query_row(
                "SELECT id, sku, price_minor, position, at_ms FROM price_changes \
                 WHERE sku = ?1 ORDER BY id DESC LIMIT 1",
                [sku],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)?, r.get::<_, i64>(4)?)),
            )
            .optional()
            .map_err(map_err)?;
        let Some((id, sku, price_minor, position, at)) = change else { return Ok(None) };
        let change = PriceChange {
            id,
            sku,
            price_minor,
            position: unsigned("position", position)?,
            at_ms: unsigned("time", at)?,
        };
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT s.region, s.store, a.at_ms, n.branch FROM store_reach s \
                 LEFT JOIN price_arrivals a \
                 ON a.change = ?1 AND a.region = s.region AND a.store = s.store \
                 LEFT JOIN store_names n ON n.region = s.region AND n.store = s.store \
                 ORDER BY s.region, s.store",
            )
            .map_err(map_err)?;
        let rows = q
            .query_map([id], |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, u32>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .map_err(map_err)?;
        let mut stores = Vec::new();
        for row in rows {
            let (region, store, at, branch) = row.map_err(map_err)?;
            let arrived_ms = at.map(|t| unsigned("time", t)).transpose()?;
            stores.push(StoreArrival { region, store, arrived_ms, branch });
        }
        Ok(Some((change, stores)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, MasterStore) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let s = MasterStore::open(dir.path().join("m.db")).unwrap_or_else(|e| panic!("{e}"));
        (dir, s)
    }

    fn arrivals(s: &MasterStore, sku: &str) -> Vec<(u32, u32, Option<u64>)> {
        let found = s.price_arrival(sku).unwrap_or_else(|e| panic!("{e}"));
        found
            .map(|(_, rows)| rows)
            .unwrap_or_default()
            .into_iter()
            .map(|a| (a.region, a.store, a.arrived_ms))
            .collect()
    }

    #[test]
    fn a_change_arrives_store_by_store_as_reports_come_in() {
        let (_d, mut s) = store();
        assert_eq!(s.price_arrival("MUG").unwrap_or_else(|e| panic!("{e}")), None);
        s.record_reach(0, 1_000, &[(1, 3), (2, 3)]).unwrap_or_else(|e| panic!("{e}"));
        s.record_price_change("MUG", 1299, 5, 2_000).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(arrivals(&s, "MUG"), [(0, 1, None), (0, 2, None)]);
        s.record_reach(0, 3_000, &[(1, 5), (2, 4)]).unwrap_or_else(|e| panic!("{e}"));
        s.record_reach(1, 3_100, &[(7, 7)]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(arrivals(&s, "MUG"), [(0, 1, Some(3_000)), (0, 2, None), (1, 7, Some(3_100))]);
        // A later report keeps the first arrival time; a lower position (a restarted region
        // knows less) moves nothing back.
        s.record_reach(0, 4_000, &[(1, 2), (2, 6)]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            arrivals(&s, "MUG"),
            [(0, 1, Some(3_000)), (0, 2, Some(4_000)), (1, 7, Some(3_100))]
        );
        // The latest change of a SKU is the one shown.
        s.record_price_change("MUG", 1399, 8, 5_000).unwrap_or_else(|e| panic!("{e}"));
        let (c, _) =
            s.price_arrival("MUG").unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!());
        assert_eq!((c.price_minor, c.position), (1399, 8));
        assert_eq!(arrivals(&s, "MUG"), [(0, 1, None), (0, 2, None), (1, 7, None)]);
    }

    #[test]
    fn stores_are_shown_by_the_branch_their_region_names_them_by() {
        let (_d, mut s) = store();
        s.record_reach(0, 1_000, &[(1, 3), (2, 3)]).unwrap_or_else(|e| panic!("{e}"));
        s.record_price_change("MUG", 1299, 5, 2_000).unwrap_or_else(|e| panic!("{e}"));
        let names = |s: &MasterStore| -> Vec<Option<String>> {
            let found = s.price_arrival("MUG").unwrap_or_else(|e| panic!("{e}"));
            found.map(|(_, rows)| rows).unwrap_or_default().into_iter().map(|a| a.branch).collect()
        };
        assert_eq!(names(&s), [None, None], "unnamed until a region names them");
        s.record_store_names(0, &[(1, "lisbon-1".into())]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&s), [Some("lisbon-1".to_string()), None]);
        // A store that moves to another branch is shown by the newer name.
        s.record_store_names(0, &[(1, "porto-2".into()), (2, "faro-1".into())])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&s), [Some("porto-2".to_string()), Some("faro-1".to_string())]);
        let many: Vec<(u32, String)> =
            (0..=MAX_REACH_STORES as u32).map(|i| (i, "b".to_string())).collect();
        assert!(s.record_store_names(0, &many).is_err(), "a report naming too many stores");
    }

    #[test]
    fn bounded_and_refusing_oversized_reports() {
        let (_d, mut s) = store();
        for i in 0..(MAX_PRICE_CHANGES + 10) {
            let p = u64::try_from(i + 1).unwrap_or(0);
            s.record_price_change(&format!("SKU-{i}"), 100, p, 1).unwrap_or_else(|e| panic!("{e}"));
        }
        s.record_reach(0, 2, &[(1, 1_000)]).unwrap_or_else(|e| panic!("{e}"));
        let count = |s: &MasterStore, sql: &str| {
            s.conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap_or(-1)
        };
        assert_eq!(count(&s, "SELECT COUNT(*) FROM price_changes"), MAX_PRICE_CHANGES);
        assert_eq!(count(&s, "SELECT COUNT(*) FROM price_arrivals"), MAX_PRICE_CHANGES);
        assert_eq!(s.price_arrival("SKU-0").unwrap_or_else(|e| panic!("{e}")), None, "dropped");
        let many: Vec<(u32, u64)> = (0..=MAX_REACH_STORES as u32).map(|i| (i, 1)).collect();
        let e = s.record_reach(0, 3, &many).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("stores") && e.contains("at most"), "{e}");
        assert_eq!(count(&s, "SELECT COUNT(*) FROM store_reach"), 1, "nothing of it stored");
    }
}
