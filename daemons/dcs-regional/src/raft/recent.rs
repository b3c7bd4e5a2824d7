//! The newest log entries in memory, decoded: appends wait here for their COMMIT (readable
//! meanwhile), and committed ones stay until a byte budget evicts them, so the state machine
//! and the replication to the followers read what was just appended without a SQLite read
//! and a decode. It always holds a contiguous suffix of the log (appends go at the end,
//! evictions and purges take from the front, a truncation cuts the end in both).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::Entry;

/// One entry held in memory.
struct Held {
    /// The append that wrote it (a later append of the same index replaces it).
    seq: u64,
    entry: Entry,
    /// Its encoded size (what the budget counts).
    size: usize,
    /// Its append committed (only these may be evicted).
    durable: bool,
}

/// The entries, their total encoded size and the budget for the durable ones.
pub(super) struct Recent {
    held: BTreeMap<u64, Held>,
    bytes: usize,
    budget: usize,
}

/// The cache, shared by the log store, its readers and its writer thread.
pub(super) type Shared = Arc<Mutex<Recent>>;

/// A new cache keeping durable entries up to `budget` encoded bytes.
pub(super) fn shared(budget: usize) -> Shared {
    Arc::new(Mutex::new(Recent { held: BTreeMap::new(), bytes: 0, budget }))
}

/// Locks the cache (a panicked holder left it consistent: every change is one call here).
pub(super) fn lock(shared: &Shared) -> MutexGuard<'_, Recent> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Recent {
    /// Holds `entry` at `index`, appended under `seq`, not yet durable.
    pub(super) fn insert(&mut self, index: u64, seq: u64, entry: Entry, size: usize) {
        if let Some(old) = self.held.insert(index, Held { seq, entry, size, durable: false }) {
            self.bytes -= old.size;
        }
        self.bytes += size;
    }

    /// The append `seq` of `indexes` committed: marks them durable (unless a later append
    /// replaced them) and evicts the oldest durable entries beyond the budget.
    pub(super) fn committed(&mut self, seq: u64, indexes: impl IntoIterator<Item = u64>) {
        for i in indexes {
            if let Some(h) = self.held.get_mut(&i).filter(|h| h.seq == seq) {
                h.durable = true;
            }
        }
        while self.bytes > self.budget {
            let Some(first) = self.held.first_entry() else { break };
            if !first.get().durable {
                break;
            }
            self.bytes -= first.remove().size;
        }
    }

    /// Forgets the entries after `after` (all of them for `None`): a truncation.
    pub(super) fn truncate_after(&mut self, after: Option<u64>) {
        let cut = match after {
            Some(a) => self.held.split_off(&a.saturating_add(1)),
            None => std::mem::take(&mut self.held),
        };
        self.bytes -= cut.values().map(|h| h.size).sum::<usize>();
    }

    /// Forgets the entries up to `upto`: a purge.
    pub(super) fn purge(&mut self, upto: u64) {
        let rest = self.held.split_off(&upto.saturating_add(1));
        let gone = std::mem::replace(&mut self.held, rest);
        self.bytes -= gone.values().map(|h| h.size).sum::<usize>();
    }

    /// The lowest index held (entries below it are in the table only).
    pub(super) fn first(&self) -> Option<u64> {
        self.held.keys().next().copied()
    }

    /// The entry with the highest index held.
    pub(super) fn last(&self) -> Option<&Entry> {
        self.held.values().next_back().map(|h| &h.entry)
    }

    /// Copies of the entries held with index in [start, end).
    pub(super) fn range(&self, start: u64, end: Option<u64>) -> Vec<(u64, Entry)> {
        self.held
            .range(start..)
            .take_while(|(i, _)| end.is_none_or(|e| **i < e))
            .map(|(i, h)| (*i, h.entry.clone()))
            .collect()
    }

    /// Entries and encoded bytes held.
    #[cfg(test)]
    fn held(&self) -> (usize, usize) {
        (self.held.len(), self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::LogId;
    use openraft::entry::RaftEntry;
    use openraft::impls::leader_id_adv::LeaderId;

    fn entry(index: u64) -> Entry {
        Entry::new_blank(LogId { leader_id: LeaderId { term: 1, node_id: 1 }, index })
    }

    fn cache(budget: usize) -> Recent {
        Recent { held: BTreeMap::new(), bytes: 0, budget }
    }

    #[test]
    fn uncommitted_entries_are_never_evicted_and_committed_ones_leave_oldest_first() {
        let mut c = cache(25);
        for i in 1..=5 {
            c.insert(i, 1, entry(i), 10);
        }
        c.committed(0, 1..=5); // another append's commit: nothing is durable
        assert_eq!(c.held(), (5, 50));
        c.committed(1, 1..=3);
        // Oldest first while over budget: 1, 2 and 3 (durable) go; 4 and 5 are not durable.
        assert_eq!(c.first(), Some(4));
        assert_eq!(c.held(), (2, 20));
        assert_eq!(c.range(0, None).iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![4, 5]);
    }

    #[test]
    fn a_replaced_entry_stays_until_its_own_append_commits() {
        let mut c = cache(0);
        c.insert(1, 1, entry(1), 10);
        c.insert(1, 2, entry(1), 12);
        c.committed(1, [1]);
        assert_eq!(c.held(), (1, 12));
        c.committed(2, [1]);
        assert_eq!(c.held(), (0, 0));
    }

    #[test]
    fn truncation_and_purge_keep_the_byte_count() {
        let mut c = cache(1_000);
        for i in 1..=6 {
            c.insert(i, 1, entry(i), 7);
        }
        c.truncate_after(Some(4));
        assert_eq!(c.held(), (4, 28));
        assert_eq!(c.last().map(RaftEntry::index), Some(4));
        c.purge(2);
        assert_eq!(c.held(), (2, 14));
        assert_eq!(c.range(3, Some(4)).len(), 1);
        c.truncate_after(None);
        assert_eq!(c.held(), (0, 0));
    }
}
