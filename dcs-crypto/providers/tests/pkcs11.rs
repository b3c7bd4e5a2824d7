//! Pkcs11Provider against a real SoftHSM2 token (start it with `source scripts/crypto-services.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::OnceLock;

use dcs_crypto::{CryptoError, KeyProvider};
use dcs_keys::{KekAdmin, Pkcs11Provider};

fn token() -> &'static Pkcs11Provider {
    static P: OnceLock<Pkcs11Provider> = OnceLock::new();
    P.get_or_init(|| {
        common::need_env(&["SOFTHSM2_CONF", "DCS_PKCS11_MODULE", "DCS_PKCS11_PIN"]);
        Pkcs11Provider::from_env().unwrap_or_else(|e| panic!("cannot open the SoftHSM2 token: {e}"))
    })
}

#[test]
fn suite_round_trip() {
    common::round_trip(token(), 11);
}

#[test]
fn suite_rotation_and_rewrap() {
    common::rotation_and_rewrap(token(), 12);
}

#[test]
fn suite_wrong_tenant() {
    common::wrong_tenant_refused(token(), 13);
}

#[test]
fn suite_crypto_shredding() {
    common::crypto_shredding(token(), 14);
}

#[test]
fn unknown_token_and_module_are_clear_errors() {
    common::need_env(&["SOFTHSM2_CONF", "DCS_PKCS11_MODULE", "DCS_PKCS11_PIN"]);
    let module = std::env::var("DCS_PKCS11_MODULE").unwrap();
    token(); // the token is set up
    let err = Pkcs11Provider::open(&module, "no-such-token", "1234").unwrap_err();
    assert!(err.to_string().contains("no initialised token labelled `no-such-token`"), "{err}");
    let err = Pkcs11Provider::open("/nonexistent/libpkcs11.so", "dcs", "1").unwrap_err();
    assert!(err.to_string().contains("cannot load module"), "{err}");
}

#[test]
fn keks_stay_on_the_token_and_wrapped_keys_are_gcm() {
    let p = token();
    let t = common::unique("hsm");
    let mut rng = common::fixtures::rng(15);
    let kek = p.create_kek(&t, &format!("{t}/kek"), &mut rng).unwrap();
    let a = p.generate_data_key(&t, &mut rng).unwrap();
    let b = p.generate_data_key(&t, &mut rng).unwrap();
    assert_eq!(a.wrapped.bytes.len(), 1 + 12 + 32 + 16);
    assert_eq!(a.wrapped.bytes[0], 1, "scheme byte: AES-GCM on the token");
    assert_ne!(a.wrapped.bytes, b.wrapped.bytes);
    // A wrapped key moved to another version is refused.
    p.rotate(&kek.id, &mut rng).unwrap();
    let v2 = dcs_crypto::KekRef::new(kek.id.clone(), 2);
    assert!(matches!(
        p.unwrap(&t, &v2, &a.id, &a.wrapped.bytes),
        Err(CryptoError::UnwrapFailed { .. })
    ));
    assert!(format!("{p:?}").contains("dcs"));
}
