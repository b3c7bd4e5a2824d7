//! dcs-crdt beside the reference `crdts` crate, in the same run: applying one operation, merging
//! two diverged ORSet replicas of 10k and 100k elements, merging counters with 1k replicas, and
//! the postcard size of states and deltas (printed once at start).
//!
//! Run: `cargo bench -p dcs-benches --bench crdt`.

use std::hint::black_box;
use std::time::Duration;

use crdts::{CmRDT, CvRDT};
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, criterion_group, criterion_main};
use dcs_crdt::{Crdt, GCounter, Hlc, LWWRegister, ORSet, PNCounter, ReplicaId};

/// Deterministic pseudo-random numbers (splitmix64), so both crates see the same data.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Replica ids as a deployment would have them: 64-bit values derived from store ids.
fn replica(i: u64) -> u64 {
    mix(i ^ 0xDC5)
}

/// Writers of the shared base set.
const BASE_WRITERS: u64 = 4;

/// Two diverged replicas of an ORSet with `n` SKUs, for both crates.
///
/// Four replicas add `n` SKUs round-robin; both sides see all of it, then each side adds `n/100`
/// new SKUs and removes `n/100` existing ones (different ones), concurrently.
struct OrsetPair {
    ours: (ORSet<u64>, ORSet<u64>),
    theirs: (crdts::Orswot<u64, u64>, crdts::Orswot<u64, u64>),
}

fn orset_pair(n: u64) -> OrsetPair {
    let mut ours = ORSet::new();
    let mut theirs = crdts::Orswot::new();
    for sku in 0..n {
        let actor = replica(sku % BASE_WRITERS);
        ours.add(ReplicaId(actor), sku);
        let op = theirs.add(sku, theirs.read_ctx().derive_add_ctx(actor));
        theirs.apply(op);
    }
    let (mut ours_x, mut ours_y) = (ours.clone(), ours);
    let (mut theirs_x, mut theirs_y) = (theirs.clone(), theirs);
    let churn = (n / 100).max(1);
    for (side, (o, t)) in
        [(&mut ours_x, &mut theirs_x), (&mut ours_y, &mut theirs_y)].into_iter().enumerate()
    {
        let side = side as u64;
        let actor = replica(100 + side);
        for i in 0..churn {
            let new_sku = n + 2 * i + side;
            o.add(ReplicaId(actor), new_sku);
            let op = t.add(new_sku, t.read_ctx().derive_add_ctx(actor));
            t.apply(op);
            let gone = mix(i * 2 + side) % n;
            o.remove(&gone);
            let op = t.rm(gone, t.contains(&gone).derive_rm_ctx());
            t.apply(op);
        }
    }
    OrsetPair { ours: (ours_x, ours_y), theirs: (theirs_x, theirs_y) }
}

/// Two diverged counters over `replicas` replicas: every replica's count differs between sides.
fn gcounter_pair(
    replicas: u64,
) -> ((GCounter, GCounter), (crdts::GCounter<u64>, crdts::GCounter<u64>)) {
    let mut ours = (GCounter::new(), GCounter::new());
    let mut theirs = (crdts::GCounter::new(), crdts::GCounter::new());
    for i in 0..replicas {
        let (a, b) = (mix(i) % 1_000 + 1, mix(i + replicas) % 1_000 + 1);
        ours.0.increment(ReplicaId(replica(i)), a).ok();
        ours.1.increment(ReplicaId(replica(i)), b).ok();
        theirs.0.apply(theirs.0.inc_many(replica(i), a));
        theirs.1.apply(theirs.1.inc_many(replica(i), b));
    }
    (ours, theirs)
}

/// Two diverged PN-counters over `replicas` replicas.
fn pncounter_pair(
    replicas: u64,
) -> ((PNCounter, PNCounter), (crdts::PNCounter<u64>, crdts::PNCounter<u64>)) {
    let mut ours = (PNCounter::new(), PNCounter::new());
    let mut theirs = (crdts::PNCounter::new(), crdts::PNCounter::new());
    for i in 0..replicas {
        let r = replica(i);
        let (a, b) = (mix(i) % 1_000 + 1, mix(i + replicas) % 1_000 + 1);
        ours.0.increment(ReplicaId(r), a).ok();
        ours.0.decrement(ReplicaId(r), b / 2).ok();
        ours.1.increment(ReplicaId(r), b).ok();
        ours.1.decrement(ReplicaId(r), a / 2).ok();
        theirs.0.apply(theirs.0.inc_many(r, a));
        theirs.0.apply(theirs.0.dec_many(r, b / 2));
        theirs.1.apply(theirs.1.inc_many(r, b));
        theirs.1.apply(theirs.1.dec_many(r, a / 2));
    }
    (ours, theirs)
}

/// postcard bytes of a value (what both crates would ship with the same encoding).
fn size<T: serde::Serialize>(value: &T) -> usize {
    postcard::to_allocvec(value).map_or(0, |b| b.len())
}

/// Prints the size table (bytes, postcard for both crates).
fn print_sizes() {
    println!("\n| state (postcard bytes) | dcs-crdt | crdts | ratio |");
    println!("| --- | ---: | ---: | ---: |");
    let row = |name: &str, ours: usize, theirs: usize| {
        println!("| {name} | {ours} | {theirs} | {:.2} |", ours as f64 / theirs as f64);
    };
    for n in [10_000u64, 100_000] {
        let pair = orset_pair(n);
        let mut merged = pair.ours.0.clone();
        merged.merge(&pair.ours.1);
        let mut theirs = pair.theirs.0.clone();
        theirs.merge(pair.theirs.1.clone());
        row(&format!("ORSet, {n} SKUs, 6 writers"), size(&merged), size(&theirs));
        // One add of a new SKU: our delta vs their op.
        let delta = merged.add(ReplicaId(replica(1)), u64::MAX / 3);
        let op = theirs.add(u64::MAX / 3, theirs.read_ctx().derive_add_ctx(replica(1)));
        row(&format!("ORSet add, on the {n}-SKU set: delta / op"), size(&delta), size(&op));
        let delta = merged.remove(&7);
        let op = theirs.rm(7, theirs.contains(&7).derive_rm_ctx());
        row(&format!("ORSet remove, on the {n}-SKU set: delta / op"), size(&delta), size(&op));
    }
    let ((g, _), (tg, _)) = gcounter_pair(1_000);
    row("GCounter, 1k replicas", size(&g), size(&tg));
    let ((p, _), (tp, _)) = pncounter_pair(1_000);
    row("PNCounter, 1k replicas", size(&p), size(&tp));
    let mut g = g;
    let delta = g.increment(ReplicaId(replica(3)), 1).ok();
    let op = tg.inc(replica(3));
    row("GCounter increment, on 1k replicas: delta / op", size(&delta), size(&op));
    let mut lww = LWWRegister::new();
    lww.set(1_999u64, Hlc::new(1 << 40, ReplicaId(replica(1))));
    let reg = crdts::LWWReg { val: 1_999u64, marker: (1u64 << 40, replica(1)) };
    row("LWWRegister (price, HLC + replica)", size(&lww), size(&reg));
    println!();
}

fn apply_one_op(c: &mut Criterion) {
    let mut group = c.benchmark_group("crdt/apply_op");
    group.measurement_time(Duration::from_secs(3));
    let pair = orset_pair(10_000);
    let actor = replica(1);
    let (mut ours, mut theirs) = (pair.ours.0, pair.theirs.0);
    let mut sku = 0u64;
    group.bench_function("orset_readd_10k/dcs-crdt", |b| {
        b.iter(|| {
            sku = (sku + 1) % 10_000;
            black_box(ours.add(ReplicaId(actor), sku));
        });
    });
    group.bench_function("orset_readd_10k/crdts", |b| {
        b.iter(|| {
            sku = (sku + 1) % 10_000;
            let op = theirs.add(sku, theirs.read_ctx().derive_add_ctx(actor));
            theirs.apply(black_box(op));
        });
    });
    group.bench_function("orset_remove_add_10k/dcs-crdt", |b| {
        b.iter(|| {
            sku = (sku + 1) % 10_000;
            black_box(ours.remove(&sku));
            black_box(ours.add(ReplicaId(actor), sku));
        });
    });
    group.bench_function("orset_remove_add_10k/crdts", |b| {
        b.iter(|| {
            sku = (sku + 1) % 10_000;
            let op = theirs.rm(sku, theirs.contains(&sku).derive_rm_ctx());
            theirs.apply(black_box(op));
            let op = theirs.add(sku, theirs.read_ctx().derive_add_ctx(actor));
            theirs.apply(black_box(op));
        });
    });
    let ((mut g, _), (mut tg, _)) = gcounter_pair(1_000);
    let mut i = 0u64;
    group.bench_function("gcounter_inc_1k/dcs-crdt", |b| {
        b.iter(|| {
            i = (i + 1) % 1_000;
            black_box(g.increment(ReplicaId(replica(i)), 1).ok());
        });
    });
    group.bench_function("gcounter_inc_1k/crdts", |b| {
        b.iter(|| {
            i = (i + 1) % 1_000;
            let op = tg.inc(replica(i));
            tg.apply(black_box(op));
        });
    });
    let mut lww = LWWRegister::new();
    let mut reg = crdts::LWWReg { val: 0u64, marker: (0u64, 0u64) };
    let mut t = 0u64;
    group.bench_function("lww_set/dcs-crdt", |b| {
        b.iter(|| {
            t += 1;
            black_box(lww.set(t, Hlc::new(t, ReplicaId(actor))));
        });
    });
    group.bench_function("lww_set/crdts", |b| {
        b.iter(|| {
            t += 1;
            reg.update(black_box(t), (t, actor));
        });
    });
    group.finish();
}

/// Benches `x ⊔ y` for both crates; the inputs are cloned outside the measurement (`crdts`
/// consumes its argument, so it gets a fresh clone of `y` too).
fn bench_merge<A: Crdt, B: CvRDT + Clone>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    ours: &(A, A),
    theirs: &(B, B),
) {
    group.bench_function(format!("{name}/dcs-crdt"), |b| {
        b.iter_batched(
            || ours.0.clone(),
            |mut x| {
                x.merge(&ours.1);
                x
            },
            BatchSize::LargeInput,
        );
    });
    group.bench_function(format!("{name}/crdts"), |b| {
        b.iter_batched(
            || (theirs.0.clone(), theirs.1.clone()),
            |(mut x, y)| {
                x.merge(y);
                x
            },
            BatchSize::LargeInput,
        );
    });
}

fn merge_orsets(c: &mut Criterion) {
    let mut group = c.benchmark_group("crdt/merge_orset");
    for n in [10_000u64, 100_000] {
        if n >= 100_000 {
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(5));
        } else {
            group.sample_size(20);
            group.measurement_time(Duration::from_secs(3));
        }
        let pair = orset_pair(n);
        bench_merge(&mut group, &n.to_string(), &pair.ours, &pair.theirs);
    }
    group.finish();
}

fn merge_counters(c: &mut Criterion) {
    let mut group = c.benchmark_group("crdt/merge_counters_1k_replicas");
    group.measurement_time(Duration::from_secs(3));
    let (ours, theirs) = gcounter_pair(1_000);
    bench_merge(&mut group, "gcounter", &ours, &theirs);
    let (ours, theirs) = pncounter_pair(1_000);
    bench_merge(&mut group, "pncounter", &ours, &theirs);
    group.finish();
}

fn sizes(_: &mut Criterion) {
    print_sizes();
}

criterion_group!(benches, sizes, apply_one_op, merge_orsets, merge_counters);
criterion_main!(benches);
