//! A map from keys to counts whose join is the pointwise maximum.

use alloc::vec::Vec;

use smallvec::SmallVec;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Sorted map `K → u64` joined by pointwise maximum: the building block of counters and version vectors.
///
/// Absent keys count as zero and zeros are never stored, so equal maps have equal bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MaxMap<K> {
    entries: Entries<K>,
}

/// Sorted (key, count) pairs, the first one stored inline.
type Entries<K> = SmallVec<[(K, u64); 1]>;

impl<K> Default for MaxMap<K> {
    fn default() -> Self {
        Self { entries: SmallVec::new_const() }
    }
}

impl<K: Ord + Copy> MaxMap<K> {
    /// An empty map.
    #[must_use]
    pub const fn new() -> Self {
        Self { entries: SmallVec::new_const() }
    }

    /// Builds a map from pairs in any order; duplicate keys keep the largest count.
    #[must_use]
    pub fn from_pairs(mut pairs: Vec<(K, u64)>) -> Self {
        pairs.retain(|&(_, v)| v > 0);
        pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        pairs.dedup_by(|later, first| later.0 == first.0);
        Self { entries: SmallVec::from_vec(pairs) }
    }

    /// The count of `key`, zero when absent.
    #[must_use]
    pub fn get(&self, key: &K) -> u64 {
        match self.entries.binary_search_by(|(k, _)| k.cmp(key)) {
            Ok(i) => self.entries.get(i).map_or(0, |e| e.1),
            Err(_) => 0,
        }
    }

    /// Raises the count of `key` to `value` if it is larger; returns whether it changed.
    pub fn raise(&mut self, key: K, value: u64) -> bool {
        match self.entries.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => match self.entries.get_mut(i) {
                Some(entry) if entry.1 < value => {
                    entry.1 = value;
                    true
                }
                _ => false,
            },
            Err(i) if value > 0 => {
                self.entries.insert(i, (key, value));
                true
            }
            Err(_) => false,
        }
    }

    /// Adds `amount` to the count of `key` and returns the new count; `None` (and no change) on overflow.
    pub fn add(&mut self, key: K, amount: u64) -> Option<u64> {
        match self.entries.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => {
                let entry = self.entries.get_mut(i)?;
                entry.1 = entry.1.checked_add(amount)?;
                Some(entry.1)
            }
            Err(i) => {
                if amount > 0 {
                    self.entries.insert(i, (key, amount));
                }
                Some(amount)
            }
        }
    }

    /// Pointwise maximum with `other`, in one pass over both sorted maps.
    pub fn join(&mut self, other: &Self) {
        if other.entries.len() <= 2 {
            for &(k, v) in &other.entries {
                self.raise(k, v);
            }
            return;
        }
        let mut missing = 0usize;
        let mut mine = self.entries.iter_mut().peekable();
        for &(key, value) in &other.entries {
            while mine.next_if(|(k, _)| *k < key).is_some() {}
            match mine.next_if(|(k, _)| *k == key) {
                Some(entry) => entry.1 = entry.1.max(value),
                None => missing += 1,
            }
        }
        if missing > 0 {
            self.insert_missing(other, missing);
        }
    }

    /// Second pass of `join`: merges in the keys of `other` that `self` lacks.
    fn insert_missing(&mut self, other: &Self, missing: usize) {
        let old = core::mem::take(&mut self.entries);
        let mut merged = Entries::with_capacity(old.len() + missing);
        let mut theirs = other.entries.iter().copied().peekable();
        for (key, value) in old {
            while let Some(entry) = theirs.next_if(|(k, _)| *k < key) {
                merged.push(entry);
            }
            // Common keys already hold the maximum from the first pass.
            let _ = theirs.next_if(|(k, _)| *k == key);
            merged.push((key, value));
        }
        merged.extend(theirs);
        self.entries = merged;
    }

    /// Whether every count of `self` is at most the count of `other`.
    #[must_use]
    pub fn le(&self, other: &Self) -> bool {
        self.entries.iter().all(|(k, v)| *v <= other.get(k))
    }

    /// Iterates over `(key, count)` in key order.
    pub fn iter(&self) -> impl Iterator<Item = (K, u64)> + '_ {
        self.entries.iter().copied()
    }

    /// Number of keys with a non-zero count.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether every count is zero.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sum of all counts (cannot overflow).
    #[must_use]
    pub fn sum(&self) -> u128 {
        self.entries.iter().map(|&(_, v)| u128::from(v)).sum()
    }
}

impl<K: Serialize> Serialize for MaxMap<K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.entries.as_slice().serialize(serializer)
    }
}

impl<'de, K: Deserialize<'de> + Ord + Copy> Deserialize<'de> for MaxMap<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<(K, u64)>::deserialize(deserializer).map(Self::from_pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_is_pointwise_max_with_new_keys_merged_in_order() {
        let mut a = MaxMap::from_pairs(alloc::vec![(1u8, 5), (3, 1), (5, 7), (7, 2)]);
        let b = MaxMap::from_pairs(alloc::vec![(0u8, 4), (3, 9), (5, 2), (6, 1), (9, 3)]);
        a.join(&b);
        let got: Vec<(u8, u64)> = a.iter().collect();
        assert_eq!(got, alloc::vec![(0, 4), (1, 5), (3, 9), (5, 7), (6, 1), (7, 2), (9, 3)]);
        assert_eq!(a.sum(), 31);
        assert!(b.le(&a));
    }

    #[test]
    fn add_refuses_overflow_and_ignores_zero() {
        let mut m = MaxMap::new();
        assert_eq!(m.add(1u8, 0), Some(0));
        assert!(m.is_empty());
        assert_eq!(m.add(1, u64::MAX), Some(u64::MAX));
        assert_eq!(m.add(1, 1), None);
        assert_eq!(m.get(&1), u64::MAX);
        assert_eq!(MaxMap::from_pairs(alloc::vec![(2u8, 1), (2, 4), (3, 0)]).len(), 1);
    }
}
