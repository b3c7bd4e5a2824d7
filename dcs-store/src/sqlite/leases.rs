//! The data keys the store leased to self-sealing tills: which till each one was leased to,
//! for how many events and until when. The store's daemon records a lease before handing it
//! out and checks every sealed event against it, so a data key is good only for the till it
//! was leased to.

use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, map_err};
use crate::error::Result;

/// One leased data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TillLease {
    /// The till's agent id.
    pub agent: String,
    /// Most events it may seal with the key.
    pub max_uses: u64,
    /// Until when (Unix ms) it may seal with it.
    pub expires_ms: u64,
    /// When the store leased it (Unix ms).
    pub issued_ms: u64,
    /// Events stored (or reserved) under it so far.
    pub used: u64,
}

/// SQLite's integers are signed: bounds beyond 2^63 − 1 are kept as that (no lease is longer).
fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl SqliteStore {
    /// Records that data key `data_key_id` is leased to `lease.agent` (durably, before the
    /// till gets it). A key id is leased once.
    pub fn record_lease_sync(&self, data_key_id: &[u8; 16], lease: &TillLease) -> Result<()> {
        let conn = self.lock();
        conn.prepare_cached(
            "INSERT INTO till_leases (data_key_id, agent, max_uses, expires_ms, issued_ms, used)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut q| {
            q.execute(params![
                &data_key_id[..],
                lease.agent,
                int(lease.max_uses),
                int(lease.expires_ms),
                int(lease.issued_ms),
                int(lease.used),
            ])
        })
        .map(drop)
        .map_err(map_err)
    }

    /// The lease of data key `data_key_id`, if the store leased it.
    pub fn lease_sync(&self, data_key_id: &[u8; 16]) -> Result<Option<TillLease>> {
        let conn = self.lock();
        let mut q = conn
            .prepare_cached(
                "SELECT agent, max_uses, expires_ms, issued_ms, used FROM till_leases WHERE data_key_id = ?1",
            )
            .map_err(map_err)?;
        let row: Option<(String, i64, i64, i64, i64)> = q
            .query_row(params![&data_key_id[..]], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()
            .map_err(map_err)?;
        Ok(row.map(|(agent, max_uses, expires_ms, issued_ms, used)| TillLease {
            agent,
            max_uses: u64::try_from(max_uses).unwrap_or(0),
            expires_ms: u64::try_from(expires_ms).unwrap_or(0),
            issued_ms: u64::try_from(issued_ms).unwrap_or(0),
            used: u64::try_from(used).unwrap_or(0),
        }))
    }

    /// Reserves `uses` more events under data key `data_key_id` for `agent`, in one
    /// statement: true if the key is leased to `agent` and has that many uses left (they are
    /// then counted), false otherwise (nothing changes). A reservation whose events are then
    /// not stored stays counted: the bound errs on the side of fewer events.
    pub fn reserve_lease_uses_sync(
        &self,
        data_key_id: &[u8; 16],
        agent: &str,
        uses: u64,
    ) -> Result<bool> {
        let conn = self.lock();
        let n = conn
            .prepare_cached(
                "UPDATE till_leases SET used = used + ?3
                 WHERE data_key_id = ?1 AND agent = ?2 AND used + ?3 <= max_uses",
            )
            .and_then(|mut q| q.execute(params![&data_key_id[..], agent, int(uses)]))
            .map_err(map_err)?;
        Ok(n == 1)
    }
}
