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
    let verdicts = judge(&dcs_sync::encode(&push).unwrap(), &v);
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
