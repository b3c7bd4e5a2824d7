//! The causal context carried by every event.

use serde::{Deserialize, Serialize};

use super::{HlcTimestamp, VectorClock};

/// When an event happened: its HLC timestamp and the vector clock of its creator.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CausalContext {
    /// Hybrid Logical Clock time of the event.
    pub hlc: HlcTimestamp,
    /// The creator's vector clock after counting this event.
    pub vector_clock: VectorClock,
}
