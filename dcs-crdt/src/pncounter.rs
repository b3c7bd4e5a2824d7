//! Increment/decrement counter.

use serde::{Deserialize, Serialize};

use crate::{CrdtError, GCounter, ReplicaId};

/// Counter that goes up and down (inventory quantities): one [`GCounter`] of increments and one
/// of decrements; the value is their difference and may go negative (see [`crate::BoundedCounter`]
/// for stock that must not).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct PNCounter {
    p: GCounter,
    n: GCounter,
}

impl PNCounter {
    /// A counter at zero.
    #[must_use]
    pub const fn new() -> Self {
        Self { p: GCounter::new(), n: GCounter::new() }
    }

    /// Adds `amount` on behalf of `replica` (the caller's own id); returns the delta.
    ///
    /// # Errors
    /// [`CrdtError::Overflow`] if the replica's increments would pass `u64::MAX`.
    pub fn increment(&mut self, replica: ReplicaId, amount: u64) -> Result<Self, CrdtError> {
        Ok(Self { p: self.p.increment(replica, amount)?, n: GCounter::new() })
    }

    /// Subtracts `amount` on behalf of `replica` (the caller's own id); returns the delta.
    ///
    /// # Errors
    /// [`CrdtError::Overflow`] if the replica's decrements would pass `u64::MAX`.
    pub fn decrement(&mut self, replica: ReplicaId, amount: u64) -> Result<Self, CrdtError> {
        Ok(Self { p: GCounter::new(), n: self.n.increment(replica, amount)? })
    }

    /// Increments minus decrements.
    #[must_use]
    pub fn value(&self) -> i128 {
        let (p, n) = (self.p.value(), self.n.value());
        if p >= n {
            i128::try_from(p - n).unwrap_or(i128::MAX)
        } else {
            i128::try_from(n - p).map_or(i128::MIN, |d| -d)
        }
    }

    /// The increments.
    #[must_use]
    pub fn increments(&self) -> &GCounter {
        &self.p
    }

    /// The decrements.
    #[must_use]
    pub fn decrements(&self) -> &GCounter {
        &self.n
    }

    /// Join of full states (both halves by pointwise maximum).
    pub(crate) fn join(&mut self, other: &Self) {
        self.p.join(&other.p);
        self.n.join(&other.n);
    }

    /// Every decoded counter is valid.
    #[allow(clippy::unnecessary_wraps)]
    pub(crate) const fn check(&self) -> Result<(), CrdtError> {
        Ok(())
    }
}

crate::traits::delta_is_state!(PNCounter);
