//! The small sorted set of dots that keeps one ORSet element alive.

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::{CausalContext, Dot};

/// The dots under which one element was added and not yet removed, sorted and without repeats.
///
/// Usually one dot; more after concurrent adds of the same element by several replicas.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DotSet {
    dots: Vec<Dot>,
}

impl DotSet {
    /// The set holding exactly `dot`.
    #[must_use]
    pub fn single(dot: Dot) -> Self {
        Self { dots: alloc::vec![dot] }
    }

    /// Adds `dot` if absent.
    pub fn insert(&mut self, dot: Dot) {
        if let Err(i) = self.dots.binary_search(&dot) {
            self.dots.insert(i, dot);
        }
    }

    /// Whether `dot` is in the set.
    #[must_use]
    pub fn contains(&self, dot: &Dot) -> bool {
        self.dots.binary_search(dot).is_ok()
    }

    /// Whether the set is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.dots.is_empty()
    }

    /// Number of dots.
    #[must_use]
    pub fn len(&self) -> usize {
        self.dots.len()
    }

    /// Iterates over the dots in order.
    pub fn iter(&self) -> impl Iterator<Item = Dot> + '_ {
        self.dots.iter().copied()
    }

    /// Removes every dot that `context` has seen; returns whether any dot is left.
    pub fn remove_seen(&mut self, context: &CausalContext) -> bool {
        self.dots.retain(|d| !context.contains(d));
        !self.dots.is_empty()
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
        let mut out = Vec::with_capacity(mine.dots.len().max(theirs.dots.len()));
        let mut a = mine.dots.iter().copied().peekable();
        let mut b = theirs.dots.iter().copied().peekable();
        loop {
            match (a.peek().copied(), b.peek().copied()) {
                (Some(x), Some(y)) if x == y => {
                    out.push(x);
                    a.next();
                    b.next();
                }
                (Some(x), Some(y)) if x < y => {
                    if !their_context.contains(&x) {
                        out.push(x);
                    }
                    a.next();
                }
                (Some(x), None) => {
                    if !their_context.contains(&x) {
                        out.push(x);
                    }
                    a.next();
                }
                (_, Some(y)) => {
                    if !my_context.contains(&y) {
                        out.push(y);
                    }
                    b.next();
                }
                (None, None) => break,
            }
        }
        Self { dots: out }
    }
}
