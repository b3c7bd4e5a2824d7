//! Differential tests against the `crdts` crate: the same operation histories give the same
//! observable values for the types both crates have.
// Test helpers outside #[test] functions unwrap too: a failure here is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::{CounterOp, MapOp, REPLICAS, SetOp, Step, history, rid, simulate};
use crdts::{CmRDT, CvRDT};
use dcs_crdt::{Crdt, GCounter, Hlc, LWWRegister, ORMap, ORSet, PNCounter};
use proptest::prelude::*;

/// Runs `steps` on three `crdts` replicas with `op` for operations and `merge` for syncs,
/// checking `same(ours, theirs)` on every replica after every step.
fn differential<M, R>(
    steps: &[Step<M::Op>],
    op: impl Fn(&mut R, u64, &M::Op),
    same: impl Fn(&M, &R),
) where
    M: common::Model,
    R: Default + Clone + CvRDT,
{
    let mut theirs: Vec<R> = (0..REPLICAS).map(|_| R::default()).collect();
    for (n, step) in steps.iter().enumerate() {
        match step {
            Step::Op(r, o) => op(&mut theirs[*r], rid(*r).0, o),
            Step::Sync(to, from) => {
                let source = theirs[*from].clone();
                theirs[*to].merge(source);
            }
        }
        let (ours, _) = simulate::<M>(&steps[..=n]);
        for (mine, reference) in ours.iter().zip(&theirs) {
            same(mine, reference);
        }
    }
}

/// The value of a `crdts` big integer as i128.
fn big(value: impl ToString) -> i128 {
    value.to_string().parse().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn gcounter_matches_crdts(steps in history::<GCounter>(30)) {
        differential::<GCounter, crdts::GCounter<u64>>(
            &steps,
            |c, actor, n| { let op = c.inc_many(actor, *n); c.apply(op); },
            |mine, theirs| assert_eq!(mine.value() as i128, big(theirs.read())),
        );
    }

    #[test]
    fn pncounter_matches_crdts(steps in history::<PNCounter>(30)) {
        differential::<PNCounter, crdts::PNCounter<u64>>(
            &steps,
            |c, actor, o| {
                let op = match o {
                    CounterOp::Inc(n) => c.inc_many(actor, *n),
                    CounterOp::Dec(n) => c.dec_many(actor, *n),
                };
                c.apply(op);
            },
            |mine, theirs| assert_eq!(mine.value(), big(theirs.read())),
        );
    }

    #[test]
    fn orset_matches_crdts_orswot(steps in history::<ORSet<u8>>(30)) {
        differential::<ORSet<u8>, crdts::Orswot<u8, u64>>(
            &steps,
            |s, actor, o| {
                let op = match o {
                    SetOp::Add(x) => s.add(*x, s.read_ctx().derive_add_ctx(actor)),
                    SetOp::Remove(x) => s.rm(*x, s.contains(x).derive_rm_ctx()),
                };
                s.apply(op);
            },
            |mine, theirs| {
                let ours: BTreeSet<u8> = mine.iter().copied().collect();
                let reference: BTreeSet<u8> = theirs.read().val.into_iter().collect();
                assert_eq!(ours, reference);
            },
        );
    }

    /// The map's keys follow the same add-wins rule as `crdts::Map`; values are compared when
    /// no key was ever removed (`crdts::Map` resets a removed key's value, `ORMap` keeps it).
    #[test]
    fn ormap_keys_match_crdts_map(steps in history::<ORMap<u8, PNCounter>>(30)) {
        let removes = steps.iter().any(|s| matches!(s, Step::Op(_, MapOp::Remove(_))));
        differential::<ORMap<u8, PNCounter>, crdts::Map<u8, crdts::PNCounter<u64>, u64>>(
            &steps,
            |m, actor, o| {
                let op = match o {
                    MapOp::Update(key, change) => {
                        let change = change.clone();
                        m.update(*key, m.read_ctx().derive_add_ctx(actor), move |c, _| match change {
                            CounterOp::Inc(n) => c.inc_many(actor, n),
                            CounterOp::Dec(n) => c.dec_many(actor, n),
                        })
                    }
                    MapOp::Remove(key) => m.rm(*key, m.get(key).derive_rm_ctx()),
                };
                m.apply(op);
            },
            |mine, theirs| {
                let ours: Vec<u8> = mine.keys().copied().collect();
                let reference: Vec<u8> = theirs.keys().map(|k| *k.val).collect();
                assert_eq!(ours, reference);
                if !removes {
                    for key in &ours {
                        let reference = theirs.get(key).val.map(|c| big(c.read()));
                        assert_eq!(mine.get(key).map(PNCounter::value), reference);
                    }
                }
            },
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// With unique `(time, replica)` markers (what an HLC guarantees), both registers keep the
    /// same value; equal times at different replicas are broken by replica id in both.
    #[test]
    fn lww_matches_crdts_lwwreg(writes in proptest::collection::vec((0..REPLICAS, 0u8..6, 1u64..6), 0..30)) {
        let mut used = BTreeSet::new();
        let mut mine: Vec<LWWRegister<u8>> = vec![LWWRegister::new(); REPLICAS];
        let mut theirs: Vec<crdts::LWWReg<u8, (u64, u64)>> = vec![crdts::LWWReg::default(); REPLICAS];
        for (r, value, time) in writes {
            if !used.insert((time, r)) {
                continue;
            }
            mine[r].set(value, Hlc::new(time, rid(r)));
            theirs[r].update(value, (time, rid(r).0));
            // Gossip to the next replica, as a partial sync.
            let next = (r + 1) % REPLICAS;
            let (m, t) = (mine[r].clone(), theirs[r].clone());
            mine[next].merge(&m);
            theirs[next].merge(t);
            for (a, b) in mine.iter().zip(&theirs) {
                prop_assert_eq!(a.get().copied().unwrap_or_default(), b.val);
            }
        }
    }
}
