//! Sealing, opening and verifying events, and tampering with every visible field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{World, builder_from, event};
use dcs_core::causality::HlcTimestamp;
use dcs_core::event::{EventSignature, SignatureAlgorithm};
use dcs_core::*;
use dcs_crypto::*;

const ALGS: [SignatureAlgorithm; 2] =
    [SignatureAlgorithm::EcdsaP256Sha256, SignatureAlgorithm::Ed25519];

#[test]
fn seal_verify_open_with_both_algorithms() {
    for alg in ALGS {
        let mut w = World::new(alg);
        let e = w.sealed("acme", 1, b"basket: 3 items");
        assert_eq!(e.audit().signature.as_ref().unwrap().algorithm, alg);
        assert_eq!(e.audit().mac.len(), 64);
        verify_event(&e, &w.mac_key, &w.registry).unwrap();
        assert_eq!(&open_event(&e, &w.keyring).unwrap()[..], b"basket: 3 items");
        assert_eq!(
            &verify_and_open_event(&e, &w.mac_key, &w.registry, &w.keyring).unwrap()[..],
            b"basket: 3 items"
        );
    }
}

type Edit = (&'static str, fn(EventBuilder) -> EventBuilder);

/// Every visible field, changed through the builder.
fn edits() -> Vec<Edit> {
    vec![
        ("event_id", |b| b.event_id(EventId::new_v7(1, [1; 10]))),
        ("correlation_id", |b| {
            b.correlation_id(CorrelationId::parse("0194f3a0-0000-7000-8000-000000000009").unwrap())
        }),
        ("idempotency_key", |b| b.idempotency_key(IdempotencyKey::new("other").unwrap())),
        ("tenant_id", |b| b.tenant_id(TenantId::new("globex").unwrap())),
        ("branch_id", |b| b.branch_id(BranchId::new("store-043").unwrap())),
        ("agent_id", |b| {
            let a = AgentId::new("pos-02").unwrap();
            b.agent_id(a.clone()).causality(CausalContext {
                hlc: HlcTimestamp { time: 0x6955_B900_0000_0011, node: [9; 16] },
                vector_clock: [(a, 7)].into_iter().collect(),
            })
        }),
        ("event_type", |b| b.event_type(EventType::SaleReversed)),
        ("amount", |b| b.amount(Money::from_minor(10_826, Currency::USD))),
        ("currency", |b| b.amount(Money::from_minor(10_825, Currency::EUR))),
        ("kek_id", |b| b.kek("globex/kek", 1)),
        ("kek_version", |b| b.kek("acme/kek", 2)),
        ("hlc_time", |b| {
            b.causality(CausalContext {
                hlc: HlcTimestamp { time: 0x6955_B900_0000_0012, node: [9; 16] },
                vector_clock: [(AgentId::new("pos-01").unwrap(), 7)].into_iter().collect(),
            })
        }),
        ("hlc_node", |b| {
            b.causality(CausalContext {
                hlc: HlcTimestamp { time: 0x6955_B900_0000_0011, node: [8; 16] },
                vector_clock: [(AgentId::new("pos-01").unwrap(), 7)].into_iter().collect(),
            })
        }),
        ("vector_clock", |b| {
            b.causality(CausalContext {
                hlc: HlcTimestamp { time: 0x6955_B900_0000_0011, node: [9; 16] },
                vector_clock: [(AgentId::new("pos-01").unwrap(), 8)].into_iter().collect(),
            })
        }),
        ("created_by", |b| b.created_by(AgentId::new("cashier-18").unwrap())),
        ("approved_by", |b| b.approved_by(AgentId::new("supervisor-3").unwrap())),
    ]
}

#[test]
fn changing_any_metadata_field_fails_verification_and_aad_fields_fail_opening() {
    for alg in ALGS {
        let mut w = World::new(alg);
        let e = w.sealed("acme", 1, b"payload");
        w.keyring.rotate("acme/kek", KekMaterial::Random(&mut w.rng)).unwrap();
        w.registry.register(&AgentId::new("cashier-18").unwrap(), w.signer.verifier());
        let aad_fields = [
            "event_id",
            "tenant_id",
            "branch_id",
            "event_type",
            "amount",
            "currency",
            "kek_id",
            "kek_version",
            "hlc_time",
            "hlc_node",
        ];
        for (field, edit) in edits() {
            let t = edit(builder_from(&e)).build().unwrap();
            assert_ne!(t, e, "{field}: the edit changed nothing");
            let v = verify_event(&t, &w.mac_key, &w.registry);
            assert_eq!(v, Err(CryptoError::BadMac), "{field}: verify");
            let o = open_event(&t, &w.keyring);
            if aad_fields.contains(&field) {
                assert!(o.is_err(), "{field}: open must fail, got plaintext");
            }
            if let Ok(p) = o {
                assert_eq!(&p[..], b"payload", "{field}: opened to something else");
            }
        }
    }
}

#[test]
fn the_signature_alone_catches_tampering_when_the_mac_is_recomputed() {
    // An insider with the tenant's MAC key still cannot forge the cashier's signature.
    let mut w = World::new(SignatureAlgorithm::Ed25519);
    let e = w.sealed("acme", 1, b"payload");
    let mut t = builder_from(&e).amount(Money::from_minor(1, Currency::USD)).build().unwrap();
    t.set_mac(w.mac_key.compute(&t.canonical_bytes()).to_vec());
    assert_eq!(verify_event(&t, &w.mac_key, &w.registry), Err(CryptoError::BadSignature));
}

#[test]
fn flipping_any_envelope_bit_fails_open_and_verify() {
    let mut w = World::new(SignatureAlgorithm::EcdsaP256Sha256);
    let e = w.sealed("acme", 1, b"payload");
    let env = e.payload().envelope.clone();
    for byte in 0..env.len() {
        for bit in 0..8 {
            let mut t = env.clone();
            t[byte] ^= 1 << bit;
            let t = builder_from(&e).envelope(t).build().unwrap();
            assert!(open_event(&t, &w.keyring).is_err(), "byte {byte} bit {bit} opened");
            assert_eq!(verify_event(&t, &w.mac_key, &w.registry), Err(CryptoError::BadMac));
        }
    }
}

#[test]
fn moving_an_envelope_to_another_event_fails() {
    let mut w = World::new(SignatureAlgorithm::Ed25519);
    let a = w.sealed("acme", 1, b"payload A");
    let b = w.sealed("acme", 2, b"payload B");
    let moved = builder_from(&b).envelope(a.payload().envelope.clone()).build().unwrap();
    assert_eq!(open_event(&moved, &w.keyring).unwrap_err(), CryptoError::BadTag);
    // Even with a freshly computed MAC and signature, the AEAD refuses.
    let mut resigned = moved.clone();
    sign_event(&mut resigned, &w.mac_key, &w.signer);
    verify_event(&resigned, &w.mac_key, &w.registry).unwrap();
    assert_eq!(open_event(&resigned, &w.keyring).unwrap_err(), CryptoError::BadTag);
}

#[test]
fn wrong_tenant_and_wrong_kek_are_named() {
    let mut w = World::new(SignatureAlgorithm::Ed25519);
    let kek = w.keyring.current_kek("acme").unwrap();
    let mut e = event("acme", &kek, 1);
    let globex_key = w.keyring.generate_data_key("globex", &mut w.rng).unwrap();
    let err = seal_event(&mut e, b"x", &globex_key, &w.mac_key, &w.signer, &mut w.rng).unwrap_err();
    assert!(matches!(err, CryptoError::KekMismatch { .. }), "{err}");
    // An event of globex that names acme's KEK.
    let mut g = event("globex", &kek, 2);
    // The cache checks the KEK against globex's current one before anything else.
    let err = w.cache.sealing_key_for_event(&w.keyring, &g, 0, &mut w.rng).unwrap_err();
    assert!(matches!(err, CryptoError::KekNotCurrent { .. }), "{err}");
    assert!(err.to_string().contains("globex") && err.to_string().contains(&kek.id), "{err}");
    // The provider itself refuses to wrap under another tenant's KEK.
    let id = [0u8; 16];
    let dk = DataKey::from_bytes([1; 32]);
    let err = w.keyring.wrap("globex", &kek, &id, &dk, &mut w.rng).unwrap_err();
    assert!(matches!(err, CryptoError::WrongTenant { .. }), "{err}");
    let acme_key = w.keyring.generate_data_key("acme", &mut w.rng).unwrap();
    seal_event(&mut g, b"x", &acme_key, &w.mac_key, &w.signer, &mut w.rng).unwrap();
    assert!(matches!(open_event(&g, &w.keyring).unwrap_err(), CryptoError::WrongTenant { .. }));
}

#[test]
fn unsealed_and_unknown_signer_events_are_refused() {
    let mut w = World::new(SignatureAlgorithm::Ed25519);
    let kek = w.keyring.current_kek("acme").unwrap();
    let e = event("acme", &kek, 1);
    assert_eq!(verify_event(&e, &w.mac_key, &w.registry), Err(CryptoError::MissingMac));
    assert!(matches!(open_event(&e, &w.keyring), Err(CryptoError::TruncatedEnvelope { .. })));
    let mut e = w.sealed("acme", 2, b"p");
    e.audit().signature.as_ref().unwrap();
    let mut empty = KeyRegistry::new();
    assert!(matches!(verify_event(&e, &w.mac_key, &empty), Err(CryptoError::UnknownSigner { .. })));
    empty.register(
        &AgentId::new("cashier-17").unwrap(),
        Signer::generate(SignatureAlgorithm::EcdsaP256Sha256, &mut w.rng).verifier(),
    );
    assert!(matches!(
        verify_event(&e, &w.mac_key, &empty),
        Err(CryptoError::AlgorithmMismatch { .. })
    ));
    e.set_signature(EventSignature { algorithm: SignatureAlgorithm::Ed25519, bytes: vec![0; 10] });
    assert!(matches!(
        verify_event(&e, &w.mac_key, &w.registry),
        Err(CryptoError::MalformedSignature { .. })
    ));
    let other_mac = MacKey::random(&mut w.rng);
    assert_eq!(
        verify_event(&w.sealed("acme", 3, b"p"), &other_mac, &w.registry),
        Err(CryptoError::BadMac)
    );
}

#[test]
fn shredding_keeps_metadata_verifiable() {
    for alg in ALGS {
        let mut w = World::new(alg);
        let e = w.sealed("acme", 1, b"customer data");
        let g = w.sealed("globex", 2, b"other tenant");
        w.keyring.destroy_tenant("acme");
        w.cache.evict_tenant("acme");
        verify_event(&e, &w.mac_key, &w.registry).unwrap();
        assert!(matches!(
            open_event(&e, &w.keyring).unwrap_err(),
            CryptoError::KekDestroyed { .. }
        ));
        assert_eq!(&open_event(&g, &w.keyring).unwrap()[..], b"other tenant");
    }
}

#[test]
fn rotation_at_event_level() {
    let mut w = World::new(SignatureAlgorithm::Ed25519);
    let old = w.sealed("acme", 1, b"old");
    w.keyring.rotate("acme/kek", KekMaterial::Random(&mut w.rng)).unwrap();
    let new = w.sealed("acme", 2, b"new");
    assert_eq!(old.payload().kek_version, 1);
    assert_eq!(new.payload().kek_version, 2);
    assert_eq!(&open_event(&old, &w.keyring).unwrap()[..], b"old");
    // Rewrap the stored envelope: payload bytes unchanged, opens under v2 after v1 retires.
    let env = envelope::rewrap(&w.keyring, "acme", &old.payload().envelope, &mut w.rng).unwrap();
    let moved = builder_from(&old).envelope(env).build().unwrap();
    w.keyring.retire(&KekRef::new("acme/kek", 1)).unwrap();
    assert!(matches!(open_event(&old, &w.keyring).unwrap_err(), CryptoError::RetiredKek { .. }));
    assert_eq!(&open_event(&moved, &w.keyring).unwrap()[..], b"old");
}

#[test]
fn batch_verification_finds_the_bad_ones() {
    let mut w = World::new(SignatureAlgorithm::Ed25519);
    let p256 = Signer::generate(SignatureAlgorithm::EcdsaP256Sha256, &mut w.rng);
    w.registry.register(&AgentId::new("cashier-99").unwrap(), p256.verifier());
    let mut events: Vec<_> = (0..20).map(|i| w.sealed("acme", i, b"p")).collect();
    let mut ecdsa =
        builder_from(&events[0]).created_by(AgentId::new("cashier-99").unwrap()).build().unwrap();
    sign_event(&mut ecdsa, &w.mac_key, &p256);
    events.push(ecdsa);
    assert!(verify_event_signatures(&events, &w.registry).iter().all(|r| r.is_ok()));
    events[3] =
        builder_from(&events[3]).amount(Money::from_minor(1, Currency::USD)).build().unwrap();
    events[20] =
        builder_from(&events[20]).amount(Money::from_minor(1, Currency::USD)).build().unwrap();
    let r = verify_event_signatures(&events, &w.registry);
    for (i, r) in r.iter().enumerate() {
        assert_eq!(r.is_ok(), i != 3 && i != 20, "event {i}: {r:?}");
    }
}

#[test]
fn secrets_never_print() {
    let mut w = World::new(SignatureAlgorithm::Ed25519);
    let key = w.keyring.generate_data_key("acme", &mut w.rng).unwrap();
    let secret_hex: String = key.key.expose_secret().iter().map(|b| format!("{b:02x}")).collect();
    let all = format!("{:?} {:?} {:?} {:?} {:?}", key, w.keyring, w.mac_key, w.signer, w.cache);
    assert!(all.contains("redacted"));
    assert!(!all.contains(&secret_hex));
    assert!(!all.contains(&format!("{:?}", key.key.expose_secret())));
}

/// Every bit of the whole stored event (postcard bytes: every metadata field, the envelope, the
/// MAC and the signature), flipped one at a time: the result either does not decode, or fails
/// verification, and opening it never yields anything but the original plaintext.
#[test]
fn flipping_any_bit_of_a_stored_event_fails_verification() {
    for alg in ALGS {
        let mut w = World::new(alg);
        let e = w.sealed("acme", 1, b"payload");
        let bytes = postcard::to_allocvec(&e).unwrap();
        let (mut undecodable, mut refused, mut aead_refused) = (0, 0, 0);
        for byte in 0..bytes.len() {
            for bit in 0..8 {
                let mut t = bytes.clone();
                t[byte] ^= 1 << bit;
                let Ok(t) = postcard::from_bytes::<SovereignFinancialEvent>(&t) else {
                    undecodable += 1;
                    continue;
                };
                assert_ne!(t, e, "byte {byte} bit {bit}: decoded to the same event");
                let v = verify_event(&t, &w.mac_key, &w.registry);
                assert!(v.is_err(), "byte {byte} bit {bit}: verified ({alg:?})");
                refused += 1;
                match open_event(&t, &w.keyring) {
                    Ok(p) => {
                        assert_eq!(&p[..], b"payload", "byte {byte} bit {bit}: wrong plaintext")
                    }
                    Err(_) => aead_refused += 1,
                }
            }
        }
        assert_eq!(undecodable + refused, bytes.len() * 8);
        assert!(refused > bytes.len() * 4, "most flips decode and must be refused by verification");
        assert!(aead_refused > 0);
    }
}
