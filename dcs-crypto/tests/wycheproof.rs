//! Project Wycheproof: every AES-GCM, ECDSA P-256/SHA-256, Ed25519, HMAC-SHA512 and HKDF-SHA256
//! vector through the primitives, verifiers and MAC key exactly as the crate calls them.
//!
//! Each family prints `ran / valid / invalid / acceptable / skipped` (run with `--nocapture`).
//! A vector whose shape the crate never uses (an AES key that is not 256 bits, a nonce that is
//! not 96 bits, a DER-encoded ECDSA signature) is *skipped* with its reason, and where the
//! crate's API can be handed such input the test asserts it refuses it. The decisions for
//! "acceptable" vectors are in the crate documentation (`## Wycheproof decisions`); the
//! `*_decision` tests assert them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use dcs_core::AgentId;
use dcs_core::event::{EventSignature, SignatureAlgorithm};
use dcs_crypto::primitive::{self, AES_KEY_LEN, NONCE_LEN, TAG_LEN};
use dcs_crypto::{CryptoError, KeyRegistry, MacKey, SignedMessage, Signer, Verifier};
use wycheproof::TestResult;

/// Per-family tallies, printed at the end of each test.
#[derive(Default)]
struct Counts {
    ran: usize,
    valid: usize,
    invalid: usize,
    acceptable: usize,
    skipped: BTreeMap<&'static str, usize>,
}

impl Counts {
    fn ran(&mut self, r: TestResult) {
        self.ran += 1;
        match r {
            TestResult::Valid => self.valid += 1,
            TestResult::Invalid => self.invalid += 1,
            TestResult::Acceptable => self.acceptable += 1,
        }
    }

    fn skip(&mut self, reason: &'static str) {
        *self.skipped.entry(reason).or_default() += 1;
    }

    fn report(&self, family: &str, total: usize) {
        let skipped: usize = self.skipped.values().sum();
        eprintln!(
            "wycheproof {family}: ran {} (valid {}, invalid {}, acceptable {}), skipped {skipped} \
             of {total}",
            self.ran, self.valid, self.invalid, self.acceptable
        );
        for (reason, n) in &self.skipped {
            eprintln!("  skipped {n}: {reason}");
        }
        assert_eq!(self.ran + skipped, total, "{family}: every vector is run or skipped");
        assert!(self.ran > 0, "{family}: no vector ran");
    }
}

/// The verdict the crate must give: `true` = accept.
fn must_accept(r: TestResult, acceptable_decision: bool) -> bool {
    match r {
        TestResult::Valid => true,
        TestResult::Invalid => false,
        TestResult::Acceptable => acceptable_decision,
    }
}

#[test]
fn aes_gcm() {
    use wycheproof::aead::{TestName, TestSet};
    let set = TestSet::load(TestName::AesGcm).unwrap();
    let mut c = Counts::default();
    for g in &set.test_groups {
        for t in &g.tests {
            let ct_tag: Vec<u8> = [&t.ct[..], &t.tag[..]].concat();
            let opened = primitive::aes256gcm_open(&t.key, &t.nonce, &t.aad, &ct_tag);
            if t.key.len() != AES_KEY_LEN || t.nonce.len() != NONCE_LEN {
                // Out of profile: the crate's primitive refuses the key or nonce outright.
                assert!(
                    matches!(opened, Err(CryptoError::InvalidKey { .. })),
                    "tc {}: out-of-profile key/nonce must be refused, got {opened:?}",
                    t.tc_id
                );
                c.skip(if t.key.len() != AES_KEY_LEN {
                    "AES key not 256 bits (the crate only uses AES-256; refused)"
                } else {
                    "nonce not 96 bits (the crate only uses 96-bit nonces; refused)"
                });
                continue;
            }
            if t.tag.len() != TAG_LEN {
                assert!(opened.is_err(), "tc {}: a short tag must never authenticate", t.tc_id);
                c.skip("tag not 128 bits (the crate only uses 128-bit tags; refused)");
                continue;
            }
            c.ran(t.result);
            if must_accept(t.result, false) {
                assert_eq!(&opened.unwrap()[..], &t.pt[..], "tc {} open", t.tc_id);
                let sealed = primitive::aes256gcm_seal(&t.key, &t.nonce, &t.aad, &t.pt).unwrap();
                assert_eq!(sealed, ct_tag, "tc {} seal", t.tc_id);
            } else {
                assert_eq!(opened.unwrap_err(), CryptoError::BadTag, "tc {}", t.tc_id);
            }
        }
    }
    c.report("AES-GCM", set.number_of_tests);
    assert_eq!(c.acceptable, 0, "AES-GCM has no acceptable vectors in this Wycheproof release");
}

/// P-256 group order `n` halved (floor), big-endian: `s` above this is "high".
const P256_HALF_N: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

fn high_s(sig: &[u8]) -> bool {
    sig.len() == 64 && sig[32..] > P256_HALF_N[..]
}

/// Documented decision: high-`s` ECDSA signatures are accepted.
const ECDSA_ACCEPT_HIGH_S: bool = true;

#[test]
fn ecdsa_p256_sha256() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let mut c = Counts::default();
    let mut total = 0;
    let mut high_s_accepted = 0;
    // P1363 (`r ‖ s`) is the encoding events carry; WebCrypto vectors use it too.
    for name in [TestName::EcdsaSecp256r1Sha256P1363, TestName::EcdsaSecp256r1Webcrypto] {
        let set = TestSet::load(name).unwrap();
        total += set.number_of_tests;
        for g in &set.test_groups {
            assert_eq!(g.hash, wycheproof::HashFunction::Sha2_256);
            let key = Verifier::from_bytes(SignatureAlgorithm::EcdsaP256Sha256, &g.key.key);
            for t in &g.tests {
                c.ran(t.result);
                let sig = EventSignature {
                    algorithm: SignatureAlgorithm::EcdsaP256Sha256,
                    bytes: t.sig.to_vec(),
                };
                let verdict = match &key {
                    Ok(k) => k.verify(&t.msg, &sig).is_ok(),
                    Err(_) => false, // a public key the registry refuses verifies nothing
                };
                let expected = must_accept(t.result, ECDSA_ACCEPT_HIGH_S);
                assert_eq!(
                    verdict, expected,
                    "{name:?} tc {} ({}): {:?}",
                    t.tc_id, t.comment, t.result
                );
                if verdict && high_s(&t.sig) {
                    high_s_accepted += 1;
                }
            }
        }
    }
    // The DER sets describe the same cases in an encoding the crate never reads.
    let der = TestSet::load(TestName::EcdsaSecp256r1Sha256).unwrap();
    total += der.number_of_tests;
    for _ in der.test_groups.iter().flat_map(|g| &g.tests) {
        c.skip("DER-encoded signature (events carry fixed 64-byte r ‖ s; the P1363 set covers these cases)");
    }
    c.report("ECDSA P-256/SHA-256", total);
    eprintln!("  high-s signatures accepted: {high_s_accepted}");
    assert!(
        high_s_accepted > 0,
        "the vectors include high-s signatures and the decision accepts them"
    );
}

#[test]
fn ecdsa_high_s_decision() {
    use p256::ecdsa::Signature;
    let mut rng = common::rng(5);
    let signer = Signer::generate(SignatureAlgorithm::EcdsaP256Sha256, &mut rng);
    let verifier = signer.verifier();
    let msg = b"canonical event bytes";
    let low = signer.sign(msg);
    let sig = Signature::from_slice(&low.bytes).unwrap();
    let neg_s = -*sig.s();
    let high = Signature::from_scalars(sig.r().to_bytes(), neg_s.to_bytes()).unwrap();
    let high_bytes = high.to_bytes().to_vec();
    assert_ne!(high_s(&low.bytes), high_s(&high_bytes), "exactly one of s and n - s is high");
    let high = EventSignature { algorithm: SignatureAlgorithm::EcdsaP256Sha256, bytes: high_bytes };
    assert_eq!(verifier.verify(msg, &low), Ok(()));
    assert_eq!(verifier.verify(msg, &high).is_ok(), ECDSA_ACCEPT_HIGH_S, "documented: accepted");
    // r = 0 or s = 0 is never accepted.
    let mut zero_s = low.bytes.clone();
    zero_s[32..].fill(0);
    let zero_s = EventSignature { algorithm: SignatureAlgorithm::EcdsaP256Sha256, bytes: zero_s };
    assert_eq!(verifier.verify(msg, &zero_s), Err(CryptoError::BadSignature));
}

/// Ed25519 through `Verifier::verify` (strict) and through the registry's batch path.
#[test]
fn ed25519() {
    use wycheproof::eddsa::{TestName, TestSet};
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let mut c = Counts::default();
    let agent = AgentId::new("wycheproof").unwrap();
    let mut all_valid: Vec<(KeyRegistry, Vec<u8>, EventSignature)> = Vec::new();
    for g in &set.test_groups {
        let key = Verifier::from_bytes(SignatureAlgorithm::Ed25519, &g.key.pk);
        let mut registry = KeyRegistry::new();
        if let Ok(k) = &key {
            registry.register(&agent, k.clone());
        }
        for t in &g.tests {
            c.ran(t.result);
            // Ed25519 has no acceptable vectors in this release; strict verification would
            // refuse any signature whose validity depends on a lax reading.
            let expected = must_accept(t.result, false);
            let sig =
                EventSignature { algorithm: SignatureAlgorithm::Ed25519, bytes: t.sig.to_vec() };
            let single = key.as_ref().is_ok_and(|k| k.verify(&t.msg, &sig).is_ok());
            assert_eq!(single, expected, "tc {} ({}): {:?}", t.tc_id, t.comment, t.result);
            if key.is_ok() {
                let item = SignedMessage { signer: &agent, message: &t.msg, signature: &sig };
                let batch = registry.verify_batch(&[item]);
                assert_eq!(batch[0].is_ok(), expected, "tc {} batch ({})", t.tc_id, t.comment);
                if expected {
                    all_valid.push((registry.clone(), t.msg.to_vec(), sig.clone()));
                }
            }
        }
    }
    c.report("Ed25519", set.number_of_tests);
    assert_eq!(c.acceptable, 0, "Ed25519 has no acceptable vectors in this Wycheproof release");
    // All valid vectors in one batch (one registry per key, so one agent per vector).
    let mut registry = KeyRegistry::new();
    let agents: Vec<AgentId> =
        (0..all_valid.len()).map(|i| AgentId::new(format!("wp-{i}")).unwrap()).collect();
    for (a, (r, _, _)) in agents.iter().zip(&all_valid) {
        registry.register(a, r.get(&agent).unwrap().clone());
    }
    let items: Vec<SignedMessage<'_>> = agents
        .iter()
        .zip(&all_valid)
        .map(|(a, (_, m, s))| SignedMessage { signer: a, message: m, signature: s })
        .collect();
    assert!(registry.verify_batch(&items).iter().all(Result::is_ok));
    eprintln!("  {} valid Ed25519 vectors also pass in one batch", items.len());
}

/// L, the order of the Ed25519 base point, little-endian.
const ED25519_L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

#[test]
fn ed25519_non_canonical_decision() {
    let mut rng = common::rng(6);
    let signer = Signer::generate(SignatureAlgorithm::Ed25519, &mut rng);
    let verifier = signer.verifier();
    let msg = b"canonical event bytes";
    let good = signer.sign(msg);
    assert_eq!(verifier.verify(msg, &good), Ok(()));
    // s + L is the same scalar, non-canonically encoded: refused (no malleability).
    let mut bytes = good.bytes.clone();
    let mut carry = 0u16;
    for (b, l) in bytes[32..].iter_mut().zip(ED25519_L) {
        let sum = u16::from(*b) + u16::from(l) + carry;
        *b = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "s < L, so s + L fits in 256 bits");
    let malleated = EventSignature { algorithm: SignatureAlgorithm::Ed25519, bytes };
    assert_eq!(verifier.verify(msg, &malleated), Err(CryptoError::BadSignature));
    let agent = AgentId::new("cashier").unwrap();
    let mut registry = KeyRegistry::new();
    registry.register(&agent, verifier);
    let item = SignedMessage { signer: &agent, message: msg, signature: &malleated };
    assert_eq!(registry.verify_batch(&[item])[0], Err(CryptoError::BadSignature));
    // Small-order (weak) public keys are refused at registration: the identity point, and
    // a point of order 8.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(matches!(
        Verifier::from_bytes(SignatureAlgorithm::Ed25519, &identity),
        Err(CryptoError::InvalidKey { .. })
    ));
    let order_8: [u8; 32] = [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ];
    assert!(matches!(
        Verifier::from_bytes(SignatureAlgorithm::Ed25519, &order_8),
        Err(CryptoError::InvalidKey { .. })
    ));
}

#[test]
fn hmac_sha512() {
    use wycheproof::mac::{TestName, TestSet};
    let set = TestSet::load(TestName::HmacSha512).unwrap();
    let mut c = Counts::default();
    for g in &set.test_groups {
        for t in &g.tests {
            c.ran(t.result);
            let expected = must_accept(t.result, false);
            let full = primitive::hmac_sha512(&t.key, &[&t.msg]);
            let mac_key = MacKey::from_bytes(&t.key);
            if t.tag.len() == primitive::MAC_LEN {
                // Full tags: through MacKey (the crate's path) when the key length is one it
                // accepts, and through the constant-time primitive always.
                let prim = primitive::hmac_sha512_verify(&t.key, &[&t.msg], &t.tag);
                assert_eq!(prim.is_ok(), expected, "tc {} ({})", t.tc_id, t.comment);
                if let Ok(k) = &mac_key {
                    assert_eq!(k.verify(&t.msg, &t.tag).is_ok(), expected, "tc {} MacKey", t.tc_id);
                    assert_eq!(k.compute(&t.msg), full);
                }
            } else {
                // Truncated tags: the crate never accepts them; the vector's verdict is checked
                // against the prefix of the full MAC the crate computes.
                if let Ok(k) = &mac_key {
                    assert_eq!(
                        k.verify(&t.msg, &t.tag),
                        Err(CryptoError::BadMac),
                        "tc {}",
                        t.tc_id
                    );
                }
                assert_eq!(full.starts_with(&t.tag), expected, "tc {} truncated", t.tc_id);
            }
        }
    }
    c.report("HMAC-SHA512", set.number_of_tests);
    assert_eq!(c.acceptable, 0, "HMAC-SHA512 has no acceptable vectors in this Wycheproof release");
}

#[test]
fn hkdf_sha256() {
    use wycheproof::hkdf::{TestName, TestSet};
    let set = TestSet::load(TestName::HkdfSha256).unwrap();
    let mut c = Counts::default();
    for g in &set.test_groups {
        for t in &g.tests {
            c.ran(t.result);
            let mut out = vec![0u8; t.size];
            let r = primitive::hkdf_sha256(&t.salt, &t.ikm, &t.info, &mut out);
            if must_accept(t.result, false) {
                r.unwrap();
                assert_eq!(&out[..], &t.okm[..], "tc {} ({})", t.tc_id, t.comment);
            } else {
                assert_eq!(r, Err(CryptoError::KdfOutputTooLong { len: t.size }), "tc {}", t.tc_id);
            }
        }
    }
    c.report("HKDF-SHA256", set.number_of_tests);
    assert_eq!(c.acceptable, 0, "HKDF-SHA256 has no acceptable vectors in this Wycheproof release");
}
