//! The PostgreSQL sink: `PgStore::ingest_forwarded`, whose transaction moves the region's
//! forward cursor (refused by the database for a stale term or a moved cursor).

use std::path::PathBuf;

use dcs_store::StoreError;
use dcs_store::postgres::{IngestEvent, PgStore, Scope};
use dcs_store::sqlite::Accepted;
use dcs_sync::Item;
use serde::{Deserialize, Serialize};

use super::{Sink, SinkError};

/// `[forward.postgres]`: the regional PostgreSQL store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresSink {
    /// Connection URL without the password (`postgres://region_app@127.0.0.1:5432/dcs`);
    /// the login must be a member of `dcs_app`.
    pub url: String,
    /// File holding the login's password (0600), if the server asks for one.
    pub password_file: Option<PathBuf>,
    /// Connections in the pool.
    pub max_connections: usize,
}

impl Default for PostgresSink {
    fn default() -> Self {
        PostgresSink {
            url: "postgres://region_app@127.0.0.1:5432/dcs".into(),
            password_file: None,
            max_connections: 2,
        }
    }
}

impl PostgresSink {
    /// Connects a pool (lazily: the first forward reports a refused login).
    ///
    /// # Errors
    /// [`SinkError::Config`] for a bad URL or an unreadable password file.
    pub fn connect(&self) -> Result<PgStore, SinkError> {
        let mut config: tokio_postgres::Config = self
            .url
            .parse()
            .map_err(|e| SinkError::Config(format!("forward.postgres.url: {e}")))?;
        if let Some(path) = &self.password_file {
            let secret = zeroize::Zeroizing::new(std::fs::read(path).map_err(|e| {
                SinkError::Config(format!("forward.postgres.password_file {}: {e}", path.display()))
            })?);
            let end = secret.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(0, |i| i + 1);
            config.password(&secret[..end]);
        }
        // The forwarder writes every tenant: each tenant's share of a batch runs under that
        // tenant's RLS setting; this scope is only the handle's default.
        let scope = Scope {
            tenant: dcs_core::TenantId::new("dcs-forwarder")
                .map_err(|e| SinkError::Config(e.to_string()))?,
            branch: None,
        };
        PgStore::connect(config, scope, self.max_connections)
            .map_err(|e| SinkError::Config(format!("forward.postgres: {e}")))
    }
}

/// Forwards to PostgreSQL.
pub struct PgSink {
    store: PgStore,
    region: String,
}

impl PgSink {
    /// A sink for `region` (the cursor's key) over `store`.
    pub fn new(store: PgStore, region: impl Into<String>) -> Self {
        PgSink { store, region: region.into() }
    }
}

/// The stream an accepted event lands in: its store's, at its position there.
pub fn ingest_event(a: &Accepted) -> Option<IngestEvent> {
    let Item::Event(e) = &a.item else { return None };
    let stream = dcs_store::StreamId::new(a.child.to_string()).ok()?;
    Some(IngestEvent { stream, stream_version: a.child_pos, event: (**e).clone(), body: None })
}

fn sink_error(e: StoreError) -> SinkError {
    match e {
        StoreError::StaleTerm { .. } => SinkError::Fenced(e.to_string()),
        StoreError::CursorMoved { .. } => SinkError::Moved(e.to_string()),
        other => SinkError::Unavailable(other.to_string()),
    }
}

impl Sink for PgSink {
    fn name(&self) -> &'static str {
        "postgres"
    }

    async fn resume(&mut self, term: u64) -> Result<u64, SinkError> {
        let cursor = self.store.forward_cursor(&self.region).await.map_err(sink_error)?;
        match cursor {
            Some(c) if c.term > term => Err(SinkError::Fenced(format!(
                "the forward cursor of {} is at term {}, this leader's is {term}",
                self.region, c.term
            ))),
            Some(c) => Ok(c.position),
            None => Ok(0),
        }
    }

    async fn forward(
        &mut self,
        term: u64,
        from: u64,
        to: u64,
        items: &[Accepted],
    ) -> Result<(), SinkError> {
        let batch: Vec<IngestEvent> = items.iter().filter_map(ingest_event).collect();
        self.store
            .ingest_forwarded(&self.region, term, from, to, &batch)
            .await
            .map(|_| ())
            .map_err(sink_error)
    }
}
