//! `EventStore` for `PgStore`: appends under the position claim, reads through RLS.

use std::collections::HashSet;
use std::future::Future;

use dcs_core::SovereignFinancialEvent;
use tokio_postgres::Transaction;
use tokio_postgres::error::SqlState;

use super::{PgStore, map_pg};
use crate::api::{AppendResult, EventStore, ExpectedVersion, Snapshot, StoredEvent, StreamId};
use crate::error::{Result, StoreError};

/// Most events accepted in one append or ingest.
pub const MAX_BATCH: usize = 10_000;
/// Most rows one read returns.
pub const MAX_READ: i64 = 100_000;

/// A stream's events from version `$2` on, at most `$3`: from the stream index, the run
/// that holds `$2` and the runs after it (their first rows are events of the answer); then
/// the other rows of those runs, by position, in one scan per partition.
const READ_STREAM: &str = "
WITH runs AS MATERIALIZED (
    (SELECT position, stream_id, stream_version, event, run_len FROM event_store
     WHERE tenant_id = dcs_tenant() AND stream_id = $1 AND run_len > 0 AND stream_version <= $2
     ORDER BY stream_version DESC LIMIT 1)
    UNION ALL
    (SELECT position, stream_id, stream_version, event, run_len FROM event_store
     WHERE tenant_id = dcs_tenant() AND stream_id = $1 AND run_len > 0 AND stream_version > $2
     ORDER BY stream_version LIMIT $3)
), rest AS (
    SELECT array_agg(p) AS positions
    FROM runs r, generate_series(r.position + 1, r.position + r.run_len - 1) AS p
)
SELECT position, stream_id, stream_version, event FROM runs WHERE stream_version >= $2
UNION ALL
SELECT e.position, e.stream_id, e.stream_version, e.event FROM event_store e
WHERE e.position = ANY ((SELECT positions FROM rest)::bigint[])
  AND e.tenant_id = dcs_tenant() AND e.stream_id = $1 AND e.stream_version >= $2
ORDER BY stream_version LIMIT $3";

/// The `SELECT` that turns [`Columns::params`] (`$1`…`$13`) back into rows, one column
/// per `event_store` column, named as in the table. The arrays are unnested in the select
/// list (a `ProjectSet`, which steps through them together) rather than in `FROM`, where
/// PostgreSQL first copies each array's elements into a tuplestore of its own: with 13
/// columns and 600-byte events that copying was about a fifth of the ingest statement.
macro_rules! unnest_columns {
    () => {
        "SELECT unnest($1::uuid[]) AS event_id, unnest($2::bigint[]) AS position,
                unnest($3::text[]) AS tenant_id, unnest($4::text[]) AS branch_id,
                unnest($5::text[]) AS stream_id, unnest($6::bigint[]) AS stream_version,
                unnest($7::smallint[]) AS event_type, unnest($8::bigint[]) AS amount_minor,
                unnest($9::text[]) AS currency, unnest($10::bigint[]) AS hlc_time,
                unnest($11::text[]) AS idempotency_key, unnest($12::bytea[]) AS event,
                unnest($13::int[]) AS run_len"
    };
}
pub(super) use unnest_columns;

/// The columns of a batch, as arrays for one `INSERT … SELECT FROM unnest(…)`; the
/// identifiers are borrowed from the events.
pub(super) struct Columns<'a> {
    pub event_id: Vec<uuid::Uuid>,
    pub position: Vec<i64>,
    pub tenant: Vec<&'a str>,
    pub branch: Vec<&'a str>,
    pub stream: Vec<&'a str>,
    pub version: Vec<i64>,
    pub event_type: Vec<i16>,
    pub amount: Vec<i64>,
    pub currency: Vec<String>,
    pub hlc: Vec<i64>,
    pub key: Vec<&'a str>,
    pub bytes: Vec<Vec<u8>>,
    pub run_len: Vec<i32>,
}

impl<'a> Columns<'a> {
    pub(super) fn with_capacity(n: usize) -> Self {
        Columns {
            event_id: Vec::with_capacity(n),
            position: Vec::with_capacity(n),
            tenant: Vec::with_capacity(n),
            branch: Vec::with_capacity(n),
            stream: Vec::with_capacity(n),
            version: Vec::with_capacity(n),
            event_type: Vec::with_capacity(n),
            amount: Vec::with_capacity(n),
            currency: Vec::with_capacity(n),
            hlc: Vec::with_capacity(n),
            key: Vec::with_capacity(n),
            bytes: Vec::with_capacity(n),
            run_len: Vec::with_capacity(n),
        }
    }

    /// Adds one event; `run_len` is the length of the run it starts, or 0 inside a run.
    pub(super) fn push(
        &mut self,
        event: &'a SovereignFinancialEvent,
        position: u64,
        (stream, version): (&'a StreamId, u64),
        run_len: usize,
    ) -> Result<()> {
        let run_len = i32::try_from(run_len).map_err(|_| StoreError::Invalid {
            field: "events",
            reason: format!("a run of {run_len} events is longer than a batch may be"),
        })?;
        // Room for the metadata beside the envelope, so the encoding does not regrow.
        let room = Vec::with_capacity(event.payload().envelope.len() + 512);
        let bytes = postcard::to_extend(event, room).map_err(|e| StoreError::Invalid {
            field: "events",
            reason: format!("event does not encode: {e}"),
        })?;
        self.event_id.push(uuid::Uuid::from_bytes(*event.event_id().as_bytes()));
        self.position.push(position as i64);
        self.tenant.push(event.tenant_id().as_str());
        self.branch.push(event.branch_id().as_str());
        self.stream.push(stream.as_str());
        self.version.push(version as i64);
        self.event_type.push(event.event_type().code() as i16);
        self.amount.push(event.amount().minor());
        self.currency.push(event.amount().currency().code().to_string());
        self.hlc.push(event.causality().hlc.time as i64);
        self.key.push(event.idempotency_key().as_str());
        self.bytes.push(bytes);
        self.run_len.push(run_len);
        Ok(())
    }

    /// The thirteen arrays, in `event_store`'s column order (the `$1`…`$13` of an
    /// `unnest` over them).
    pub(super) fn params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 13] {
        [
            &self.event_id,
            &self.position,
            &self.tenant,
            &self.branch,
            &self.stream,
            &self.version,
            &self.event_type,
            &self.amount,
            &self.currency,
            &self.hlc,
            &self.key,
            &self.bytes,
            &self.run_len,
        ]
    }

    /// Inserts the rows into `event_store` in one statement.
    pub(super) async fn insert(&self, tx: &Transaction<'_>) -> Result<()> {
        tx.execute(
            concat!(
                "INSERT INTO event_store (event_id, position, tenant_id, branch_id, stream_id, stream_version,
                     event_type, amount_minor, currency, hlc_time, idempotency_key, event, run_len) ",
                unnest_columns!()
            ),
            &self.params(),
        )
        .await
        .map_err(classify_insert)?;
        Ok(())
    }
}

/// A unique violation on the event id means the tenant already stored that event; on an
/// idempotency key, that the key was used.
pub(super) fn classify_insert(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error()
        && *db.code() == SqlState::UNIQUE_VIOLATION
    {
        let detail = db.detail().unwrap_or_default().to_string();
        if db.constraint().is_some_and(|c| c.starts_with("idempotency_keys")) {
            return StoreError::IdempotencyMismatch { key: detail };
        }
        return StoreError::DuplicateEvent(detail);
    }
    map_pg(e)
}

/// Validates a batch before any I/O: size, duplicate keys, and that every event belongs
/// to the handle's tenant (and branch).
pub(super) fn check_batch(store: &PgStore, events: &[SovereignFinancialEvent]) -> Result<()> {
    if events.is_empty() || events.len() > MAX_BATCH {
        return Err(StoreError::Invalid {
            field: "events",
            reason: format!("a batch holds 1 to {MAX_BATCH} events, got {}", events.len()),
        });
    }
    let mut seen = HashSet::with_capacity(events.len());
    for e in events {
        if !seen.insert(e.idempotency_key()) {
            return Err(StoreError::Invalid {
                field: "events",
                reason: format!(
                    "idempotency key {:?} appears twice in one batch",
                    e.idempotency_key().as_str()
                ),
            });
        }
        if e.tenant_id() != &store.scope.tenant {
            return Err(StoreError::Invalid {
                field: "events",
                reason: format!(
                    "event {} belongs to tenant {}, this handle to {}",
                    e.event_id(),
                    e.tenant_id(),
                    store.scope.tenant
                ),
            });
        }
    }
    Ok(())
}

/// Claims the next `n` positions for this transaction (0 only takes the position lock,
/// which is held until commit) and returns the head before them. Only the database's
/// `dcs_claim_positions` moves the counter; it checks at commit that every claimed position
/// holds exactly one event.
pub(super) async fn claim_positions(tx: &Transaction<'_>, n: usize) -> Result<u64> {
    let row =
        tx.query_one("SELECT dcs_claim_positions($1)", &[&(n as i64)]).await.map_err(map_pg)?;
    Ok(row.get::<_, i64>(0) as u64)
}

/// The append that already holds some of `events`' keys, if any: an exact retry (the same
/// events, to the same stream) gets the original result; a key that names another event,
/// or the same events re-sent to another stream, is [`StoreError::IdempotencyKeyReused`];
/// a batch that is partly old is [`StoreError::IdempotencyMismatch`].
async fn find_original(
    tx: &Transaction<'_>,
    stream: &StreamId,
    events: &[SovereignFinancialEvent],
) -> Result<Option<AppendResult>> {
    let keys: Vec<&str> = events.iter().map(|e| e.idempotency_key().as_str()).collect();
    let rows = tx
        .query(
            "SELECT k.key, k.first_position, k.last_position, k.stream_version, e.event_id, e.stream_id
             FROM idempotency_keys k
             LEFT JOIN event_store e ON e.tenant_id = k.tenant_id AND e.idempotency_key = k.key
                  AND e.position BETWEEN k.first_position AND k.last_position
             WHERE k.tenant_id = dcs_tenant() AND k.key = ANY($1)",
            &[&keys],
        )
        .await
        .map_err(map_pg)?;
    let Some(first) = rows.first() else { return Ok(None) };
    for r in &rows {
        let key: String = r.get(0);
        let stored: Option<uuid::Uuid> = r.get(4);
        let sent = events.iter().find(|e| e.idempotency_key().as_str() == key);
        let sent_id = sent.map(|e| uuid::Uuid::from_bytes(*e.event_id().as_bytes()));
        if stored.is_some() && stored != sent_id {
            let reason = format!(
                "it names event {}, this append sends event {}",
                stored.map_or_else(String::new, |u| u.to_string()),
                sent_id.map_or_else(String::new, |u| u.to_string())
            );
            return Err(StoreError::IdempotencyKeyReused { key, reason });
        }
        let stored_stream: Option<String> = r.get(5);
        if let Some(other) = stored_stream.filter(|s| s != stream.as_str()) {
            let reason = format!(
                "its events were appended to stream {other:?}, this append is to {:?}",
                stream.as_str()
            );
            return Err(StoreError::IdempotencyKeyReused { key, reason });
        }
    }
    let original: (i64, i64, i64) = (first.get(1), first.get(2), first.get(3));
    let same = rows.iter().all(|r| (r.get(1), r.get(2), r.get(3)) == original);
    let (f, l, v) = original;
    if same && rows.len() == events.len() && (l - f + 1) as usize == events.len() {
        return Ok(Some(AppendResult {
            first_position: f as u64,
            last_position: l as u64,
            stream_version: v as u64,
            deduplicated: true,
        }));
    }
    Err(StoreError::IdempotencyMismatch { key: first.get::<_, String>(0) })
}

async fn append_in(
    store: &PgStore,
    tx: &Transaction<'_>,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: &[SovereignFinancialEvent],
) -> Result<AppendResult> {
    // The position lock first: every check below then runs with no append in between.
    let head = claim_positions(tx, 0).await?;
    if let Some(dedup) = find_original(tx, stream, events).await? {
        return Ok(dedup);
    }
    let current = version_of(tx, stream).await?;
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
    // The append is one run: its first row carries the length, the others 0.
    let mut cols = Columns::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let run_len = if i == 0 { events.len() } else { 0 };
        cols.push(e, head + 1 + i as u64, (stream, current + 1 + i as u64), run_len)?;
    }
    claim_positions(tx, events.len()).await?;
    cols.insert(tx).await?;
    let (first, last, version) =
        (head + 1, head + events.len() as u64, current + events.len() as u64);
    let branch =
        store.scope.branch.as_ref().map_or_else(|| events[0].branch_id().as_str(), |b| b.as_str());
    tx.execute(
        "INSERT INTO idempotency_keys (tenant_id, key, branch_id, first_position, last_position, stream_version)
         SELECT dcs_tenant(), k, $2, $3, $4, $5 FROM unnest($1::text[]) AS k",
        &[&cols.key, &branch, &(first as i64), &(last as i64), &(version as i64)],
    )
    .await
    .map_err(classify_insert)?;
    Ok(AppendResult {
        first_position: first,
        last_position: last,
        stream_version: version,
        deduplicated: false,
    })
}

/// The version of `stream`: the end of its last run in the event log (0 if it has none).
async fn version_of(tx: &Transaction<'_>, stream: &StreamId) -> Result<u64> {
    Ok(tx
        .query_opt(
            "SELECT stream_version + run_len - 1 FROM event_store
             WHERE tenant_id = dcs_tenant() AND stream_id = $1 AND run_len > 0
             ORDER BY stream_version DESC LIMIT 1",
            &[&stream.as_str()],
        )
        .await
        .map_err(map_pg)?
        .map_or(0, |r| r.get::<_, i64>(0) as u64))
}

fn decode_rows(rows: Vec<tokio_postgres::Row>) -> Result<Vec<StoredEvent>> {
    rows.into_iter()
        .map(|r| {
            let position = r.get::<_, i64>(0) as u64;
            let bytes: Vec<u8> = r.get(3);
            let event = postcard::from_bytes(&bytes).map_err(|e| StoreError::Tampered {
                position,
                reason: format!("the event bytes do not decode: {e}"),
            })?;
            Ok(StoredEvent {
                position,
                stream_id: StreamId::new(r.get::<_, String>(1))?,
                stream_version: r.get::<_, i64>(2) as u64,
                event,
            })
        })
        .collect()
}

fn limit(n: usize) -> i64 {
    (n as i64).clamp(0, MAX_READ)
}

// The trait spells out `+ Send`; keeping the same shape here makes a non-Send future a
// compile error at this impl rather than at a distant tokio::spawn.
#[allow(clippy::manual_async_fn)]
impl EventStore for PgStore {
    fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[SovereignFinancialEvent],
    ) -> impl Future<Output = Result<AppendResult>> + Send {
        async move {
            check_batch(self, events)?;
            self.in_scope(async |tx| append_in(self, tx, stream, expected, events).await).await
        }
    }

    fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        n: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>>> + Send {
        async move {
            self.in_scope(async |tx| {
                // Cached per connection: the plan of this query over eight partitions costs
                // more than running it.
                let read = tx.prepare_cached(READ_STREAM).await.map_err(map_pg)?;
                let rows = tx
                    .query(&read, &[&stream.as_str(), &(from_version as i64), &limit(n)])
                    .await
                    .map_err(map_pg)?;
                decode_rows(rows)
            })
            .await
        }
    }

    fn read_all(
        &self,
        from_position: u64,
        n: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>>> + Send {
        async move {
            self.in_scope(async |tx| {
                let rows = tx
                    .query(
                        "SELECT position, stream_id, stream_version, event FROM event_store
                         WHERE position >= $1 ORDER BY position LIMIT $2",
                        &[&(from_position as i64), &limit(n)],
                    )
                    .await
                    .map_err(map_pg)?;
                decode_rows(rows)
            })
            .await
        }
    }

    fn stream_version(&self, stream: &StreamId) -> impl Future<Output = Result<u64>> + Send {
        async move { self.in_scope(async |tx| version_of(tx, stream).await).await }
    }

    fn head_position(&self) -> impl Future<Output = Result<u64>> + Send {
        async move {
            self.in_scope(async |tx| {
                let row = tx
                    .query_one("SELECT coalesce(max(position), 0) FROM event_store", &[])
                    .await
                    .map_err(map_pg)?;
                Ok(row.get::<_, i64>(0) as u64)
            })
            .await
        }
    }

    fn save_snapshot(&self, snapshot: &Snapshot) -> impl Future<Output = Result<()>> + Send {
        async move {
            let branch = self.scope.branch.as_ref().map_or("", |b| b.as_str()).to_string();
            self.in_scope(async |tx| {
                tx.execute(
                    "INSERT INTO snapshots (tenant_id, stream_id, branch_id, stream_version, state)
                     VALUES (dcs_tenant(), $1, $2, $3, $4)
                     ON CONFLICT (tenant_id, stream_id) DO UPDATE SET
                       stream_version = excluded.stream_version, state = excluded.state",
                    &[
                        &snapshot.stream_id.as_str(),
                        &branch,
                        &(snapshot.stream_version as i64),
                        &snapshot.state,
                    ],
                )
                .await
                .map_err(map_pg)?;
                Ok(())
            })
            .await
        }
    }

    fn load_snapshot(
        &self,
        stream: &StreamId,
    ) -> impl Future<Output = Result<Option<Snapshot>>> + Send {
        async move {
            self.in_scope(async |tx| {
                Ok(tx
                    .query_opt(
                        "SELECT stream_version, state FROM snapshots WHERE tenant_id = dcs_tenant() AND stream_id = $1",
                        &[&stream.as_str()],
                    )
                    .await
                    .map_err(map_pg)?
                    .map(|r| Snapshot {
                        stream_id: stream.clone(),
                        stream_version: r.get::<_, i64>(0) as u64,
                        state: r.get(1),
                    }))
            })
            .await
        }
    }
}
