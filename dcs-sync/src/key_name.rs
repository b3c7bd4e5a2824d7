//! A name in a state key (branch id, SKU, session id) that compares in a few instructions.
//!
//! The replicated state's maps are ordered by these names and every delta a node merges looks
//! its keys up, so comparing names is the inner loop of every merge, and the keys' size is
//! how many fit in the cache lines a B-tree search reads. A [`KeyName`] is 24 bytes: a
//! 16-byte head compared as one big-endian integer, which settles almost every comparison of
//! ids like `branch-042` and `SKU-17` in a few instructions, and only a name longer than
//! 15 bytes on the heap. The order is exactly the strings' byte order, and a name
//! encodes as a plain string.

use core::borrow::Borrow;
use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::ops::Deref;

use alloc::boxed::Box;
use alloc::string::String;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest name held inline in [`KeyName`].
const INLINE: usize = 15;

/// The head's last byte for a name longer than [`INLINE`]: above every inline length.
const LONG: u8 = 0xFF;

/// A state key's name: a string ordered by its bytes, 24 bytes in all, held inline up to 15
/// bytes.
#[derive(Clone)]
pub struct KeyName {
    /// The name's first [`INLINE`] bytes, zero-padded, then its length (or [`LONG`]). As a
    /// big-endian integer its order is the strings' order, except between two long names with
    /// the same first bytes: a shorter name pads with zeros and ends with a smaller length
    /// byte than any name it is a prefix of.
    head: [u8; INLINE + 1],
    /// The whole name when longer than [`INLINE`]: boxed for a thin pointer (8 bytes, where a
    /// `String` takes 24 and a `Box<str>` 16), which keeps the name at 24 bytes; long names
    /// are rare, so their second allocation is too.
    #[allow(clippy::box_collection)]
    long: Option<Box<String>>,
}

impl Default for KeyName {
    fn default() -> Self {
        KeyName { head: [0; INLINE + 1], long: None }
    }
}

impl KeyName {
    /// The name `name`.
    #[must_use]
    pub fn new(name: &str) -> Self {
        if name.len() > INLINE {
            return Self::long(Box::new(String::from(name)));
        }
        let mut head = [0u8; INLINE + 1];
        head[..name.len()].copy_from_slice(name.as_bytes());
        // The length is at most INLINE = 15, so it fits a byte.
        head[INLINE] = name.len() as u8;
        KeyName { head, long: None }
    }

    /// A name longer than [`INLINE`] bytes.
    #[allow(clippy::box_collection)]
    fn long(name: Box<String>) -> Self {
        let mut head = [0u8; INLINE + 1];
        head[..INLINE].copy_from_slice(&name.as_bytes()[..INLINE]);
        head[INLINE] = LONG;
        KeyName { head, long: Some(name) }
    }

    /// The name as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match &self.long {
            Some(name) => name,
            // The head of a short name holds the whole of a `&str`, so it is UTF-8.
            None => core::str::from_utf8(self.as_bytes()).unwrap_or_default(),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match &self.long {
            Some(name) => name.as_bytes(),
            None => &self.head[..usize::from(self.head[INLINE]).min(INLINE)],
        }
    }
}

impl Ord for KeyName {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (u128::from_be_bytes(self.head), u128::from_be_bytes(other.head));
        // Equal heads are equal names unless both are long.
        a.cmp(&b).then_with(|| match (&self.long, &other.long) {
            (Some(x), Some(y)) => x.as_bytes().cmp(y.as_bytes()),
            _ => Ordering::Equal,
        })
    }
}

impl PartialOrd for KeyName {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for KeyName {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.head == other.head && self.long == other.long
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
        if name.len() > INLINE { KeyName::long(Box::new(name)) } else { KeyName::new(&name) }
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
        if serializer.is_human_readable() {
            serializer.serialize_str(self.as_str())
        } else {
            // The bytes were UTF-8 when the name was made; in postcard (the canonical
            // encoding) a byte string is written exactly as a string, without checking the
            // bytes again on every encoding.
            serializer.serialize_bytes(self.as_bytes())
        }
    }
}

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Builds the name from a borrowed string without allocating when it is short.
        struct NameVisitor;
        impl Visitor<'_> for NameVisitor {
            type Value = KeyName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyName, E> {
                Ok(KeyName::new(v))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<KeyName, E> {
                Ok(KeyName::from(v))
            }
        }
        deserializer.deserialize_str(NameVisitor)
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
            "0123456789abcde",
            "0123456789abcde\0",
            "0123456789abcde\u{7f}",
            "0123456789abcdeÿ",
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
                assert_eq!(KeyName::from(String::from(a)), x, "{a:?} from a String");
                assert_eq!(x.as_str(), a);
            }
        }
    }

    #[test]
    fn is_24_bytes() {
        assert_eq!(core::mem::size_of::<KeyName>(), 24);
        assert_eq!(core::mem::size_of::<(KeyName, KeyName)>(), 48);
    }

    #[test]
    fn encodes_as_a_plain_string() {
        let name = KeyName::from("branch-042-with-a-long-tail");
        let bytes = postcard::to_allocvec(&name).unwrap();
        assert_eq!(bytes, postcard::to_allocvec("branch-042-with-a-long-tail").unwrap());
        let back: KeyName = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, name);
        let short: KeyName =
            postcard::from_bytes(&postcard::to_allocvec("SKU-17").unwrap()).unwrap();
        assert_eq!((short.as_str(), short.len()), ("SKU-17", 6));
        let mut sorted: Vec<KeyName> = ["b", "a", "ab"].into_iter().map(KeyName::from).collect();
        sorted.sort();
        assert_eq!(sorted, ["a", "ab", "b"]);
    }
}
