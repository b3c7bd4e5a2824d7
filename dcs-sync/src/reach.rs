//! How far a child has, through this node, merged its parent's delta log: the region's
//! answer to "has store S got the master's change at position P yet?".
//!
//! Each merge of a parent's payload takes a position in this node's own delta log (or none,
//! when it changed nothing here); a child that has merged this node's log through position
//! `h` has every parent change that was merged at a position up to `h`. The marks are pairs
//! (own log position, parent position merged), both non-decreasing; only the last
//! `capacity` are kept, and the newest mark dropped stays as a floor, so an answer is never
//! above the truth (a child far behind may be reported lower than it is, never higher).

use alloc::collections::VecDeque;

/// Marks of (own delta-log position, parent log position merged by then).
#[derive(Debug, Clone, Default)]
pub struct Reach {
    marks: VecDeque<(u64, u64)>,
    floor: (u64, u64),
    capacity: usize,
}

impl Reach {
    /// Marks that start from what is durable: at own log position `seq` the parent's log was
    /// merged through `parent` (a restarted node knows no finer history).
    pub fn new(seq: u64, parent: u64, capacity: usize) -> Self {
        Reach { marks: VecDeque::new(), floor: (seq, parent), capacity: capacity.max(1) }
    }

    /// Records that by own log position `seq` the parent's log is merged through `parent`.
    pub fn mark(&mut self, seq: u64, parent: u64) {
        let last = self.marks.back().copied().unwrap_or(self.floor);
        if parent <= last.1 {
            return;
        }
        if seq == last.0
            && let Some(back) = self.marks.back_mut()
        {
            back.1 = parent;
            return;
        }
        self.marks.push_back((seq.max(last.0), parent));
        while self.marks.len() > self.capacity {
            if let Some(old) = self.marks.pop_front() {
                self.floor = old;
            }
        }
    }

    /// How far a child that has merged this node's log through `child_has` has merged the
    /// parent's log (0 when it is behind every mark).
    pub fn of(&self, child_has: u64) -> u64 {
        let n = self.marks.partition_point(|&(seq, _)| seq <= child_has);
        match n {
            0 if self.floor.0 <= child_has => self.floor.1,
            0 => 0,
            n => self.marks[n - 1].1,
        }
    }

    /// Marks held (at most the capacity).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.marks.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_has_what_was_merged_up_to_its_position() {
        let mut r = Reach::new(0, 0, 8);
        r.mark(3, 10);
        r.mark(3, 12); // a merge that took no new position
        r.mark(7, 20);
        assert_eq!(r.of(0), 0);
        assert_eq!(r.of(2), 0);
        assert_eq!(r.of(3), 12);
        assert_eq!(r.of(6), 12);
        assert_eq!(r.of(7), 20);
        assert_eq!(r.of(100), 20);
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn bounded_and_never_above_the_truth() {
        let mut r = Reach::new(5, 4, 3);
        assert_eq!(r.of(4), 0, "behind the restored position: unknown, so nothing");
        assert_eq!(r.of(5), 4);
        for i in 1..=10 {
            r.mark(5 + i, 4 + 10 * i);
        }
        assert_eq!(r.len(), 3);
        // Marks for positions 6..=12 were dropped; 12's stays as the floor.
        assert_eq!(r.of(6), 0, "older than the floor: reported low, never high");
        assert_eq!(r.of(12), 74);
        assert_eq!(r.of(13), 84);
        assert_eq!(r.of(15), 104);
        // Stale or repeated marks change nothing.
        r.mark(15, 50);
        assert_eq!(r.of(15), 104);
    }
}
