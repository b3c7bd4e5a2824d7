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
            "INSERT INTO till_leases (data_key_id, agent, max_uses, expires_ms, issued_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .and_then(|mut q| {
            q.execute(params![
                &data_key_id[..],
                lease.agent,
                int(lease.max_uses),
                int(lease.expires_ms),
                int(lease.issued_ms),
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
                "SELECT agent, max_uses, expires_ms, issued_ms FROM till_leases WHERE data_key_id = ?1",
            )
            .map_err(map_err)?;
        let row: Option<(String, i64, i64, i64)> = q
            .query_row(params![&data_key_id[..]], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
            .map_err(map_err)?;
        Ok(row.map(|(agent, max_uses, expires_ms, issued_ms)| TillLease {
            agent,
            max_uses: u64::try_from(max_uses).unwrap_or(0),
            expires_ms: u64::try_from(expires_ms).unwrap_or(0),
            issued_ms: u64::try_from(issued_ms).unwrap_or(0),
        }))
    }
}
