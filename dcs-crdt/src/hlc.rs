//! Hybrid Logical Clock timestamps as seen by last-writer-wins registers.

use serde::{Deserialize, Serialize};

use crate::ReplicaId;

/// A totally ordered write timestamp: HLC time first, then the writing replica's id as tie-breaker.
///
/// `time` is the 64-bit NTP-style Hybrid Logical Clock value that `dcs-core`'s clock hands out
/// (this crate reads no clock). Two stamps with equal `time` are ordered by `replica`, so every
/// replica picks the same winner.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Hlc {
    /// Hybrid Logical Clock time (NTP64 layout) from the caller's clock.
    pub time: u64,
    /// Replica that wrote the value; breaks ties on equal `time`.
    pub replica: ReplicaId,
}

impl Hlc {
    /// Builds a timestamp from an HLC time and the writing replica.
    #[must_use]
    pub const fn new(time: u64, replica: ReplicaId) -> Self {
        Self { time, replica }
    }
}
