//! The delta that ORMap mutators return.

use alloc::collections::BTreeMap;
use alloc::collections::btree_map::Entry;

use serde::{Deserialize, Serialize};

use crate::{Crdt, CrdtError, ORSetDelta};

/// A change to an [`ORMap`](crate::ORMap): the key-set delta plus the value deltas (`D` is the value type's delta).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize + Ord + Clone, D: Serialize",
    deserialize = "K: Deserialize<'de> + Ord + Clone, D: Deserialize<'de>"
))]
pub struct ORMapDelta<K, D> {
    keys: ORSetDelta<K>,
    #[serde(deserialize_with = "crate::sorted_map::deserialize")]
    values: BTreeMap<K, D>,
}

impl<K, D> Default for ORMapDelta<K, D> {
    fn default() -> Self {
        Self { keys: ORSetDelta::default(), values: BTreeMap::new() }
    }
}

impl<K: Ord + Clone, D> ORMapDelta<K, D> {
    /// Assembles a delta (used by the mutators).
    pub(crate) const fn from_parts(keys: ORSetDelta<K>, values: BTreeMap<K, D>) -> Self {
        Self { keys, values }
    }

    /// The key-set part.
    #[must_use]
    pub fn keys(&self) -> &ORSetDelta<K> {
        &self.keys
    }

    /// The value deltas, per key.
    #[must_use]
    pub fn values(&self) -> &BTreeMap<K, D> {
        &self.values
    }

    /// Joins another delta into this one (a delta group).
    pub(crate) fn join<V: Crdt<Delta = D>>(&mut self, other: &Self)
    where
        D: Clone,
    {
        self.keys.join(&other.keys);
        for (key, theirs) in &other.values {
            // One search: a key is usually new to the group (each delta names other keys).
            match self.values.entry(key.clone()) {
                Entry::Occupied(mut mine) => V::join_deltas(mine.get_mut(), theirs),
                Entry::Vacant(slot) => {
                    slot.insert(theirs.clone());
                }
            }
        }
    }

    /// Checks the key delta and every value delta.
    pub(crate) fn check<V: Crdt<Delta = D>>(&self) -> Result<(), CrdtError> {
        self.keys.check()?;
        // Both in key order: one walk finds each added key's value.
        let mut values = self.values.keys().peekable();
        for key in self.keys.as_state().iter() {
            while values.next_if(|v| *v < key).is_some() {}
            if values.peek() != Some(&key) {
                return Err(CrdtError::KeyWithoutValue);
            }
        }
        self.values.values().try_for_each(V::validate_delta)
    }
}
