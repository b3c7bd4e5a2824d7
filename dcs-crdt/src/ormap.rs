//! Map of keys to nested CRDTs, with add-wins keys.

use alloc::collections::BTreeMap;
use core::cmp::Ordering;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::orset::serialize_entries;
use crate::{CausalContext, Crdt, CrdtError, DotSet, ORMapDelta, ORSet, ORSetDelta, ReplicaId};

/// Keyed collection of CRDT values (SKU → [`crate::PNCounter`] stock, SKU →
/// [`crate::LWWRegister`] price) whose keys follow [`ORSet`] add-wins semantics.
///
/// Key presence is an ORSet: an update re-adds its key, so a key updated concurrently with its
/// removal stays. Values are joined per key with the value type's own merge. Removing a key hides
/// it but keeps its value's state (one value per key ever written, not per operation): a counter
/// cannot be un-joined without coordination, so a re-added or concurrently updated key resumes
/// from the merged value, and all replicas agree on it.
///
/// Each key is held once, with the dots that keep it present beside its value, so joining a
/// delta finds each key it names with one search of one tree. It encodes as an ORSet of the
/// present keys followed by the map of every key's value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ORMap<K, V> {
    entries: BTreeMap<K, Slot<V>>,
    /// Every key dot this map has seen.
    context: CausalContext,
    /// Keys with at least one dot (present).
    present: usize,
    /// Present keys a decoded state held without a value (kept with the empty value, only
    /// so that [`Crdt::validate`] refuses the state, naming the defect).
    ghosts: usize,
}

/// One key: the dots that keep it present (none: removed, its value kept) and its value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
struct Slot<V> {
    dots: DotSet,
    value: V,
}

impl<K, V> Default for ORMap<K, V> {
    fn default() -> Self {
        Self { entries: BTreeMap::new(), context: CausalContext::new(), present: 0, ghosts: 0 }
    }
}

impl<K: Ord + Clone, V: Crdt> ORMap<K, V> {
    /// An empty map.
    #[must_use]
    pub const fn new() -> Self {
        Self { entries: BTreeMap::new(), context: CausalContext::new(), present: 0, ghosts: 0 }
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
        let existed = self.entries.contains_key(&key);
        let slot = self.entries.entry(key.clone()).or_default();
        let value_delta = match f(&mut slot.value) {
            Ok(delta) => delta,
            Err(error) => {
                if !existed {
                    self.entries.remove(&key);
                }
                return Err(error);
            }
        };
        // The key's add: a fresh dot replaces the dots it had here.
        let dot = self.context.next_dot(replica);
        self.context.insert(dot);
        let old = core::mem::replace(&mut slot.dots, DotSet::single(dot));
        if old.is_empty() {
            self.present += 1;
        }
        let mut delta_context = CausalContext::new();
        old.iter().for_each(|d| delta_context.insert(d));
        delta_context.insert(dot);
        let mut key_entries = BTreeMap::new();
        key_entries.insert(key.clone(), DotSet::single(dot));
        let keys = ORSetDelta::from_parts(
            ORSet::from_parts(key_entries, delta_context),
            alloc::collections::BTreeSet::new(),
        );
        let mut values = BTreeMap::new();
        values.insert(key, value_delta);
        Ok(ORMapDelta::from_parts(keys, values))
    }

    /// Removes `key` as observed here (a concurrent update elsewhere keeps it); returns the delta.
    pub fn remove(&mut self, key: &K) -> ORMapDelta<K, V::Delta> {
        let Some(slot) = self.entries.get_mut(key).filter(|s| !s.dots.is_empty()) else {
            return ORMapDelta::default();
        };
        let dots = core::mem::take(&mut slot.dots);
        self.present -= 1;
        let mut context = CausalContext::new();
        dots.iter().for_each(|d| context.insert(d));
        let mut removed = alloc::collections::BTreeSet::new();
        removed.insert(key.clone());
        let keys = ORSetDelta::from_parts(ORSet::from_parts(BTreeMap::new(), context), removed);
        ORMapDelta::from_parts(keys, BTreeMap::new())
    }

    /// The value at `key`, if the key is present.
    #[must_use]
    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key).filter(|s| !s.dots.is_empty()).map(|s| &s.value)
    }

    /// Whether `key` is present.
    #[must_use]
    pub fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// The present keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// The present keys with their values, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.entries.iter().filter(|(_, s)| !s.dots.is_empty()).map(|(k, s)| (k, &s.value))
    }

    /// Number of present keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.present
    }

    /// Whether no key is present.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.present == 0
    }

    /// The dots that keep `key` present, if it is.
    #[must_use]
    pub fn dots(&self, key: &K) -> Option<&DotSet> {
        self.entries.get(key).map(|s| &s.dots).filter(|d| !d.is_empty())
    }

    /// Every key dot this map has seen.
    #[must_use]
    pub fn context(&self) -> &CausalContext {
        &self.context
    }

    /// Joins a delta: each key it names is found once, its dots joined as an ORSet joins them
    /// and its value joined with the value's delta. The delta's added keys and its values are
    /// both ordered by key, so one ordered pass pairs them without searching the delta.
    pub(crate) fn apply(&mut self, keys: &ORSetDelta<K>, values: &BTreeMap<K, V::Delta>) {
        let set = keys.as_state();
        let (their_entries, their_context) = (set.entries(), set.context());
        let mut added = their_entries.iter().peekable();
        for (key, value_delta) in values {
            // Added keys before this one have no value delta (only forged deltas have them).
            let mut theirs = None;
            while let Some(&(k, dots)) = added.peek() {
                match k.cmp(key) {
                    Ordering::Less => self.join_bare(k, Some(dots), their_context),
                    Ordering::Equal => theirs = Some(dots),
                    Ordering::Greater => break,
                }
                added.next();
                if theirs.is_some() {
                    break;
                }
            }
            let slot = match self.entries.get_mut(key) {
                Some(slot) => slot,
                None => self.entries.entry(key.clone()).or_default(),
            };
            let was = !slot.dots.is_empty();
            // A value delta comes with its key's add, except in forged deltas; then the
            // key's dots stay as they are.
            if let Some(theirs) = theirs {
                slot.dots = DotSet::join(&slot.dots, &self.context, theirs, their_context);
            } else if keys.removes(key) {
                slot.dots.remove_seen(their_context);
            }
            slot.value.apply_delta(value_delta);
            let now = !slot.dots.is_empty();
            self.present = self.present + usize::from(now) - usize::from(was);
        }
        for (key, dots) in added {
            self.join_bare(key, Some(dots), their_context);
        }
        // Keys the delta removes without adding them or changing their value.
        for key in keys.removed() {
            if !their_entries.contains_key(key) && !values.contains_key(key) {
                self.join_bare(key, None, their_context);
            }
        }
        self.context.join(their_context);
    }

    /// Joins one key a delta names without a value delta: added (`theirs`, only in forged
    /// deltas) or removed (None).
    fn join_bare(&mut self, key: &K, theirs: Option<&DotSet>, their_context: &CausalContext) {
        let Some(slot) = self.entries.get_mut(key) else {
            if let Some(dots) = theirs {
                // A present key without a value delta: the key gets the empty value, as a
                // join of full states would give it.
                let mut dots = dots.clone();
                if dots.remove_seen(&self.context) {
                    self.entries.insert(key.clone(), Slot { dots, value: V::default() });
                    self.present += 1;
                }
            }
            return;
        };
        let was = !slot.dots.is_empty();
        match theirs {
            Some(dots) => slot.dots = DotSet::join(&slot.dots, &self.context, dots, their_context),
            None => {
                slot.dots.remove_seen(their_context);
            }
        }
        let now = !slot.dots.is_empty();
        self.present = self.present + usize::from(now) - usize::from(was);
    }

    /// Join of full states.
    fn join(&mut self, other: &Self) {
        for (key, mine) in &mut self.entries {
            match other.entries.get(key) {
                Some(theirs) => {
                    if mine.dots != theirs.dots {
                        mine.dots =
                            DotSet::join(&mine.dots, &self.context, &theirs.dots, &other.context);
                    }
                    mine.value.merge(&theirs.value);
                }
                None => {
                    mine.dots.remove_seen(&other.context);
                }
            }
        }
        for (key, theirs) in &other.entries {
            if !self.entries.contains_key(key) {
                let mut dots = theirs.dots.clone();
                dots.remove_seen(&self.context);
                self.entries.insert(key.clone(), Slot { dots, value: theirs.value.clone() });
            }
        }
        self.context.join(&other.context);
        self.present = self.entries.values().filter(|s| !s.dots.is_empty()).count();
    }
}

impl<K: Ord + Clone, V: Crdt> Crdt for ORMap<K, V> {
    type Delta = ORMapDelta<K, V::Delta>;

    fn merge(&mut self, other: &Self) {
        self.join(other);
    }

    fn apply_delta(&mut self, delta: &Self::Delta) {
        self.apply(delta.keys(), delta.values());
    }

    fn join_deltas(into: &mut Self::Delta, delta: &Self::Delta) {
        into.join::<V>(delta);
    }

    fn validate(&self) -> Result<(), CrdtError> {
        // Every mutator writes a value when it adds a key; a present key with none would be
        // a ghost (counted by `len`, invisible to `get`, kept by every merge).
        if self.ghosts > 0 {
            return Err(CrdtError::KeyWithoutValue);
        }
        for slot in self.entries.values() {
            if let Some(dot) = slot.dots.iter().find(|d| !self.context.contains(d)) {
                return Err(CrdtError::DotOutsideContext {
                    replica: dot.replica.0,
                    counter: dot.counter,
                });
            }
        }
        self.entries.values().try_for_each(|s| s.value.validate())
    }

    fn validate_delta(delta: &Self::Delta) -> Result<(), CrdtError> {
        delta.check::<V>()
    }
}

/// Encoded layout (unchanged from when the map held an [`ORSet`] of keys beside a map of
/// values): `{ keys: ORSet of the present keys, values: every key's value }`.
impl<K: Serialize + Ord, V: Serialize> Serialize for ORMap<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The present keys as an ORSet.
        struct Keys<'a, K, V>(&'a ORMap<K, V>);
        impl<K: Serialize + Ord, V> Serialize for Keys<'_, K, V> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let present = self.0.entries.iter().filter(|(_, s)| !s.dots.is_empty());
                serialize_entries(
                    &self.0.context,
                    present.map(|(k, s)| (k, &s.dots)),
                    self.0.present,
                    false,
                    serializer,
                )
            }
        }
        /// Every key's value.
        struct Values<'a, K, V>(&'a ORMap<K, V>);
        impl<K: Serialize, V: Serialize> Serialize for Values<'_, K, V> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_map(self.0.entries.iter().map(|(k, s)| (k, &s.value)))
            }
        }
        let mut st = serializer.serialize_struct("ORMap", 2)?;
        st.serialize_field("keys", &Keys(self))?;
        st.serialize_field("values", &Values(self))?;
        st.end()
    }
}

impl<'de, K: Deserialize<'de> + Ord + Clone, V: Deserialize<'de> + Default> Deserialize<'de>
    for ORMap<K, V>
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// The encoded layout.
        #[derive(Deserialize)]
        #[serde(rename = "ORMap")]
        #[serde(bound(deserialize = "K: Deserialize<'de> + Ord + Clone, V: Deserialize<'de>"))]
        struct Wire<K, V> {
            keys: ORSet<K>,
            #[serde(deserialize_with = "crate::sorted_map::deserialize")]
            values: BTreeMap<K, V>,
        }
        let wire = Wire::<K, V>::deserialize(deserializer)?;
        let (mut dots, context) = wire.keys.into_parts();
        let present = dots.len();
        let mut entries: BTreeMap<K, Slot<V>> = wire
            .values
            .into_iter()
            .map(|(k, value)| {
                let d = dots.remove(&k).unwrap_or_default();
                (k, Slot { dots: d, value })
            })
            .collect();
        // Present keys without a value: kept, and counted, for `validate` to refuse.
        let ghosts = dots.len();
        entries.extend(dots.into_iter().map(|(k, d)| (k, Slot { dots: d, value: V::default() })));
        Ok(Self { entries, context, present, ghosts })
    }
}
