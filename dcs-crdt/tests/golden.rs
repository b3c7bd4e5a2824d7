//! Golden byte vectors: the exact encoding of small states, so that a format change is a
//! deliberate version bump and the Python and WASM bindings can check byte-identical state.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dcs_crdt::{
    BoundedCounter, GCounter, Hlc, LWWRegister, ORMap, ORSet, PNCounter, ReplicaId, decode_state,
    encode,
};

const A: ReplicaId = ReplicaId(1);
const B: ReplicaId = ReplicaId(300);

/// Hex of the encoding, checked to decode back to the same state.
fn golden<C>(state: &C) -> String
where
    C: dcs_crdt::Crdt + serde::Serialize + serde::de::DeserializeOwned + core::fmt::Debug,
{
    let bytes = encode(state).unwrap();
    assert_eq!(&decode_state::<C>(&bytes).unwrap(), state);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn counters() {
    let mut g = GCounter::new();
    g.increment(B, 2).unwrap();
    g.increment(A, 5).unwrap();
    // version 1, 2 entries, (1, 5), (300 = ac 02, 2)
    assert_eq!(golden(&g), "01020105ac0202");

    let mut p = PNCounter::new();
    p.increment(A, 3).unwrap();
    p.decrement(B, 1).unwrap();
    assert_eq!(golden(&p), "0101010301ac0201");

    let mut bc = BoundedCounter::new();
    bc.increment(A, 10).unwrap();
    bc.transfer(A, B, 4).unwrap();
    bc.decrement(B, 1).unwrap();
    // increments [(1, 10)], decrements [(300, 1)], transfers [((1, 300), 4)]
    assert_eq!(golden(&bc), "0101010a01ac02010101ac0204");
}

#[test]
fn orset_and_map() {
    let mut s = ORSet::new();
    s.add(A, 7u16);
    s.add(A, 9u16);
    s.add(B, 7u16);
    s.remove(&9);
    // B's add of 7 on this replica supersedes A's dot for 7; the remove of 9 leaves no trace but
    // the context. Context: vv [(1, 2), (300, 1)], cloud []; groups: (300, [(gap 1, 7)]).
    assert_eq!(golden(&s), "01020102ac02010001ac02010107");

    let mut m: ORMap<u8, LWWRegister<u32>> = ORMap::new();
    m.update(A, 4, |r| Ok(r.set(1_999, Hlc::new(1_000, A)))).unwrap();
    // keys: context [(1, 1)], group (1, [(1, 4)]); values: {4: Some((1000 = e8 07, 1), 1999 = cf 0f)}
    assert_eq!(golden(&m), "01010101000101010104010401e80701cf0f");
}

#[test]
fn empty_states_are_tiny() {
    assert_eq!(golden(&GCounter::new()), "0100");
    assert_eq!(golden(&ORSet::<u8>::new()), "01000000");
    assert_eq!(golden(&LWWRegister::<u8>::new()), "0100");
}

#[test]
fn an_add_delta_leaves_its_dot_implied() {
    let mut s: ORSet<u16> = ORSet::new();
    let delta = s.add(B, 7);
    // set: context vv [(300, 1)], cloud []; groups (300, [(1, 7)]); removed [].
    assert_eq!(
        encode(&delta).unwrap().iter().map(|b| format!("{b:02x}")).collect::<String>(),
        "0101ac02010001ac0201010700"
    );
    s.add(B, 8);
    let delta = s.add(B, 7);
    // The superseded dot (300, 1) is in the context (as its vector part); the new dot (300, 3)
    // is implied by the entry.
    let bytes = encode(&delta).unwrap();
    assert_eq!(
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        "0101ac02010001ac0201030700"
    );
    assert_eq!(dcs_crdt::decode_delta::<ORSet<u16>>(&bytes).unwrap(), delta);
}
