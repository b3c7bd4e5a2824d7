//! Causality: a sans-IO Hybrid Logical Clock, vector clocks, and their pair on every event.

mod context;
mod hlc;
mod vclock;

pub use context::CausalContext;
pub use hlc::{HlcTimestamp, HybridClock, unix_ms_to_ntp64};
pub use vclock::{ClockOrdering, VectorClock};
