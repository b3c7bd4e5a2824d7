//! Sign-in throttling: after `max_failures` wrong passwords for one operator name within
//! `lockout_ms`, that name's sign-ins are refused until `lockout_ms` after the last failure,
//! whatever the password (so guessing costs a lockout per few tries). Bounded: at most
//! `tracked` names are remembered; when full, the entry whose last failure is oldest goes.
//! Pure: the caller passes the time.

use std::collections::HashMap;

/// The limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Wrong passwords before a lockout.
    pub max_failures: u32,
    /// How long a lockout lasts after the last failure, ms (also the window failures count in).
    pub lockout_ms: u64,
    /// Names remembered at most.
    pub tracked: usize,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last_ms: u64,
}

/// The failed sign-ins per name.
#[derive(Debug)]
pub struct LoginThrottle {
    config: ThrottleConfig,
    names: HashMap<String, Failures>,
}

impl LoginThrottle {
    /// An empty throttle.
    pub fn new(config: ThrottleConfig) -> Self {
        LoginThrottle { config, names: HashMap::new() }
    }

    /// Ok when `name` may try now; else how many ms until it may.
    pub fn check(&self, name: &str, now_ms: u64) -> Result<(), u64> {
        match self.names.get(name) {
            Some(f) if f.count >= self.config.max_failures => {
                let until = f.last_ms.saturating_add(self.config.lockout_ms);
                if now_ms < until { Err(until - now_ms) } else { Ok(()) }
            }
            _ => Ok(()),
        }
    }

    /// Records a wrong password for `name`.
    pub fn failed(&mut self, name: &str, now_ms: u64) {
        let window = self.config.lockout_ms;
        if !self.names.contains_key(name) && self.names.len() >= self.config.tracked.max(1) {
            let oldest = self.names.iter().min_by_key(|(_, f)| f.last_ms).map(|(n, _)| n.clone());
            if let Some(n) = oldest {
                self.names.remove(&n);
            }
        }
        let f =
            self.names.entry(name.to_string()).or_insert(Failures { count: 0, last_ms: now_ms });
        if now_ms.saturating_sub(f.last_ms) > window {
            f.count = 0;
        }
        f.count = f.count.saturating_add(1);
        f.last_ms = now_ms;
    }

    /// A successful sign-in clears `name`'s failures.
    pub fn succeeded(&mut self, name: &str) {
        self.names.remove(name);
    }

    /// Names remembered now.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no name is remembered.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> LoginThrottle {
        LoginThrottle::new(ThrottleConfig { max_failures: 3, lockout_ms: 1_000, tracked: 2 })
    }

    #[test]
    fn a_name_is_locked_out_after_its_failures_until_the_lockout_passes() {
        let mut t = t();
        for k in 0..3 {
            assert_eq!(t.check("alice", k * 10), Ok(()));
            t.failed("alice", k * 10);
        }
        assert_eq!(t.check("alice", 20), Err(1_000));
        assert_eq!(t.check("alice", 1_019), Err(1));
        assert_eq!(t.check("alice", 1_020), Ok(()));
        assert_eq!(t.check("bob", 20), Ok(()), "other names are not locked");
    }

    #[test]
    fn failures_far_apart_do_not_add_up_and_a_success_clears_them() {
        let mut t = t();
        t.failed("alice", 0);
        t.failed("alice", 10);
        t.failed("alice", 5_000);
        assert_eq!(t.check("alice", 5_001), Ok(()), "the first two are outside the window");
        t.failed("alice", 5_002);
        t.succeeded("alice");
        t.failed("alice", 5_003);
        assert_eq!(t.check("alice", 5_004), Ok(()));
    }

    #[test]
    fn memory_stays_within_the_tracked_bound() {
        let mut t = t();
        for k in 0..100u64 {
            t.failed(&format!("n{k}"), k);
            assert!(t.len() <= 2);
        }
        assert!(t.names.contains_key("n99") && t.names.contains_key("n98"));
    }
}
