//! The delta that ORSet mutators return.

use alloc::collections::BTreeSet;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{CrdtError, ORSet};

/// A small piece of [`ORSet`] state plus the elements it removes.
///
/// `set` is an ordinary ORSet state (added entries and the dots they cover); `removed` names the
/// elements whose dots `set`'s context removes, so joining a delta into a large state touches
/// only the named elements instead of scanning every entry.
///
/// Deltas from this crate's mutators (and joins of them) always name every element they touch.
/// A forged delta that removes a dot without naming its element cannot break an invariant or
/// panic; the dot just stays here until the next full-state [`crate::Crdt::merge`] with a
/// replica that removed it (anti-entropy repairs it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ORSetDelta<T> {
    set: ORSet<T>,
    removed: BTreeSet<T>,
}

impl<T> Default for ORSetDelta<T> {
    fn default() -> Self {
        Self { set: ORSet::default(), removed: BTreeSet::new() }
    }
}

impl<T: Ord + Clone> ORSetDelta<T> {
    /// Assembles a delta (used by the mutators).
    pub(crate) const fn from_parts(set: ORSet<T>, removed: BTreeSet<T>) -> Self {
        Self { set, removed }
    }

    /// The delta as an ORSet state; merging it as a full state gives the same result as applying it.
    #[must_use]
    pub fn as_state(&self) -> &ORSet<T> {
        &self.set
    }

    /// Elements this delta removes.
    pub fn removed(&self) -> impl Iterator<Item = &T> + '_ {
        self.removed.iter()
    }

    /// Whether the delta removes `value` (names it among its removed elements).
    pub(crate) fn removes(&self, value: &T) -> bool {
        self.removed.contains(value)
    }

    /// Whether the delta changes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.set == ORSet::default() && self.removed.is_empty()
    }

    /// Joins this delta into `state`, touching only the elements the delta names.
    pub(crate) fn apply_to(&self, state: &mut ORSet<T>) {
        let removed_only = self.removed.iter().filter(|k| !self.set.contains(k));
        state.join_delta_set(&self.set, removed_only);
    }

    /// Joins another delta into this one (a delta group), touching only the elements `other`
    /// names, so grouping k deltas costs O(k log k) rather than a pass per delta.
    pub(crate) fn join(&mut self, other: &Self) {
        other.apply_to(&mut self.set);
        self.removed.extend(other.removed.iter().cloned());
    }

    /// Checks the embedded state's invariants. Every way of making a delta (the mutators,
    /// joins, and decoding, which puts the entries' dots back into the context) keeps each
    /// entry's dots in its context, so a release build does not search for them again.
    pub(crate) fn check(&self) -> Result<(), CrdtError> {
        debug_assert_eq!(
            self.set.check(),
            Ok(()),
            "an ORSet delta's entry dot outside its context"
        );
        Ok(())
    }
}

/// Encoded layout: `(set, removed)`, where `set`'s context leaves out the cloud dots that its
/// entries carry (a delta's context always contains its entries' dots, so they are implied and
/// put back on decoding). This keeps an add delta near the size of a bare operation.
impl<T: Serialize + Ord + Clone> Serialize for ORSetDelta<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The set in its slim wire form (see [`ORSet::serialize_slim`]).
        struct Slim<'a, T>(&'a ORSet<T>);
        impl<T: Serialize + Ord + Clone> Serialize for Slim<'_, T> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.0.serialize_slim(serializer)
            }
        }
        (Slim(&self.set), &self.removed).serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de> + Ord + Clone> Deserialize<'de> for ORSetDelta<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (mut set, removed) = <(ORSet<T>, BTreeSet<T>)>::deserialize(deserializer)?;
        set.imply_entry_dots();
        Ok(Self { set, removed })
    }
}
