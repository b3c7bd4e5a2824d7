//! Vector clocks: one counter per agent, compared as a partial order.

use alloc::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::AgentId;

/// How two vector clocks relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClockOrdering {
    /// Every counter of the left is ≤ the right's, and one is smaller: left happened before.
    Before,
    /// The right happened before the left.
    After,
    /// Identical clocks.
    Equal,
    /// Neither happened before the other.
    Concurrent,
}

/// A vector clock: the number of events seen from each agent (absent means zero).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VectorClock(BTreeMap<AgentId, u64>);

impl VectorClock {
    /// An empty clock.
    pub fn new() -> Self {
        Self::default()
    }

    /// The counter of `agent`.
    pub fn get(&self, agent: &AgentId) -> u64 {
        self.0.get(agent).copied().unwrap_or(0)
    }

    /// Sets the counter of `agent` (zero removes it, keeping the encoding canonical).
    pub fn set(&mut self, agent: AgentId, counter: u64) {
        if counter == 0 {
            self.0.remove(&agent);
        } else {
            self.0.insert(agent, counter);
        }
    }

    /// Counts one more event of `agent` and returns its new counter.
    pub fn increment(&mut self, agent: &AgentId) -> u64 {
        let slot = self.0.entry(agent.clone()).or_insert(0);
        *slot = slot.saturating_add(1);
        *slot
    }

    /// Takes the per-agent maximum of both clocks.
    pub fn merge(&mut self, other: &VectorClock) {
        for (agent, counter) in &other.0 {
            let slot = self.0.entry(agent.clone()).or_insert(0);
            *slot = (*slot).max(*counter);
        }
    }

    /// Compares two clocks.
    pub fn compare(&self, other: &VectorClock) -> ClockOrdering {
        let mut less = false;
        let mut greater = false;
        for agent in self.0.keys().chain(other.0.keys()) {
            let (a, b) = (self.get(agent), other.get(agent));
            less |= a < b;
            greater |= a > b;
        }
        match (less, greater) {
            (false, false) => ClockOrdering::Equal,
            (true, false) => ClockOrdering::Before,
            (false, true) => ClockOrdering::After,
            (true, true) => ClockOrdering::Concurrent,
        }
    }

    /// The (agent, counter) pairs in agent order.
    pub fn iter(&self) -> impl Iterator<Item = (&AgentId, u64)> {
        self.0.iter().map(|(a, c)| (a, *c))
    }

    /// Number of agents with a non-zero counter.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when no agent has a counter.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(AgentId, u64)> for VectorClock {
    fn from_iter<I: IntoIterator<Item = (AgentId, u64)>>(iter: I) -> Self {
        let mut clock = VectorClock::new();
        for (agent, counter) in iter {
            clock.set(agent, counter);
        }
        clock
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(n: &str) -> AgentId {
        AgentId::new(n).unwrap()
    }

    #[test]
    fn compare_cases() {
        let mut x = VectorClock::new();
        let mut y = VectorClock::new();
        assert_eq!(x.compare(&y), ClockOrdering::Equal);
        x.increment(&a("p1"));
        assert_eq!(x.compare(&y), ClockOrdering::After);
        assert_eq!(y.compare(&x), ClockOrdering::Before);
        y.increment(&a("p2"));
        assert_eq!(x.compare(&y), ClockOrdering::Concurrent);
        x.merge(&y);
        assert_eq!(x.compare(&y), ClockOrdering::After);
        y.set(a("p2"), 0);
        assert!(y.is_empty());
    }
}
