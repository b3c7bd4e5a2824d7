//! Dots: unique names of single add events.

use serde::{Deserialize, Serialize};

use crate::ReplicaId;

/// One event of one replica: the `counter`-th event that `replica` generated (counters start at 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Dot {
    /// Replica that generated the event.
    pub replica: ReplicaId,
    /// Sequence number of the event at that replica, from 1.
    pub counter: u64,
}

impl Dot {
    /// Builds a dot.
    #[must_use]
    pub const fn new(replica: ReplicaId, counter: u64) -> Self {
        Self { replica, counter }
    }
}
