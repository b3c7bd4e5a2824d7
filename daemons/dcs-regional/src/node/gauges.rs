//! The node's Raft state as Prometheus gauges (refreshed by the daemon every 50 ms) and its
//! readiness: a leader is known and this node has applied what is committed.

use crate::raft::Raft;
use openraft::async_runtime::WatchReceiver;

/// What the previous refresh saw (to count leader changes), and the readiness bound.
#[derive(Debug)]
pub struct Gauges {
    seen: Option<(u64, Option<u64>)>,
    ready_apply_lag: u64,
}

impl Gauges {
    /// Gauges for a node that is ready while at most `ready_apply_lag` committed entries wait
    /// to be applied.
    pub fn new(ready_apply_lag: u64) -> Self {
        Gauges { seen: None, ready_apply_lag }
    }

    /// Exports `raft`'s metrics; answers why the node is not ready (None when it is).
    pub fn refresh(&mut self, raft: &Raft) -> Option<String> {
        let m = raft.metrics().borrow_watched().clone();
        let index =
            |l: Option<openraft::alias::LogIdOf<crate::raft::TypeConfig>>| l.map_or(0, |l| l.index);
        let (applied, committed) = (index(m.last_applied), index(m.local_committed));
        let last_log = m.last_log_index.unwrap_or(0);
        metrics::gauge!("dcs_regional_term").set(m.current_term as f64);
        let leads = m.current_leader == Some(m.id);
        metrics::gauge!("dcs_regional_is_leader").set(if leads { 1.0 } else { 0.0 });
        metrics::gauge!("dcs_regional_leader_id").set(m.current_leader.unwrap_or(0) as f64);
        metrics::gauge!("dcs_regional_last_applied").set(applied as f64);
        metrics::gauge!("dcs_regional_commit_index").set(committed as f64);
        metrics::gauge!("dcs_regional_last_log_index").set(last_log as f64);
        metrics::gauge!("dcs_regional_apply_lag").set(committed.saturating_sub(applied) as f64);
        metrics::gauge!("dcs_regional_snapshot_index").set(index(m.snapshot) as f64);
        metrics::gauge!("dcs_regional_voters")
            .set(m.membership_config.membership().voter_ids().count() as f64);
        if let Some(replication) = &m.replication {
            for (node, matched) in replication {
                let lag = last_log.saturating_sub(index(*matched));
                metrics::gauge!("dcs_regional_replication_lag", "node" => node.to_string())
                    .set(lag as f64);
            }
        }
        let now = (m.current_term, m.current_leader);
        if self.seen.is_some_and(|s| s != now) && m.current_leader.is_some() {
            metrics::counter!("dcs_regional_leader_changes_total").increment(1);
        }
        if m.current_leader.is_some() {
            self.seen = Some(now);
        }
        match m.current_leader {
            None => Some("no leader known".into()),
            Some(_) if committed.saturating_sub(applied) > self.ready_apply_lag => {
                Some(format!("applying: {applied} of {committed} committed entries"))
            }
            Some(_) => None,
        }
    }
}
