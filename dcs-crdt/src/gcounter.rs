//! Grow-only counter.

use serde::{Deserialize, Serialize};

use crate::{CrdtError, MaxMap, ReplicaId};

/// Grow-only counter (transaction and visit counts): each replica counts its own increments,
/// the value is the sum, and merging keeps each replica's maximum.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GCounter {
    counts: MaxMap<ReplicaId>,
}

impl GCounter {
    /// A counter at zero.
    #[must_use]
    pub const fn new() -> Self {
        Self { counts: MaxMap::new() }
    }

    /// Adds `amount` on behalf of `replica` (which must be the caller's own id); returns the delta.
    ///
    /// # Errors
    /// [`CrdtError::Overflow`] if the replica's count would pass `u64::MAX`; nothing changes then.
    pub fn increment(&mut self, replica: ReplicaId, amount: u64) -> Result<Self, CrdtError> {
        let total =
            self.counts.add(replica, amount).ok_or(CrdtError::Overflow { replica: replica.0 })?;
        let mut delta = Self::new();
        delta.counts.raise(replica, total);
        Ok(delta)
    }

    /// The total of all increments.
    #[must_use]
    pub fn value(&self) -> u128 {
        self.counts.sum()
    }

    /// The increments made by `replica`.
    #[must_use]
    pub fn count_of(&self, replica: ReplicaId) -> u64 {
        self.counts.get(&replica)
    }

    /// Per-replica counts, in replica order.
    #[must_use]
    pub fn counts(&self) -> &MaxMap<ReplicaId> {
        &self.counts
    }

    /// Join of full states (pointwise maximum).
    pub(crate) fn join(&mut self, other: &Self) {
        self.counts.join(&other.counts);
    }

    /// Every decoded counter is valid.
    #[allow(clippy::unnecessary_wraps)]
    pub(crate) const fn check(&self) -> Result<(), CrdtError> {
        Ok(())
    }
}

crate::traits::delta_is_state!(GCounter);
