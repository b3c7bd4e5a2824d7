//! VaultTransitProvider against a real OpenBao dev server (start it with
//! `source scripts/crypto-services.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use dcs_crypto::{CryptoError, KekRef, KeyProvider, WrappedKey};
use dcs_keys::{KekAdmin, KeysError, VaultTransitProvider};

fn vault() -> VaultTransitProvider {
    common::need_env(&["DCS_VAULT_ADDR", "DCS_VAULT_TOKEN"]);
    VaultTransitProvider::from_env().unwrap()
}

#[test]
fn suite_round_trip() {
    common::round_trip(&vault(), 21);
}

#[test]
fn suite_rotation_and_rewrap() {
    common::rotation_and_rewrap(&vault(), 22);
}

#[test]
fn suite_wrong_tenant() {
    common::wrong_tenant_refused(&vault(), 23);
}

#[test]
fn suite_crypto_shredding() {
    common::crypto_shredding(&vault(), 24);
}

#[test]
fn datakey_and_rewrap_stay_in_vault_and_name_versions() {
    let v = vault();
    let t = common::unique("vt");
    let mut rng = common::fixtures::rng(25);
    let kek = v.create_kek(&t, &format!("{t}/kek"), &mut rng).unwrap();
    let dk = v.generate_data_key(&t, &mut rng).unwrap();
    assert!(dk.wrapped.bytes.starts_with(b"vault:v1:"), "Transit ciphertext");
    assert_eq!(dk.wrapped.kek, kek);
    let v2 = v.rotate(&kek.id, &mut rng).unwrap();
    assert_eq!(v2.version, 2);
    let moved = v.rewrap(&t, &dk.id, &dk.wrapped, &mut rng).unwrap();
    assert_eq!(moved.kek, v2);
    assert!(moved.bytes.starts_with(b"vault:v2:"));
    let k = v.unwrap(&t, &moved.kek, &dk.id, &moved.bytes).unwrap();
    assert_eq!(k.expose_secret(), dk.key.expose_secret());
    // The envelope's KEK version must match the ciphertext's.
    let lying = WrappedKey { kek: KekRef::new(kek.id.clone(), 2), bytes: dk.wrapped.bytes.clone() };
    assert!(matches!(
        v.unwrap(&t, &lying.kek, &dk.id, &lying.bytes),
        Err(CryptoError::UnwrapFailed { .. })
    ));
    // Vault cannot retire the newest version; older ones retire.
    assert!(matches!(v.retire(&v2), Err(KeysError::Config { .. })));
    v.retire(&kek).unwrap();
    assert!(matches!(
        v.unwrap(&t, &kek, &dk.id, &dk.wrapped.bytes),
        Err(CryptoError::RetiredKek { .. })
    ));
    let shown = format!("{v:?}");
    assert!(shown.contains("redacted") && !shown.contains("token: \"root\""), "{shown}");
}

#[test]
fn unreachable_server_and_bad_token_are_clear_errors() {
    let v = vault();
    let t = common::unique("vx");
    let addr = std::env::var("DCS_VAULT_ADDR").unwrap();
    let bad = VaultTransitProvider::new(&addr, "not-a-token").unwrap();
    let e = bad.current_kek(&t).unwrap_err();
    assert!(matches!(&e, CryptoError::Provider { provider: "vault", .. }), "{e}");
    let down = VaultTransitProvider::new("http://127.0.0.1:9", "root").unwrap();
    let e = down.current_kek(&t).unwrap_err();
    assert!(e.to_string().contains("cannot reach Vault"), "{e}");
    assert!(VaultTransitProvider::new("127.0.0.1:8200", "root").is_err());
    assert!(matches!(v.current_kek(&t), Err(CryptoError::UnknownKek { .. })));
}

#[test]
fn a_cached_current_kek_follows_its_own_rotations_at_once_and_others_within_the_ttl() {
    let ttl = std::time::Duration::from_millis(400);
    let cached = vault().with_current_kek_ttl(ttl);
    let other = vault();
    let t = common::unique("vttl");
    let mut rng = common::fixtures::rng(27);
    let v1 = cached.create_kek(&t, &format!("{t}/kek"), &mut rng).unwrap();
    assert_eq!(cached.current_kek(&t).unwrap(), v1);
    // Its own rotation clears the cache: the next seal uses v2 at once.
    let v2 = cached.rotate(&v1.id, &mut rng).unwrap();
    assert_eq!(cached.current_kek(&t).unwrap(), v2);
    // Another process's rotation is seen within the TTL, not before it ends.
    let started = std::time::Instant::now();
    let v3 = other.rotate(&v1.id, &mut rng).unwrap();
    let seen = cached.current_kek(&t).unwrap();
    if started.elapsed() < ttl {
        assert_eq!(seen, v2, "the cached answer, within the TTL");
    }
    std::thread::sleep(ttl);
    assert_eq!(cached.current_kek(&t).unwrap(), v3, "after the TTL, Vault's answer");
    // No TTL: every call asks Vault.
    assert_eq!(other.current_kek(&t).unwrap(), v3);
}
