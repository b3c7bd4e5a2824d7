//! Map of keys to nested CRDTs, with add-wins keys.

use alloc::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Crdt, CrdtError, ORMapDelta, ORSet, ReplicaId};

/// Keyed collection of CRDT values (SKU → [`crate::PNCounter`] stock, SKU →
/// [`crate::LWWRegister`] price) whose keys follow [`ORSet`] add-wins semantics.
///
/// Key presence is an ORSet: an update re-adds its key, so a key updated concurrently with its
/// removal stays. Values are joined per key with the value type's own merge. Removing a key hides
/// it but keeps its value's state (one value per key ever written, not per operation): a counter
/// cannot be un-joined without coordination, so a re-added or concurrently updated key resumes
/// from the merged value, and all replicas agree on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize + Ord, V: Serialize",
    deserialize = "K: Deserialize<'de> + Ord + Clone, V: Deserialize<'de>"
))]
pub struct ORMap<K, V> {
    keys: ORSet<K>,
    values: BTreeMap<K, V>,
}

impl<K, V> Default for ORMap<K, V> {
    fn default() -> Self {
        Self { keys: ORSet::default(), values: BTreeMap::new() }
    }
}

impl<K: Ord + Clone, V: Crdt> ORMap<K, V> {
    /// An empty map.
    #[must_use]
    pub const fn new() -> Self {
        Self { keys: ORSet::new(), values: BTreeMap::new() }
    }

    /// Applies the mutator `f` to the value at `key` on behalf of `replica`, (re-)adding the key;
    /// returns the delta. `f` gets the current value (or the empty one) and returns its own delta.
    ///
    /// # Errors
    /// The error of `f` (for example a refused [`crate::BoundedCounter`] decrement); the map is
    /// unchanged then.
    pub fn update<F>(
        &mut self,
        replica: ReplicaId,
        key: K,
        f: F,
    ) -> Result<ORMapDelta<K, V::Delta>, CrdtError>
    where
        F: FnOnce(&mut V) -> Result<V::Delta, CrdtError>,
    {
        let existed = self.values.contains_key(&key);
        let value = self.values.entry(key.clone()).or_default();
        let value_delta = match f(value) {
            Ok(delta) => delta,
            Err(error) => {
                if !existed {
                    self.values.remove(&key);
                }
                return Err(error);
            }
        };
        let mut values = BTreeMap::new();
        values.insert(key.clone(), value_delta);
        Ok(ORMapDelta::from_parts(self.keys.add(replica, key), values))
    }

    /// Removes `key` as observed here (a concurrent update elsewhere keeps it); returns the delta.
    pub fn remove(&mut self, key: &K) -> ORMapDelta<K, V::Delta> {
        ORMapDelta::from_parts(self.keys.remove(key), BTreeMap::new())
    }

    /// The value at `key`, if the key is present.
    #[must_use]
    pub fn get(&self, key: &K) -> Option<&V> {
        if self.keys.contains(key) { self.values.get(key) } else { None }
    }

    /// Whether `key` is present.
    #[must_use]
    pub fn contains_key(&self, key: &K) -> bool {
        self.keys.contains(key)
    }

    /// The present keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.keys.iter()
    }

    /// The present keys with their values, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.keys.iter().filter_map(|k| self.values.get(k).map(|v| (k, v)))
    }

    /// Number of present keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is present.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key set with its causal context.
    #[must_use]
    pub fn key_set(&self) -> &ORSet<K> {
        &self.keys
    }

    /// Joins value states or value deltas into this map's values, per key.
    pub(crate) fn join_values<D>(&mut self, other: &BTreeMap<K, D>, join: impl Fn(&mut V, &D)) {
        for (key, theirs) in other {
            match self.values.get_mut(key) {
                Some(mine) => join(mine, theirs),
                None => {
                    let mut value = V::default();
                    join(&mut value, theirs);
                    self.values.insert(key.clone(), value);
                }
            }
        }
    }

    /// The keys' ORSet, for delta application.
    pub(crate) fn keys_mut(&mut self) -> &mut ORSet<K> {
        &mut self.keys
    }
}

impl<K: Ord + Clone, V: Crdt> Crdt for ORMap<K, V> {
    type Delta = ORMapDelta<K, V::Delta>;

    fn merge(&mut self, other: &Self) {
        self.keys.join(&other.keys);
        self.join_values(&other.values, V::merge);
    }

    fn apply_delta(&mut self, delta: &Self::Delta) {
        delta.apply_to(self);
    }

    fn join_deltas(into: &mut Self::Delta, delta: &Self::Delta) {
        into.join::<V>(delta);
    }

    fn validate(&self) -> Result<(), CrdtError> {
        self.keys.check()?;
        // Every mutator writes a value when it adds a key; a present key with none would be a
        // ghost (counted by `len`, invisible to `get`, kept by every merge).
        if self.keys.iter().any(|k| !self.values.contains_key(k)) {
            return Err(CrdtError::KeyWithoutValue);
        }
        self.values.values().try_for_each(V::validate)
    }

    fn validate_delta(delta: &Self::Delta) -> Result<(), CrdtError> {
        delta.check::<V>()
    }
}
