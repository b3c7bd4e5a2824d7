//! Issue 16 regressions: a warm key cache never seals under a destroyed, retired, rotated-away
//! or missing KEK (defect 2), KEK ids are validated (13), and keyring bytes are canonical and
//! checked (11).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{World, event, rng};
use dcs_core::event::SignatureAlgorithm;
use dcs_crypto::*;

/// Seals one event of `tenant` through the world's warm cache; the error if the cache refuses.
fn seal_warm(w: &mut World, tenant: &str, seq: u8) -> Result<dcs_core::SovereignFinancialEvent> {
    let kek = w.keyring.current_kek(tenant).unwrap_or_else(|_| KekRef::new("acme/kek", 1));
    let mut e = event(tenant, &kek, seq);
    let key = w.cache.sealing_key_for_event(&w.keyring, &e, 0, &mut w.rng)?.clone();
    seal_event(&mut e, b"sale", &key, &w.mac_key, &w.signer, &mut w.rng)?;
    Ok(e)
}

#[test]
fn a_warm_cache_does_not_seal_after_the_tenant_is_shredded() {
    let mut w = World::new(SignatureAlgorithm::Ed25519);
    let e = seal_warm(&mut w, "acme", 1).unwrap();
    assert_eq!(&open_event(&e, &w.keyring).unwrap()[..], b"sale");
    assert_eq!(w.cache.len(), 1);
    w.keyring.destroy_tenant("acme");
    // Before the fix the cached data key sealed this sale, which could never be opened.
    let kek = KekRef::new("acme/kek", 1);
    let mut e = event("acme", &kek, 2);
    let err = w.cache.sealing_key_for_event(&w.keyring, &e, 0, &mut w.rng).unwrap_err();
    assert!(matches!(err, CryptoError::KekDestroyed { .. }), "{err}");
    assert!(w.cache.is_empty(), "the shredded tenant's data key must leave memory");
    assert!(e.payload().envelope.is_empty());
    // Another tenant is unaffected.
    seal_warm(&mut w, "globex", 3).unwrap();
    let _ = &mut e;
}

#[test]
fn a_warm_cache_does_not_seal_under_a_retired_version() {
    let mut w = World::new(SignatureAlgorithm::Ed25519);
    seal_warm(&mut w, "acme", 1).unwrap();
    w.keyring.retire(&KekRef::new("acme/kek", 1)).unwrap();
    let e = event("acme", &KekRef::new("acme/kek", 1), 2);
    let err = w.cache.sealing_key_for_event(&w.keyring, &e, 0, &mut w.rng).unwrap_err();
    assert!(
        matches!(err, CryptoError::UnknownKek { .. } | CryptoError::RetiredKek { .. }),
        "{err}"
    );
    assert!(w.cache.is_empty());
}

#[test]
fn after_a_rotation_the_old_version_is_refused_and_current_sealing_follows() {
    let mut w = World::new(SignatureAlgorithm::Ed25519);
    seal_warm(&mut w, "acme", 1).unwrap();
    let v2 = w.keyring.rotate("acme/kek", KekMaterial::Random(&mut rng(9))).unwrap();
    let old = event("acme", &KekRef::new("acme/kek", 1), 2);
    let err = w.cache.sealing_key_for_event(&w.keyring, &old, 0, &mut w.rng).unwrap_err();
    assert!(matches!(err, CryptoError::KekNotCurrent { version: 1, .. }), "{err}");
    assert!(err.to_string().contains("acme/kek v2"), "{err}");
    let key = w.cache.current_sealing_key(&w.keyring, "acme", 0, &mut w.rng).unwrap();
    assert_eq!(key.wrapped.kek, v2);
    assert_eq!(w.cache.len(), 1, "the v1 data key was dropped");
}

#[test]
fn an_empty_keyring_seals_nothing_even_with_a_warm_cache() {
    let mut w = World::new(SignatureAlgorithm::Ed25519);
    seal_warm(&mut w, "acme", 1).unwrap();
    let empty = Keyring::new();
    let e = event("acme", &KekRef::new("acme/kek", 1), 2);
    let err = w.cache.sealing_key_for_event(&empty, &e, 0, &mut w.rng).unwrap_err();
    assert!(matches!(err, CryptoError::UnknownKek { .. }), "{err}");
    assert!(w.cache.is_empty());
}

#[test]
fn kek_ids_and_tenants_are_validated() {
    let mut k = Keyring::new();
    let err = k.create_kek("acme", "", KekMaterial::Random(&mut rng(1))).unwrap_err();
    assert!(err.to_string().contains("KEK id"), "{err}");
    assert!(k.create_kek("acme", "a\nb", KekMaterial::Random(&mut rng(1))).is_err());
    assert!(k.create_kek("", "acme/kek", KekMaterial::Random(&mut rng(1))).is_err());
    assert!(KekRef::checked("", 1).is_err());
    assert!(KekRef::checked("acme/kek", 0).is_err());
    assert_eq!(KekRef::checked("acme/kek", 3).unwrap(), KekRef::new("acme/kek", 3));
}

#[test]
fn keyring_bytes_refuse_trailing_bytes_and_every_single_bit_flip() {
    let mut k = Keyring::new();
    k.create_kek("acme", "acme/kek", KekMaterial::Random(&mut rng(1))).unwrap();
    k.create_kek("globex", "globex/kek", KekMaterial::Random(&mut rng(2))).unwrap();
    let bytes = k.to_bytes();
    let back = Keyring::from_bytes(&bytes).unwrap();
    assert_eq!(back.to_bytes(), bytes);
    let mut junk = bytes.to_vec();
    junk.extend_from_slice(b"junk");
    assert!(Keyring::from_bytes(&junk).is_err());
    assert!(Keyring::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    // 353 of 448 flips loaded before the digest; now none does.
    let mut loaded = 0;
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.to_vec();
        flipped[bit / 8] ^= 1 << (bit % 8);
        if Keyring::from_bytes(&flipped).is_ok() {
            loaded += 1;
        }
    }
    assert_eq!(loaded, 0, "a flipped keyring must not load");
}

#[test]
fn a_sealed_keyring_opens_only_unchanged_and_under_its_key() {
    let mut k = Keyring::new();
    k.create_kek("acme", "acme/kek", KekMaterial::Random(&mut rng(1))).unwrap();
    let wrap = DataKey::from_bytes([7; 32]);
    let sealed = k.to_sealed_bytes(&wrap, &mut rng(3)).unwrap();
    let back = Keyring::from_sealed_bytes(&sealed, &wrap).unwrap();
    assert_eq!(back.to_bytes(), k.to_bytes());
    let other = DataKey::from_bytes([8; 32]);
    assert_eq!(Keyring::from_sealed_bytes(&sealed, &other).unwrap_err(), CryptoError::BadTag);
    for i in 0..sealed.len() {
        let mut edited = sealed.clone();
        edited[i] ^= 0x01;
        assert!(Keyring::from_sealed_bytes(&edited, &wrap).is_err(), "byte {i}");
    }
    assert!(Keyring::from_bytes(&sealed).is_err(), "sealed bytes are not plain keyring bytes");
}
