//! The leader's verifier on a push's events, judged event by event in one batch: MACs under
//! the tenant's key, Ed25519 and ECDSA P-256 signatures against the tenant's registered
//! terminals (`TenantVerifier`); then the same verdicts through `judge`, as the leader
//! computes them for a Raft entry.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::*;
use dcs_core::AgentId;
use dcs_core::event::SignatureAlgorithm;
use dcs_crypto::{KeyRegistry, MacKey, Signer};
use dcs_regional::replica::{Judged, judge};
use dcs_regional::verify::TenantVerifier;
use dcs_sync::{Verifier, VerifyError};

#[test]
fn a_push_is_judged_event_by_event_and_bad_events_spoil_nothing() {
    let mut rng = rand_core::OsRng;
    let mac = MacKey::random(&mut rng);
    let ed = Signer::generate(SignatureAlgorithm::Ed25519, &mut rng);
    let p256 = Signer::generate(SignatureAlgorithm::EcdsaP256Sha256, &mut rng);
    let stranger = Signer::generate(SignatureAlgorithm::Ed25519, &mut rng);
    let mut registry = KeyRegistry::new();
    registry.register(&AgentId::new("pos-1").unwrap(), ed.verifier());
    registry.register(&AgentId::new("pos-2").unwrap(), p256.verifier());
    let v = TenantVerifier::new([("acme".to_string(), mac.clone())].into())
        .with_signers("acme", registry);

    // Events of stores 1, 2 and 3 (created by pos-1, pos-2, pos-3).
    let mut machines = [store(1), store(2), store(3)];
    let mut make = |n: u32, k: u64, by: Option<&Signer>| {
        let mut e = event(&mut machines[n as usize - 1], n, k, now(k)).0;
        match by {
            Some(s) => dcs_crypto::sign_event(&mut e, &mac, s),
            None => e.set_mac(mac.compute(&e.canonical_bytes()).to_vec()),
        }
        e
    };
    let good = make(1, 1, Some(&ed));
    let p256_ok = make(2, 2, Some(&p256));
    let forged = make(1, 3, Some(&stranger));
    let unsigned = make(1, 4, None);
    let unknown = make(3, 5, Some(&ed));
    let mut bad_mac = make(1, 6, Some(&ed));
    bad_mac.set_mac(vec![0; 64]);
    let good_too = make(1, 7, Some(&ed));
    let batch = [good, p256_ok, forged, unsigned, unknown, bad_mac, good_too];
    let refs: Vec<_> = batch.iter().collect();
    let got = v.verify_batch(&refs);
    assert!(got[0].is_ok());
    assert!(got[1].is_ok(), "ECDSA P-256 signatures are checked too");
    assert!(matches!(got[2], Err(VerifyError::BadSignature)), "a key that is not pos-1's");
    assert!(matches!(got[3], Err(VerifyError::BadSignature)), "no signature");
    assert!(
        matches!(&got[4], Err(VerifyError::Other(r)) if r.contains("no registered public key")),
        "{:?}",
        got[4]
    );
    assert!(matches!(got[5], Err(VerifyError::BadMac)));
    assert!(got[6].is_ok(), "the bad events do not spoil their neighbours");
    assert!(matches!(v.verify(&batch[2]), Err(VerifyError::BadSignature)));

    // A tenant the region does not serve.
    let other = TenantVerifier::new([("globex".to_string(), mac.clone())].into());
    assert!(
        matches!(other.verify(&batch[0]), Err(VerifyError::Other(r)) if r.contains("not served"))
    );

    // The leader's judge over a whole push: one verdict per event, in order.
    let push = dcs_sync::Message::Push(dcs_sync::Push {
        batch: 1,
        items: batch
            .iter()
            .enumerate()
            .map(|(i, e)| dcs_sync::Positioned {
                pos: i as u64 + 1,
                item: dcs_sync::Item::Event(Box::new(e.clone())),
            })
            .collect(),
        crdt: None,
        have: 0,
        hlc: 0,
        lag: 0,
    });
    let verdicts = judge(&push, &v);
    let outcomes: Vec<&str> = verdicts
        .iter()
        .map(|v| match v.outcome {
            Judged::Authentic(_) => "ok",
            Judged::BadMac => "mac",
            Judged::BadSignature => "signature",
            Judged::Refused(_) => "refused",
        })
        .collect();
    assert_eq!(outcomes, ["ok", "ok", "signature", "signature", "refused", "mac", "ok"]);
}

/// The master's key registry, as a replica publishes it, overrides the terminals file: an
/// agent with a registered key must sign with it, and after a rotation its previous key
/// still holds for the events it made before the rotation (sealed offline, pushed later).
#[test]
fn registered_keys_decide_and_a_rotation_keeps_the_old_key_for_older_events() {
    use dcs_core::causality::unix_ms_to_ntp64;
    use dcs_crdt::ReplicaId;
    use dcs_regional::verify::{RegisteredKeys, SharedKeys};
    use dcs_sync::ReplicatedState;

    let mut rng = rand_core::OsRng;
    let mac = MacKey::random(&mut rng);
    let (file_key, old, new) = (
        Signer::generate(SignatureAlgorithm::Ed25519, &mut rng),
        Signer::generate(SignatureAlgorithm::Ed25519, &mut rng),
        Signer::generate(SignatureAlgorithm::EcdsaP256Sha256, &mut rng),
    );
    // The terminals file knows pos-1 by `file_key`; the registry knows nobody yet.
    let mut registry = KeyRegistry::new();
    registry.register(&AgentId::new("pos-1").unwrap(), file_key.verifier());
    let shared = SharedKeys::default();
    let v = TenantVerifier::new([("acme".to_string(), mac.clone())].into())
        .with_signers("acme", registry)
        .with_registered(std::sync::Arc::clone(&shared));
    let mut m = store(1);
    let mut make = |k: u64, by: &Signer| {
        let mut e = event(&mut m, 1, k, now(k * 1_000)).0;
        dcs_crypto::sign_event(&mut e, &mac, by);
        e
    };
    let publish = |state: &ReplicatedState| *shared.write().unwrap() = RegisteredKeys::of(state);
    let judge_all = |events: &[&dcs_core::SovereignFinancialEvent]| {
        v.verify_batch(events).into_iter().map(|r| r.is_ok()).collect::<Vec<_>>()
    };

    let by_file = make(1, &file_key);
    assert_eq!(judge_all(&[&by_file]), [true], "no registry entry: the terminals file decides");

    // The master registers `old` for pos-1 at t = 2 s, then rotates to `new` at t = 5 s.
    let mut state = ReplicatedState::default();
    let master = ReplicaId(1);
    let key = |s: &Signer| s.verifier().to_bytes();
    state
        .register_key(master, unix_ms_to_ntp64(T0 + 2_000), "acme", "pos-1", "ed25519", &key(&old))
        .unwrap();
    publish(&state);
    assert_eq!(shared.read().unwrap().len(), 1);
    let by_old = make(3, &old);
    let by_file_again = make(4, &file_key);
    assert_eq!(
        judge_all(&[&by_old, &by_file_again]),
        [true, false],
        "the registry overrides the file"
    );

    state
        .register_key(
            master,
            unix_ms_to_ntp64(T0 + 5_000),
            "acme",
            "pos-1",
            "ecdsa-p256",
            &key(&new),
        )
        .unwrap();
    publish(&state);
    let old_before = make(6, &old); // made at 6 s, under the old key: refused
    let new_after = make(7, &new);
    let got = judge_all(&[&by_old, &old_before, &new_after]);
    assert_eq!(
        got,
        [true, false, true],
        "made before the rotation: the old key; after it: the new one"
    );
    assert!(matches!(v.verify(&old_before), Err(VerifyError::BadSignature)));

    // A registered key that does not parse refuses the agent's events with the reason.
    state
        .register_key(master, unix_ms_to_ntp64(T0 + 8_000), "acme", "pos-1", "ed25519", &[0; 32])
        .unwrap();
    publish(&state);
    let late = make(9, &new);
    let r = v.verify(&late);
    assert!(matches!(&r, Err(VerifyError::Other(why)) if why.contains("does not parse")), "{r:?}");
}
