//! Issue 16, defect 1 and the integrators' gaps: terminals with the same agent id never make
//! the same idempotency key, and a terminal's identity and clocks survive a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{World, rng};
use dcs_core::commerce::DomainEvent;
use dcs_core::commerce::EventBody;
use dcs_core::commerce::body::AgentNote;
use dcs_core::event::SignatureAlgorithm;
use dcs_core::*;
use dcs_crypto::*;

fn fact(n: u32) -> DomainEvent {
    DomainEvent::new(EventBody::AgentDecisionMade(AgentNote {
        subject: format!("decision-{n}"),
        detail: "restock".into(),
        amount: None,
    }))
}

fn config() -> TerminalConfig {
    TerminalConfig::new("acme", "store-042", "pos-01", Currency::USD).unwrap()
}

#[test]
fn two_terminals_of_one_agent_in_the_same_millisecond_make_distinct_keys() {
    let w = World::new(SignatureAlgorithm::Ed25519);
    let cashier = AgentId::new("cashier-17").unwrap();
    let mut r = rng(5);
    let mut keys = BTreeSet::new();
    // The adversarial run: 200 pairs of fresh terminals sealing in one millisecond collided
    // 190 times with `agent/ms/seq` keys.
    for pair in 0..200u32 {
        for node in [1u8, 2] {
            let mut t = Terminal::new(config(), [node; 16]).unwrap();
            let e = t
                .seal(
                    &fact(pair),
                    &cashier,
                    None,
                    1_767_225_600_000,
                    &mut r,
                    &w.keyring,
                    &w.mac_key,
                    &w.signer,
                )
                .unwrap();
            assert!(keys.insert(e.idempotency_key().as_str().to_string()), "key collision");
            verify_event(&e, &w.mac_key, &w.registry).unwrap();
        }
    }
    assert_eq!(keys.len(), 400);
}

#[test]
fn an_explicit_key_is_kept_and_events_open() {
    let w = World::new(SignatureAlgorithm::Ed25519);
    let cashier = AgentId::new("cashier-17").unwrap();
    let mut t = Terminal::new(config(), [1; 16]).unwrap();
    let key = IdempotencyKey::new("receipt-0042").unwrap();
    let e = t
        .seal(
            &fact(1),
            &cashier,
            Some(key.clone()),
            1_000,
            &mut rng(1),
            &w.keyring,
            &w.mac_key,
            &w.signer,
        )
        .unwrap();
    assert_eq!(e.idempotency_key(), &key);
    let body = EventBody::from_bytes(&open_event(&e, &w.keyring).unwrap()).unwrap();
    assert_eq!(body, fact(1).body);
}

#[test]
fn a_resumed_terminal_continues_its_clocks() {
    let w = World::new(SignatureAlgorithm::Ed25519);
    let cashier = AgentId::new("cashier-17").unwrap();
    let mut r = rng(2);
    let mut t = Terminal::new(config(), [1; 16]).unwrap();
    let mut last = None;
    for n in 0..3 {
        last = Some(
            t.seal(&fact(n), &cashier, None, 5_000, &mut r, &w.keyring, &w.mac_key, &w.signer)
                .unwrap(),
        );
    }
    let last = last.unwrap();
    let saved = t.state().to_bytes();
    // Restart: the wall clock is now behind (NTP stepped back), the state is restored.
    let state = TerminalState::from_bytes(&saved).unwrap();
    let mut t2 = Terminal::resume(config(), [9; 16], &state).unwrap();
    let next = t2
        .seal(&fact(9), &cashier, None, 4_000, &mut r, &w.keyring, &w.mac_key, &w.signer)
        .unwrap();
    assert!(next.causality().hlc.time > last.causality().hlc.time, "HLC went backwards");
    let agent = AgentId::new("pos-01").unwrap();
    assert_eq!(next.causality().vector_clock.get(&agent), 4);
    let mut junk = saved.clone();
    junk.push(0);
    assert!(TerminalState::from_bytes(&junk).is_err());
}

#[test]
fn a_terminal_follows_rotation_and_refuses_after_a_shred() {
    let mut w = World::new(SignatureAlgorithm::Ed25519);
    let cashier = AgentId::new("cashier-17").unwrap();
    let mut r = rng(3);
    let mut t = Terminal::new(config(), [1; 16]).unwrap();
    let e1 =
        t.seal(&fact(1), &cashier, None, 1, &mut r, &w.keyring, &w.mac_key, &w.signer).unwrap();
    assert_eq!(e1.payload().kek_version, 1);
    w.keyring.rotate("acme/kek", KekMaterial::Random(&mut rng(8))).unwrap();
    let e2 =
        t.seal(&fact(2), &cashier, None, 2, &mut r, &w.keyring, &w.mac_key, &w.signer).unwrap();
    assert_eq!(e2.payload().kek_version, 2);
    w.keyring.destroy_tenant("acme");
    let err =
        t.seal(&fact(3), &cashier, None, 3, &mut r, &w.keyring, &w.mac_key, &w.signer).unwrap_err();
    assert!(matches!(err, CryptoError::KekDestroyed { .. }), "{err}");
}

#[test]
fn a_pinned_terminal_refuses_after_a_rotation() {
    let mut w = World::new(SignatureAlgorithm::Ed25519);
    let cashier = AgentId::new("cashier-17").unwrap();
    let mut r = rng(3);
    let mut c = config();
    c.pinned_kek = Some(KekRef::checked("acme/kek", 1).unwrap());
    let mut t = Terminal::new(c, [1; 16]).unwrap();
    t.seal(&fact(1), &cashier, None, 1, &mut r, &w.keyring, &w.mac_key, &w.signer).unwrap();
    w.keyring.rotate("acme/kek", KekMaterial::Random(&mut rng(8))).unwrap();
    let err =
        t.seal(&fact(2), &cashier, None, 2, &mut r, &w.keyring, &w.mac_key, &w.signer).unwrap_err();
    assert!(matches!(err, CryptoError::KekNotCurrent { .. }), "{err}");
}

#[test]
fn signer_and_mac_keys_export_and_import() {
    for alg in [SignatureAlgorithm::Ed25519, SignatureAlgorithm::EcdsaP256Sha256] {
        let s = Signer::generate(alg, &mut rng(4));
        let file = s.to_key_bytes();
        let back = Signer::from_key_bytes(&file).unwrap();
        assert_eq!(back.verifier().to_bytes(), s.verifier().to_bytes());
        let raw = Signer::from_bytes(alg, s.to_secret_bytes().as_slice()).unwrap();
        assert_eq!(raw.verifier().to_bytes(), s.verifier().to_bytes());
        for i in 0..file.len() {
            let mut edited = file.to_vec();
            edited[i] ^= 0x10;
            assert!(Signer::from_key_bytes(&edited).is_err(), "byte {i}");
        }
        assert!(Signer::from_key_bytes(&file[..file.len() - 1]).is_err());
    }
    let m = MacKey::random(&mut rng(6));
    let back = MacKey::from_bytes(&m.to_secret_bytes()).unwrap();
    assert_eq!(back.compute(b"x"), m.compute(b"x"));
}
