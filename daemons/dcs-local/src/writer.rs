//! Group commit: one writer thread takes the appends of all concurrent requests from a
//! bounded queue and commits as many as are waiting (up to a bound) in one durable
//! transaction, so sixteen terminals cost one fsync, not sixteen. Each append still succeeds
//! or fails on its own; a caller is answered only after the COMMIT.
//!
//! The same transaction tells the sync machine of every new event and writes every batch the
//! machine hands out (its checkpoint changes, the region's acks), so the event log is the
//! sync outbox and the checkpoint covers exactly the events on disk. The sync driver asks for
//! a flush (`Writer::flush`) when the machine has writes of its own to make durable.

use std::sync::Arc;

use dcs_core::SovereignFinancialEvent;
use dcs_core::commerce::EventBody;
use dcs_store::sqlite::{AppendRequest, SqliteStore};
use dcs_store::{AppendResult, ExpectedVersion, SnapshotWith, StoreError, StreamId};
use tokio::sync::{mpsc, oneshot};

use crate::error::{LocalError, Result};
use crate::sync_machine::SyncMachine;

/// One append waiting for the writer.
struct Append {
    stream: StreamId,
    expected: ExpectedVersion,
    events: Vec<SovereignFinancialEvent>,
    bodies: Vec<EventBody>,
    /// A snapshot to write in the same transaction if the append goes in.
    snapshot: Option<SnapshotWith>,
    reply: oneshot::Sender<Result<AppendResult, StoreError>>,
}

/// What the writer is asked to do.
enum Job {
    /// Append events.
    Append(Append),
    /// Make the sync machine's pending writes durable.
    Flush(oneshot::Sender<Result<(), StoreError>>),
}

/// The handle requests append through.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread over `store`: at most `queue` appends wait, at most `batch`
    /// go into one transaction.
    pub fn start(
        store: Arc<SqliteStore>,
        sync: Arc<SyncMachine>,
        queue: usize,
        batch: usize,
    ) -> Result<Self> {
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
                    commit(&store, &sync, jobs);
                }
            })
            .map_err(|e| LocalError::Setup(format!("cannot start the writer thread: {e}")))?;
        Ok(Self { queue: tx })
    }

    /// Appends `events` (with their facts) durably, and `snapshot` with them in the same
    /// transaction when the append goes in; answers after the group's COMMIT.
    pub async fn append(
        &self,
        stream: StreamId,
        expected: ExpectedVersion,
        events: Vec<SovereignFinancialEvent>,
        bodies: Vec<EventBody>,
        snapshot: Option<SnapshotWith>,
    ) -> Result<AppendResult> {
        let (reply, answer) = oneshot::channel();
        let job = Append { stream, expected, events, bodies, snapshot, reply };
        self.ask(Job::Append(job), answer).await
    }

    async fn ask<T>(
        &self,
        job: Job,
        answer: oneshot::Receiver<Result<T, StoreError>>,
    ) -> Result<T> {
        let stopped = || LocalError::Setup("the writer thread stopped".into());
        self.queue.send(job).await.map_err(|_| stopped())?;
        Ok(answer.await.map_err(|_| stopped())??)
    }

    /// Makes the sync machine's pending writes durable (one transaction, with whatever
    /// appends are waiting).
    pub async fn flush(&self) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.ask(Job::Flush(reply), answer).await
    }
}

fn commit(store: &SqliteStore, sync: &SyncMachine, jobs: Vec<Job>) {
    let mut appends = Vec::new();
    let mut flushes = Vec::new();
    for job in jobs {
        match job {
            Job::Append(a) => appends.push(a),
            Job::Flush(reply) => flushes.push(reply),
        }
    }
    metrics::histogram!("dcs_local_group_commit_appends").record(appends.len() as f64);
    let requests: Vec<AppendRequest<'_>> = appends
        .iter()
        .map(|j| AppendRequest {
            stream: &j.stream,
            expected: j.expected,
            events: &j.events,
            bodies: &j.bodies,
        })
        .collect();
    // The machine stays locked from its first append to the confirmation of the batches, so
    // no other batch of it can be confirmed in between.
    let mut machine = sync.lock();
    let now = sync.now();
    let snapshots: Vec<Option<SnapshotWith>> = appends.iter().map(|j| j.snapshot.clone()).collect();
    let outcome = store.append_group_synced_with(&requests, &snapshots, |results| {
        for (job, result) in appends.iter().zip(results) {
            let Ok(r) = result else { continue };
            if r.deduplicated {
                continue;
            }
            for (i, event) in job.events.iter().enumerate() {
                machine
                    .append_at(now, r.first_position + i as u64, event.clone(), job.bodies.get(i))
                    .map_err(|e| StoreError::Database(format!("the sync machine refused: {e}")))?;
            }
        }
        Ok(std::iter::from_fn(|| machine.poll_persist()).collect())
    });
    drop(requests);
    match outcome {
        Ok((results, batches)) => {
            let mut confirmed = Ok(());
            for b in batches {
                confirmed = confirmed.and(machine.handle_persisted(now, b.token, &[]));
            }
            drop(machine);
            if let Err(e) = confirmed {
                tracing::error!(error = %e, "the sync machine refused a confirmation");
            }
            sync.appended.notify_one();
            for (job, result) in appends.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
            for reply in flushes {
                let _ = reply.send(Ok(()));
            }
        }
        Err(e) => {
            drop(machine);
            // The machine may have taken events that were rolled back: restart it from
            // the file, which holds exactly what was committed.
            if let Err(reload) = sync.reload(store) {
                tracing::error!(error = %reload, "cannot restore the sync machine from the store");
            }
            tracing::warn!(error = %e, appends = appends.len(), "a group commit failed: nothing of it was stored");
            for job in appends {
                // Every request of a failed group fails with the commit's error.
                let _ = job.reply.send(Err(same_error(&e)));
            }
            for reply in flushes {
                let _ = reply.send(Err(same_error(&e)));
            }
        }
    }
}

/// A copy of a group's error for each request of the group (the kinds a terminal acts on
/// kept, the rest as their message).
fn same_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::DiskFull => StoreError::DiskFull,
        StoreError::Locked => StoreError::Locked,
        StoreError::ReadOnly { operation } => StoreError::ReadOnly { operation },
        StoreError::ReadOnlyFilesystem { path } => {
            StoreError::ReadOnlyFilesystem { path: path.clone() }
        }
        StoreError::Io(detail) => StoreError::Io(detail.clone()),
        other => StoreError::Database(other.to_string()),
    }
}
