//! A bounded window over the durable uplink outbox the host's store holds.
//!
//! The store keeps every item until the parent acknowledges it; the machine keeps at most
//! `outbox_window_items` of the oldest unacknowledged ones in memory and asks the host for
//! more ([`OutboxRead`]) when the window runs low, so that a store offline for a week costs
//! the machine no more memory than one offline for a minute.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::messages::{Item, Positioned};
use crate::persistence::OutboxRead;

pub(crate) struct Outbox {
    /// Highest position the parent acknowledged (including acks not yet durable).
    pub acked: u64,
    /// Highest durable position in the store.
    pub head: u64,
    /// Durable items `acked + 1 ..= loaded`, with their encoded sizes.
    window: BTreeMap<u64, (Item, usize)>,
    /// Highest position held in `window` (or `acked` when it is empty).
    loaded: u64,
    capacity: usize,
    /// A read is outstanding.
    reading: bool,
    /// The last read brought nothing new: wait for a change before asking again.
    stalled: bool,
}

fn size_of(item: &Item) -> usize {
    postcard::serialize_with_flavor(item, postcard::ser_flavors::Size::default()).unwrap_or(1024)
}

impl Outbox {
    pub fn new(acked: u64, head: u64, capacity: usize) -> Self {
        Outbox {
            acked,
            head: head.max(acked),
            window: BTreeMap::new(),
            loaded: acked,
            capacity: capacity.max(1),
            reading: false,
            stalled: false,
        }
    }

    /// Unacknowledged durable items.
    pub fn lag(&self) -> u64 {
        self.head - self.acked
    }

    /// Items in memory (bounded by the capacity).
    pub fn held(&self) -> usize {
        self.window.len()
    }

    fn take(&mut self, pos: u64, item: Item) {
        if pos == self.loaded + 1 && pos > self.acked && self.window.len() < self.capacity {
            let size = size_of(&item);
            self.window.insert(pos, (item, size));
            self.loaded = pos;
        }
    }

    /// `item` is durable at `pos`.
    pub fn durable(&mut self, pos: u64, item: &Item) {
        self.head = self.head.max(pos);
        if pos == self.loaded + 1 && !self.reading {
            self.take(pos, item.clone());
        }
        self.stalled = false;
    }

    /// The parent acknowledged through `upto` (clamped to the head).
    pub fn ack(&mut self, upto: u64) -> bool {
        let upto = upto.min(self.head);
        if upto <= self.acked {
            return false;
        }
        self.acked = upto;
        self.window = self.window.split_off(&(upto + 1));
        self.loaded = self.loaded.max(upto);
        self.stalled = false;
        true
    }

    /// A read to issue: when the window is below half full and the store holds more.
    pub fn poll_read(&mut self) -> Option<OutboxRead> {
        let room = self.capacity - self.window.len();
        if self.reading || self.stalled || self.loaded >= self.head || room < self.capacity / 2 {
            return None;
        }
        self.reading = true;
        Some(OutboxRead { after: self.loaded, max_items: room })
    }

    /// The host's answer to the outstanding read; true when it brought new items.
    pub fn handle_read(&mut self, items: Vec<Positioned>) -> bool {
        self.reading = false;
        let before = self.loaded;
        for p in items {
            if p.pos > self.head {
                break;
            }
            self.take(p.pos, p.item);
        }
        self.stalled = self.loaded == before && self.loaded < self.head;
        self.loaded > before
    }

    /// Up to `max_items` items from the oldest unacknowledged, within `max_bytes` (at least
    /// one item).
    pub fn batch(&self, max_items: usize, max_bytes: usize) -> Vec<Positioned> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for (pos, (item, size)) in self.window.iter().take(max_items) {
            if !out.is_empty() && bytes + size > max_bytes {
                break;
            }
            bytes += size;
            out.push(Positioned { pos: *pos, item: item.clone() });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::EventSummary;
    use dcs_core::{BranchId, Currency, EventId, EventType, Money, TenantId};

    fn item(n: u8) -> Item {
        Item::Summary(EventSummary {
            event_id: EventId::new_v7(1_795_600_000_000, [n, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            tenant: TenantId::new("t").unwrap(),
            branch: BranchId::new("b").unwrap(),
            event_type: EventType::SaleCompleted,
            amount: Money::from_minor(100, Currency::USD),
            hlc: u64::from(n),
            stock: None,
        })
    }

    #[test]
    fn holds_at_most_its_capacity_and_reads_the_rest_in_pages() {
        let mut o = Outbox::new(0, 0, 4);
        for p in 1..=10u8 {
            o.durable(u64::from(p), &item(p));
        }
        assert_eq!((o.held(), o.lag()), (4, 10));
        assert_eq!(o.poll_read(), None, "a full window reads nothing");
        assert!(o.ack(3));
        assert_eq!(o.held(), 1);
        let r = o.poll_read().unwrap();
        assert_eq!(r, OutboxRead { after: 4, max_items: 3 });
        assert_eq!(o.poll_read(), None, "one read at a time");
        o.handle_read((5..=7u8).map(|p| Positioned { pos: p.into(), item: item(p) }).collect());
        let b = o.batch(10, usize::MAX);
        assert_eq!(b.iter().map(|p| p.pos).collect::<Vec<_>>(), [4, 5, 6, 7]);
        assert_eq!(o.batch(10, 1).len(), 1, "at least one item fits any byte limit");
    }

    #[test]
    fn a_restored_outbox_reads_from_its_ack_and_a_short_read_does_not_spin() {
        let mut o = Outbox::new(5, 9, 8);
        let r = o.poll_read().unwrap();
        assert_eq!(r.after, 5);
        o.handle_read(Vec::new());
        assert_eq!(o.poll_read(), None, "a store that returned nothing is not asked again at once");
        o.durable(10, &item(10));
        assert!(o.poll_read().is_some(), "a change asks again");
        // Acknowledgements past the head are clamped.
        assert!(o.ack(99));
        assert_eq!((o.acked, o.lag()), (10, 0));
    }
}
