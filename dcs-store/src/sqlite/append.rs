//! Appends: optimistic concurrency, idempotency, hash chain, and group commit.

use std::collections::HashSet;

use dcs_core::SovereignFinancialEvent;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, map_err};
use crate::api::{AppendResult, ExpectedVersion, StreamId};
use crate::chain::{RowHash, row_hash};
use crate::error::{Result, StoreError};

/// Most events accepted in one append.
pub const MAX_BATCH: usize = 10_000;

/// One append of a group commit.
#[derive(Debug, Clone, Copy)]
pub struct AppendRequest<'a> {
    /// The stream to append to.
    pub stream: &'a StreamId,
    /// The version the caller expects the stream to be at.
    pub expected: ExpectedVersion,
    /// The events, in order.
    pub events: &'a [SovereignFinancialEvent],
}

impl SqliteStore {
    /// Appends one batch to one stream in its own durable transaction.
    pub fn append_sync(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[SovereignFinancialEvent],
    ) -> Result<AppendResult> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(map_err)?;
        let result = append_in(&tx, stream, expected, events)?;
        if !result.deduplicated {
            tx.commit().map_err(map_err)?;
        }
        Ok(result)
    }

    /// Group commit: runs many appends in one durable transaction (one fsync).
    ///
    /// Each request succeeds or fails on its own (a savepoint each); the results come back
    /// in request order. If the commit itself fails, every request fails with that error.
    pub fn append_group(
        &self,
        requests: &[AppendRequest<'_>],
    ) -> Result<Vec<Result<AppendResult>>> {
        let mut conn = self.lock();
        let mut tx = conn.transaction().map_err(map_err)?;
        let mut results = Vec::with_capacity(requests.len());
        for req in requests {
            let sp = tx.savepoint().map_err(map_err)?;
            let outcome = append_in(&sp, req.stream, req.expected, req.events);
            if outcome.is_ok() {
                sp.commit().map_err(map_err)?;
            }
            // A savepoint dropped without commit rolls back its writes.
            results.push(outcome);
        }
        tx.commit().map_err(map_err)?;
        Ok(results)
    }
}

fn append_in(
    tx: &Connection,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: &[SovereignFinancialEvent],
) -> Result<AppendResult> {
    if events.is_empty() || events.len() > MAX_BATCH {
        return Err(StoreError::Invalid {
            field: "events",
            reason: format!("a batch holds 1 to {MAX_BATCH} events, got {}", events.len()),
        });
    }
    if let Some(dedup) = check_idempotency(tx, events)? {
        return Ok(dedup);
    }
    let current: u64 = tx
        .query_row("SELECT version FROM streams WHERE stream_id = ?1", [stream.as_str()], |r| {
            r.get(0)
        })
        .optional()
        .map_err(map_err)?
        .unwrap_or(0);
    let ok = match expected {
        ExpectedVersion::Any => true,
        ExpectedVersion::NoStream => current == 0,
        ExpectedVersion::Exact(v) => current == v,
    };
    if !ok {
        return Err(StoreError::Conflict {
            stream: stream.as_str().to_string(),
            expected: expected.to_string(),
            current,
        });
    }
    let (head, mut prev): (u64, RowHash) = tx
        .query_row("SELECT position, hash FROM chain_head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(map_err)?;
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO events (position, event_id, stream_id, stream_version, tenant_id, branch_id,
                event_type, amount_minor, currency, hlc_time, idempotency_key, event, prev_hash, row_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )
        .map_err(map_err)?;
    let mut position = head;
    let mut version = current;
    for event in events {
        position += 1;
        version += 1;
        let bytes = postcard::to_allocvec(event).map_err(|e| StoreError::Invalid {
            field: "events",
            reason: format!("event does not encode: {e}"),
        })?;
        let hash = row_hash(&prev, position, stream.as_str(), version, &bytes);
        let amount = event.amount();
        insert
            .execute(params![
                position,
                event.event_id().as_bytes().as_slice(),
                stream.as_str(),
                version,
                event.tenant_id().as_str(),
                event.branch_id().as_str(),
                event.event_type().code(),
                amount.minor(),
                amount.currency().code(),
                event.causality().hlc.time as i64,
                event.idempotency_key().as_str(),
                bytes,
                prev.as_slice(),
                hash.as_slice(),
            ])
            .map_err(|e| match map_err(e) {
                StoreError::Database(msg) if msg.contains("events.event_id") => {
                    StoreError::DuplicateEvent(event.event_id().to_string())
                }
                other => other,
            })?;
        prev = hash;
    }
    let first = head + 1;
    let mut remember = tx
        .prepare_cached(
            "INSERT INTO idempotency (tenant_id, key, first_position, last_position, stream_version)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(map_err)?;
    for event in events {
        remember
            .execute(params![
                event.tenant_id().as_str(),
                event.idempotency_key().as_str(),
                first,
                position,
                version
            ])
            .map_err(map_err)?;
    }
    tx.execute(
        "INSERT INTO streams (stream_id, version) VALUES (?1, ?2)
         ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version",
        params![stream.as_str(), version],
    )
    .map_err(map_err)?;
    tx.execute(
        "UPDATE chain_head SET position = ?1, hash = ?2 WHERE id = 1",
        params![position, prev.as_slice()],
    )
    .map_err(map_err)?;
    Ok(AppendResult {
        first_position: first,
        last_position: position,
        stream_version: version,
        deduplicated: false,
    })
}

/// Returns the original result for an exact retry, `None` for a new batch, or an error
/// when the batch overlaps an earlier one only in part.
fn check_idempotency(
    tx: &Connection,
    events: &[SovereignFinancialEvent],
) -> Result<Option<AppendResult>> {
    let mut seen = HashSet::with_capacity(events.len());
    for e in events {
        if !seen.insert((e.tenant_id(), e.idempotency_key())) {
            return Err(StoreError::Invalid {
                field: "events",
                reason: format!(
                    "idempotency key {:?} appears twice in one batch",
                    e.idempotency_key().as_str()
                ),
            });
        }
    }
    let mut lookup = tx
        .prepare_cached(
            "SELECT first_position, last_position, stream_version FROM idempotency
             WHERE tenant_id = ?1 AND key = ?2",
        )
        .map_err(map_err)?;
    let mut original: Option<(u64, u64, u64)> = None;
    let mut found = 0usize;
    for e in events {
        let hit: Option<(u64, u64, u64)> = lookup
            .query_row(params![e.tenant_id().as_str(), e.idempotency_key().as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
            .map_err(map_err)?;
        match (hit, original) {
            (None, _) => {}
            (Some(h), None) => {
                original = Some(h);
                found += 1;
            }
            (Some(h), Some(o)) if h == o => found += 1,
            (Some(_), Some(_)) => {
                return Err(StoreError::IdempotencyMismatch {
                    key: e.idempotency_key().as_str().to_string(),
                });
            }
        }
    }
    match original {
        None => Ok(None),
        Some((first, last, version))
            if found == events.len() && (last - first + 1) as usize == events.len() =>
        {
            Ok(Some(AppendResult {
                first_position: first,
                last_position: last,
                stream_version: version,
                deduplicated: true,
            }))
        }
        Some(_) => {
            let key = events[0].idempotency_key().as_str().to_string();
            Err(StoreError::IdempotencyMismatch { key })
        }
    }
}
