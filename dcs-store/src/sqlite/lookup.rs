//! Finding an earlier append by one of its idempotency keys: how a daemon answers a retried
//! command with the first result instead of building its events again.

use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, map_err};
use crate::api::AppendResult;
use crate::error::Result;

impl SqliteStore {
    /// The append that stored an event of `tenant` under idempotency key `key`, as that
    /// append returned it but with `deduplicated: true`; `None` when the key is unused.
    pub fn append_of_key(&self, tenant: &str, key: &str) -> Result<Option<AppendResult>> {
        let conn = self.lock();
        let mut lookup = conn
            .prepare_cached(
                "SELECT e.batch_first, e.batch_last,
                        (SELECT stream_version FROM events WHERE position = e.batch_last)
                 FROM events e WHERE e.tenant_id = ?1 AND e.idempotency_key = ?2",
            )
            .map_err(map_err)?;
        let hit: Option<(u64, u64, u64)> = lookup
            .query_row(params![tenant, key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()
            .map_err(map_err)?;
        Ok(hit.map(|(first, last, version)| AppendResult {
            first_position: first,
            last_position: last,
            stream_version: version,
            deduplicated: true,
        }))
    }
}
