//! The node's driver: every replica computes the machine's outputs; on the leader they go to
//! the stores' streams, elsewhere they are dropped. The leader also proposes a tick when the
//! machine's timers are due. The clock it proposes is the wall clock in milliseconds for both
//! of the machine's clocks (the same base on every node; the replica never lets it go back).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dcs_sync::NodeId;
use openraft::async_runtime::WatchReceiver;
use tokio_util::sync::CancellationToken;

use super::Streams;
use crate::raft::{Raft, RegionStateMachine};
use crate::replica::{Clock, Input, Proposal};

/// The leader's clock for a proposal.
pub(crate) fn clock() -> Clock {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    Clock { mono_ms: ms, wall_ms: ms }
}

pub(crate) fn is_leader(raft: &Raft) -> bool {
    let m = raft.metrics().borrow_watched().clone();
    m.current_leader == Some(m.id)
}

/// Runs until `stop`: after every applied group (or every 20 ms, for the timers), sends (or
/// drops) the outputs and proposes due ticks.
pub(crate) async fn run(
    raft: Raft,
    sm: RegionStateMachine,
    streams: Streams,
    region: NodeId,
    stop: CancellationToken,
) {
    let mut tick_in_flight: Option<tokio::task::JoinHandle<()>> = None;
    let applied = std::sync::Arc::clone(sm.applied());
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = applied.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
        let leader = is_leader(&raft);
        // The replica is locked on the blocking pool: an apply can hold it for milliseconds,
        // and a runtime thread waiting on it would stall every task queued behind.
        let replica = std::sync::Arc::clone(sm.replica());
        let taken = tokio::task::spawn_blocking(move || {
            let mut r = match replica.lock() {
                Ok(r) => r,
                Err(p) => p.into_inner(),
            };
            let out: Vec<_> = std::iter::from_fn(|| r.poll_transmit()).collect();
            let due = r.poll_timeout().is_some_and(|t| t <= clock().mono_ms);
            (out, due)
        })
        .await;
        let Ok((out, due)) = taken else { continue };
        if leader {
            send(&streams, region, out);
        }
        if leader && due && tick_in_flight.as_ref().is_none_or(|t| t.is_finished()) {
            let raft = raft.clone();
            tick_in_flight = Some(tokio::spawn(async move {
                let p = Proposal { clock: clock(), input: Input::Tick };
                if let Err(e) = raft.client_write(p).await {
                    tracing::debug!(error = %e, "tick not proposed");
                }
            }));
        }
    }
}

fn send(streams: &Streams, region: NodeId, out: Vec<(NodeId, dcs_sync::Message)>) {
    let map = match streams.lock() {
        Ok(m) => m,
        Err(p) => p.into_inner(),
    };
    for (to, msg) in out {
        let Some(tx) = map.get(&to) else { continue };
        match dcs_proto::sync_to_pb(region, &msg) {
            // A full queue drops the message: the machine retransmits.
            Ok(env) => {
                let _ = tx.try_send(Ok(env));
            }
            Err(e) => tracing::error!(error = %e, to = %to, "cannot encode a sync message"),
        }
    }
}
