//! Bulk ingest for the regional forwarder: batches from many stores, idempotent on event id.

use std::collections::{BTreeMap, HashSet};

use dcs_core::commerce::EventBody;
use dcs_core::{SovereignFinancialEvent, TenantId};

use super::append::{Columns, MAX_BATCH, advance_positions, classify_insert, lock_positions};
use super::projections::add_rows;
use super::{PgStore, map_pg, set_scope};
use crate::api::StreamId;
use crate::error::{Result, StoreError};
use crate::projection::{Folds, ProjectionRows};

/// Inserts the new events of one tenant's batch and moves their streams' versions.
///
/// The client sends each event id once; `$12` (the head position) numbers the new rows in
/// batch order. Ingest is idempotent on the event id, the identity of an event a store has
/// already accepted; it does not record idempotency keys (see [`PgStore::ingest`]).
const INGEST_SQL: &str = "
WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::smallint[],
                         $7::bigint[], $8::text[], $9::bigint[], $10::text[], $11::bytea[])
        WITH ORDINALITY AS u(event_id, tenant_id, branch_id, stream_id, stream_version, event_type,
                             amount_minor, currency, hlc_time, idempotency_key, event, ord)
), numbered AS (
    -- One primary-key probe per input row (LATERAL + LIMIT keeps the planner from turning
    -- this into an anti join that hashes every stored event of the tenant on each batch).
    SELECT i.*, $12::bigint + row_number() OVER (ORDER BY i.ord) AS position FROM input i
    LEFT JOIN LATERAL (SELECT 1 AS stored FROM event_store e WHERE e.event_id = i.event_id LIMIT 1) s ON true
    WHERE s.stored IS NULL
), ins AS (
    INSERT INTO event_store (event_id, position, tenant_id, branch_id, stream_id, stream_version,
                             event_type, amount_minor, currency, hlc_time, idempotency_key, event)
    SELECT event_id, position, tenant_id, branch_id, stream_id, stream_version, event_type,
           amount_minor, currency, hlc_time, idempotency_key, event FROM numbered
    RETURNING event_id, position
), streams AS (
    INSERT INTO stream_metadata AS s (tenant_id, stream_id, branch_id, version)
    SELECT tenant_id, stream_id, min(branch_id), max(stream_version) FROM numbered GROUP BY tenant_id, stream_id
    ON CONFLICT (tenant_id, stream_id) DO UPDATE SET
        version = greatest(s.version, excluded.version), updated_at = now()
)
SELECT event_id, position FROM ins";

/// One event as a store forwards it: where it sits in its store, and its plaintext body
/// when the region may read it (for the projections).
#[derive(Debug, Clone)]
pub struct IngestEvent {
    /// The stream in the store (regional streams are per tenant, so stores should prefix
    /// their branch, e.g. `store-42/sale-17`).
    pub stream: StreamId,
    /// Its version within that stream.
    pub stream_version: u64,
    /// The sealed event.
    pub event: SovereignFinancialEvent,
    /// The decrypted body, if the region projects it.
    pub body: Option<EventBody>,
}

/// What an ingest wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IngestReport {
    /// Events written now.
    pub inserted: usize,
    /// Events already stored (re-sent or sent by another forwarder), skipped.
    pub duplicates: usize,
    /// The highest position after the ingest.
    pub head_position: u64,
}

impl PgStore {
    /// Ingests a batch of events of any tenants in one transaction: events already stored
    /// (by id) are skipped, the rest get the next positions, their streams' versions and
    /// the projections move in the same transaction. Re-sending a batch writes nothing.
    ///
    /// Each tenant's rows are written under that tenant's RLS setting, so the role must be
    /// tenant-wide (`dcs_app`); a branch-scoped role may only ingest its own branch.
    ///
    /// Idempotency keys are not recorded: they name commands within the store that accepted
    /// them (two stores of a tenant may both send `sale-17/complete`), and that store has
    /// already enforced them; the region's dedup rule for forwarded events is the event id.
    /// Keys of regional [`append`](crate::EventStore::append)s live in `idempotency_keys`.
    pub async fn ingest(&self, batch: &[IngestEvent]) -> Result<IngestReport> {
        if batch.is_empty() || batch.len() > MAX_BATCH {
            return Err(StoreError::Invalid {
                field: "batch",
                reason: format!("a batch holds 1 to {MAX_BATCH} events, got {}", batch.len()),
            });
        }
        let mut by_tenant: BTreeMap<&TenantId, Vec<&IngestEvent>> = BTreeMap::new();
        for e in batch {
            by_tenant.entry(e.event.tenant_id()).or_default().push(e);
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        let mut head = lock_positions(&tx).await?;
        let mut report = IngestReport::default();
        let statement = tx.prepare_cached(INGEST_SQL).await.map_err(map_pg)?;
        for (tenant, events) in by_tenant {
            set_scope(&tx, tenant, self.scope.branch.as_ref()).await?;
            // Each event id once (the first copy).
            let sent = events.len();
            let mut ids = HashSet::with_capacity(sent);
            let events: Vec<&IngestEvent> =
                events.into_iter().filter(|e| ids.insert(e.event.event_id())).collect();
            let mut cols = Columns::default();
            for e in &events {
                cols.push(&e.event, 0, &e.stream, e.stream_version)?;
            }
            // One statement: skip stored ids, number the rest in batch order after the
            // head, insert them and move their streams' versions.
            let rows = tx
                .query(
                    &statement,
                    &[
                        &cols.event_id,
                        &cols.tenant,
                        &cols.branch,
                        &cols.stream,
                        &cols.version,
                        &cols.event_type,
                        &cols.amount,
                        &cols.currency,
                        &cols.hlc,
                        &cols.key,
                        &cols.bytes,
                        &(head as i64),
                    ],
                )
                .await
                .map_err(classify_insert)?;
            let inserted: HashSet<uuid::Uuid> = rows.iter().map(|r| r.get(0)).collect();
            let mut folds = Folds::new(&self.projector);
            for (e, id) in events.iter().zip(&cols.event_id) {
                if let (true, Some(body)) = (inserted.contains(id), &e.body) {
                    folds.apply(&self.projector, &e.event, body)?;
                }
            }
            head += inserted.len() as u64;
            report.inserted += inserted.len();
            report.duplicates += sent - inserted.len();
            add_rows(&tx, &folds.rows()).await?;
        }
        advance_positions(&tx, head).await?;
        tx.commit().await.map_err(map_pg)?;
        report.head_position = head;
        Ok(report)
    }

    /// The projection rows this handle's scope can see, ordered by key.
    pub async fn projection_rows(&self) -> Result<ProjectionRows> {
        self.in_scope(async |tx| super::projections::read_rows(tx).await).await
    }
}
