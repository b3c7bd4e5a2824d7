//! The interface every replicated type of the crate shares.

use crate::CrdtError;

/// A state-based CRDT with delta mutators: states form a join-semilattice and so do deltas.
///
/// Mutators are inherent methods of each type; each applies the change locally and returns a
/// [`Crdt::Delta`] to ship. `merge` is the join of full states; `apply_delta` joins a delta (or a
/// join of deltas) and gives the same state as merging the full state the delta came from.
pub trait Crdt: Clone + Default + PartialEq {
    /// What a mutator returns: a small piece of state that can be shipped and joined.
    type Delta: Clone + Default + PartialEq;

    /// Joins the full state `other` into `self` (commutative, associative, idempotent).
    fn merge(&mut self, other: &Self);

    /// Joins a delta (or a group of joined deltas) into `self`.
    fn apply_delta(&mut self, delta: &Self::Delta);

    /// Joins `delta` into the delta group `into`, to ship several deltas as one.
    fn join_deltas(into: &mut Self::Delta, delta: &Self::Delta);

    /// Checks the invariants of a decoded state; decoding calls it before handing the state out.
    ///
    /// # Errors
    /// A [`CrdtError`] naming the broken invariant.
    fn validate(&self) -> Result<(), CrdtError>;

    /// Checks the invariants of a decoded delta.
    ///
    /// # Errors
    /// A [`CrdtError`] naming the broken invariant.
    fn validate_delta(delta: &Self::Delta) -> Result<(), CrdtError>;
}

/// Implements [`Crdt`] for a type whose deltas are states of the same type.
///
/// The type provides `fn join(&mut self, other: &Self)` and `fn check(&self) -> Result<(), CrdtError>`.
macro_rules! delta_is_state {
    ($ty:ty $(, $gen:ident)*) => {
        impl<$($gen: Ord + Clone),*> $crate::Crdt for $ty {
            type Delta = Self;

            fn merge(&mut self, other: &Self) {
                self.join(other);
            }

            fn apply_delta(&mut self, delta: &Self) {
                self.join(delta);
            }

            fn join_deltas(into: &mut Self, delta: &Self) {
                into.join(delta);
            }

            fn validate(&self) -> Result<(), $crate::CrdtError> {
                self.check()
            }

            fn validate_delta(delta: &Self) -> Result<(), $crate::CrdtError> {
                delta.check()
            }
        }
    };
}
pub(crate) use delta_is_state;
