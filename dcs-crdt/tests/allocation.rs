//! Hostile length prefixes must not make the decoder allocate: measured with a counting global
//! allocator, capped so that a large allocation attempt aborts this test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::System;

use cap::Cap;
use common::varint;
use dcs_crdt::{
    BoundedCounter, FORMAT_VERSION, GCounter, LWWRegister, ORMap, ORSet, PNCounter, decode_state,
};

mod common;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// Most a single hostile decode may allocate in total: serde's pre-allocation cap plus change.
const BUDGET: usize = 2 * 1024 * 1024;

/// Decodes `bytes` as `T` under the allocation cap; returns whether decoding failed and the
/// bytes allocated meanwhile.
fn decode_capped<T>(bytes: &[u8]) -> (bool, usize)
where
    T: dcs_crdt::Crdt + serde::de::DeserializeOwned,
{
    let before = ALLOCATOR.total_allocated();
    ALLOCATOR.set_limit(ALLOCATOR.allocated() + BUDGET).unwrap();
    let failed = decode_state::<T>(bytes).is_err();
    ALLOCATOR.set_limit(usize::MAX).unwrap();
    (failed, ALLOCATOR.total_allocated() - before)
}

// One test only, so no other test thread allocates during the measurement.
#[test]
fn length_prefixes_up_to_u64_max_allocate_at_most_the_budget() {
    for prefix in [1u64 << 20, 1 << 32, 1 << 60, u64::MAX] {
        let len = varint(prefix);
        let with = |head: &[u8]| {
            let mut v = vec![FORMAT_VERSION];
            v.extend_from_slice(head);
            v.extend_from_slice(&len);
            v
        };
        let cases: Vec<(&str, (bool, usize))> = vec![
            ("GCounter replicas", decode_capped::<GCounter>(&with(&[]))),
            ("PNCounter decrements", decode_capped::<PNCounter>(&with(&[0]))),
            ("BoundedCounter transfers", decode_capped::<BoundedCounter>(&with(&[0, 0]))),
            ("ORSet context vector", decode_capped::<ORSet<u64>>(&with(&[]))),
            ("ORSet context cloud", decode_capped::<ORSet<u64>>(&with(&[0]))),
            ("ORSet groups", decode_capped::<ORSet<u64>>(&with(&[0, 0]))),
            ("ORSet group adds", decode_capped::<ORSet<u64>>(&with(&[0, 0, 1, 9]))),
            (
                "ORSet string element",
                decode_capped::<ORSet<String>>(&with(&[1, 9, 1, 0, 1, 9, 1, 1])),
            ),
            ("LWW string value", decode_capped::<LWWRegister<String>>(&with(&[1, 5, 9]))),
            ("ORMap values", decode_capped::<ORMap<u64, PNCounter>>(&with(&[0, 0, 0]))),
        ];
        for (what, (failed, allocated)) in cases {
            assert!(failed, "{what}: a {prefix}-element prefix with no data decoded");
            assert!(
                allocated <= BUDGET,
                "{what}: allocated {allocated} bytes for a {prefix}-element prefix"
            );
        }
    }
}
