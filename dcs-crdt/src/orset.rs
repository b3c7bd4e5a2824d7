//! Add-wins observed-remove set without tombstones.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use serde::de::Error as _;
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{CausalContext, CrdtError, Dot, DotSet, ORSetDelta, ReplicaId};

/// Add-wins observed-remove set (active catalog, open sessions).
///
/// Each add tags the element with a fresh [`Dot`]; a remove drops the dots it has observed; the
/// [`CausalContext`] remembers every dot ever seen. An element is present while it keeps a dot.
/// A dot that is absent from the entries but present in the context was removed, so no
/// per-element tombstone is kept, and the context stays one counter per replica.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ORSet<T> {
    entries: BTreeMap<T, DotSet>,
    context: CausalContext,
}

impl<T> Default for ORSet<T> {
    fn default() -> Self {
        Self { entries: BTreeMap::new(), context: CausalContext::new() }
    }
}

impl<T: Ord + Clone> ORSet<T> {
    /// An empty set.
    #[must_use]
    pub const fn new() -> Self {
        Self { entries: BTreeMap::new(), context: CausalContext::new() }
    }

    /// Adds `value` on behalf of `replica` (the caller's own id); returns the delta.
    ///
    /// The new dot replaces the dots the element had here, so a re-added element keeps one dot.
    pub fn add(&mut self, replica: ReplicaId, value: T) -> ORSetDelta<T> {
        let dot = self.context.next_dot(replica);
        self.context.insert(dot);
        let mut delta_context = CausalContext::new();
        if let Some(old) = self.entries.insert(value.clone(), DotSet::single(dot)) {
            old.iter().for_each(|d| delta_context.insert(d));
        }
        delta_context.insert(dot);
        let mut entries = BTreeMap::new();
        entries.insert(value, DotSet::single(dot));
        ORSetDelta::from_parts(Self { entries, context: delta_context }, BTreeSet::new())
    }

    /// Removes `value` as observed here (concurrent adds elsewhere survive); returns the delta.
    pub fn remove(&mut self, value: &T) -> ORSetDelta<T> {
        let Some(dots) = self.entries.remove(value) else {
            return ORSetDelta::default();
        };
        let mut context = CausalContext::new();
        dots.iter().for_each(|d| context.insert(d));
        let mut removed = BTreeSet::new();
        removed.insert(value.clone());
        ORSetDelta::from_parts(Self { entries: BTreeMap::new(), context }, removed)
    }

    /// Whether `value` is in the set.
    #[must_use]
    pub fn contains(&self, value: &T) -> bool {
        self.entries.contains_key(value)
    }

    /// The elements, in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.entries.keys()
    }

    /// Number of elements.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set has no element.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The dots that keep `value` alive, if present.
    #[must_use]
    pub fn dots(&self, value: &T) -> Option<&DotSet> {
        self.entries.get(value)
    }

    /// Every dot this replica has seen.
    #[must_use]
    pub fn context(&self) -> &CausalContext {
        &self.context
    }

    /// Join of full states, in one ordered pass over both entry maps.
    pub(crate) fn join(&mut self, other: &Self) {
        let mut dropped: Vec<T> = Vec::new();
        let mut adopted: Vec<(T, DotSet)> = Vec::new();
        let (mine_ctx, their_ctx) = (&self.context, &other.context);
        let mut theirs = other.entries.iter().peekable();
        for (key, mine) in &mut self.entries {
            while let Some((k, dots)) = theirs.next_if(|(k, _)| *k < key) {
                adopt(k, dots, mine_ctx, &mut adopted);
            }
            let alive = match theirs.next_if(|(k, _)| *k == key) {
                Some((_, dots)) if dots == mine => true,
                Some((_, dots)) => {
                    *mine = DotSet::join(mine, mine_ctx, dots, their_ctx);
                    !mine.is_empty()
                }
                None => mine.remove_seen(their_ctx),
            };
            if !alive {
                dropped.push(key.clone());
            }
        }
        for (k, dots) in theirs {
            adopt(k, dots, mine_ctx, &mut adopted);
        }
        for key in &dropped {
            self.entries.remove(key);
        }
        self.entries.extend(adopted);
        self.context.join(&other.context);
    }

    /// Joins a delta's set `other`, whose context holds no dot this state may hold beyond
    /// those of its entries and of the `removed` keys (true of deltas): only those keys are
    /// looked at, each found once.
    pub(crate) fn join_delta_set<'a>(&mut self, other: &Self, removed: impl Iterator<Item = &'a T>)
    where
        T: 'a,
    {
        for (key, dots) in &other.entries {
            self.join_key(key, Some(dots), &other.context);
        }
        for key in removed {
            self.join_key(key, None, &other.context);
        }
        self.context.join(&other.context);
    }

    /// Joins one key of a delta: its dots there (None: the delta removes it).
    fn join_key(&mut self, key: &T, theirs: Option<&DotSet>, their_context: &CausalContext) {
        let alive = match (self.entries.get_mut(key), theirs) {
            (Some(mine), Some(dots)) => {
                *mine = DotSet::join(mine, &self.context, dots, their_context);
                !mine.is_empty()
            }
            (Some(mine), None) => mine.remove_seen(their_context),
            (None, Some(dots)) => {
                let mut dots = dots.clone();
                if dots.remove_seen(&self.context) {
                    self.entries.insert(key.clone(), dots);
                }
                true
            }
            (None, None) => true,
        };
        if !alive {
            self.entries.remove(key);
        }
    }

    /// A set from its parts (the ORMap's key deltas).
    pub(crate) const fn from_parts(entries: BTreeMap<T, DotSet>, context: CausalContext) -> Self {
        Self { entries, context }
    }

    /// The entries with their dots.
    pub(crate) fn entries(&self) -> &BTreeMap<T, DotSet> {
        &self.entries
    }

    /// The entries with their dots, taken out (decoding an ORMap).
    pub(crate) fn into_parts(self) -> (BTreeMap<T, DotSet>, CausalContext) {
        (self.entries, self.context)
    }

    /// Puts the entries' dots back into the context (decoding the delta wire form).
    pub(crate) fn imply_entry_dots(&mut self) {
        for dots in self.entries.values() {
            dots.iter().for_each(|d| self.context.insert(d));
        }
    }

    /// Checks that every entry's dots are in the context.
    pub(crate) fn check(&self) -> Result<(), CrdtError> {
        for dots in self.entries.values() {
            if let Some(dot) = dots.iter().find(|d| !self.context.contains(d)) {
                return Err(CrdtError::DotOutsideContext {
                    replica: dot.replica.0,
                    counter: dot.counter,
                });
            }
        }
        Ok(())
    }
}

/// Keeps the dots of an entry only the other side has, minus those this side already removed.
fn adopt<T: Clone>(key: &T, dots: &DotSet, context: &CausalContext, out: &mut Vec<(T, DotSet)>) {
    let mut dots = dots.clone();
    if dots.remove_seen(context) {
        out.push((key.clone(), dots));
    }
}

impl<T: Ord + Clone> crate::Crdt for ORSet<T> {
    type Delta = ORSetDelta<T>;

    fn merge(&mut self, other: &Self) {
        self.join(other);
    }

    fn apply_delta(&mut self, delta: &ORSetDelta<T>) {
        delta.apply_to(self);
    }

    fn join_deltas(into: &mut ORSetDelta<T>, delta: &ORSetDelta<T>) {
        into.join(delta);
    }

    fn validate(&self) -> Result<(), CrdtError> {
        self.check()
    }

    fn validate_delta(delta: &ORSetDelta<T>) -> Result<(), CrdtError> {
        delta.check()
    }
}

/// Encoded layout: the context, then the entries grouped by replica with gap-coded counters
/// (`(replica, [(counter − previous counter, element)…])`), which is much smaller than one
/// `(element, replica, counter)` triple per entry when a replica's adds are consecutive.
#[derive(Serialize)]
struct WireRef<'a, T> {
    context: ContextView<'a, T>,
    groups: Groups<'a, T>,
}

/// A context as it is encoded: whole, or (a delta's slim form) without the cloud dots that
/// the entries carry.
struct ContextView<'a, T> {
    context: &'a CausalContext,
    /// The entries' dots, sorted, when they are left out of the cloud.
    carried: Option<&'a [(Dot, &'a T)]>,
}

impl<T> Serialize for ContextView<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some(carried) = self.carried else { return self.context.serialize(serializer) };
        // Both sorted by dot: one merge walk leaves the carried dots out.
        let mut carried = carried.iter().map(|(d, _)| *d).peekable();
        let cloud: Vec<Dot> = self
            .context
            .cloud()
            .filter(|d| {
                while carried.next_if(|c| c < d).is_some() {}
                carried.peek() != Some(d)
            })
            .collect();
        self.context.serialize_with_cloud(&cloud, serializer)
    }
}

/// Every entry's dots, sorted by replica and counter, encoded as the replica groups of
/// [`WireRef`] (one sorted vector instead of a vector per replica).
struct Groups<'a, T> {
    dots: &'a [(Dot, &'a T)],
    /// Number of distinct replicas in `dots`.
    replicas: usize,
}

/// One replica's run of `Groups::dots`: `(replica, [(gap, element)…])`.
struct Group<'a, T>(&'a [(Dot, &'a T)]);

/// The gap-coded adds of one [`Group`].
struct Adds<'a, T>(&'a [(Dot, &'a T)]);

impl<T: Serialize> Serialize for Groups<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let runs = self.dots.chunk_by(|a, b| a.0.replica == b.0.replica);
        let mut seq = serializer.serialize_seq(Some(self.replicas))?;
        for run in runs {
            seq.serialize_element(&Group(run))?;
        }
        seq.end()
    }
}

impl<T: Serialize> Serialize for Group<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let replica = self.0.first().map_or(ReplicaId(0), |(d, _)| d.replica);
        (replica, Adds(self.0)).serialize(serializer)
    }
}

impl<T: Serialize> Serialize for Adds<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        let mut previous = 0;
        for (dot, value) in self.0 {
            seq.serialize_element(&(dot.counter - previous, *value))?;
            previous = dot.counter;
        }
        seq.end()
    }
}

/// Decoded form of [`WireRef`].
#[derive(Deserialize)]
struct Wire<T> {
    context: CausalContext,
    groups: Vec<(ReplicaId, Vec<(u64, T)>)>,
}

impl<T: Serialize + Ord> Serialize for ORSet<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_entries(&self.context, self.entries.iter(), self.entries.len(), false, serializer)
    }
}

impl<T: Serialize + Ord> ORSet<T> {
    /// Serializes this set as a delta travels: without the context's cloud dots that entries
    /// carry (decoding puts them back with [`ORSet::imply_entry_dots`]).
    pub(crate) fn serialize_slim<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_entries(&self.context, self.entries.iter(), self.entries.len(), true, serializer)
    }
}

/// The wire form of an ORSet with these `count` entries and context (an ORMap's keys use it
/// too); `slim` leaves out the context's cloud dots that the entries carry.
pub(crate) fn serialize_entries<'a, T: Serialize + Ord + 'a, S: Serializer>(
    context: &CausalContext,
    entries: impl Iterator<Item = (&'a T, &'a DotSet)>,
    count: usize,
    slim: bool,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    // Each entry has at least one dot (usually exactly one).
    let mut dots: Vec<(Dot, &T)> = Vec::with_capacity(count);
    dots.extend(entries.flat_map(|(value, dots)| dots.iter().map(move |d| (d, value))));
    // A dot belongs to one element, so sorting by dot alone is a total order here.
    dots.sort_unstable_by_key(|&(d, _)| d);
    let replicas = dots.chunk_by(|a, b| a.0.replica == b.0.replica).count();
    let context = ContextView { context, carried: slim.then_some(dots.as_slice()) };
    WireRef { context, groups: Groups { dots: &dots, replicas } }.serialize(serializer)
}

impl<'de, T: Deserialize<'de> + Ord + Clone> Deserialize<'de> for ORSet<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = Wire::<T>::deserialize(deserializer)?;
        // The adds come in dot order: gathered, then sorted by element (stably, so that each
        // element's dots stay in order), the map is built bottom-up in one pass.
        let mut found: Vec<(T, Dot)> =
            Vec::with_capacity(wire.groups.iter().map(|g| g.1.len()).sum());
        let mut last_replica = None;
        for (replica, adds) in wire.groups {
            if last_replica.is_some_and(|r| r >= replica) {
                return Err(D::Error::custom(
                    "ORSet replica groups must be in strictly increasing replica order",
                ));
            }
            last_replica = Some(replica);
            let mut counter = 0u64;
            for (gap, value) in adds {
                counter = match counter.checked_add(gap) {
                    Some(next) if gap > 0 => next,
                    _ => {
                        return Err(D::Error::custom(
                            "ORSet dot counter gaps must be positive and stay within u64",
                        ));
                    }
                };
                found.push((value, Dot::new(replica, counter)));
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let mut grouped: Vec<(T, DotSet)> = Vec::with_capacity(found.len());
        for (value, dot) in found {
            match grouped.last_mut() {
                Some((last, dots)) if *last == value => dots.insert(dot),
                _ => grouped.push((value, DotSet::single(dot))),
            }
        }
        Ok(Self { entries: grouped.into_iter().collect(), context: wire.context })
    }
}
