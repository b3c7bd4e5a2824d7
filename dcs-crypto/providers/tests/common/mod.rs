//! The provider conformance suite: every provider of dcs-keys must pass these through the
//! dcs-crypto event and envelope API. Fixtures (events, seeded RNG) come from dcs-crypto's
//! own tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../tests/common/mod.rs"]
pub mod fixtures;

use std::time::{SystemTime, UNIX_EPOCH};

use dcs_core::AgentId;
use dcs_core::event::SignatureAlgorithm;
use dcs_crypto::*;
use dcs_keys::KekAdmin;
use rand_chacha::ChaCha20Rng;

/// A tenant name no earlier run used (servers started by hand keep their keys).
pub fn unique(name: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{name}-{:x}-{:x}", std::process::id(), nanos & 0xffff_ffff_ffff)
}

/// Says how to start the services when a test's environment is missing.
pub fn need_env(vars: &[&str]) {
    let missing: Vec<&str> =
        vars.iter().copied().filter(|v| std::env::var_os(v).is_none()).collect();
    assert!(
        missing.is_empty(),
        "{} not set: this test needs a real SoftHSM2 token and OpenBao server. Start them with \
         `source scripts/crypto-services.sh` (from the repository root), then rerun; \
         `crypto_services_stop` stops them",
        missing.join(", ")
    );
}

/// MAC key, signer and registry for sealing and verifying events.
pub struct Ctx {
    pub mac_key: MacKey,
    pub signer: Signer,
    pub registry: KeyRegistry,
    pub rng: ChaCha20Rng,
}

impl Ctx {
    pub fn new(seed: u8) -> Self {
        let mut rng = fixtures::rng(seed);
        let signer = Signer::generate(SignatureAlgorithm::Ed25519, &mut rng);
        let mut registry = KeyRegistry::new();
        registry.register(&AgentId::new("cashier-17").unwrap(), signer.verifier());
        Self { mac_key: MacKey::random(&mut rng), signer, registry, rng }
    }

    /// A sealed event of `tenant` under its current KEK, through a data-key cache.
    pub fn sealed(
        &mut self,
        p: &impl KeyProvider,
        tenant: &str,
        seq: u8,
        plaintext: &[u8],
    ) -> dcs_core::SovereignFinancialEvent {
        let kek = p.current_kek(tenant).unwrap();
        let mut e = fixtures::event(tenant, &kek, seq);
        let mut cache = DataKeyCache::default();
        let key = cache.sealing_key_for_event(p, &e, 1_000, &mut self.rng).unwrap().clone();
        seal_event(&mut e, plaintext, &key, &self.mac_key, &self.signer, &mut self.rng).unwrap();
        e
    }
}

/// Seal, verify and open events; generate_data_key and unwrap agree; tampering is caught.
pub fn round_trip<P: KeyProvider + KekAdmin>(p: &P, seed: u8) {
    let mut c = Ctx::new(seed);
    let t = unique("rt");
    let kek = p.create_kek(&t, &format!("{t}/kek"), &mut c.rng).unwrap();
    assert_eq!(kek.version, 1);
    assert_eq!(p.current_kek(&t).unwrap(), kek);
    for (seq, payload) in [(1u8, &b"basket: 3 items"[..]), (2, &[][..]), (3, &[0xA5; 70_000][..])] {
        let e = c.sealed(p, &t, seq, payload);
        verify_event(&e, &c.mac_key, &c.registry).unwrap();
        assert_eq!(&open_event(&e, p).unwrap()[..], payload);
    }
    let dk = p.generate_data_key(&t, &mut c.rng).unwrap();
    assert_eq!(dk.wrapped.kek, kek);
    let back = p.unwrap(&t, &dk.wrapped.kek, &dk.id, &dk.wrapped.bytes).unwrap();
    assert_eq!(back.expose_secret(), dk.key.expose_secret());
    // The wrapping is bound to the data-key id and authenticated.
    let mut other_id = dk.id;
    other_id[0] ^= 1;
    assert!(matches!(
        p.unwrap(&t, &kek, &other_id, &dk.wrapped.bytes),
        Err(CryptoError::UnwrapFailed { .. })
    ));
    let last = dk.wrapped.bytes.len() - 1;
    let mut bent = dk.wrapped.bytes.clone();
    bent[last] ^= 0x01;
    assert!(matches!(p.unwrap(&t, &kek, &dk.id, &bent), Err(CryptoError::UnwrapFailed { .. })));
    assert!(matches!(p.unwrap(&t, &kek, &dk.id, &[]), Err(CryptoError::UnwrapFailed { .. })));
    // Unknown KEKs and versions get their own errors.
    assert!(matches!(
        p.unwrap(&t, &KekRef::new(format!("{t}/none"), 1), &dk.id, &dk.wrapped.bytes),
        Err(CryptoError::UnknownKek { .. })
    ));
    assert!(matches!(
        p.unwrap(&t, &KekRef::new(kek.id.clone(), 9), &dk.id, &dk.wrapped.bytes),
        Err(CryptoError::UnknownKekVersion { .. })
    ));
    assert!(matches!(
        p.create_kek(&unique("other"), &kek.id, &mut c.rng),
        Err(dcs_keys::KeysError::Crypto(CryptoError::WrongTenant { .. }))
    ));
}

/// New events use the new version; rewrap keeps the payload bytes; retired versions refuse.
pub fn rotation_and_rewrap<P: KeyProvider + KekAdmin>(p: &P, seed: u8) {
    let mut c = Ctx::new(seed);
    let t = unique("rot");
    let v1 = p.create_kek(&t, &format!("{t}/kek"), &mut c.rng).unwrap();
    let old = c.sealed(p, &t, 1, b"old sale");
    let v2 = p.rotate(&v1.id, &mut c.rng).unwrap();
    assert_eq!(v2, KekRef::new(v1.id.clone(), 2));
    assert_eq!(p.current_kek(&t).unwrap(), v2);
    let new = c.sealed(p, &t, 2, b"new sale");
    assert_eq!(new.payload().kek_version, 2);
    assert_eq!(&open_event(&old, p).unwrap()[..], b"old sale", "v1 still opens until retired");

    let moved_env = envelope::rewrap(p, &t, &old.payload().envelope, &mut c.rng).unwrap();
    let before = Envelope::parse(&old.payload().envelope).unwrap();
    let after = Envelope::parse(&moved_env).unwrap();
    assert_eq!(after.kek, v2);
    assert_eq!(after.ciphertext, before.ciphertext, "payload ciphertext untouched");
    assert_eq!(
        (after.nonce, after.commitment, after.data_key_id, after.message_id),
        (before.nonce, before.commitment, before.data_key_id, before.message_id)
    );
    assert_ne!(after.wrapped_key, before.wrapped_key);
    let mut moved = fixtures::builder_from(&old).envelope(moved_env).build().unwrap();
    sign_event(&mut moved, &c.mac_key, &c.signer);
    verify_event(&moved, &c.mac_key, &c.registry).unwrap();

    p.retire(&v1).unwrap();
    assert!(matches!(open_event(&old, p).unwrap_err(), CryptoError::RetiredKek { version: 1, .. }));
    assert!(matches!(
        envelope::rewrap(p, &t, &old.payload().envelope, &mut c.rng).unwrap_err(),
        CryptoError::RetiredKek { .. }
    ));
    assert_eq!(&open_event(&moved, p).unwrap()[..], b"old sale");
    assert_eq!(&open_event(&new, p).unwrap()[..], b"new sale");
    assert_eq!(p.current_kek(&t).unwrap(), v2);
}

/// Another tenant can neither open nor rewrap a tenant's envelopes.
pub fn wrong_tenant_refused<P: KeyProvider + KekAdmin>(p: &P, seed: u8) {
    let mut c = Ctx::new(seed);
    let (a, b) = (unique("ta"), unique("tb"));
    let ka = p.create_kek(&a, &format!("{a}/kek"), &mut c.rng).unwrap();
    p.create_kek(&b, &format!("{b}/kek"), &mut c.rng).unwrap();
    let e = c.sealed(p, &a, 1, b"tenant a only");
    let env = &e.payload().envelope;
    let err = envelope::open(p, &b, &e.aad_bytes(), env).unwrap_err();
    assert!(
        matches!(&err, CryptoError::WrongTenant { owner, requested, .. } if *owner == a && *requested == b),
        "{err:?}"
    );
    assert!(matches!(
        envelope::rewrap(p, &b, env, &mut c.rng).unwrap_err(),
        CryptoError::WrongTenant { .. }
    ));
    let dk = p.generate_data_key(&a, &mut c.rng).unwrap();
    assert!(matches!(
        p.wrap(&b, &ka, &dk.id, &dk.key, &mut c.rng).unwrap_err(),
        CryptoError::WrongTenant { .. }
    ));
    assert_eq!(&open_event(&e, p).unwrap()[..], b"tenant a only");
}

/// Destroying a tenant's KEKs makes its payloads unrecoverable; MACs and signatures verify.
pub fn crypto_shredding<P: KeyProvider + KekAdmin>(p: &P, seed: u8) {
    let mut c = Ctx::new(seed);
    let (a, b) = (unique("sa"), unique("sb"));
    let ka = p.create_kek(&a, &format!("{a}/kek"), &mut c.rng).unwrap();
    p.create_kek(&b, &format!("{b}/kek"), &mut c.rng).unwrap();
    let old = c.sealed(p, &a, 1, b"customer data v1");
    p.rotate(&ka.id, &mut c.rng).unwrap();
    let e = c.sealed(p, &a, 2, b"customer data v2");
    let g = c.sealed(p, &b, 3, b"other tenant");
    assert_eq!(p.destroy_tenant(&a).unwrap(), 2);
    for ev in [&old, &e] {
        verify_event(ev, &c.mac_key, &c.registry).unwrap();
        assert!(matches!(open_event(ev, p).unwrap_err(), CryptoError::KekDestroyed { .. }));
    }
    assert!(matches!(p.current_kek(&a).unwrap_err(), CryptoError::KekDestroyed { .. }));
    assert!(matches!(
        p.rotate(&ka.id, &mut c.rng),
        Err(dcs_keys::KeysError::Crypto(CryptoError::KekDestroyed { .. }))
    ));
    assert!(matches!(
        p.generate_data_key(&a, &mut c.rng).unwrap_err(),
        CryptoError::KekDestroyed { .. }
    ));
    assert_eq!(&open_event(&g, p).unwrap()[..], b"other tenant");
}
