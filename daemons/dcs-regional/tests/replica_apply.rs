//! Applying is a pure function of the entries: two replicas that apply the same entries hold
//! the same file; the leader's verdicts decide which events go in (a bad one is refused, its
//! batch's good ones go in) without the followers verifying again; the clock never goes
//! backwards; a replica restarted from its file goes on as the others do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::*;
use dcs_regional::replica::{Input, Judged, Proposal, Replica, judge};
use dcs_sync::sim::mac::KeyedVerifier;
use dcs_sync::sim::store::MemStore;
use dcs_sync::{Message, NodeId, encode, pump};

/// Store 1 appends `n` events (event `bad` sealed under another key) and pushes them.
fn push_bytes(n: u64, bad: Option<u64>) -> Vec<u8> {
    let mut m = store(1);
    let mut host = MemStore::default();
    for k in 1..=n {
        let (mut e, body) = event(&mut m, 1, k, now(k));
        if Some(k) == bad {
            KeyedVerifier::new([8; 32]).seal(&mut e);
        }
        m.append(now(k), e, Some(&body)).unwrap();
    }
    pump(now(100), &mut m, &mut host).unwrap();
    m.handle_timeout(now(2_000));
    pump(now(2_000), &mut m, &mut host).unwrap();
    let msg = std::iter::from_fn(|| m.poll_transmit())
        .map(|(_, msg)| msg)
        .find(|msg| matches!(msg, Message::Push(_)))
        .expect("a push");
    encode(&msg).unwrap()
}

fn message(from: NodeId, bytes: Vec<u8>, at: u64) -> Proposal {
    // Bytes that do not decode get no verdicts (the machine refuses them on every replica).
    let verdicts = dcs_sync::decode(&bytes).map(|m| judge(&m, &verifier())).unwrap_or_default();
    Proposal {
        clock: clock(at),
        input: Input::Message { from, bytes: bytes.into(), verdicts: verdicts.into() },
    }
}

fn same_files(a: &Replica, b: &Replica) {
    let (sa, sb) = (a.store(), b.store());
    assert_eq!(sa.accepted_after(0, 10_000).unwrap(), sb.accepted_after(0, 10_000).unwrap());
    assert_eq!(sa.refused(10_000).unwrap(), sb.refused(10_000).unwrap());
    assert_eq!(sa.restored().unwrap(), sb.restored().unwrap());
    assert_eq!(a.clock(), b.clock());
}

#[test]
fn replicas_that_apply_the_same_entries_hold_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Replica::open(&dir.path().join("a.db"), replica_config()).unwrap();
    let mut b = Replica::open(&dir.path().join("b.db"), replica_config()).unwrap();
    let bytes = push_bytes(20, Some(7));
    let verdicts = judge(&dcs_sync::decode(&bytes).unwrap(), &verifier());
    assert_eq!(verdicts.len(), 20);
    assert_eq!(verdicts.iter().filter(|v| v.outcome == Judged::BadMac).count(), 1);
    let entries = [
        message(NodeId::Store(1), bytes, 3_000),
        // A leader whose clock is behind (a new leader after a failover).
        Proposal { clock: clock(2_500), input: Input::Tick },
        message(NodeId::Store(9), vec![1, 2, 3], 3_100),
    ];
    for (i, p) in entries.iter().enumerate() {
        for r in [&mut a, &mut b] {
            let answers =
                r.apply(&[(i as u64 + 1, Some(p))], &[("raft_applied", vec![i as u8])]).unwrap();
            assert_eq!(answers.len(), 1);
            if i == 2 {
                assert!(answers[0].refused.is_some(), "an unknown peer's message is refused");
            } else {
                assert_eq!(answers[0].refused, None);
            }
        }
        same_files(&a, &b);
    }
    assert_eq!(a.clock(), clock(3_100), "the tick at 2,500 did not move the clock back");
    assert_eq!(a.store().accepted_len().unwrap(), 19, "the good events of the batch went in");
    let refused = a.store().refused(10).unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].1, 7, "the event sealed under another key, at its position");
    assert!(refused[0].2.contains("MAC"), "{}", refused[0].2);
    // Every replica computes the ack (only the leader will send it): it names the refusal.
    for r in [&mut a, &mut b] {
        let acks: Vec<_> = std::iter::from_fn(|| r.poll_transmit())
            .filter_map(|(to, m)| match m {
                Message::Ack(ack) if to == NodeId::Store(1) => Some(ack),
                _ => None,
            })
            .collect();
        assert_eq!(acks.len(), 1);
        assert_eq!(acks[0].durable_pos, 20);
        assert_eq!(acks[0].rejected.iter().map(|x| x.pos).collect::<Vec<_>>(), [7]);
    }
    // A restarted replica goes on as the other.
    drop(a);
    let mut a = Replica::open(&dir.path().join("a.db"), replica_config()).unwrap();
    same_files(&a, &b);
    assert_eq!(a.meta("raft_applied").unwrap(), Some(vec![2]));
    let again = message(NodeId::Store(1), push_bytes(20, Some(7)), 4_000);
    for r in [&mut a, &mut b] {
        r.apply(&[(4, Some(&again))], &[]).unwrap();
    }
    same_files(&a, &b);
    assert_eq!(a.store().accepted_len().unwrap(), 19, "a retransmitted push adds nothing");
}

#[test]
fn an_event_the_leader_did_not_judge_is_refused_on_every_replica() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Replica::open(&dir.path().join("a.db"), replica_config()).unwrap();
    let bytes = push_bytes(3, None);
    let p = Proposal {
        clock: clock(3_000),
        input: Input::Message {
            from: NodeId::Store(1),
            bytes: bytes.into(),
            verdicts: vec![].into(),
        },
    };
    a.apply(&[(1, Some(&p))], &[]).unwrap();
    assert_eq!(a.store().accepted_len().unwrap(), 0);
    assert_eq!(a.store().refused(10).unwrap().len(), 3);
}
