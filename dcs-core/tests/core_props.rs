//! Property tests of dcs-core's laws: money allocation, vector-clock order, HLC monotonicity,
//! and the event's serde round trip and decoding of hostile bytes.
#![allow(clippy::unwrap_used)]

mod common;

use dcs_core::causality::{HlcTimestamp, unix_ms_to_ntp64};
use dcs_core::money::div_round;
use dcs_core::*;
use proptest::prelude::*;

fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![Just(Currency::USD), Just(Currency::JPY), Just(Currency::KWD), Just(Currency::EUR)]
}

fn vclock() -> impl Strategy<Value = VectorClock> {
    prop::collection::btree_map(0u8..5, 0u64..4, 0..5).prop_map(|m| {
        m.into_iter().map(|(a, c)| (AgentId::new(format!("a{a}")).unwrap(), c)).collect()
    })
}

proptest! {
    #[test]
    fn allocation_sums_to_the_original(
        minor in -1_000_000_000_000i64..1_000_000_000_000,
        weights in prop::collection::vec(0u64..10_000, 1..20),
        cur in currency(),
    ) {
        prop_assume!(weights.iter().any(|w| *w > 0));
        let amount = Money::from_minor(minor, cur);
        let parts = amount.allocate(&weights).unwrap();
        prop_assert_eq!(parts.len(), weights.len());
        prop_assert_eq!(Money::sum(cur, &parts).unwrap(), amount);
        // Each part is within one minor unit of its exact share.
        let total: i128 = weights.iter().map(|w| i128::from(*w)).sum();
        for (p, w) in parts.iter().zip(&weights) {
            let exact_num = i128::from(minor) * i128::from(*w);
            let diff = (i128::from(p.minor()) * total - exact_num).abs();
            prop_assert!(diff < total, "part {} strays more than one unit", p.minor());
        }
    }

    #[test]
    fn rounding_stays_within_one_unit(n in -1_000_000i128..1_000_000, d in 1i128..10_000) {
        for mode in [RoundingMode::HalfEven, RoundingMode::HalfUp, RoundingMode::TowardZero, RoundingMode::AwayFromZero] {
            let q = div_round(n, d, mode).unwrap();
            prop_assert!((q * d - n).abs() < d);
        }
        // Nearest modes are within half a unit.
        let q = div_round(n, d, RoundingMode::HalfEven).unwrap();
        prop_assert!(2 * (q * d - n).abs() <= d);
    }

    #[test]
    fn vector_clock_compare_is_a_partial_order(a in vclock(), b in vclock(), c in vclock()) {
        use ClockOrdering::*;
        prop_assert_eq!(a.compare(&a), Equal);
        let flip = |o| match o { Before => After, After => Before, x => x };
        prop_assert_eq!(a.compare(&b), flip(b.compare(&a)));
        let le = |x: &VectorClock, y: &VectorClock| matches!(x.compare(y), Before | Equal);
        if le(&a, &b) && le(&b, &c) {
            prop_assert!(le(&a, &c), "transitivity");
        }
        if le(&a, &b) && le(&b, &a) {
            prop_assert_eq!(&a, &b, "antisymmetry");
        }
        let mut m = a.clone();
        m.merge(&b);
        prop_assert!(le(&a, &m) && le(&b, &m), "merge is an upper bound");
    }

    #[test]
    fn hlc_never_goes_backwards(
        steps in prop::collection::vec((any::<bool>(), 0u64..100_000, 0u64..200_000), 1..200)
    ) {
        let mut clock = HybridClock::new([1; 16], 60_000).unwrap();
        let mut last = clock.last();
        for (is_tick, wall, remote_ms) in steps {
            if is_tick {
                let t = clock.tick(wall);
                prop_assert!(t > last, "tick must strictly advance");
                last = t;
            } else {
                let remote = HlcTimestamp { time: unix_ms_to_ntp64(remote_ms), node: [2; 16] };
                let accepted = clock.observe(remote, wall).is_ok();
                prop_assert_eq!(accepted, remote_ms <= wall + 60_000);
                prop_assert!(clock.last() >= last);
                last = clock.last();
            }
        }
    }

    #[test]
    fn decoding_arbitrary_bytes_as_an_event_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = postcard::from_bytes::<SovereignFinancialEvent>(&bytes);
    }

    #[test]
    fn mutated_event_bytes_decode_or_error(idx in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut bytes = postcard::to_allocvec(&common::sample_event()).unwrap();
        let i = idx.index(bytes.len());
        bytes[i] ^= 1 << bit;
        if let Ok(e) = postcard::from_bytes::<SovereignFinancialEvent>(&bytes) {
            // Whatever decodes went through the builder's validation again.
            prop_assert!(e.causality().vector_clock.get(e.agent_id()) > 0);
        }
    }
}

#[test]
fn event_serde_round_trip() {
    let event = common::sample_event();
    let bytes = postcard::to_allocvec(&event).unwrap();
    let back: SovereignFinancialEvent = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, event);
}

#[test]
fn huge_length_prefix_is_refused_without_allocating() {
    // A varint length of 2^60 in front of the idempotency key.
    let mut bytes = postcard::to_allocvec(&common::sample_event()).unwrap();
    bytes.truncate(32);
    bytes.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]);
    assert!(postcard::from_bytes::<SovereignFinancialEvent>(&bytes).is_err());
}
