//! Bulk ingest for the regional forwarder: batches from many stores, idempotent on each
//! tenant's event ids.
//!
//! A batch is one transaction that holds the position lock (so positions stay gap-free and
//! commit-ordered) and writes each tenant's share under that tenant's RLS setting. Each
//! tenant's events are put in runs first: a stream's events of the batch (in batch order)
//! go to consecutive positions, so the stream index gets one entry per stream of the
//! batch rather than one per event. Then one of two ways:
//! - the fast one, for the common case of a batch with nothing stored yet: one claim of
//!   positions for the whole batch (`dcs_claim_positions`, which takes the position
//!   lock), then one `INSERT` per partition the events fall in (the client computes the
//!   server's hash partitioning, so each statement opens one partition and its indexes,
//!   not eight), each row at the claim's first position plus its offset. The requests go
//!   out without waiting for each other's answers, the client encoding the next while the
//!   server inserts. The primary key still decides: an event id the tenant has stored
//!   makes a statement fail, and the whole transaction is rolled back and done again
//! - the careful way: the position lock, then per tenant one probe for the ids it has
//!   stored; the rest are claimed and numbered in batch order, each its own run.
//!
//! The database checks the positions either way: a row outside its transaction's claim is
//! refused by a policy, and at commit each claimed position must hold exactly one event.
//! Ingest writes no idempotency keys and no `stream_metadata` rows: the stores deduplicated
//! their commands by key before the events existed, and a stream's version is read from
//! the stream index (see `schema_v3.sql`), which covers forwarded streams too.
//!
//! A forward of the region's Raft leader ([`PgStore::ingest_forwarded`]) is the same
//! ingest with one more step, first in each attempt's transaction: its region's cursor
//! moves (see `forward.rs`), so a refused forwarder writes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};

use dcs_core::commerce::EventBody;
use dcs_core::{BranchId, SovereignFinancialEvent, TenantId};
use tokio_postgres::error::SqlState;

use super::append::{Columns, MAX_BATCH, claim_positions, unnest_columns};
use super::forward::Advance;
use super::partition::{PARTITIONS, partition_of};
use super::pipeline::Pipeline;
use super::projections::add_rows;
use super::{PgStore, SCOPE_SQL, map_pg, set_scope};
use crate::api::StreamId;
use crate::error::{Result, StoreError};
use crate::projection::{Folds, ProjectionRows};

/// Inserts one partition's rows at the first position this transaction claimed plus their
/// offsets (`$2`, counted from 1 over the batch's claim). The claim (the `dcs_claim` view)
/// is a scalar subquery, an InitPlan read once per statement, as in the database's policy,
/// which checks each row is inside the claim.
const FAST_SQL: &str = concat!(
    "INSERT INTO event_store (event_id, position, tenant_id, branch_id, stream_id, stream_version,
                          event_type, amount_minor, currency, hlc_time, idempotency_key, event, run_len)
     SELECT i.event_id, (SELECT claimed_from FROM dcs_claim) - 1 + i.position, i.tenant_id, i.branch_id,
            i.stream_id, i.stream_version, i.event_type, i.amount_minor, i.currency, i.hlc_time,
            i.idempotency_key, i.event, i.run_len
     FROM (",
    unnest_columns!(),
    ") i"
);

/// The ids of `$1` the scope's tenant has already stored.
const STORED_SQL: &str = "SELECT event_id FROM event_store WHERE tenant_id = dcs_tenant() AND event_id = ANY($1::uuid[])";

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

/// Which statement an attempt uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Fast,
    Careful,
}

/// One tenant's share of a batch, each event id once (its first copy).
struct Group<'a> {
    tenant: &'a TenantId,
    sent: usize,
    events: Vec<&'a IngestEvent>,
}

impl PgStore {
    /// Ingests a batch of events of any tenants in one transaction: events already stored
    /// (by id) are skipped, the rest get the next positions (each stream's events of the
    /// batch consecutive, in batch order) and the projections move in the same
    /// transaction. Re-sending a batch writes nothing.
    ///
    /// Each tenant's rows are written under that tenant's RLS setting, so the role must be
    /// tenant-wide (`dcs_app`); a branch-scoped role may only ingest its own branch.
    pub async fn ingest(&self, batch: &[IngestEvent]) -> Result<IngestReport> {
        self.ingest_with(batch, None).await
    }

    /// [`PgStore::ingest`], moving a forwarder's cursor (if any) first in the transaction
    /// of each attempt.
    pub(super) async fn ingest_with(
        &self,
        batch: &[IngestEvent],
        cursor: Option<&Advance<'_>>,
    ) -> Result<IngestReport> {
        if batch.is_empty() || batch.len() > MAX_BATCH {
            return Err(StoreError::Invalid {
                field: "batch",
                reason: format!("a batch holds 1 to {MAX_BATCH} events, got {}", batch.len()),
            });
        }
        let groups = group(batch);
        let mut client = self.client().await?;
        {
            let tx = client.transaction().await.map_err(map_pg)?;
            match self.ingest_in(&tx, cursor, &groups, Mode::Fast).await {
                Ok(report) => {
                    tx.commit().await.map_err(map_pg)?;
                    return Ok(report);
                }
                Err(Attempt::Collided) => tx.rollback().await.map_err(map_pg)?,
                Err(Attempt::Failed(e)) => return Err(e),
            }
        }
        let tx = client.transaction().await.map_err(map_pg)?;
        let report = self
            .ingest_in(&tx, cursor, &groups, Mode::Careful)
            .await
            .map_err(Attempt::into_error)?;
        tx.commit().await.map_err(map_pg)?;
        Ok(report)
    }

    /// One attempt at the whole batch in `tx`, which the caller commits or rolls back.
    ///
    /// The cursor moves first: a refused forwarder fails before it writes, and the cursor's
    /// row lock, held until commit, makes two forwarders of one region take turns.
    async fn ingest_in(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        cursor: Option<&Advance<'_>>,
        groups: &[Group<'_>],
        mode: Mode,
    ) -> std::result::Result<IngestReport, Attempt> {
        if let Some(cursor) = cursor {
            cursor.run(tx).await?;
        }
        match mode {
            Mode::Fast => self.ingest_fast(tx, groups).await,
            Mode::Careful => self.ingest_careful(tx, groups).await,
        }
    }

    /// The fast statements, pipelined: the position lock (or the next tenant's scope),
    /// then one insert per partition the tenant's rows fall in, then the head; each request
    /// is sent while the client encodes the next.
    async fn ingest_fast(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        groups: &[Group<'_>],
    ) -> std::result::Result<IngestReport, Attempt> {
        let branch = self.scope.branch.as_ref().map_or("", |b| b.as_str());
        // Prepared first (each once per connection), so that every request below goes out
        // as one message, in order.
        let lock = tx.prepare_cached(LOCK_SQL).await.map_err(map_pg)?;
        let scope = tx.prepare_cached(SCOPE_SQL).await.map_err(map_pg)?;
        let insert = tx.prepare_cached(FAST_SQL).await.map_err(map_pg)?;
        let insert = &insert;
        // One claim for the whole batch, each tenant's share after the previous one's.
        let total = groups.iter().map(|g| g.events.len() as i64).sum::<i64>();
        let mut report = IngestReport::default();
        let mut base = 0u64;
        for (n, g) in groups.iter().enumerate() {
            // Each answer: the head before the claim, from the first request.
            let mut pipeline: Pipeline<'_, std::result::Result<Option<u64>, Attempt>> =
                Pipeline::new();
            let tenant = g.tenant.as_str();
            if n == 0 {
                let lock = &lock;
                pipeline
                    .send(async move {
                        let row = tx
                            .query_one(lock, &[&tenant, &branch, &total])
                            .await
                            .map_err(map_pg)?;
                        Ok(Some(row.get::<_, i64>(0) as u64))
                    })
                    .await;
            } else {
                let scope = &scope;
                pipeline
                    .send(async move {
                        tx.query_one(scope, &[&tenant, &branch]).await.map_err(map_pg)?;
                        Ok(None)
                    })
                    .await;
            }
            for part in by_partition(&g.events, base) {
                let mut cols = Columns::with_capacity(part.len());
                for (offset, e, run_len) in part {
                    cols.push(&e.event, offset, (&e.stream, e.stream_version), run_len)?;
                }
                pipeline
                    .send(async move {
                        tx.execute(insert, &cols.params()).await.map_err(Attempt::from_insert)?;
                        Ok(None)
                    })
                    .await;
            }
            for answer in pipeline.answers().await {
                if let Some(head) = answer? {
                    report.head_position = head + total as u64;
                }
            }
            self.project(tx, &g.events).await?;
            base += g.events.len() as u64;
            report.inserted += g.events.len();
            report.duplicates += g.sent - g.events.len();
        }
        Ok(report)
    }

    /// The careful way: the position lock first, then per tenant the ids it has stored
    /// are skipped and the rest claimed and numbered after the head, each its own run.
    async fn ingest_careful(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        groups: &[Group<'_>],
    ) -> std::result::Result<IngestReport, Attempt> {
        let Some(first) = groups.first() else { return Ok(IngestReport::default()) };
        let mut head = lock_in_scope(tx, first.tenant, self.scope.branch.as_ref()).await?;
        let stored_sql = tx.prepare_cached(STORED_SQL).await.map_err(map_pg)?;
        let mut report = IngestReport::default();
        for (n, g) in groups.iter().enumerate() {
            if n > 0 {
                set_scope(tx, g.tenant, self.scope.branch.as_ref()).await?;
            }
            let ids: Vec<uuid::Uuid> = g
                .events
                .iter()
                .map(|e| uuid::Uuid::from_bytes(*e.event.event_id().as_bytes()))
                .collect();
            let stored: HashSet<uuid::Uuid> = tx
                .query(&stored_sql, &[&ids])
                .await
                .map_err(map_pg)?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let written: Vec<&IngestEvent> = g
                .events
                .iter()
                .zip(&ids)
                .filter(|(_, id)| !stored.contains(id))
                .map(|(e, _)| *e)
                .collect();
            if !written.is_empty() {
                claim_positions(tx, written.len()).await?;
                let mut cols = Columns::with_capacity(written.len());
                for (i, e) in written.iter().enumerate() {
                    cols.push(&e.event, head + 1 + i as u64, (&e.stream, e.stream_version), 1)?;
                }
                cols.insert(tx).await?;
            }
            self.project(tx, &written).await?;
            head += written.len() as u64;
            report.inserted += written.len();
            report.duplicates += g.sent - written.len();
        }
        report.head_position = head;
        Ok(report)
    }

    /// Moves the projections by the bodies of the events just written, in the tenant's scope.
    async fn project(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        written: &[&IngestEvent],
    ) -> Result<()> {
        let mut folds = Folds::new(&self.projector);
        for e in written {
            if let Some(body) = &e.body {
                folds.apply(&self.projector, &e.event, body)?;
            }
        }
        add_rows(tx, &folds.rows()).await
    }

    /// The projection rows this handle's scope can see, ordered by key.
    pub async fn projection_rows(&self) -> Result<ProjectionRows> {
        self.in_scope(async |tx| super::projections::read_rows(tx).await).await
    }
}

/// How an attempt ended short of success.
enum Attempt {
    /// The fast statement met a stored event id: do it carefully.
    Collided,
    /// Anything else, reported as is.
    Failed(StoreError),
}

impl Attempt {
    fn from_insert(e: tokio_postgres::Error) -> Attempt {
        match e.as_db_error() {
            Some(db) if *db.code() == SqlState::UNIQUE_VIOLATION => Attempt::Collided,
            _ => Attempt::Failed(map_pg(e)),
        }
    }

    /// The error of a careful attempt (which classifies its own unique violations).
    fn into_error(self) -> StoreError {
        match self {
            Attempt::Collided => StoreError::Database(
                "a stored event appeared while the position lock was held".into(),
            ),
            Attempt::Failed(e) => e,
        }
    }
}

impl From<StoreError> for Attempt {
    fn from(e: StoreError) -> Attempt {
        Attempt::Failed(e)
    }
}

/// Claims `$3` positions (the position lock, held until commit, so positions are handed out
/// in commit order) and sets the RLS scope (`$1` tenant, `$2` branch or `''`); returns the
/// head before the claim.
const LOCK_SQL: &str = "SELECT dcs_claim_positions($3), set_config('dcs.tenant_id', $1, true),
     set_config('dcs.branch_id', $2, true)";

/// [`LOCK_SQL`] for no positions yet, in one round trip; returns the head position.
async fn lock_in_scope(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: &TenantId,
    branch: Option<&BranchId>,
) -> Result<u64> {
    let row = tx
        .query_one(LOCK_SQL, &[&tenant.as_str(), &branch.map_or("", |b| b.as_str()), &0i64])
        .await
        .map_err(map_pg)?;
    Ok(row.get::<_, i64>(0) as u64)
}

/// The batch by tenant, each event id once, each tenant's events in runs: streams in the
/// order they first appear in the batch, a stream's events in batch order.
fn group(batch: &[IngestEvent]) -> Vec<Group<'_>> {
    let mut by_tenant: BTreeMap<&TenantId, Group<'_>> = BTreeMap::new();
    // Event ids are the tenant's own: the same id under two tenants is two events.
    let mut ids = HashSet::with_capacity(batch.len());
    for e in batch {
        let tenant = e.event.tenant_id();
        let g = by_tenant.entry(tenant).or_insert_with(|| Group {
            tenant,
            sent: 0,
            events: Vec::new(),
        });
        g.sent += 1;
        if ids.insert((tenant, e.event.event_id())) {
            g.events.push(e);
        }
    }
    let mut groups: Vec<Group<'_>> = by_tenant.into_values().collect();
    for g in &mut groups {
        let mut first_seen: HashMap<&str, usize> = HashMap::new();
        for (i, e) in g.events.iter().enumerate() {
            first_seen.entry(e.stream.as_str()).or_insert(i);
        }
        // A stable sort: within a stream the batch order stays.
        g.events.sort_by_key(|e| first_seen.get(e.stream.as_str()).copied().unwrap_or(0));
    }
    groups
}

/// A tenant's ordered events split by the partition their ids fall in, each with its offset
/// (from `base + 1`, in the tenant's order) and run length.
fn by_partition<'a>(
    events: &[&'a IngestEvent],
    base: u64,
) -> Vec<Vec<(u64, &'a IngestEvent, usize)>> {
    let mut parts: Vec<Vec<(u64, &IngestEvent, usize)>> = vec![Vec::new(); PARTITIONS];
    for (i, (e, run_len)) in events.iter().zip(run_lengths(events)).enumerate() {
        parts[partition_of(e.event.event_id().as_bytes())].push((base + 1 + i as u64, e, run_len));
    }
    parts.retain(|p| !p.is_empty());
    parts
}

/// The run length of each event of a tenant's ordered events: at a run's first event the
/// number of events in the run (same stream, each version one more than the last), else 0.
fn run_lengths(events: &[&IngestEvent]) -> Vec<usize> {
    let mut lengths = vec![0; events.len()];
    let mut start = 0;
    for i in 1..=events.len() {
        let continues = i < events.len()
            && events[i].stream == events[i - 1].stream
            && events[i - 1].stream_version.checked_add(1) == Some(events[i].stream_version);
        if !continues {
            lengths[start] = i - start;
            start = i;
        }
    }
    lengths
}
