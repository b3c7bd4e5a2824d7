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
        for (tenant, events) in by_tenant {
            set_scope(&tx, tenant, self.scope.branch.as_ref()).await?;
            let ids: Vec<uuid::Uuid> = events
                .iter()
                .map(|e| uuid::Uuid::from_bytes(*e.event.event_id().as_bytes()))
                .collect();
            let stored: HashSet<uuid::Uuid> = tx
                .query("SELECT event_id FROM event_store WHERE event_id = ANY($1)", &[&ids])
                .await
                .map_err(map_pg)?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let mut seen = HashSet::with_capacity(events.len());
            let mut cols = Columns::default();
            let mut folds = Folds::new(&self.projector);
            let mut streams: BTreeMap<(&str, &str), u64> = BTreeMap::new();
            for (e, id) in events.iter().zip(&ids) {
                if stored.contains(id) || !seen.insert(*id) {
                    report.duplicates += 1;
                    continue;
                }
                head += 1;
                cols.push(&e.event, head, &e.stream, e.stream_version)?;
                if let Some(body) = &e.body {
                    folds.apply(&self.projector, &e.event, body)?;
                }
                let v =
                    streams.entry((e.stream.as_str(), e.event.branch_id().as_str())).or_default();
                *v = (*v).max(e.stream_version);
            }
            if cols.position.is_empty() {
                continue;
            }
            report.inserted += cols.position.len();
            cols.insert(&tx).await?;
            tx.execute(
                "INSERT INTO idempotency_keys (tenant_id, key, branch_id, first_position, last_position, stream_version)
                 SELECT dcs_tenant(), k, b, p, p, v FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS u(k, b, p, v)
                 ON CONFLICT (tenant_id, key) DO NOTHING",
                &[&cols.key, &cols.branch, &cols.position, &cols.version],
            )
            .await
            .map_err(classify_insert)?;
            for ((stream, branch), version) in streams {
                tx.execute(
                    "INSERT INTO stream_metadata AS s (tenant_id, stream_id, branch_id, version) VALUES (dcs_tenant(), $1, $2, $3)
                     ON CONFLICT (tenant_id, stream_id) DO UPDATE SET version = greatest(s.version, excluded.version), updated_at = now()",
                    &[&stream, &branch, &(version as i64)],
                )
                .await
                .map_err(map_pg)?;
            }
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
