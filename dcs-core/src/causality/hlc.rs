//! A Hybrid Logical Clock on uhlc's timestamp types, with the wall clock passed in.
//!
//! `uhlc::HLC` reads its clock through a function pointer, which a sans-IO core cannot
//! accept, so this clock keeps uhlc's representation (64-bit NTP time whose 4 lowest bits
//! are a logical counter, plus a 128-bit node id) and takes the wall time as an argument.

use serde::{Deserialize, Serialize};
use uhlc::{ID, NTP64, Timestamp};

use crate::error::{CoreError, Result};

/// Bits of the NTP64 fraction used as the logical counter (as uhlc does).
const COUNTER_MASK: u64 = 0xF;

/// An HLC timestamp: NTP64 time (32.32 fixed point seconds since the Unix epoch) and node id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct HlcTimestamp {
    /// NTP64 time; its 4 lowest bits are the logical counter.
    pub time: u64,
    /// The id of the clock that made it (uhlc `ID`, little-endian bytes).
    pub node: [u8; 16],
}

impl HlcTimestamp {
    /// Converts to uhlc's timestamp; fails if `node` is all zeroes (uhlc ids are non-zero).
    pub fn to_uhlc(&self) -> Result<Timestamp> {
        let id = ID::try_from(self.node).map_err(|_| CoreError::InvalidField {
            field: "hlc.node",
            reason: "the HLC node id must not be all zeroes".into(),
        })?;
        Ok(Timestamp::new(NTP64(self.time), id))
    }

    /// Converts from uhlc's timestamp.
    pub fn from_uhlc(ts: &Timestamp) -> Self {
        HlcTimestamp { time: ts.get_time().as_u64(), node: ts.get_id().to_le_bytes() }
    }

    /// Unix time in milliseconds (the counter bits are dropped).
    pub fn unix_ms(&self) -> u64 {
        let secs = self.time >> 32;
        let frac = self.time & 0xFFFF_FFFF;
        secs * 1000 + ((frac * 1000) >> 32)
    }
}

/// Converts Unix milliseconds to NTP64 (32.32 fixed point seconds).
pub fn unix_ms_to_ntp64(unix_ms: u64) -> u64 {
    let secs = unix_ms / 1000;
    let ms = unix_ms % 1000;
    (secs << 32) | ((ms << 32) / 1000)
}

/// A Hybrid Logical Clock: monotonic, close to wall time, and updated by what it receives.
#[derive(Clone, Debug)]
pub struct HybridClock {
    node: [u8; 16],
    last: u64,
    max_drift_ms: u64,
}

impl HybridClock {
    /// A clock for `node` that rejects remote times more than `max_drift_ms` ahead.
    pub fn new(node: [u8; 16], max_drift_ms: u64) -> Result<Self> {
        if node == [0; 16] {
            return Err(CoreError::InvalidField {
                field: "hlc.node",
                reason: "the HLC node id must not be all zeroes".into(),
            });
        }
        Ok(HybridClock { node, last: 0, max_drift_ms })
    }

    /// Restores the clock after a restart from the last timestamp it persisted.
    pub fn restore(&mut self, last: HlcTimestamp) {
        self.last = self.last.max(last.time);
    }

    /// The last timestamp handed out or observed.
    pub fn last(&self) -> HlcTimestamp {
        HlcTimestamp { time: self.last, node: self.node }
    }

    /// A new timestamp for a local event at wall time `wall_unix_ms`; never goes backwards,
    /// even when the wall clock does.
    pub fn tick(&mut self, wall_unix_ms: u64) -> HlcTimestamp {
        let wall = unix_ms_to_ntp64(wall_unix_ms) & !COUNTER_MASK;
        self.last = if wall > self.last { wall } else { self.last.saturating_add(1) };
        self.last()
    }

    /// Folds in a timestamp received from another agent at local wall time `wall_unix_ms`.
    ///
    /// Refuses (and leaves the clock unchanged) when the remote time is more than the
    /// configured drift ahead of the local wall clock.
    pub fn observe(&mut self, remote: HlcTimestamp, wall_unix_ms: u64) -> Result<()> {
        let wall = unix_ms_to_ntp64(wall_unix_ms);
        let limit = wall.saturating_add(unix_ms_to_ntp64(self.max_drift_ms));
        if remote.time > limit {
            let ahead_ms = HlcTimestamp { time: remote.time - wall, node: remote.node }.unix_ms();
            return Err(CoreError::ClockDrift { ahead_ms, max_ms: self.max_drift_ms });
        }
        self.last = self.last.max(remote.time);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE: [u8; 16] = [1; 16];

    #[test]
    fn monotonic_when_wall_clock_goes_back() {
        let mut c = HybridClock::new(NODE, 1000).unwrap();
        let a = c.tick(10_000);
        let b = c.tick(9_000);
        let d = c.tick(9_000);
        assert!(a < b && b < d);
        assert_eq!(a.unix_ms(), 10_000);
    }

    #[test]
    fn rejects_remote_far_ahead() {
        let mut c = HybridClock::new(NODE, 1000).unwrap();
        let before = c.tick(10_000);
        let remote = HlcTimestamp { time: unix_ms_to_ntp64(20_000), node: [2; 16] };
        let err = c.observe(remote, 10_000).unwrap_err();
        assert!(matches!(err, CoreError::ClockDrift { ahead_ms: 10_000, max_ms: 1000 }), "{err:?}");
        assert_eq!(c.last(), before);
        let near = HlcTimestamp { time: unix_ms_to_ntp64(10_900), node: [2; 16] };
        c.observe(near, 10_000).unwrap();
        assert!(c.tick(10_000).time > near.time);
    }

    #[test]
    fn uhlc_round_trip() {
        let ts = HlcTimestamp { time: 12345, node: NODE };
        assert_eq!(HlcTimestamp::from_uhlc(&ts.to_uhlc().unwrap()), ts);
        assert!(HybridClock::new([0; 16], 1).is_err());
    }
}
