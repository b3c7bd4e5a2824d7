//! Causal contexts: the compact record of every dot a replica has seen.

use alloc::collections::BTreeSet;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Dot, MaxMap, ReplicaId};

/// Every dot a replica has seen, kept as a version vector plus a "cloud" of out-of-order dots.
///
/// A dot `(r, n)` is seen when `n ≤ vv[r]` or it is in the cloud. Cloud dots that become
/// contiguous with the vector are folded into it, so a replica that has received everything has
/// an empty cloud and the context costs one counter per replica, whatever was removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
pub struct CausalContext {
    vv: MaxMap<ReplicaId>,
    cloud: BTreeSet<Dot>,
}

impl CausalContext {
    /// The context that has seen nothing.
    #[must_use]
    pub const fn new() -> Self {
        Self { vv: MaxMap::new(), cloud: BTreeSet::new() }
    }

    /// Whether `dot` has been seen.
    #[must_use]
    pub fn contains(&self, dot: &Dot) -> bool {
        dot.counter <= self.vv.get(&dot.replica)
            || (!self.cloud.is_empty() && self.cloud.contains(dot))
    }

    /// The next unused dot of `replica` (not recorded; see [`CausalContext::insert`]).
    #[must_use]
    pub fn next_dot(&self, replica: ReplicaId) -> Dot {
        let in_vv = self.vv.get(&replica);
        let in_cloud = self
            .cloud
            .range(Dot::new(replica, 0)..=Dot::new(replica, u64::MAX))
            .next_back()
            .map_or(0, |d| d.counter);
        Dot::new(replica, in_vv.max(in_cloud).saturating_add(1))
    }

    /// Records `dot` as seen.
    pub fn insert(&mut self, dot: Dot) {
        let seen = self.vv.get(&dot.replica);
        if dot.counter == seen.saturating_add(1) {
            self.vv.raise(dot.replica, dot.counter);
            self.compact_replica(dot.replica);
        } else if dot.counter > seen {
            self.cloud.insert(dot);
        }
    }

    /// Joins `other` into `self`: afterwards every dot seen by either is seen.
    pub fn join(&mut self, other: &Self) {
        self.vv.join(&other.vv);
        if !self.cloud.is_empty() {
            // A raised vector may now cover, or continue into, dots of my cloud.
            for (replica, _) in other.vv.iter() {
                self.compact_replica(replica);
            }
        }
        // Their cloud, one replica's run at a time: dots that continue my vector raise it
        // directly, so a causally delivered delta never passes through my cloud.
        let mut theirs = other.cloud.iter().copied().peekable();
        while let Some(first) = theirs.peek().copied() {
            let replica = first.replica;
            let start = self.vv.get(&replica);
            let mut seen = start;
            while let Some(dot) = theirs.next_if(|d| d.replica == replica) {
                if dot.counter == seen.saturating_add(1) {
                    seen = dot.counter;
                } else if dot.counter > seen {
                    self.cloud.insert(dot);
                }
            }
            if seen > start {
                self.vv.raise(replica, seen);
                self.compact_replica(replica);
            }
        }
    }

    /// The contiguous part: for each replica, the highest counter up to which all dots were seen.
    #[must_use]
    pub fn version_vector(&self) -> &MaxMap<ReplicaId> {
        &self.vv
    }

    /// Seen dots that are not contiguous with the version vector.
    pub fn cloud(&self) -> impl Iterator<Item = Dot> + '_ {
        self.cloud.iter().copied()
    }

    /// Serializes as this context with `cloud` (sorted) in place of its own cloud (a delta's
    /// slim wire form leaves out the dots its entries carry).
    pub(crate) fn serialize_with_cloud<S: Serializer>(
        &self,
        cloud: &[Dot],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut wire = serializer.serialize_struct("CausalContext", 2)?;
        wire.serialize_field("vv", &self.vv)?;
        wire.serialize_field("cloud", cloud)?;
        wire.end()
    }

    /// Folds cloud dots that are contiguous with (or covered by) the vector into it.
    ///
    /// Costs a few lookups per replica that has cloud dots plus the dots folded, not a pass over
    /// the whole cloud, so a large cloud stuck behind a lost delta does not slow every join.
    fn compact(&mut self) {
        let mut next = self.cloud.first().map(|d| d.replica);
        while let Some(replica) = next {
            self.compact_replica(replica);
            next = replica.0.checked_add(1).and_then(|after| {
                self.cloud.range(Dot::new(ReplicaId(after), 0)..).next().map(|d| d.replica)
            });
        }
    }

    /// Folds the leading cloud dots of `replica` that extend its vector entry.
    fn compact_replica(&mut self, replica: ReplicaId) {
        if self.cloud.is_empty() {
            return;
        }
        let mut seen = self.vv.get(&replica);
        while let Some(&dot) =
            self.cloud.range(Dot::new(replica, 0)..=Dot::new(replica, u64::MAX)).next()
        {
            if dot.counter > seen.saturating_add(1) {
                break;
            }
            self.cloud.remove(&dot);
            seen = seen.max(dot.counter);
        }
        self.vv.raise(replica, seen);
    }
}

/// Decoded form before compaction.
#[derive(Deserialize)]
struct ContextWire {
    vv: MaxMap<ReplicaId>,
    cloud: BTreeSet<Dot>,
}

impl<'de> Deserialize<'de> for CausalContext {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let ContextWire { vv, cloud } = ContextWire::deserialize(deserializer)?;
        let mut context = Self { vv, cloud };
        context.compact();
        Ok(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_order_dots_fold_into_the_vector() {
        let r = ReplicaId(9);
        let mut context = CausalContext::new();
        context.insert(Dot::new(r, 3));
        context.insert(Dot::new(r, 2));
        assert_eq!(context.cloud().count(), 2);
        assert!(!context.contains(&Dot::new(r, 1)));
        assert!(context.contains(&Dot::new(r, 3)));
        assert_eq!(context.next_dot(r), Dot::new(r, 4));
        context.insert(Dot::new(r, 1));
        assert_eq!(context.cloud().count(), 0);
        assert_eq!(context.version_vector().get(&r), 3);
    }

    #[test]
    fn join_compacts_across_both_sides() {
        let r = ReplicaId(1);
        let mut a = CausalContext::new();
        a.insert(Dot::new(r, 2));
        let mut b = CausalContext::new();
        b.insert(Dot::new(r, 1));
        a.join(&b);
        assert_eq!(a.cloud().count(), 0);
        assert_eq!(a.version_vector().get(&r), 2);
    }
}

#[cfg(test)]
mod compaction_cost {
    use super::*;

    #[test]
    fn a_cloud_behind_a_gap_folds_once_the_gap_fills() {
        let (a, b) = (ReplicaId(1), ReplicaId(2));
        let mut context = CausalContext::new();
        for n in 2..=5_000 {
            context.insert(Dot::new(a, n));
            let mut delta = CausalContext::new();
            delta.insert(Dot::new(b, n));
            context.join(&delta);
        }
        assert_eq!(context.cloud().count(), 2 * 4_999);
        assert_eq!(context.version_vector().len(), 0);
        context.insert(Dot::new(a, 1));
        let mut late = CausalContext::new();
        late.insert(Dot::new(b, 1));
        context.join(&late);
        assert_eq!(context.cloud().count(), 0);
        assert_eq!(context.version_vector().get(&a), 5_000);
        assert_eq!(context.version_vector().get(&b), 5_000);
    }
}

#[cfg(test)]
mod join_matches_inserts {
    use super::*;

    /// Every dot `context` has seen, for small counters.
    fn dots(context: &CausalContext) -> alloc::vec::Vec<Dot> {
        let mut out = alloc::vec::Vec::new();
        for r in 0..4 {
            for c in 1..=40 {
                let d = Dot::new(ReplicaId(r), c);
                if context.contains(&d) {
                    out.push(d);
                }
            }
        }
        out
    }

    #[test]
    fn join_equals_inserting_every_dot() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..5_000 {
            let mut a = CausalContext::new();
            let mut b = CausalContext::new();
            for _ in 0..(next() % 30) {
                let d = Dot::new(ReplicaId(next() % 4), 1 + next() % 40);
                if next() % 2 == 0 { a.insert(d) } else { b.insert(d) }
            }
            let mut joined = a.clone();
            joined.join(&b);
            let mut inserted = a.clone();
            dots(&b).into_iter().for_each(|d| inserted.insert(d));
            assert_eq!(joined, inserted, "a {a:?} b {b:?}");
        }
    }
}
