//! Liveness: heartbeats, failure detection with configurable timeouts, and the agent registry.

use alloc::collections::{BTreeMap, VecDeque};

use crate::messages::NodeId;

/// Timeouts of the failure detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LivenessConfig {
    /// Silence after which an agent is suspected.
    pub suspect_after_ms: u64,
    /// Silence after which an agent is declared failed.
    pub fail_after_ms: u64,
}

impl Default for LivenessConfig {
    fn default() -> Self {
        LivenessConfig { suspect_after_ms: 30_000, fail_after_ms: 120_000 }
    }
}

/// What the detector thinks of an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    /// Heard from recently.
    Alive,
    /// Silent longer than `suspect_after_ms`.
    Suspect,
    /// Silent longer than `fail_after_ms`.
    Failed,
}

/// One row of the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentRecord {
    /// When it was last heard from (machine time, ms); None if never.
    pub last_seen: Option<u64>,
    /// Its last reported lag (unacknowledged outbox items).
    pub lag: u64,
    /// Current verdict.
    pub health: Health,
}

/// A change of verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LivenessEvent {
    /// The agent went silent.
    Suspected(NodeId),
    /// The agent is considered down.
    Failed(NodeId),
    /// A suspected or failed agent was heard from again.
    Recovered(NodeId),
}

/// Registry of agents with last-seen and lag, and a timeout-driven failure detector.
#[derive(Debug, Clone)]
pub struct Liveness {
    config: LivenessConfig,
    agents: BTreeMap<NodeId, AgentRecord>,
    registered_at: u64,
    events: VecDeque<LivenessEvent>,
}

impl Liveness {
    /// A registry of `agents`, all considered alive as of `now`.
    pub fn new(config: LivenessConfig, agents: impl IntoIterator<Item = NodeId>, now: u64) -> Self {
        let agents = agents
            .into_iter()
            .map(|a| (a, AgentRecord { last_seen: None, lag: 0, health: Health::Alive }))
            .collect();
        Liveness { config, agents, registered_at: now, events: VecDeque::new() }
    }

    /// Records that `agent` was heard from at `now` with `lag`.
    pub fn observe(&mut self, now: u64, agent: NodeId, lag: u64) {
        let rec = self.agents.entry(agent).or_insert(AgentRecord {
            last_seen: None,
            lag: 0,
            health: Health::Alive,
        });
        if rec.health != Health::Alive {
            self.events.push_back(LivenessEvent::Recovered(agent));
        }
        rec.last_seen = Some(rec.last_seen.map_or(now, |t| t.max(now)));
        rec.lag = lag;
        rec.health = Health::Alive;
    }

    /// Re-evaluates every agent at `now`.
    pub fn handle_timeout(&mut self, now: u64) {
        for (id, rec) in self.agents.iter_mut() {
            let silent = now.saturating_sub(rec.last_seen.unwrap_or(self.registered_at));
            let verdict = if silent >= self.config.fail_after_ms {
                Health::Failed
            } else if silent >= self.config.suspect_after_ms {
                Health::Suspect
            } else {
                Health::Alive
            };
            if verdict > rec.health {
                self.events.push_back(match verdict {
                    Health::Failed => LivenessEvent::Failed(*id),
                    _ => LivenessEvent::Suspected(*id),
                });
                rec.health = verdict;
            }
        }
    }

    /// The next time a verdict can change.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.agents
            .values()
            .filter_map(|rec| {
                let seen = rec.last_seen.unwrap_or(self.registered_at);
                match rec.health {
                    Health::Alive => Some(seen + self.config.suspect_after_ms),
                    Health::Suspect => Some(seen + self.config.fail_after_ms),
                    Health::Failed => None,
                }
            })
            .min()
    }

    /// The next verdict change to report.
    pub fn poll_event(&mut self) -> Option<LivenessEvent> {
        self.events.pop_front()
    }

    /// The registry row of `agent`.
    pub fn get(&self, agent: NodeId) -> Option<&AgentRecord> {
        self.agents.get(&agent)
    }

    /// All rows, ordered by node id.
    pub fn agents(&self) -> impl Iterator<Item = (&NodeId, &AgentRecord)> {
        self.agents.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suspects_then_fails_then_recovers() {
        let cfg = LivenessConfig { suspect_after_ms: 10, fail_after_ms: 30 };
        let s = NodeId::Store(1);
        let mut l = Liveness::new(cfg, [s, NodeId::Store(2)], 0);
        l.observe(5, s, 4);
        assert_eq!(l.poll_timeout(), Some(10), "store 2 never seen: suspect at 0 + 10");
        l.handle_timeout(14);
        assert_eq!(l.poll_event(), Some(LivenessEvent::Suspected(NodeId::Store(2))));
        assert_eq!(l.poll_event(), None);
        l.handle_timeout(15);
        assert_eq!(l.poll_event(), Some(LivenessEvent::Suspected(s)));
        l.handle_timeout(35);
        assert_eq!(l.poll_event(), Some(LivenessEvent::Failed(s)));
        assert_eq!(l.poll_event(), Some(LivenessEvent::Failed(NodeId::Store(2))));
        assert_eq!(
            l.get(s).map(|r| (r.health, r.lag, r.last_seen)),
            Some((Health::Failed, 4, Some(5)))
        );
        l.observe(40, s, 0);
        assert_eq!(l.poll_event(), Some(LivenessEvent::Recovered(s)));
        assert_eq!(l.get(s).map(|r| r.health), Some(Health::Alive));
        assert_eq!(l.poll_timeout(), Some(50));
    }
}
