//! The simulated network: latency (and so reordering), loss, duplication, and partitions
//! (a store offline for hours, a region cut from the master).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::{NodeId, SplitMix64};

/// How messages travel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetConfig {
    /// Shortest one-way latency.
    pub latency_min_ms: u64,
    /// Longest one-way latency (each message draws its own: later sends can arrive first).
    pub latency_max_ms: u64,
    /// Probability a message is lost.
    pub loss: f64,
    /// Probability a message is delivered twice.
    pub duplicate: f64,
}

/// Windows `[start, end)` during which links are down.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Partitions {
    /// Per node: windows when it is cut off (a store offline, a region cut from the master).
    pub windows: BTreeMap<NodeId, Vec<(u64, u64)>>,
}

impl Partitions {
    fn cut(&self, node: NodeId, t: u64) -> bool {
        self.windows.get(&node).is_some_and(|w| w.iter().any(|&(s, e)| s <= t && t < e))
    }

    /// True when `a` and `b` can talk at `t`. A cut store is offline; a cut region still
    /// talks to its stores but not to the master.
    pub fn link_up(&self, a: NodeId, b: NodeId, t: u64) -> bool {
        let blocked = |x: NodeId, y: NodeId| match x {
            NodeId::Store(_) => self.cut(x, t),
            NodeId::Region(_) => y == NodeId::Master && self.cut(x, t),
            NodeId::Master => false,
        };
        !blocked(a, b) && !blocked(b, a)
    }

    /// Number of windows.
    pub fn count(&self) -> usize {
        self.windows.values().map(Vec::len).sum()
    }
}

/// Decides the fate of each message from the seeded generator.
#[derive(Debug, Clone)]
pub struct Net {
    /// Link behaviour.
    pub config: NetConfig,
    /// Partition windows.
    pub partitions: Partitions,
}

impl Net {
    /// The delivery times of a message sent from `a` to `b` at `now` (empty: lost).
    pub fn send(&self, rng: &mut SplitMix64, now: u64, a: NodeId, b: NodeId) -> Vec<u64> {
        if !self.partitions.link_up(a, b, now) || rng.chance(self.config.loss) {
            return Vec::new();
        }
        let copies = if rng.chance(self.config.duplicate) { 2 } else { 1 };
        (0..copies)
            .map(|_| now + rng.range(self.config.latency_min_ms, self.config.latency_max_ms))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_cut_the_right_links() {
        let mut p = Partitions::default();
        p.windows.insert(NodeId::Store(1), alloc::vec![(10, 20)]);
        p.windows.insert(NodeId::Region(0), alloc::vec![(30, 40)]);
        assert!(!p.link_up(NodeId::Store(1), NodeId::Region(0), 15));
        assert!(p.link_up(NodeId::Store(1), NodeId::Region(0), 20));
        assert!(
            p.link_up(NodeId::Store(2), NodeId::Region(0), 35),
            "stores still reach a cut region"
        );
        assert!(!p.link_up(NodeId::Master, NodeId::Region(0), 35));
        assert_eq!(p.count(), 2);
    }
}
