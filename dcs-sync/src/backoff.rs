//! Exponential backoff with full jitter; the randomness is handed in.

/// Retransmission delays that double per attempt up to a cap, jittered so peers do not retry
/// in lock-step after a shared outage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    base_ms: u64,
    max_ms: u64,
    attempt: u32,
}

impl Backoff {
    /// A backoff starting at `base_ms` and never waiting longer than `max_ms`.
    pub fn new(base_ms: u64, max_ms: u64) -> Self {
        Backoff { base_ms: base_ms.max(1), max_ms: max_ms.max(base_ms.max(1)), attempt: 0 }
    }

    /// How many retries were made since the last [`Backoff::reset`].
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The delay before the next try: uniform in `[cap/2, cap]` where `cap = min(max, base·2^attempt)`,
    /// chosen with `random`; then counts the attempt.
    pub fn next_delay(&mut self, random: u64) -> u64 {
        let cap = self.base_ms.saturating_mul(1u64 << self.attempt.min(40)).min(self.max_ms);
        self.attempt = self.attempt.saturating_add(1);
        let half = cap / 2;
        half + random % (cap - half + 1)
    }

    /// Back to the base delay (after a success).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_until_the_cap_then_resets() {
        let mut b = Backoff::new(100, 1_000);
        let d0 = b.next_delay(0);
        assert_eq!(d0, 50);
        let d1 = b.next_delay(u64::MAX);
        assert!((100..=200).contains(&d1), "{d1}");
        let d2 = b.next_delay(u64::MAX);
        assert!((200..=400).contains(&d2), "{d2}");
        for _ in 0..9 {
            let d = b.next_delay(12345);
            assert!(d <= 1_000, "{d}");
        }
        assert!(b.next_delay(0) == 500, "capped at 1000, jittered in [500, 1000]");
        assert_eq!(b.attempt(), 13);
        b.reset();
        assert!(b.next_delay(7) <= 100);
    }
}
