//! Group commit: one writer thread takes the appends of all concurrent requests from a
//! bounded queue and commits as many as are waiting (up to a bound) in one durable
//! transaction, so sixteen terminals cost one fsync, not sixteen. Each append still succeeds
//! or fails on its own; a caller is answered only after the COMMIT.

use std::sync::Arc;

use dcs_core::SovereignFinancialEvent;
use dcs_core::commerce::EventBody;
use dcs_store::sqlite::{AppendRequest, SqliteStore};
use dcs_store::{AppendResult, ExpectedVersion, StoreError, StreamId};
use tokio::sync::{mpsc, oneshot};

use crate::error::{LocalError, Result};

/// One append waiting for the writer.
struct Job {
    stream: StreamId,
    expected: ExpectedVersion,
    events: Vec<SovereignFinancialEvent>,
    bodies: Vec<EventBody>,
    reply: oneshot::Sender<Result<AppendResult, StoreError>>,
}

/// The handle requests append through.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread over `store`: at most `queue` appends wait, at most `batch`
    /// go into one transaction.
    pub fn start(store: Arc<SqliteStore>, queue: usize, batch: usize) -> Result<Self> {
        let (tx, mut rx) = mpsc::channel::<Job>(queue.max(1));
        let batch = batch.max(1);
        std::thread::Builder::new()
            .name("dcs-local-writer".into())
            .spawn(move || {
                while let Some(first) = rx.blocking_recv() {
                    let mut jobs = vec![first];
                    while jobs.len() < batch {
                        match rx.try_recv() {
                            Ok(job) => jobs.push(job),
                            Err(_) => break,
                        }
                    }
                    commit(&store, jobs);
                }
            })
            .map_err(|e| LocalError::Setup(format!("cannot start the writer thread: {e}")))?;
        Ok(Self { queue: tx })
    }

    /// Appends `events` (with their facts) durably; answers after the group's COMMIT.
    pub async fn append(
        &self,
        stream: StreamId,
        expected: ExpectedVersion,
        events: Vec<SovereignFinancialEvent>,
        bodies: Vec<EventBody>,
    ) -> Result<AppendResult> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { stream, expected, events, bodies, reply })
            .await
            .map_err(|_| LocalError::Setup("the writer thread stopped".into()))?;
        let result =
            answer.await.map_err(|_| LocalError::Setup("the writer thread stopped".into()))?;
        Ok(result?)
    }
}

fn commit(store: &SqliteStore, jobs: Vec<Job>) {
    metrics::histogram!("dcs_local_group_commit_appends").record(jobs.len() as f64);
    let requests: Vec<AppendRequest<'_>> = jobs
        .iter()
        .map(|j| AppendRequest {
            stream: &j.stream,
            expected: j.expected,
            events: &j.events,
            bodies: &j.bodies,
        })
        .collect();
    match store.append_group(&requests) {
        Ok(results) => {
            drop(requests);
            for (job, result) in jobs.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
        }
        Err(e) => {
            drop(requests);
            let message = e.to_string();
            let mut first = Some(e);
            for job in jobs {
                // Every request of a failed group fails with the commit's error.
                let err = first.take().unwrap_or_else(|| same_error(&message));
                let _ = job.reply.send(Err(err));
            }
        }
    }
}

/// A copy of a group's error for the other requests of the group.
fn same_error(message: &str) -> StoreError {
    if message.starts_with("disk full") {
        StoreError::DiskFull
    } else {
        StoreError::Database(message.to_string())
    }
}
