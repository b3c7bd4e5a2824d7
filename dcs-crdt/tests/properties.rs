//! Lattice laws, delta/full-state equivalence and convergence under reordering, duplication and
//! loss, for every type.
// Test helpers outside #[test] functions unwrap too: a failure here is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Model, Step, history, merged, rid, simulate};
use dcs_crdt::{
    BoundedCounter, Crdt, GCounter, LWWRegister, ORMap, ORSet, PNCounter, decode_delta,
    decode_state, encode,
};
use proptest::prelude::*;
use proptest::sample::Index;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Joins `b` into a copy of `a`.
fn join<M: Model>(a: &M, b: &M) -> M {
    let mut out = a.clone();
    out.merge(b);
    out
}

/// Merge is commutative, associative and idempotent on reachable states.
fn laws<M: Model>(steps: &[Step<M::Op>]) {
    let (states, _) = simulate::<M>(steps);
    let (a, b, c) = (&states[0], &states[1], &states[2]);
    assert_eq!(join(a, b), join(b, a), "commutativity");
    assert_eq!(join(&join(a, b), c), join(a, &join(b, c)), "associativity");
    assert_eq!(join(a, a), *a, "idempotence");
    assert_eq!(join(&join(a, b), b), join(a, b), "idempotence of a repeated join");
}

/// Applying every delta, or one group of all deltas, equals merging the full states.
fn deltas_equal_states<M: Model>(steps: &[Step<M::Op>]) {
    let (states, deltas) = simulate::<M>(steps);
    let full = merged(&states);
    let mut one_by_one = M::default();
    let mut group = M::Delta::default();
    for delta in &deltas {
        one_by_one.apply_delta(delta);
        M::join_deltas(&mut group, delta);
    }
    assert_eq!(one_by_one, full, "deltas one by one");
    let mut grouped = M::default();
    grouped.apply_delta(&group);
    assert_eq!(grouped, full, "delta group");
}

/// Two receivers get the deltas in different orders with duplicates and drops; one repairs by
/// re-sending the dropped deltas, the other by a full-state anti-entropy merge. Both converge.
fn convergence<M: Model>(steps: &[Step<M::Op>], order_a: &[Index], order_b: &[Index]) {
    let (states, deltas) = simulate::<M>(steps);
    let full = merged(&states);
    if deltas.is_empty() {
        return;
    }
    let mut a = M::default();
    let mut seen = vec![false; deltas.len()];
    for i in order_a {
        let k = i.index(deltas.len());
        a.apply_delta(&deltas[k]);
        seen[k] = true;
    }
    for (k, delta) in deltas.iter().enumerate().rev() {
        if !seen[k] {
            a.apply_delta(delta);
        }
    }
    let mut b = M::default();
    for i in order_b {
        b.apply_delta(&deltas[i.index(deltas.len())]);
    }
    for state in states.iter().rev() {
        b.merge(state);
    }
    assert_eq!(a, full, "receiver repaired by re-sent deltas");
    assert_eq!(b, full, "receiver repaired by anti-entropy");
}

/// Every reachable state and delta survives the byte round trip, and equal states encode equally.
fn round_trip<M>(steps: &[Step<M::Op>])
where
    M: Model + Serialize + DeserializeOwned,
    M::Delta: Serialize + DeserializeOwned + core::fmt::Debug,
{
    let (states, deltas) = simulate::<M>(steps);
    for state in &states {
        let bytes = encode(state).unwrap();
        let back: M = decode_state(&bytes).unwrap();
        assert_eq!(&back, state);
        assert_eq!(encode(&back).unwrap(), bytes, "canonical bytes");
    }
    for delta in &deltas {
        let bytes = encode(delta).unwrap();
        assert_eq!(&decode_delta::<M>(&bytes).unwrap(), delta);
    }
    // The same state reached by different paths has the same bytes.
    let forward = merged(&states);
    let mut backward = M::default();
    for s in states.iter().rev() {
        backward.merge(s);
    }
    assert_eq!(encode(&forward).unwrap(), encode(&backward).unwrap());
}

macro_rules! suite {
    ($name:ident, $ty:ty) => {
        mod $name {
            use super::*;

            proptest! {
                #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

                #[test]
                fn merge_is_a_join(steps in history::<$ty>(40)) {
                    laws::<$ty>(&steps);
                }

                #[test]
                fn deltas_equal_full_merges(steps in history::<$ty>(40)) {
                    deltas_equal_states::<$ty>(&steps);
                }

                #[test]
                fn encoding_round_trips(steps in history::<$ty>(30)) {
                    round_trip::<$ty>(&steps);
                }
            }

            proptest! {
                #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

                #[test]
                fn replicas_converge(
                    steps in history::<$ty>(50),
                    order_a in proptest::collection::vec(any::<Index>(), 0..60),
                    order_b in proptest::collection::vec(any::<Index>(), 0..60),
                ) {
                    convergence::<$ty>(&steps, &order_a, &order_b);
                }
            }
        }
    };
}

suite!(gcounter, GCounter);
suite!(pncounter, PNCounter);
suite!(bounded_counter, BoundedCounter);
suite!(orset, ORSet<u8>);
suite!(lww_register, LWWRegister<u8>);
suite!(ormap_counters, ORMap<u8, PNCounter>);
suite!(ormap_prices, ORMap<u8, LWWRegister<u8>>);

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever the history, no replica's view and no merge of views goes below zero, and each
    /// replica's rights add up to the value.
    #[test]
    fn bounded_counter_never_negative(steps in history::<BoundedCounter>(60)) {
        let (states, deltas) = simulate::<BoundedCounter>(&steps);
        let full = merged(&states);
        let total_inc: u128 = steps.iter().filter_map(|s| match s {
            Step::Op(_, common::BoundedOp::Inc(n)) => Some(u128::from(*n)),
            _ => None,
        }).sum();
        prop_assert!(full.value() <= total_inc);
        let rights: u128 = (0..common::REPLICAS).map(|i| full.rights(rid(i))).sum();
        prop_assert_eq!(rights, full.value());
        let mut from_deltas = BoundedCounter::default();
        for d in &deltas {
            from_deltas.apply_delta(d);
            let rights: u128 = (0..common::REPLICAS).map(|i| from_deltas.rights(rid(i))).sum();
            prop_assert_eq!(rights, from_deltas.value());
        }
    }

    /// Applying an ORSet delta through its key index equals merging it as a full state.
    #[test]
    fn orset_delta_apply_equals_state_merge(steps in history::<ORSet<u8>>(40)) {
        let (states, deltas) = simulate::<ORSet<u8>>(&steps);
        for delta in &deltas {
            for state in &states {
                let mut via_delta = state.clone();
                via_delta.apply_delta(delta);
                let mut via_state = state.clone();
                via_state.merge(delta.as_state());
                prop_assert_eq!(via_delta, via_state);
            }
        }
    }
}
