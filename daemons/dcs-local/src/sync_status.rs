//! The store's sync status as terminals see it: recomputed from the store and the sync
//! link every second, and streamed to each `WatchSyncStatus` caller on every change.

use std::sync::Arc;
use std::time::Duration;

use dcs_proto::pb;
use dcs_store::sqlite::SqliteStore;
use tokio::sync::watch;
use tokio_stream::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::desk::now_ms;
use crate::sync_driver::Link;

/// The latest status and its subscribers.
#[derive(Clone)]
pub struct SyncStatusFeed {
    rx: watch::Receiver<pb::SyncStatus>,
}

impl SyncStatusFeed {
    /// Starts the task that refreshes the status from `store` until `stop`.
    pub fn start(
        store: Arc<SqliteStore>,
        link: watch::Receiver<Link>,
        stop: CancellationToken,
    ) -> Self {
        let (tx, rx) = watch::channel(pb::SyncStatus::default());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let s = Arc::clone(&store);
                let l = link.borrow().clone();
                let Ok(Ok(status)) = tokio::task::spawn_blocking(move || compute(&s, &l)).await
                else {
                    continue;
                };
                metrics::gauge!("dcs_local_outbox_depth").set(status.outbox_depth as f64);
                metrics::gauge!("dcs_local_outbox_oldest_age_seconds")
                    .set(status.oldest_unsynced_age_ms as f64 / 1000.0);
                tx.send_if_modified(|old| {
                    if *old == status {
                        false
                    } else {
                        *old = status;
                        true
                    }
                });
            }
        });
        Self { rx }
    }

    /// The current status, then every change.
    pub fn stream(
        &self,
    ) -> impl Stream<Item = Result<pb::SyncStatus, tonic::Status>> + Send + 'static {
        tokio_stream::wrappers::WatchStream::new(self.rx.clone()).map(Ok)
    }
}

/// Refusals the status carries at most (the store keeps them all).
const MAX_REJECTED: usize = 100;

fn compute(store: &SqliteStore, link: &Link) -> dcs_store::Result<pb::SyncStatus> {
    let head = store.head_position_sync()?;
    let acked = store.acked_position()?;
    let oldest = store.unacked(1)?.into_iter().next();
    let oldest_age =
        oldest.map_or(0, |e| now_ms().saturating_sub(e.event.causality().hlc.unix_ms()));
    let mut rejected: Vec<pb::RejectedEvent> = store
        .sync_rejections(MAX_REJECTED)?
        .into_iter()
        .map(|(_, event_id, reason)| pb::RejectedEvent { event_id, reason })
        .collect();
    rejected.reverse();
    Ok(pb::SyncStatus {
        online: link.online,
        outbox_depth: head.saturating_sub(acked),
        oldest_unsynced_age_ms: oldest_age,
        last_successful_sync_unix_ms: link.last_ack_unix_ms,
        lag: head.saturating_sub(acked),
        rejected,
    })
}
