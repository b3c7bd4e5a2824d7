//! Byte format: version byte, canonical bytes, and hostile input that must error, not panic or
//! allocate without bound.
// Test helpers outside #[test] functions unwrap too: a failure here is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dcs_crdt::{
    BoundedCounter, CrdtError, FORMAT_VERSION, GCounter, Hlc, LWWRegister, MAX_INPUT_LEN, ORMap,
    ORSet, PNCounter, ReplicaId, decode_delta, decode_state, encode,
};
use proptest::prelude::*;

mod common;

use common::varint;

/// A version byte followed by `payload`.
fn framed(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![FORMAT_VERSION];
    out.extend_from_slice(payload);
    out
}

#[test]
fn first_byte_is_the_format_version() {
    let mut counter = GCounter::new();
    counter.increment(ReplicaId(5), 3).unwrap();
    let bytes = encode(&counter).unwrap();
    assert_eq!(bytes, vec![FORMAT_VERSION, 1, 5, 3]);
}

#[test]
fn a_2_pow_60_length_prefix_is_an_error_without_allocating_it() {
    let huge = varint(1 << 60);
    // Top-level sequence length of a GCounter (its replica list).
    assert!(matches!(decode_state::<GCounter>(&framed(&huge)), Err(CrdtError::Malformed(_))));
    // Context vector, then the ORSet group list, then a group's element list.
    let mut orset = huge.clone();
    assert!(decode_state::<ORSet<u64>>(&framed(&orset)).is_err());
    orset = vec![0, 0];
    orset.extend(&huge);
    assert!(decode_state::<ORSet<u64>>(&framed(&orset)).is_err());
    orset = vec![0, 0, 1, 9];
    orset.extend(&huge);
    assert!(decode_state::<ORSet<String>>(&framed(&orset)).is_err());
    // A map of values and a string element.
    let mut map = vec![0, 0, 0];
    map.extend(&huge);
    assert!(decode_state::<ORMap<u64, PNCounter>>(&framed(&map)).is_err());
    let mut string = vec![0, 0, 1, 9, 1, 1];
    string.extend(&huge);
    assert!(decode_state::<ORSet<String>>(&framed(&string)).is_err());
    // u64::MAX too.
    assert!(decode_state::<BoundedCounter>(&framed(&varint(u64::MAX))).is_err());
}

#[test]
fn wrong_version_empty_trailing_and_oversized_inputs_are_refused() {
    assert_eq!(decode_state::<GCounter>(&[]), Err(CrdtError::EmptyInput));
    assert_eq!(
        decode_state::<GCounter>(&[FORMAT_VERSION + 1, 0]),
        Err(CrdtError::UnsupportedVersion { found: FORMAT_VERSION + 1, supported: FORMAT_VERSION })
    );
    assert_eq!(
        decode_state::<GCounter>(&[FORMAT_VERSION, 0, 7, 7]),
        Err(CrdtError::TrailingBytes { extra: 2 })
    );
    let big = vec![0u8; MAX_INPUT_LEN + 1];
    assert!(matches!(decode_state::<GCounter>(&big), Err(CrdtError::InputTooLong { .. })));
}

#[test]
fn an_orset_entry_outside_its_context_is_refused() {
    // Empty context, one group for replica 3 with one add at counter 1 of element 42.
    let bytes = framed(&[0, 0, 1, 3, 1, 1, 42]);
    let err = decode_state::<ORSet<u8>>(&bytes).unwrap_err();
    assert_eq!(err, CrdtError::DotOutsideContext { replica: 3, counter: 1 });
    assert!(err.to_string().contains("full state"));
    // Same with the context covering it: accepted.
    let ok = framed(&[1, 3, 1, 0, 1, 3, 1, 1, 42]);
    let set = decode_state::<ORSet<u8>>(&ok).unwrap();
    assert!(set.contains(&42));
}

#[test]
fn zero_gaps_and_unordered_groups_are_refused() {
    // Two adds with gap 0 would reuse one dot for two elements.
    let dup = framed(&[1, 3, 2, 0, 1, 3, 2, 1, 1, 0, 2]);
    assert!(decode_state::<ORSet<u8>>(&dup).is_err());
    // Groups for replicas 4 then 3.
    let unordered = framed(&[2, 3, 1, 4, 1, 0, 2, 4, 1, 1, 1, 3, 1, 1, 2]);
    assert!(decode_state::<ORSet<u8>>(&unordered).is_err());
}

#[test]
fn bounded_counter_self_transfer_is_refused_on_decode() {
    // No increments or decrements; transfer (9 → 9) of 1.
    let bytes = framed(&[0, 0, 1, 9, 9, 1]);
    assert_eq!(decode_state::<BoundedCounter>(&bytes), Err(CrdtError::SelfTransfer { replica: 9 }));
}

#[test]
fn non_canonical_counter_input_decodes_to_the_canonical_state() {
    // Replicas out of order, a duplicate and a zero.
    let messy = framed(&[4, 9, 1, 2, 5, 9, 3, 7, 0]);
    let counter: GCounter = decode_state(&messy).unwrap();
    assert_eq!(counter.value(), 8);
    assert_eq!(encode(&counter).unwrap(), framed(&[2, 2, 5, 9, 3]));
}

#[test]
fn orset_is_much_smaller_than_one_triple_per_element() {
    let mut set = ORSet::new();
    for sku in 0..1_000u64 {
        set.add(ReplicaId(u64::MAX - 1), sku);
    }
    let bytes = encode(&set).unwrap();
    // Per element: the element (1–2 bytes) and a 1-byte counter gap.
    assert!(bytes.len() < 1_000 * 4, "{} bytes", bytes.len());
}

#[test]
fn deltas_decode_as_deltas() {
    let mut map: ORMap<u32, LWWRegister<u64>> = ORMap::new();
    let delta = map
        .update(ReplicaId(1), 7, |price| Ok(price.set(1_999, Hlc::new(10, ReplicaId(1)))))
        .unwrap();
    let bytes = encode(&delta).unwrap();
    assert_eq!(decode_delta::<ORMap<u32, LWWRegister<u64>>>(&bytes).unwrap(), delta);
}

macro_rules! fuzz_decoders {
    ($($name:ident: $ty:ty),* $(,)?) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
            $(
                #[test]
                fn $name(mut bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
                    // Half the time, make the version byte right so the payload is parsed.
                    if bytes.first().is_some_and(|b| b % 2 == 0) {
                        bytes[0] = FORMAT_VERSION;
                    }
                    if let Ok(state) = decode_state::<$ty>(&bytes) {
                        // Whatever decodes re-encodes and decodes to the same state.
                        let again = encode(&state).unwrap();
                        prop_assert_eq!(decode_state::<$ty>(&again).unwrap(), state);
                    }
                    let _ = decode_delta::<$ty>(&bytes);
                }
            )*
        }
    };
}

fuzz_decoders! {
    arbitrary_bytes_gcounter: GCounter,
    arbitrary_bytes_pncounter: PNCounter,
    arbitrary_bytes_bounded: BoundedCounter,
    arbitrary_bytes_orset: ORSet<u16>,
    arbitrary_bytes_orset_strings: ORSet<String>,
    arbitrary_bytes_lww: LWWRegister<String>,
    arbitrary_bytes_ormap: ORMap<u8, PNCounter>,
    arbitrary_bytes_nested: ORMap<u8, ORSet<u8>>,
}

/// Issue 16, defect 12: this state (found by fuzzing the Python package) has a present key
/// `SKU-1` with no counter. It decoded to a map of `len() == 1`, an empty value and a `get`
/// of None, and the ghost key survived merges.
#[test]
fn a_present_map_key_without_a_value_is_refused_on_decode() {
    let hex = "010201020201000102010105534b552d330205534b552d3101010a01020305534b552d3201010400";
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let err = decode_state::<ORMap<String, PNCounter>>(&bytes).unwrap_err();
    assert_eq!(err, CrdtError::KeyWithoutValue, "{err}");
    // A valid map with the same keys still decodes.
    let mut m: ORMap<String, PNCounter> = ORMap::new();
    for sku in ["SKU-1", "SKU-2", "SKU-3"] {
        m.update(ReplicaId(1), sku.into(), |c| c.increment(ReplicaId(1), 2)).unwrap();
    }
    let back = decode_state::<ORMap<String, PNCounter>>(&encode(&m).unwrap()).unwrap();
    assert_eq!(back, m);
}
