//! Keyring, data-key cache, MAC keys and signers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::rng;
use dcs_core::event::SignatureAlgorithm;
use dcs_crypto::*;

#[test]
fn derived_keks_are_reproducible_and_distinct() {
    let root = [5u8; 32];
    let mut a = Keyring::new();
    let mut b = Keyring::new();
    a.create_kek("acme", "acme/kek", KekMaterial::Derived(&root)).unwrap();
    b.create_kek("acme", "acme/kek", KekMaterial::Derived(&root)).unwrap();
    let mut r = rng(1);
    let key = a.generate_data_key("acme", &mut r).unwrap();
    // b re-derived the same KEK, so it unwraps what a wrapped.
    let k = b.unwrap("acme", &key.wrapped.kek, &key.id, &key.wrapped.bytes).unwrap();
    assert_eq!(k.expose_secret(), key.key.expose_secret());
    // Version 2 is a different key.
    a.rotate("acme/kek", KekMaterial::Derived(&root)).unwrap();
    let v2 = KekRef::new("acme/kek", 2);
    assert!(matches!(
        a.unwrap("acme", &v2, &key.id, &key.wrapped.bytes),
        Err(CryptoError::UnwrapFailed { .. })
    ));
    assert!(matches!(
        Keyring::new().create_kek("t", "t/k", KekMaterial::Derived(&[1; 8])),
        Err(CryptoError::InvalidKey { .. })
    ));
    assert!(matches!(
        a.create_kek("globex", "acme/kek", KekMaterial::Derived(&root)),
        Err(CryptoError::WrongTenant { .. })
    ));
}

#[test]
fn keyring_bytes_round_trip_and_reject_garbage() {
    let mut r = rng(2);
    let mut k = Keyring::new();
    k.create_kek("acme", "acme/kek", KekMaterial::Random(&mut r)).unwrap();
    k.rotate("acme/kek", KekMaterial::Random(&mut r)).unwrap();
    k.retire(&KekRef::new("acme/kek", 1)).unwrap();
    let key = k.generate_data_key("acme", &mut r).unwrap();
    let back = Keyring::from_bytes(&k.to_bytes()).unwrap();
    assert_eq!(back.current_kek("acme").unwrap(), KekRef::new("acme/kek", 2));
    assert_eq!(back.state(&KekRef::new("acme/kek", 1)).unwrap(), KekState::Retired);
    back.unwrap("acme", &key.wrapped.kek, &key.id, &key.wrapped.bytes).unwrap();
    assert!(matches!(Keyring::from_bytes(b"nonsense"), Err(CryptoError::KeyringFormat(_))));
    let mut bytes = k.to_bytes().to_vec();
    bytes[0] ^= 1;
    assert!(matches!(Keyring::from_bytes(&bytes), Err(CryptoError::KeyringFormat(_))));
}

#[test]
fn cache_reuses_one_wrapped_key_within_its_bounds() {
    let mut r = rng(3);
    let mut k = Keyring::new();
    let v1 = k.create_kek("acme", "acme/kek", KekMaterial::Random(&mut r)).unwrap();
    let mut cache =
        DataKeyCache::new(CachePolicy { max_entries: 2, max_uses: 3, max_age_ms: 1_000 });
    let a = cache.sealing_key(&k, "acme", &v1, 0, &mut r).unwrap().id;
    assert_eq!(cache.sealing_key(&k, "acme", &v1, 10, &mut r).unwrap().id, a, "reused");
    assert_eq!(cache.sealing_key(&k, "acme", &v1, 20, &mut r).unwrap().id, a, "third use");
    let b = cache.sealing_key(&k, "acme", &v1, 30, &mut r).unwrap().id;
    assert_ne!(b, a, "max_uses reached: a new data key");
    let c = cache.sealing_key(&k, "acme", &v1, 2_000, &mut r).unwrap().id;
    assert_ne!(c, b, "max_age passed: a new data key");
    assert_eq!(cache.len(), 1);
    // Count bound: a second tenant and a new KEK version make three keys; only two stay.
    k.create_kek("globex", "globex/kek", KekMaterial::Random(&mut r)).unwrap();
    let v2 = k.rotate("acme/kek", KekMaterial::Random(&mut r)).unwrap();
    cache.sealing_key(&k, "globex", &KekRef::new("globex/kek", 1), 2_001, &mut r).unwrap();
    let d = cache.sealing_key(&k, "acme", &v2, 2_002, &mut r).unwrap();
    assert_eq!(d.wrapped.kek, v2, "a rotation starts a new data key");
    assert_eq!(cache.len(), 2);
    // A clock that went backwards does not extend a key's life.
    cache.evict_expired(0);
    assert!(cache.is_empty());
    // Retired (and so no longer current) and shredded KEKs refuse to wrap new data keys.
    k.retire(&v1).unwrap();
    assert!(matches!(
        cache.sealing_key(&k, "acme", &v1, 3_000, &mut r),
        Err(CryptoError::KekNotCurrent { version: 1, .. })
    ));
    k.destroy_tenant("acme");
    assert!(matches!(
        cache.sealing_key(&k, "acme", &v2, 3_000, &mut r),
        Err(CryptoError::KekDestroyed { .. })
    ));
}

#[test]
fn mac_keys_check_length_and_verify_in_constant_time_api() {
    assert!(MacKey::from_bytes(&[1; 31]).is_err());
    assert!(MacKey::from_bytes(&[1; 129]).is_err());
    let k = MacKey::from_bytes(&[1; 64]).unwrap();
    let tag = k.compute(b"m");
    k.verify(b"m", &tag).unwrap();
    assert_eq!(k.verify(b"n", &tag), Err(CryptoError::BadMac));
    assert_eq!(k.verify(b"m", &tag[..32]), Err(CryptoError::BadMac), "truncated tags are refused");
    assert_ne!(
        MacKey::derive(&[1; 32], "a").unwrap().compute(b"m"),
        MacKey::derive(&[1; 32], "b").unwrap().compute(b"m")
    );
}

#[test]
fn signers_round_trip_through_bytes() {
    let mut r = rng(4);
    for alg in [SignatureAlgorithm::EcdsaP256Sha256, SignatureAlgorithm::Ed25519] {
        let s = Signer::generate(alg, &mut r);
        let v = Verifier::from_bytes(alg, &s.verifier().to_bytes()).unwrap();
        let sig = s.sign(b"canonical");
        assert_eq!(sig.bytes.len(), 64);
        v.verify(b"canonical", &sig).unwrap();
        assert_eq!(v.verify(b"canonical!", &sig), Err(CryptoError::BadSignature));
        assert!(Verifier::from_bytes(alg, &[0; 5]).is_err());
        // The key registry's names read back to the same key.
        let named = Verifier::from_registry(v.registry_algorithm(), &v.to_bytes()).unwrap();
        assert_eq!((named.algorithm(), named.to_bytes()), (alg, v.to_bytes()));
    }
    assert!(matches!(
        Verifier::from_registry("rsa", &[1; 32]),
        Err(CryptoError::InvalidKey { what: "registry key", .. })
    ));
    let mut registry = KeyRegistry::new();
    let till = dcs_core::AgentId::new("till-1").unwrap();
    registry.register(&till, Signer::generate(SignatureAlgorithm::Ed25519, &mut r).verifier());
    let ids: Vec<&str> = registry.iter().map(|(agent, _)| agent).collect();
    assert_eq!(ids, ["till-1"]);
    // A small-order Ed25519 key (the identity point) is refused.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(matches!(
        Verifier::from_bytes(SignatureAlgorithm::Ed25519, &identity),
        Err(CryptoError::InvalidKey { reason: "small-order (weak) key", .. })
    ));
    assert!(Signer::from_bytes(SignatureAlgorithm::EcdsaP256Sha256, &[0; 32]).is_err());
    Signer::from_bytes(SignatureAlgorithm::Ed25519, &[9; 32]).unwrap();
}
