//! The small sorted set of dots that keeps one ORSet element alive.

use alloc::vec::Vec;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{CausalContext, Dot};

/// The dots under which one element was added and not yet removed, sorted and without repeats.
///
/// Usually one dot, stored inline without a heap allocation; more after concurrent adds of the
/// same element by several replicas.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DotSet {
    repr: Repr,
}

/// Canonical storage: `One` for exactly one dot, `Many` for zero or two and more.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Repr {
    One(Dot),
    Many(Vec<Dot>),
}

impl Default for DotSet {
    fn default() -> Self {
        Self::empty()
    }
}

impl DotSet {
    /// The empty set.
    #[must_use]
    pub const fn empty() -> Self {
        Self { repr: Repr::Many(Vec::new()) }
    }

    /// The set holding exactly `dot`.
    #[must_use]
    pub const fn single(dot: Dot) -> Self {
        Self { repr: Repr::One(dot) }
    }

    /// The dots, sorted.
    #[must_use]
    pub fn as_slice(&self) -> &[Dot] {
        match &self.repr {
            Repr::One(dot) => core::slice::from_ref(dot),
            Repr::Many(dots) => dots,
        }
    }

    /// Adds `dot` if absent.
    pub fn insert(&mut self, dot: Dot) {
        match &mut self.repr {
            Repr::One(only) if *only == dot => {}
            Repr::One(only) => {
                let (a, b) = if *only < dot { (*only, dot) } else { (dot, *only) };
                self.repr = Repr::Many(alloc::vec![a, b]);
            }
            Repr::Many(dots) if dots.is_empty() => self.repr = Repr::One(dot),
            Repr::Many(dots) => {
                if let Err(i) = dots.binary_search(&dot) {
                    dots.insert(i, dot);
                }
            }
        }
    }

    /// Appends `dot`, which must sort after every dot already present (used by joins).
    fn push_last(&mut self, dot: Dot) {
        match &mut self.repr {
            Repr::One(only) => self.repr = Repr::Many(alloc::vec![*only, dot]),
            Repr::Many(dots) if dots.is_empty() => self.repr = Repr::One(dot),
            Repr::Many(dots) => dots.push(dot),
        }
    }

    /// Whether `dot` is in the set.
    #[must_use]
    pub fn contains(&self, dot: &Dot) -> bool {
        self.as_slice().binary_search(dot).is_ok()
    }

    /// Whether the set is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// Number of dots.
    #[must_use]
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Iterates over the dots in order.
    pub fn iter(&self) -> impl Iterator<Item = Dot> + '_ {
        self.as_slice().iter().copied()
    }

    /// Removes every dot that `context` has seen; returns whether any dot is left.
    pub fn remove_seen(&mut self, context: &CausalContext) -> bool {
        match &mut self.repr {
            Repr::One(dot) => {
                if context.contains(dot) {
                    *self = Self::empty();
                    return false;
                }
                true
            }
            Repr::Many(dots) => {
                dots.retain(|d| !context.contains(d));
                if let [only] = dots.as_slice() {
                    self.repr = Repr::One(*only);
                }
                !self.is_empty()
            }
        }
    }

    /// The dots that survive a join: kept by both sides, or unseen by the other side's context.
    ///
    /// This is `(mine ∩ theirs) ∪ (mine \ their_context) ∪ (theirs \ my_context)`.
    #[must_use]
    pub fn join(
        mine: &Self,
        my_context: &CausalContext,
        theirs: &Self,
        their_context: &CausalContext,
    ) -> Self {
        // The usual case, one dot on each side, without the general merge.
        if let (Repr::One(x), Repr::One(y)) = (&mine.repr, &theirs.repr) {
            if x == y {
                return Self::single(*x);
            }
            let keep_x = !their_context.contains(x);
            let keep_y = !my_context.contains(y);
            return match (keep_x, keep_y) {
                (true, true) => {
                    let (a, b) = if x < y { (*x, *y) } else { (*y, *x) };
                    Self { repr: Repr::Many(alloc::vec![a, b]) }
                }
                (true, false) => Self::single(*x),
                (false, true) => Self::single(*y),
                (false, false) => Self::empty(),
            };
        }
        let mut out = Self::empty();
        let mut a = mine.iter().peekable();
        let mut b = theirs.iter().peekable();
        loop {
            match (a.peek().copied(), b.peek().copied()) {
                (Some(x), Some(y)) if x == y => {
                    out.push_last(x);
                    a.next();
                    b.next();
                }
                (Some(x), Some(y)) if x < y => {
                    if !their_context.contains(&x) {
                        out.push_last(x);
                    }
                    a.next();
                }
                (Some(x), None) => {
                    if !their_context.contains(&x) {
                        out.push_last(x);
                    }
                    a.next();
                }
                (_, Some(y)) => {
                    if !my_context.contains(&y) {
                        out.push_last(y);
                    }
                    b.next();
                }
                (None, None) => break,
            }
        }
        out
    }
}

impl Serialize for DotSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for DotSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let dots = Vec::<Dot>::deserialize(deserializer)?;
        let mut set = Self::empty();
        dots.into_iter().for_each(|d| set.insert(d));
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReplicaId;

    fn dot(r: u64, c: u64) -> Dot {
        Dot::new(ReplicaId(r), c)
    }

    #[test]
    fn one_dot_has_one_representation() {
        let mut grown = DotSet::empty();
        grown.insert(dot(1, 2));
        assert_eq!(grown, DotSet::single(dot(1, 2)));
        grown.insert(dot(1, 1));
        grown.insert(dot(1, 1));
        assert_eq!(grown.as_slice(), &[dot(1, 1), dot(1, 2)]);
        let mut context = CausalContext::new();
        context.insert(dot(1, 1));
        assert!(grown.remove_seen(&context));
        assert_eq!(grown, DotSet::single(dot(1, 2)));
        context.insert(dot(1, 2));
        assert!(!grown.remove_seen(&context));
        assert_eq!(grown, DotSet::empty());
    }

    #[test]
    fn join_keeps_common_and_unseen_dots() {
        let mut mine_ctx = CausalContext::new();
        let mut their_ctx = CausalContext::new();
        let mine = DotSet::single(dot(1, 1));
        let mut theirs = DotSet::single(dot(1, 1));
        theirs.insert(dot(2, 1));
        mine_ctx.insert(dot(1, 1));
        their_ctx.insert(dot(1, 1));
        their_ctx.insert(dot(2, 1));
        let joined = DotSet::join(&mine, &mine_ctx, &theirs, &their_ctx);
        assert_eq!(joined.as_slice(), &[dot(1, 1), dot(2, 1)]);
        // Once my side has seen (2, 1) and dropped it, the join drops it too.
        mine_ctx.insert(dot(2, 1));
        let joined = DotSet::join(&mine, &mine_ctx, &theirs, &their_ctx);
        assert_eq!(joined, DotSet::single(dot(1, 1)));
    }
}
