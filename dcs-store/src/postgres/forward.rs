//! The regional forwarder's cursor: where a region's forwarding stands in this store, moved
//! in the transaction of the events it forwards and fenced by the Raft term.
//!
//! The region's Raft leader numbers the region's events 1, 2, 3, ... and forwards them in
//! order with [`PgStore::ingest_forwarded`], which ingests the events at positions
//! `from + 1 ..= to` and moves the region's cursor from `from` to `to` in one transaction.
//! The cursor step runs first in that transaction (`dcs_advance_forward_cursor`, see
//! `schema_v5.sql`): it locks the region's cursor row until commit, so two forwarders of
//! one region take turns, and it refuses before anything is written
//! - a term older than the cursor's ([`StoreError::StaleTerm`], SQLSTATE `DC001`): a newer
//!   leader forwards the region, so this one must stop;
//! - a `from` that is not the cursor's position ([`StoreError::CursorMoved`], `DC002`): the
//!   forwarder re-reads the cursor ([`PgStore::forward_cursor`]) and resumes from it.
//!
//! A newer term takes over from wherever the cursor stands, and the cursor's term becomes
//! the newer one, so the deposed leader is refused from then on.

use super::{IngestEvent, IngestReport, PgStore, map_pg};
use crate::error::{Result, StoreError};

/// SQLSTATE of a forward under a term older than the cursor's.
const STALE_TERM: &str = "DC001";
/// SQLSTATE of a forward whose `from` is not the cursor's position.
const CURSOR_MOVED: &str = "DC002";
/// SQLSTATE of a forward whose `to` is not past its `from`.
const EMPTY_RANGE: &str = "DC003";

/// The longest region name.
const MAX_REGION: usize = 200;

/// Moves the cursor (`$1` region, `$2` from, `$3` to, `$4` term) or raises.
const ADVANCE_SQL: &str = "SELECT dcs_advance_forward_cursor($1, $2, $3, $4)";

/// Reads a region's cursor (`$1`).
const CURSOR_SQL: &str = "SELECT position, term FROM dcs_forward_cursor($1)";

/// Where a region's forwarder stands in PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardCursor {
    /// The region position of the last event forwarded (0 before the first).
    pub position: u64,
    /// The Raft term of the leader that forwarded it.
    pub term: u64,
}

/// A move of a region's cursor, validated, made first in each attempt of an ingest.
pub(super) struct Advance<'a> {
    region: &'a str,
    term: u64,
    from: u64,
    to: u64,
}

impl Advance<'_> {
    /// Moves the cursor in `tx` (holding its row lock until the caller's commit), or fails
    /// with the store error the forwarder acts on.
    pub(super) async fn run(&self, tx: &deadpool_postgres::Transaction<'_>) -> Result<()> {
        let stmt = tx.prepare_cached(ADVANCE_SQL).await.map_err(map_pg)?;
        let (from, to, term) =
            (as_i64(self.from, "from")?, as_i64(self.to, "to")?, as_i64(self.term, "term")?);
        tx.execute(&stmt, &[&self.region, &from, &to, &term]).await.map_err(|e| self.map(e))?;
        Ok(())
    }

    /// The store error of a refused move.
    fn map(&self, e: tokio_postgres::Error) -> StoreError {
        let code = e.as_db_error().map(|db| db.code().code().to_owned());
        match code.as_deref() {
            Some(STALE_TERM) => {
                StoreError::StaleTerm { region: self.region.to_owned(), term: self.term }
            }
            Some(CURSOR_MOVED) => {
                StoreError::CursorMoved { region: self.region.to_owned(), expected: self.from }
            }
            Some(EMPTY_RANGE) => StoreError::Invalid {
                field: "to",
                reason: format!("must be greater than from ({}), got {}", self.from, self.to),
            },
            _ => map_pg(e),
        }
    }
}

impl PgStore {
    /// The region's cursor (None before its first forward).
    pub async fn forward_cursor(&self, region: &str) -> Result<Option<ForwardCursor>> {
        check_region(region)?;
        let client = self.client().await?;
        let stmt = client.prepare_cached(CURSOR_SQL).await.map_err(map_pg)?;
        let Some(row) = client.query_opt(&stmt, &[&region]).await.map_err(map_pg)? else {
            return Ok(None);
        };
        let stored = |n: i64, what: &str| {
            u64::try_from(n).map_err(|_| {
                StoreError::Database(format!(
                    "the forward cursor of {region:?} has a negative {what}: {n}"
                ))
            })
        };
        Ok(Some(ForwardCursor {
            position: stored(row.get(0), "position")?,
            term: stored(row.get(1), "term")?,
        }))
    }

    /// Ingests `batch` (the events among region positions from+1..=to, in order: positions
    /// that hold no event, such as summaries, have no entry) and moves the
    /// region's cursor from `from` to `to` under `term`, in one transaction.
    ///
    /// Like [`PgStore::ingest`] (events already stored are skipped), but first the region's
    /// cursor must be at `from` (0 for a region never forwarded) and its term no newer than
    /// `term`; otherwise nothing is written and the error is [`StoreError::CursorMoved`]
    /// (re-read [`PgStore::forward_cursor`] and resume from it) or
    /// [`StoreError::StaleTerm`] (a newer leader forwards the region: stop). The cursor's
    /// term becomes `term`.
    pub async fn ingest_forwarded(
        &self,
        region: &str,
        term: u64,
        from: u64,
        to: u64,
        batch: &[IngestEvent],
    ) -> Result<IngestReport> {
        check_region(region)?;
        if to <= from {
            return Err(StoreError::Invalid {
                field: "to",
                reason: format!("must be greater than from ({from}), got {to}"),
            });
        }
        // Fewer events than positions is fine: items that are not events (summaries) have
        // positions but nothing to store.
        if batch.len() as u64 > to - from {
            return Err(StoreError::Invalid {
                field: "batch",
                reason: format!(
                    "positions {} to {to} are {} items, but the batch holds {} events",
                    from + 1,
                    to - from,
                    batch.len()
                ),
            });
        }
        // Checked before any connection, as the database would refuse them anyway.
        as_i64(term, "term")?;
        as_i64(to, "to")?;
        let advance = Advance { region, term, from, to };
        if batch.is_empty() {
            // Only the cursor moves.
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(map_pg)?;
            advance.run(&tx).await?;
            tx.commit().await.map_err(map_pg)?;
            return Ok(IngestReport::default());
        }
        self.ingest_with(batch, Some(&advance)).await
    }
}

/// A region name is 1 to [`MAX_REGION`] characters.
fn check_region(region: &str) -> Result<()> {
    let chars = region.chars().count();
    if chars == 0 || chars > MAX_REGION {
        return Err(StoreError::Invalid {
            field: "region",
            reason: format!("a region is 1 to {MAX_REGION} characters, got {chars}"),
        });
    }
    Ok(())
}

/// `n` as PostgreSQL's bigint, or an invalid `field`.
fn as_i64(n: u64, field: &'static str) -> Result<i64> {
    i64::try_from(n).map_err(|_| StoreError::Invalid {
        field,
        reason: format!("{n} is beyond the largest position or term, {}", i64::MAX),
    })
}
