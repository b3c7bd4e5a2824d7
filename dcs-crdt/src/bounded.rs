//! Non-negative counter by escrow of rights.

use serde::{Deserialize, Serialize};

use crate::{CrdtError, MaxMap, ReplicaId};

/// Counter that never drops below zero across replicas, without coordinating each decrement
/// (limited stock sold by offline stores).
///
/// The value is split into *rights* held by replicas. Incrementing creates rights at the
/// incrementing replica; decrementing spends the caller's own rights; rights can be transferred
/// to another replica. A replica only ever spends rights it can see it holds, and no other
/// replica can spend them, so the sum of all rights — the value — never goes below zero.
///
/// When a replica runs out of rights, [`BoundedCounter::decrement`] returns
/// [`CrdtError::InsufficientRights`] and changes nothing: the sale is refused locally (or
/// back-ordered) until a replica that holds rights transfers some, which needs a connection to it.
/// Stock held by other replicas is not lost; it is just not spendable here.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct BoundedCounter {
    increments: MaxMap<ReplicaId>,
    decrements: MaxMap<ReplicaId>,
    transfers: MaxMap<(ReplicaId, ReplicaId)>,
}

impl BoundedCounter {
    /// A counter at zero with no rights anywhere.
    #[must_use]
    pub const fn new() -> Self {
        Self { increments: MaxMap::new(), decrements: MaxMap::new(), transfers: MaxMap::new() }
    }

    /// Adds `amount` to the value and to the rights of `replica` (the caller); returns the delta.
    ///
    /// # Errors
    /// [`CrdtError::Overflow`] if the replica's increments would pass `u64::MAX`.
    pub fn increment(&mut self, replica: ReplicaId, amount: u64) -> Result<Self, CrdtError> {
        let total = self
            .increments
            .add(replica, amount)
            .ok_or(CrdtError::Overflow { replica: replica.0 })?;
        let mut delta = Self::new();
        delta.increments.raise(replica, total);
        Ok(delta)
    }

    /// Subtracts `amount`, spending the rights of `replica` (the caller); returns the delta.
    ///
    /// # Errors
    /// [`CrdtError::InsufficientRights`] when `replica` holds fewer than `amount` rights in this
    /// state (nothing changes: refuse the sale or ask for a transfer);
    /// [`CrdtError::Overflow`] if its decrements would pass `u64::MAX`.
    pub fn decrement(&mut self, replica: ReplicaId, amount: u64) -> Result<Self, CrdtError> {
        self.ensure_rights(replica, amount)?;
        let total = self
            .decrements
            .add(replica, amount)
            .ok_or(CrdtError::Overflow { replica: replica.0 })?;
        let mut delta = Self::new();
        delta.decrements.raise(replica, total);
        Ok(delta)
    }

    /// Moves `amount` rights from `from` (the caller) to `to`; returns the delta.
    ///
    /// # Errors
    /// [`CrdtError::SelfTransfer`] when `from == to`; [`CrdtError::InsufficientRights`] when
    /// `from` holds fewer than `amount` rights; [`CrdtError::Overflow`] on `u64` overflow.
    pub fn transfer(
        &mut self,
        from: ReplicaId,
        to: ReplicaId,
        amount: u64,
    ) -> Result<Self, CrdtError> {
        if from == to {
            return Err(CrdtError::SelfTransfer { replica: from.0 });
        }
        self.ensure_rights(from, amount)?;
        let total = self
            .transfers
            .add((from, to), amount)
            .ok_or(CrdtError::Overflow { replica: from.0 })?;
        let mut delta = Self::new();
        delta.transfers.raise((from, to), total);
        Ok(delta)
    }

    /// The counter's value: all increments minus all decrements (equal to the sum of all rights).
    #[must_use]
    pub fn value(&self) -> u128 {
        self.increments.sum().saturating_sub(self.decrements.sum())
    }

    /// The rights `replica` holds in this state: what it may still decrement or transfer.
    #[must_use]
    pub fn rights(&self, replica: ReplicaId) -> u128 {
        let mut gained = u128::from(self.increments.get(&replica));
        let mut spent = u128::from(self.decrements.get(&replica));
        for ((from, to), amount) in self.transfers.iter() {
            if to == replica {
                gained += u128::from(amount);
            } else if from == replica {
                spent += u128::from(amount);
            }
        }
        gained.saturating_sub(spent)
    }

    /// Refuses when `replica` holds fewer than `amount` rights.
    fn ensure_rights(&self, replica: ReplicaId, amount: u64) -> Result<(), CrdtError> {
        let available = self.rights(replica);
        if available < u128::from(amount) {
            return Err(CrdtError::InsufficientRights {
                replica: replica.0,
                requested: amount,
                available,
            });
        }
        Ok(())
    }

    /// Join of full states (pointwise maximum of increments, decrements and transfers).
    pub(crate) fn join(&mut self, other: &Self) {
        self.increments.join(&other.increments);
        self.decrements.join(&other.decrements);
        self.transfers.join(&other.transfers);
    }

    /// Refuses transfers from a replica to itself (a delta may legitimately show spending
    /// without the matching increments, so rights are not checked here).
    pub(crate) fn check(&self) -> Result<(), CrdtError> {
        match self.transfers.iter().find(|((from, to), _)| from == to) {
            Some(((from, _), _)) => Err(CrdtError::SelfTransfer { replica: from.0 }),
            None => Ok(()),
        }
    }
}

crate::traits::delta_is_state!(BoundedCounter);
