//! The semantics page of the crate docs, as executable scenarios.
// Test helpers outside #[test] functions unwrap too: a failure here is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dcs_crdt::{
    BoundedCounter, Crdt, CrdtError, GCounter, Hlc, LWWRegister, ORMap, ORSet, PNCounter, ReplicaId,
};

const A: ReplicaId = ReplicaId(1);
const B: ReplicaId = ReplicaId(2);
const C: ReplicaId = ReplicaId(3);

/// `a ⊔ b` and `b ⊔ a`, asserted equal.
fn both_ways<T: Crdt + core::fmt::Debug>(a: &T, b: &T) -> T {
    let (mut ab, mut ba) = (a.clone(), b.clone());
    ab.merge(b);
    ba.merge(a);
    assert_eq!(ab, ba);
    ab
}

#[test]
fn gcounter_concurrent_increments_all_count() {
    let mut a = GCounter::new();
    let mut b = GCounter::new();
    a.increment(A, 3).unwrap();
    b.increment(B, 4).unwrap();
    b.increment(B, 1).unwrap();
    let merged = both_ways(&a, &b);
    assert_eq!(merged.value(), 8);
    assert_eq!(merged.count_of(B), 5);
    assert_eq!(a.increment(A, u64::MAX), Err(CrdtError::Overflow { replica: 1 }));
    assert_eq!(a.value(), 3, "a refused increment changes nothing");
}

#[test]
fn pncounter_two_offline_tills_sell_the_last_unit() {
    let mut hq = PNCounter::new();
    hq.increment(A, 1).unwrap();
    let (mut till1, mut till2) = (hq.clone(), hq.clone());
    till1.decrement(B, 1).unwrap();
    till2.decrement(C, 1).unwrap();
    assert_eq!(both_ways(&till1, &till2).value(), -1);
}

#[test]
fn bounded_counter_never_oversells() {
    let mut hq = BoundedCounter::new();
    hq.increment(A, 10).unwrap();
    hq.transfer(A, B, 3).unwrap();
    hq.transfer(A, C, 3).unwrap();
    assert_eq!((hq.rights(A), hq.rights(B), hq.rights(C)), (4, 3, 3));
    let (mut store_b, mut store_c) = (hq.clone(), hq.clone());
    // Both stores sell offline, each within its own rights.
    store_b.decrement(B, 3).unwrap();
    store_c.decrement(C, 2).unwrap();
    // Store B is out of rights: the sale is refused and nothing changes.
    let before = store_b.clone();
    assert_eq!(
        store_b.decrement(B, 1),
        Err(CrdtError::InsufficientRights { replica: 2, requested: 1, available: 0 })
    );
    assert_eq!(store_b, before);
    // B cannot spend C's or A's rights either, even though the total is positive.
    assert!(store_b.decrement(B, 1).is_err());
    assert!(store_b.transfer(B, C, 1).is_err());
    assert_eq!(store_b.transfer(B, B, 0), Err(CrdtError::SelfTransfer { replica: 2 }));
    // HQ sends B two more rights; once the transfer arrives, B sells again.
    let transfer = hq.transfer(A, B, 2).unwrap();
    store_b.merge(&transfer);
    store_b.decrement(B, 2).unwrap();
    let all = both_ways(&both_ways(&store_b, &store_c), &hq);
    assert_eq!(all.value(), 10 - 3 - 2 - 2);
    assert_eq!(all.rights(A) + all.rights(B) + all.rights(C), all.value());
}

#[test]
fn orset_concurrent_add_and_remove_add_wins() {
    let mut a = ORSet::new();
    a.add(A, "sku-1");
    let mut b = a.clone();
    b.remove(&"sku-1");
    a.add(A, "sku-1");
    assert!(both_ways(&a, &b).contains(&"sku-1"));

    // A remove that has seen every add does remove.
    let mut c = both_ways(&a, &b);
    c.remove(&"sku-1");
    let merged = both_ways(&c, &a);
    assert!(!merged.contains(&"sku-1"));
    assert!(merged.is_empty());
}

#[test]
fn orset_concurrent_adds_merge_and_keep_no_tombstones() {
    let mut a = ORSet::new();
    let mut b = ORSet::new();
    a.add(A, 7u32);
    b.add(B, 7u32);
    let mut merged = both_ways(&a, &b);
    assert_eq!(merged.dots(&7).map(|d| d.len()), Some(2));
    for sku in 0..100u32 {
        merged.add(A, sku);
        merged.remove(&sku);
    }
    assert!(merged.is_empty());
    // The context is one counter per replica, whatever was removed.
    assert_eq!(merged.context().version_vector().len(), 2);
    assert_eq!(merged.context().cloud().count(), 0);
    assert!(dcs_crdt::encode(&merged).unwrap().len() < 16);
}

#[test]
fn orset_removing_an_absent_element_is_a_no_op() {
    let mut a: ORSet<u8> = ORSet::new();
    assert!(a.remove(&3).is_empty());
    assert_eq!(a, ORSet::new());
}

#[test]
fn lww_equal_hlc_times_break_ties_by_replica_id() {
    let mut a = LWWRegister::new();
    let mut b = LWWRegister::new();
    a.set(1_999u64, Hlc::new(100, A));
    b.set(2_499u64, Hlc::new(100, B));
    let merged = both_ways(&a, &b);
    assert_eq!(merged.get(), Some(&2_499));
    assert_eq!(merged.stamp(), Some(Hlc::new(100, B)));
    // A later time beats a larger replica id.
    a.set(1_799, Hlc::new(101, A));
    assert_eq!(both_ways(&a, &b).get(), Some(&1_799));
    // An older write does not replace a newer one.
    a.set(5, Hlc::new(1, C));
    assert_eq!(a.get(), Some(&1_799));
    // A broken clock writing twice with one stamp still converges, on the greater value.
    let mut x = LWWRegister::new();
    let mut y = LWWRegister::new();
    x.set(3u8, Hlc::new(5, A));
    y.set(4u8, Hlc::new(5, A));
    assert_eq!(both_ways(&x, &y).get(), Some(&4));
}

#[test]
fn ormap_update_wins_over_concurrent_remove_and_keeps_merged_value() {
    let mut a: ORMap<&str, PNCounter> = ORMap::new();
    a.update(A, "sku", |c| c.increment(A, 5)).unwrap();
    let mut b = a.clone();
    b.remove(&"sku");
    assert!(!b.contains_key(&"sku"));
    assert_eq!(b.get(&"sku"), None);
    a.update(A, "sku", |c| c.decrement(A, 1)).unwrap();
    let merged = both_ways(&a, &b);
    assert_eq!(merged.get(&"sku").map(PNCounter::value), Some(4));

    // A remove that saw everything hides the key; re-adding resumes from the merged value.
    let mut c = merged.clone();
    c.remove(&"sku");
    assert!(c.is_empty());
    c.update(C, "sku", |s| s.increment(C, 1)).unwrap();
    assert_eq!(c.get(&"sku").map(PNCounter::value), Some(5));
}

#[test]
fn ormap_failed_update_changes_nothing() {
    let mut stock: ORMap<u8, BoundedCounter> = ORMap::new();
    let before = stock.clone();
    let err = stock.update(A, 1, |c| c.decrement(A, 1)).unwrap_err();
    assert!(matches!(err, CrdtError::InsufficientRights { .. }));
    assert_eq!(stock, before);
    stock.update(A, 1, |c| c.increment(A, 2)).unwrap();
    let snapshot = stock.clone();
    assert!(stock.update(A, 1, |c| c.decrement(A, 3)).is_err());
    assert_eq!(stock, snapshot);
}

#[test]
fn ormap_prices_latest_write_wins_per_sku() {
    let mut a: ORMap<u32, LWWRegister<u64>> = ORMap::new();
    let mut b = a.clone();
    a.update(A, 1, |p| Ok(p.set(100, Hlc::new(10, A)))).unwrap();
    b.update(B, 1, |p| Ok(p.set(120, Hlc::new(11, B)))).unwrap();
    b.update(B, 2, |p| Ok(p.set(50, Hlc::new(11, B)))).unwrap();
    let merged = both_ways(&a, &b);
    let prices: Vec<(u32, u64)> = merged.iter().map(|(k, v)| (*k, *v.get().unwrap())).collect();
    assert_eq!(prices, vec![(1, 120), (2, 50)]);
    assert_eq!(merged.len(), 2);
}

#[test]
fn delta_of_an_add_is_small_next_to_the_state() {
    let mut set = ORSet::new();
    for sku in 0..10_000u64 {
        set.add(A, sku);
    }
    let delta = set.add(B, 123_456);
    let delta_bytes = dcs_crdt::encode(&delta).unwrap().len();
    let state_bytes = dcs_crdt::encode(&set).unwrap().len();
    assert!(delta_bytes < 16, "{delta_bytes}");
    assert!(state_bytes > 1_000 * delta_bytes);
}
