//! Decoding an ordered map in one bulk build instead of one search per entry.
//!
//! Every map in the canonical encoding is written in key order, so the entries arrive
//! sorted: collected into a vector, `BTreeMap::from_iter` checks the order in one pass and
//! builds the tree bottom-up, where inserting them one by one would search the growing tree
//! for each. Out-of-order or repeated keys (only in forged input) give the same map as
//! inserting in arrival order would: sorted, the last value of a repeated key kept.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// The most bytes a length prefix may make the decoder reserve before any entry is read
/// (as serde caps it): a forged length cannot allocate more than this.
const MAX_PREALLOCATION: usize = 1024 * 1024;

/// Decodes a map written in key order (use with `#[serde(deserialize_with = ...)]`).
pub(crate) fn deserialize<'de, D, K, V>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Ord,
    V: Deserialize<'de>,
{
    /// Collects the entries, then builds the map.
    struct Entries<K, V>(PhantomData<(K, V)>);

    impl<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>> Visitor<'de> for Entries<K, V> {
        type Value = BTreeMap<K, V>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let most = MAX_PREALLOCATION / core::mem::size_of::<(K, V)>().max(1);
            let mut entries = Vec::with_capacity(access.size_hint().unwrap_or(0).min(most));
            while let Some(entry) = access.next_entry()? {
                entries.push(entry);
            }
            Ok(entries.into_iter().collect())
        }
    }

    deserializer.deserialize_map(Entries(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Wrapped(#[serde(deserialize_with = "deserialize")] BTreeMap<u32, u32>);

    fn decode(pairs: &[(u32, u32)]) -> BTreeMap<u32, u32> {
        // A postcard map: the length, then the pairs as written (in any order).
        let mut bytes = postcard::to_allocvec(&(pairs.len() as u32)).unwrap();
        for pair in pairs {
            bytes.extend(postcard::to_allocvec(pair).unwrap());
        }
        postcard::from_bytes::<Wrapped>(&bytes).unwrap().0
    }

    #[test]
    fn gives_the_map_that_inserting_in_arrival_order_gives() {
        for pairs in [
            &[][..],
            &[(1, 10), (2, 20), (3, 30)],
            &[(3, 30), (1, 10), (2, 20)],
            &[(1, 10), (1, 11), (0, 5), (1, 12)],
        ] {
            let inserted: BTreeMap<u32, u32> = pairs.iter().copied().collect();
            assert_eq!(decode(pairs), inserted, "{pairs:?}");
        }
    }
}
