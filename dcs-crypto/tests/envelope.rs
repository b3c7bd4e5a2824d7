//! The envelope byte format: round trips, tampering, commitment, rotation and every error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::rng;
use dcs_crypto::envelope::{self, Envelope, FIXED_HEADER_LEN};
use dcs_crypto::*;

const AAD: &[u8] = b"visible metadata";
const CTX: [u8; 16] = [0x42; 16];

fn setup() -> (Keyring, SealingKey, rand_chacha::ChaCha20Rng) {
    let mut rng = rng(3);
    let mut k = Keyring::new();
    k.create_kek("acme", "acme/kek", KekMaterial::Random(&mut rng)).unwrap();
    k.create_kek("globex", "globex/kek", KekMaterial::Random(&mut rng)).unwrap();
    let key = k.generate_data_key("acme", &mut rng).unwrap();
    (k, key, rng)
}

#[test]
fn seal_then_open_round_trips_and_layout_matches_the_table() {
    let (k, key, mut rng) = setup();
    let env = envelope::seal(&key, &CTX, AAD, b"hello", &mut rng).unwrap();
    assert_eq!(&env[..4], b"DCSE");
    assert_eq!(env[4], 1);
    assert_eq!(env[5], envelope::SUITE_AES256GCM_HKDF256_COMMIT);
    assert_eq!(&env[6..22], &CTX);
    assert_eq!(&env[22..38], &key.id);
    assert_eq!(usize::from(env[114]), "acme/kek".len());
    assert_eq!(&env[115..123], b"acme/kek");
    assert_eq!(&env[123..127], &1u32.to_be_bytes());
    let w = usize::from(u16::from_be_bytes([env[127], env[128]]));
    assert_eq!(w, 60);
    let c = u32::from_be_bytes(env[129 + w..133 + w].try_into().unwrap()) as usize;
    assert_eq!(c, 5 + 16);
    assert_eq!(env.len(), 133 + w + c);
    let parsed = Envelope::parse(&env).unwrap();
    assert_eq!(parsed.kek, KekRef::new("acme/kek", 1));
    assert_eq!(&envelope::open(&k, "acme", AAD, &env).unwrap()[..], b"hello");
}

#[test]
fn the_same_plaintext_seals_to_different_bytes() {
    let (_, key, mut rng) = setup();
    let a = envelope::seal(&key, &CTX, AAD, b"x", &mut rng).unwrap();
    let b = envelope::seal(&key, &CTX, AAD, b"x", &mut rng).unwrap();
    assert_ne!(a[38..114], b[38..114], "message id, commitment and nonce are fresh");
}

#[test]
fn flipping_any_bit_of_any_field_fails_and_never_yields_plaintext() {
    let (k, key, mut rng) = setup();
    let env = envelope::seal(&key, &CTX, AAD, b"sixteen byte msg and more", &mut rng).unwrap();
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for byte in 0..env.len() {
        for bit in 0..8 {
            let mut t = env.clone();
            t[byte] ^= 1 << bit;
            let err = envelope::open(&k, "acme", AAD, &t).expect_err("a flipped bit must not open");
            let name = format!("{err:?}");
            *kinds.entry(name.split([' ', '(', '{']).next().unwrap().to_string()).or_default() += 1;
        }
    }
    // Every field's failure is the one its role predicts.
    for expected in [
        "BadMagic",
        "UnknownVersion",
        "UnknownAlgorithm",
        "CommitmentMismatch",
        "BadTag",
        "UnwrapFailed",
    ] {
        assert!(kinds.contains_key(expected), "no {expected} in {kinds:?}");
    }
}

#[test]
fn field_by_field_tampering_gives_the_specific_error() {
    let (k, key, mut rng) = setup();
    let env = envelope::seal(&key, &CTX, AAD, b"payload", &mut rng).unwrap();
    let flip = |i: usize| {
        let mut t = env.clone();
        t[i] ^= 1;
        envelope::open(&k, "acme", AAD, &t).unwrap_err()
    };
    assert_eq!(flip(70), CryptoError::CommitmentMismatch, "commitment");
    assert_eq!(flip(38), CryptoError::CommitmentMismatch, "message id");
    assert_eq!(flip(6), CryptoError::CommitmentMismatch, "context");
    assert!(matches!(flip(22), CryptoError::UnwrapFailed { .. }), "data key id");
    assert_eq!(flip(102), CryptoError::BadTag, "nonce");
    assert!(matches!(flip(115), CryptoError::UnknownKek { .. }), "kek id");
    assert!(matches!(flip(126), CryptoError::UnknownKekVersion { .. }), "kek version");
    assert!(matches!(flip(130), CryptoError::UnwrapFailed { .. }), "wrapped key");
    assert_eq!(flip(env.len() - 1), CryptoError::BadTag, "tag");
    assert_eq!(flip(env.len() - 17), CryptoError::BadTag, "ciphertext");
    // Another event's associated data.
    assert_eq!(envelope::open(&k, "acme", b"other event", &env).unwrap_err(), CryptoError::BadTag);
}

#[test]
fn every_truncation_is_a_clear_error() {
    let (k, key, mut rng) = setup();
    let env = envelope::seal(&key, &CTX, AAD, b"payload", &mut rng).unwrap();
    for len in 0..env.len() {
        let err = envelope::open(&k, "acme", AAD, &env[..len]).unwrap_err();
        assert!(
            matches!(err, CryptoError::TruncatedEnvelope { .. } | CryptoError::BadMagic),
            "len {len}: {err}"
        );
    }
    let mut long = env.clone();
    long.push(0);
    assert_eq!(
        envelope::open(&k, "acme", AAD, &long).unwrap_err(),
        CryptoError::TrailingBytes { extra: 1 }
    );
}

#[test]
fn oversized_lengths_are_refused_before_reading() {
    let (k, key, mut rng) = setup();
    let env = envelope::seal(&key, &CTX, AAD, b"payload", &mut rng).unwrap();
    let mut t = env.clone();
    t[114] = 200; // KEK id length over 128
    assert!(matches!(
        envelope::open(&k, "acme", AAD, &t).unwrap_err(),
        CryptoError::OversizedLength { field: "kek id", len: 200, max: 128 }
    ));
    let mut t = env.clone();
    t[127..129].copy_from_slice(&u16::MAX.to_be_bytes());
    assert!(matches!(
        envelope::open(&k, "acme", AAD, &t).unwrap_err(),
        CryptoError::OversizedLength { field: "wrapped key", .. }
    ));
    let mut t = env.clone();
    t[189..193].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        envelope::open(&k, "acme", AAD, &t).unwrap_err(),
        CryptoError::OversizedLength { field: "ciphertext", .. }
    ));
    let mut t = env;
    t[4] = 9;
    assert_eq!(envelope::open(&k, "acme", AAD, &t).unwrap_err(), CryptoError::UnknownVersion(9));
    t[4] = 1;
    t[5] = 7;
    assert_eq!(envelope::open(&k, "acme", AAD, &t).unwrap_err(), CryptoError::UnknownAlgorithm(7));
}

#[test]
fn another_tenant_cannot_open_and_is_told_why() {
    let (k, key, mut rng) = setup();
    let env = envelope::seal(&key, &CTX, AAD, b"payload", &mut rng).unwrap();
    let err = envelope::open(&k, "globex", AAD, &env).unwrap_err();
    assert_eq!(
        err,
        CryptoError::WrongTenant {
            kek_id: "acme/kek".into(),
            owner: "acme".into(),
            requested: "globex".into()
        }
    );
    assert!(err.to_string().contains("wrong tenant"));
}

#[test]
fn key_commitment_refuses_a_second_key() {
    let (k, key, mut rng) = setup();
    let env = envelope::seal(&key, &CTX, AAD, b"payload", &mut rng).unwrap();
    let parsed = Envelope::parse(&env).unwrap();
    let other = DataKey::random(&mut rng);
    assert_eq!(
        parsed.open_with_data_key(&other, AAD).unwrap_err(),
        CryptoError::CommitmentMismatch
    );
    // Swap in another data key wrapped for the same id: the commitment still refuses it.
    let id: [u8; 16] = env[22..38].try_into().unwrap();
    let kek = KekRef::new("acme/kek", 1);
    let wrapped = k.wrap("acme", &kek, &id, &other, &mut rng).unwrap();
    let mut t = env[..FIXED_HEADER_LEN].to_vec();
    t.push(8);
    t.extend_from_slice(b"acme/kek");
    t.extend_from_slice(&1u32.to_be_bytes());
    t.extend_from_slice(&(wrapped.len() as u16).to_be_bytes());
    t.extend_from_slice(&wrapped);
    t.extend_from_slice(&env[129 + 60..]);
    assert_eq!(envelope::open(&k, "acme", AAD, &t).unwrap_err(), CryptoError::CommitmentMismatch);
    assert_eq!(&envelope::open(&k, "acme", AAD, &env).unwrap()[..], b"payload");
}

#[test]
fn rotation_rewrap_and_retirement() {
    let (mut k, key, mut rng) = setup();
    let old = envelope::seal(&key, &CTX, AAD, b"old payload", &mut rng).unwrap();
    let v2 = k.rotate("acme/kek", KekMaterial::Random(&mut rng)).unwrap();
    assert_eq!(v2, KekRef::new("acme/kek", 2));
    assert_eq!(k.current_kek("acme").unwrap(), v2, "new events use the newest version");
    let fresh = k.generate_data_key("acme", &mut rng).unwrap();
    assert_eq!(fresh.wrapped.kek, v2);
    // Old versions still open until retired.
    assert_eq!(&envelope::open(&k, "acme", AAD, &old).unwrap()[..], b"old payload");
    let moved = envelope::rewrap(&k, "acme", &old, &mut rng).unwrap();
    assert_eq!(Envelope::parse(&moved).unwrap().kek, v2);
    let (po, pm) = (Envelope::parse(&old).unwrap(), Envelope::parse(&moved).unwrap());
    assert_eq!(po.ciphertext, pm.ciphertext, "payload ciphertext untouched");
    assert_eq!(old[..FIXED_HEADER_LEN], moved[..FIXED_HEADER_LEN], "header untouched");
    k.retire(&KekRef::new("acme/kek", 1)).unwrap();
    assert_eq!(
        envelope::open(&k, "acme", AAD, &old).unwrap_err(),
        CryptoError::RetiredKek { kek_id: "acme/kek".into(), version: 1 }
    );
    assert_eq!(&envelope::open(&k, "acme", AAD, &moved).unwrap()[..], b"old payload");
    assert_eq!(k.state(&KekRef::new("acme/kek", 1)).unwrap(), KekState::Retired);
}

#[test]
fn shredding_makes_payloads_unrecoverable() {
    let (mut k, key, mut rng) = setup();
    let env = envelope::seal(&key, &CTX, AAD, b"payload", &mut rng).unwrap();
    assert_eq!(k.destroy_tenant("acme"), 1);
    assert_eq!(
        envelope::open(&k, "acme", AAD, &env).unwrap_err(),
        CryptoError::KekDestroyed { tenant: "acme".into(), kek_id: "acme/kek".into() }
    );
    assert!(matches!(k.current_kek("acme").unwrap_err(), CryptoError::KekDestroyed { .. }));
    assert!(matches!(
        k.rotate("acme/kek", KekMaterial::Random(&mut rng)).unwrap_err(),
        CryptoError::KekDestroyed { .. }
    ));
    // The serialized keyring holds no secret for the tenant any more.
    let again = Keyring::from_bytes(&k.to_bytes()).unwrap();
    assert!(matches!(
        envelope::open(&again, "acme", AAD, &env).unwrap_err(),
        CryptoError::KekDestroyed { .. }
    ));
    // Other tenants are untouched.
    assert!(again.current_kek("globex").is_ok());
}

#[test]
fn garbage_never_panics() {
    let (k, _, _) = setup();
    for len in 0..300 {
        let junk: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
        let _ = envelope::open(&k, "acme", AAD, &junk);
        let mut j = b"DCSE\x01\x01".to_vec();
        j.extend_from_slice(&junk);
        let _ = envelope::open(&k, "acme", AAD, &j);
    }
}

#[test]
fn the_four_refusals_are_four_distinct_errors() {
    let (mut k, key, mut rng) = setup();
    let env = envelope::seal(&key, &CTX, AAD, b"payload", &mut rng).unwrap();
    let wrong_tenant = envelope::open(&k, "globex", AAD, &env).unwrap_err();
    let truncated = envelope::open(&k, "acme", AAD, &env[..env.len() - 1]).unwrap_err();
    let mut big = env.clone();
    big[127..129].copy_from_slice(&2000u16.to_be_bytes());
    let oversized = envelope::open(&k, "acme", AAD, &big).unwrap_err();
    k.rotate("acme/kek", KekMaterial::Random(&mut rng)).unwrap();
    k.retire(&KekRef::new("acme/kek", 1)).unwrap();
    let retired = envelope::open(&k, "acme", AAD, &env).unwrap_err();
    let errors = [&wrong_tenant, &retired, &truncated, &oversized];
    assert!(matches!(wrong_tenant, CryptoError::WrongTenant { .. }), "{wrong_tenant}");
    assert!(matches!(retired, CryptoError::RetiredKek { version: 1, .. }), "{retired}");
    assert!(matches!(truncated, CryptoError::TruncatedEnvelope { .. }), "{truncated}");
    assert!(
        matches!(oversized, CryptoError::OversizedLength { field: "wrapped key", len: 2000, .. }),
        "{oversized}"
    );
    for (i, a) in errors.iter().enumerate() {
        for b in &errors[i + 1..] {
            assert_ne!(std::mem::discriminant(*a), std::mem::discriminant(*b));
            assert_ne!(a.to_string(), b.to_string());
        }
    }
}

/// An envelope sealed by the release that wrote suite 1 (HKDF-SHA512 commitment), with the
/// keys of `setup()`.
fn suite1_envelope() -> Vec<u8> {
    let hex = include_str!("vectors/envelope_suite1.hex").trim();
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn suite_1_envelopes_still_open() {
    let (k, _, _) = setup();
    let env = suite1_envelope();
    assert_eq!(env[5], envelope::SUITE_AES256GCM_HKDF_COMMIT);
    assert_eq!(&envelope::open(&k, "acme", AAD, &env).unwrap()[..], b"sealed under suite 1");
    // Rewrapping keeps the suite and the payload bytes.
    let mut rng = rng(9);
    let re = envelope::rewrap(&k, "acme", &env, &mut rng).unwrap();
    assert_eq!(re[5], envelope::SUITE_AES256GCM_HKDF_COMMIT);
    assert_eq!(&envelope::open(&k, "acme", AAD, &re).unwrap()[..], b"sealed under suite 1");
}

#[test]
fn relabelling_the_suite_fails_the_commitment() {
    let (k, key, mut rng) = setup();
    let new = envelope::seal(&key, &CTX, AAD, b"payload", &mut rng).unwrap();
    for (mut env, to) in [
        (new, envelope::SUITE_AES256GCM_HKDF_COMMIT),
        (suite1_envelope(), envelope::SUITE_AES256GCM_HKDF256_COMMIT),
    ] {
        env[5] = to;
        assert_eq!(
            envelope::open(&k, "acme", AAD, &env).unwrap_err(),
            CryptoError::CommitmentMismatch
        );
        env[5] = 3;
        assert_eq!(
            envelope::open(&k, "acme", AAD, &env).unwrap_err(),
            CryptoError::UnknownAlgorithm(3)
        );
    }
}
