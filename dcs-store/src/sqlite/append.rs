//! Appends: optimistic concurrency, idempotency, hash chain, and group commit.

use std::collections::HashSet;

use dcs_core::SovereignFinancialEvent;
use dcs_core::commerce::EventBody;
use rusqlite::{Connection, OptionalExtension, params};

use super::projections::project_batch;
use super::{SqliteStore, map_err};
use crate::api::{AppendResult, ExpectedVersion, StreamId};
use crate::chain::{Chain, RowHash, RowPlace};
use crate::error::{Result, StoreError};
use crate::projection::Projector;

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
    /// Their plaintext bodies, to update the projections in the same transaction; empty
    /// for events that are not projected here (e.g. other stores' events).
    pub bodies: &'a [EventBody],
}

impl SqliteStore {
    /// Appends one batch to one stream in its own durable transaction.
    pub fn append_sync(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[SovereignFinancialEvent],
    ) -> Result<AppendResult> {
        self.append_with_bodies(stream, expected, events, &[])
    }

    /// Appends one batch and folds its plaintext `bodies` (one per event, in order) into
    /// the projection tables, all in one durable transaction.
    pub fn append_with_bodies(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[SovereignFinancialEvent],
        bodies: &[EventBody],
    ) -> Result<AppendResult> {
        self.append_facts(stream, expected, events, Facts::Given(bodies))
    }

    /// One append in its own durable transaction, projecting `facts`.
    pub(super) fn append_facts(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[SovereignFinancialEvent],
        facts: Facts<'_>,
    ) -> Result<AppendResult> {
        self.writable("append")?;
        let req = AppendRequest { stream, expected, events, bodies: &[] };
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(map_err)?;
        match append_in(&tx, &self.chain, &self.projector, &req, facts) {
            Ok(result) => {
                if !result.deduplicated {
                    tx.commit().map_err(map_err)?;
                }
                Ok(result)
            }
            Err(e) => {
                // Dropping the transaction rolls the partial batch back; then look why.
                drop(tx);
                settle_refusal(&conn, stream, events, e)
            }
        }
    }

    /// Group commit: runs many appends in one durable transaction (one fsync).
    ///
    /// Each request succeeds or fails on its own (a savepoint each); the results come back
    /// in request order. If the commit itself fails, every request fails with that error.
    pub fn append_group(
        &self,
        requests: &[AppendRequest<'_>],
    ) -> Result<Vec<Result<AppendResult>>> {
        self.append_group_then(requests, |_, _| Ok(())).map(|(results, ())| results)
    }

    /// [`SqliteStore::append_group`], then `then` in the same transaction (before its
    /// commit) with the requests' results: an error of `then` rolls the whole group back.
    pub(super) fn append_group_then<T>(
        &self,
        requests: &[AppendRequest<'_>],
        then: impl FnOnce(&rusqlite::Transaction<'_>, &[Result<AppendResult>]) -> Result<T>,
    ) -> Result<(Vec<Result<AppendResult>>, T)> {
        self.writable("append_group")?;
        self.append_group_in(requests, then).map_err(|e| self.explain(e))
    }

    fn append_group_in<T>(
        &self,
        requests: &[AppendRequest<'_>],
        then: impl FnOnce(&rusqlite::Transaction<'_>, &[Result<AppendResult>]) -> Result<T>,
    ) -> Result<(Vec<Result<AppendResult>>, T)> {
        let mut conn = self.lock();
        let mut tx = conn.transaction().map_err(map_err)?;
        let mut results = Vec::with_capacity(requests.len());
        for req in requests {
            let mut sp = tx.savepoint().map_err(map_err)?;
            let mut outcome =
                append_in(&sp, &self.chain, &self.projector, req, Facts::Given(req.bodies));
            if let Err(e) = outcome {
                if !sp.is_autocommit() {
                    sp.rollback().map_err(map_err)?;
                }
                outcome = settle_refusal(&sp, req.stream, req.events, e);
            }
            if sp.is_autocommit() {
                // SQLite aborted the whole transaction (full disk, I/O error): every
                // request of the group is lost, so the group fails as one.
                return match outcome {
                    Err(e) => Err(e),
                    Ok(_) => Err(StoreError::Database("the group transaction was aborted".into())),
                };
            }
            if outcome.is_ok() {
                sp.commit().map_err(map_err)?;
            }
            // A savepoint dropped without commit rolls back its writes.
            results.push(outcome);
        }
        let after = then(&tx, &results)?;
        tx.commit().map_err(map_err)?;
        Ok((results, after))
    }
}

/// The plaintext facts an append folds into the projections.
#[derive(Clone, Copy)]
pub(super) enum Facts<'a> {
    /// Given by the caller: none, or one per event (checked against the event's type and
    /// visible amount).
    Given(&'a [EventBody]),
    /// Opened from the events themselves: one per event, `None` for an event without one.
    Opened(&'a [Option<EventBody>]),
}

impl Facts<'_> {
    fn len(&self) -> usize {
        match self {
            Facts::Given(b) => b.len(),
            Facts::Opened(b) => b.len(),
        }
    }
}

fn append_in(
    conn: &Connection,
    chain: &Chain,
    projector: &Projector,
    req: &AppendRequest<'_>,
    facts: Facts<'_>,
) -> Result<AppendResult> {
    let AppendRequest { stream, expected, events, .. } = *req;
    if facts.len() != 0 && facts.len() != events.len() {
        return Err(StoreError::Invalid {
            field: "bodies",
            reason: format!(
                "{} bodies for {} events: give one per event, or none",
                facts.len(),
                events.len()
            ),
        });
    }
    if events.is_empty() || events.len() > MAX_BATCH {
        return Err(StoreError::Invalid {
            field: "events",
            reason: format!("a batch holds 1 to {MAX_BATCH} events, got {}", events.len()),
        });
    }
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
    let current = current_version(conn, stream)?;
    let ok = match expected {
        ExpectedVersion::Any => true,
        ExpectedVersion::NoStream => current == 0,
        ExpectedVersion::Exact(v) => current == v,
    };
    if !ok {
        // A retry of an append that already happened is recognised before the conflict.
        if let Some(dedup) = find_original(conn, stream, events)? {
            return Ok(dedup);
        }
        return Err(StoreError::Conflict {
            stream: stream.as_str().to_string(),
            expected: expected.to_string(),
            current,
        });
    }
    // No savepoint of its own: the caller's transaction or savepoint rolls a failed batch
    // back (a nested savepoint would copy every page it touches into a sub-journal).
    let result = write_batch(conn, chain, stream, current, events)?;
    match facts {
        Facts::Given([]) => {}
        Facts::Given(bodies) => project_batch(conn, projector, events.iter().zip(bodies))?,
        Facts::Opened(bodies) => project_batch(
            conn,
            projector,
            events.iter().zip(bodies).filter_map(|(e, b)| b.as_ref().map(|b| (e, b))),
        )?,
    }
    Ok(result)
}

/// The stream's version from its `streams` row; a stream without a row must have no events
/// (a deleted row would otherwise restart the stream at version 0).
fn current_version(conn: &Connection, stream: &StreamId) -> Result<u64> {
    let row: Option<u64> = conn
        .prepare_cached("SELECT version FROM streams WHERE stream_id = ?1")
        .and_then(|mut st| st.query_row([stream.as_str()], |r| r.get(0)).optional())
        .map_err(map_err)?;
    if let Some(version) = row {
        return Ok(version);
    }
    let first: Option<u64> = conn
        .prepare_cached(
            "SELECT position FROM events WHERE stream_id = ?1 AND position = batch_first LIMIT 1",
        )
        .and_then(|mut st| st.query_row([stream.as_str()], |r| r.get(0)).optional())
        .map_err(map_err)?;
    match first {
        None => Ok(0),
        Some(position) => Err(StoreError::Tampered {
            position,
            reason: format!(
                "stream {:?} has events from position {position} on but no row in the streams table: the table was edited outside DCS; nothing was written, restore the store from a backup or the region",
                stream.as_str()
            ),
        }),
    }
}

/// Turns the error of a rolled-back append into its answer: a unique index that refused a
/// row means an exact retry (the original result), a partial overlap, or a duplicate event
/// id. Looking only now keeps the common path to plain inserts.
fn settle_refusal(
    conn: &Connection,
    stream: &StreamId,
    events: &[SovereignFinancialEvent],
    error: StoreError,
) -> Result<AppendResult> {
    match error {
        StoreError::Database(msg) if msg.contains("UNIQUE constraint failed") => {
            if let Some(dedup) = find_original(conn, stream, events)? {
                return Ok(dedup);
            }
            Err(duplicate_event(conn, events, &msg)?)
        }
        other => Err(other),
    }
}

/// Inserts the rows, extends the chain and moves the stream and chain heads.
fn write_batch(
    conn: &Connection,
    chain: &Chain,
    stream: &StreamId,
    current: u64,
    events: &[SovereignFinancialEvent],
) -> Result<AppendResult> {
    let (head, mut prev): (u64, RowHash) = conn
        .prepare_cached("SELECT position, hash FROM chain_head WHERE id = 1")
        .and_then(|mut st| st.query_row([], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(map_err)?;
    let first = head + 1;
    let last = head + events.len() as u64;
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO events (position, event_id, stream_id, stream_version, tenant_id, branch_id,
                event_type, amount_minor, currency, hlc_time, idempotency_key, batch_first, batch_last,
                event, prev_hash, row_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )
        .map_err(map_err)?;
    let mut version = current;
    for (position, event) in (first..).zip(events) {
        version += 1;
        let bytes = postcard::to_allocvec(event).map_err(|e| StoreError::Invalid {
            field: "events",
            reason: format!("event does not encode: {e}"),
        })?;
        let place = RowPlace {
            position,
            stream_id: stream.as_str(),
            stream_version: version,
            batch_first: first,
            batch_last: last,
        };
        let hash = chain.link(&prev, &place, &bytes);
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
                first,
                last,
                bytes,
                prev.as_slice(),
                hash.as_slice(),
            ])
            .map_err(map_err)?;
        prev = hash;
    }
    conn.prepare_cached(
        "INSERT INTO streams (stream_id, version) VALUES (?1, ?2)
         ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version",
    )
    .and_then(|mut st| st.execute(params![stream.as_str(), version]))
    .map_err(map_err)?;
    conn.prepare_cached("UPDATE chain_head SET position = ?1, hash = ?2 WHERE id = 1")
        .and_then(|mut st| st.execute(params![last, prev.as_slice()]))
        .map_err(map_err)?;
    Ok(AppendResult {
        first_position: first,
        last_position: last,
        stream_version: version,
        deduplicated: false,
    })
}

/// The original result when the batch is an exact retry of one earlier append: every key
/// of the batch names, in order, the same event id in one earlier append of the same size
/// to the same stream. `None` when no key was used. A key that names another event, or the
/// same events in another stream, is [`StoreError::IdempotencyKeyReused`]; some but not all
/// keys of an append is [`StoreError::IdempotencyMismatch`].
fn find_original(
    conn: &Connection,
    stream: &StreamId,
    events: &[SovereignFinancialEvent],
) -> Result<Option<AppendResult>> {
    let mut lookup = conn
        .prepare_cached(
            "SELECT e.batch_first, e.batch_last,
                    (SELECT stream_version FROM events WHERE position = e.batch_last),
                    e.position, e.event_id, e.stream_id
             FROM events e WHERE e.tenant_id = ?1 AND e.idempotency_key = ?2",
        )
        .map_err(map_err)?;
    let mut original: Option<(u64, u64, u64)> = None;
    let mut original_stream = String::new();
    let mut found = 0usize;
    let mut in_order = true;
    for (i, e) in events.iter().enumerate() {
        type Hit = ((u64, u64, u64), u64, Vec<u8>, String);
        let hit: Option<Hit> = lookup
            .query_row(params![e.tenant_id().as_str(), e.idempotency_key().as_str()], |r| {
                Ok(((r.get(0)?, r.get(1)?, r.get(2)?), r.get(3)?, r.get(4)?, r.get(5)?))
            })
            .optional()
            .map_err(map_err)?;
        let Some((batch, position, event_id, hit_stream)) = hit else { continue };
        if event_id.as_slice() != e.event_id().as_bytes().as_slice() {
            return Err(StoreError::IdempotencyKeyReused {
                key: e.idempotency_key().as_str().to_string(),
                reason: format!(
                    "it is held by the event at position {position}, whose event id differs from event {}",
                    e.event_id()
                ),
            });
        }
        match original {
            None => {
                original = Some(batch);
                original_stream = hit_stream;
                found += 1;
            }
            Some(o) if o == batch => found += 1,
            Some(_) => {
                return Err(StoreError::IdempotencyMismatch {
                    key: e.idempotency_key().as_str().to_string(),
                });
            }
        }
        in_order &= position == batch.0 + i as u64;
    }
    match original {
        None => Ok(None),
        Some((first, last, version))
            if found == events.len() && in_order && (last - first + 1) as usize == events.len() =>
        {
            if original_stream != stream.as_str() {
                return Err(StoreError::IdempotencyKeyReused {
                    key: events[0].idempotency_key().as_str().to_string(),
                    reason: format!(
                        "these events were appended to stream {original_stream:?}, not {:?}",
                        stream.as_str()
                    ),
                });
            }
            Ok(Some(AppendResult {
                first_position: first,
                last_position: last,
                stream_version: version,
                deduplicated: true,
            }))
        }
        Some(_) => Err(StoreError::IdempotencyMismatch {
            key: events[0].idempotency_key().as_str().to_string(),
        }),
    }
}

/// The error for a batch holding an event id that is already stored.
fn duplicate_event(
    conn: &Connection,
    events: &[SovereignFinancialEvent],
    constraint: &str,
) -> Result<StoreError> {
    let mut exists =
        conn.prepare_cached("SELECT 1 FROM events WHERE event_id = ?1").map_err(map_err)?;
    for e in events {
        if exists.exists([e.event_id().as_bytes().as_slice()]).map_err(map_err)? {
            return Ok(StoreError::DuplicateEvent(e.event_id().to_string()));
        }
    }
    // Neither a key nor an event id: the store's own tables disagree (an index row without
    // its stream row, for instance), which only an edit outside DCS produces.
    Ok(StoreError::Tampered {
        position: 0,
        reason: format!(
            "the append was refused by the store's own index ({constraint}) although no key or event id of the batch is stored: the tables were edited outside DCS; run verify_chain"
        ),
    })
}
