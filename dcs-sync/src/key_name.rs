//! A name in a state key (branch id, SKU, session id) that compares in a few instructions.
//!
//! The replicated state's maps are ordered by these names and every delta a node merges looks
//! its keys up, so comparing names is the inner loop of every merge. A [`KeyName`] keeps its
//! first 16 bytes as one big-endian integer beside the string: two names that differ there
//! (almost all, for ids like `branch-042` and `SKU-17`) compare as two integers, and only
//! names sharing their first 16 bytes compare the rest. The order is exactly the strings'
//! byte order, and a name encodes as a plain string.

use core::borrow::Borrow;
use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::ops::Deref;

use alloc::string::String;

use compact_str::CompactString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bytes of a name held in [`KeyName`]'s integer head.
const HEAD: usize = 16;

/// A state key's name: a string ordered by its bytes, stored inline when short (up to 24
/// bytes), with its first 16 bytes kept as an integer for fast comparison.
#[derive(Clone, Default)]
pub struct KeyName {
    /// The first [`HEAD`] bytes, big-endian, zero-padded: its order is the strings' order
    /// whenever two heads differ.
    head: [u64; 2],
    name: CompactString,
}

fn head_of(name: &str) -> [u64; 2] {
    let mut bytes = [0u8; HEAD];
    let n = name.len().min(HEAD);
    bytes[..n].copy_from_slice(&name.as_bytes()[..n]);
    let word = u128::from_be_bytes(bytes);
    // Two words rather than one u128: a u128 would align the name to 16 bytes and pad it
    // from 40 to 48 bytes (and a stock key from 80 to 96).
    [(word >> 64) as u64, word as u64]
}

impl KeyName {
    /// The name `name`.
    #[must_use]
    pub fn new(name: &str) -> Self {
        KeyName { head: head_of(name), name: CompactString::from(name) }
    }

    /// The name as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.name.as_str()
    }
}

impl Ord for KeyName {
    fn cmp(&self, other: &Self) -> Ordering {
        // Equal heads with both names within the head means equal names, except for trailing
        // NUL bytes the padding hides: the full comparison settles those.
        self.head.cmp(&other.head).then_with(|| {
            if self.name.len() <= HEAD && other.name.len() <= HEAD {
                self.name.len().cmp(&other.name.len())
            } else {
                self.name.as_bytes().cmp(other.name.as_bytes())
            }
        })
    }
}

impl PartialOrd for KeyName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for KeyName {
    fn eq(&self, other: &Self) -> bool {
        self.head == other.head && self.name == other.name
    }
}

impl Eq for KeyName {}

impl Hash for KeyName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // As the string hashes, so that `Borrow<str>` lookups agree.
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for KeyName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for KeyName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Deref for KeyName {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for KeyName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for KeyName {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for KeyName {
    fn from(name: &str) -> Self {
        KeyName::new(name)
    }
}

impl From<String> for KeyName {
    fn from(name: String) -> Self {
        KeyName { head: head_of(&name), name: CompactString::from(name) }
    }
}

impl From<&String> for KeyName {
    fn from(name: &String) -> Self {
        KeyName::new(name)
    }
}

impl fmt::Debug for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for KeyName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = CompactString::deserialize(deserializer)?;
        Ok(KeyName { head: head_of(&name), name })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn orders_exactly_as_the_strings_bytes() {
        let names = [
            "",
            "\0",
            "\0\0",
            "a",
            "a\0",
            "a\0b",
            "ab",
            "branch-042",
            "branch-0420",
            "SKU-7",
            "SKU-17",
            "0123456789abcdef",
            "0123456789abcdef\0",
            "0123456789abcdefg",
            "0123456789abcdeg",
            "0123456789abcdef0123456789",
            "0123456789abcdef01234567890",
            "ü",
            "z",
        ];
        for a in names {
            for b in names {
                let (x, y) = (KeyName::from(a), KeyName::from(b));
                assert_eq!(x.cmp(&y), a.as_bytes().cmp(b.as_bytes()), "{a:?} vs {b:?}");
                assert_eq!(x == y, a == b, "{a:?} == {b:?}");
            }
        }
    }

    #[test]
    fn encodes_as_a_plain_string() {
        let name = KeyName::from("branch-042-with-a-long-tail");
        let bytes = postcard::to_allocvec(&name).unwrap();
        assert_eq!(bytes, postcard::to_allocvec("branch-042-with-a-long-tail").unwrap());
        let back: KeyName = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, name);
        let mut sorted: Vec<KeyName> = ["b", "a", "ab"].into_iter().map(KeyName::from).collect();
        sorted.sort();
        assert_eq!(sorted, ["a", "ab", "b"]);
    }
}
