//! Property tests: seal then open is the identity for arbitrary payloads and metadata.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::rng;
use dcs_core::causality::HlcTimestamp;
use dcs_core::event::SignatureAlgorithm;
use dcs_core::*;
use dcs_crypto::*;
use proptest::prelude::*;

fn payload(max: usize) -> impl Strategy<Value = Vec<u8>> {
    payload_len(0..=max)
}

fn payload_len(len: impl Strategy<Value = usize>) -> impl Strategy<Value = Vec<u8>> {
    (len, any::<u8>()).prop_map(|(len, seed)| {
        (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// 0 bytes to 1 MiB: mostly small payloads, a few large ones and both ends exactly (each
    /// case encrypts and decrypts the whole payload).
    #[test]
    fn envelope_round_trips_up_to_one_mib(data in prop_oneof![
            8 => payload(1024),
            2 => payload_len(Just(0)),
            1 => payload_len(Just(1 << 20)),
            2 => payload(1 << 20),
        ], aad in proptest::collection::vec(any::<u8>(), 0..256), seed in any::<u8>(), ctx in any::<[u8; 16]>()) {
        let mut rng = rng(seed);
        let mut k = Keyring::new();
        k.create_kek("t", "t/kek", KekMaterial::Random(&mut rng)).unwrap();
        let key = k.generate_data_key("t", &mut rng).unwrap();
        let env = envelope::seal(&key, &ctx, &aad, &data, &mut rng).unwrap();
        prop_assert_eq!(&envelope::open(&k, "t", &aad, &env).unwrap()[..], &data[..]);
    }
}

fn id_text() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,30}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Arbitrary metadata and payloads (small) through the event functions.
    #[test]
    fn events_round_trip_with_arbitrary_metadata(
        data in payload(4096),
        tenant in id_text(), branch in id_text(), cashier in id_text(),
        minor in any::<i64>(), time in 1..u64::MAX, node in any::<[u8; 16]>().prop_filter("non-zero", |n| *n != [0; 16]),
        ms in 0..(1u64 << 47), rand in any::<[u8; 10]>(), ed in any::<bool>(), kek_version in 1..5u32,
    ) {
        let mut rng = rng(9);
        let mut k = Keyring::new();
        let kek_id = format!("{tenant}/kek");
        k.create_kek(&tenant, &kek_id, KekMaterial::Derived(&[7; 32])).unwrap();
        for _ in 1..kek_version {
            k.rotate(&kek_id, KekMaterial::Random(&mut rng)).unwrap();
        }
        let kek = k.current_kek(&tenant).unwrap();
        prop_assert_eq!(kek.version, kek_version);
        let agent = AgentId::new("pos-1").unwrap();
        let mut e = EventBuilder::new()
            .event_id(EventId::new_v7(ms, rand))
            .idempotency_key(IdempotencyKey::new("k").unwrap())
            .tenant_id(TenantId::new(&tenant).unwrap())
            .branch_id(BranchId::new(&branch).unwrap())
            .agent_id(agent.clone())
            .event_type(EventType::SaleCompleted)
            .amount(Money::from_minor(minor, Currency::JPY))
            .kek(kek.id.clone(), kek.version)
            .causality(CausalContext { hlc: HlcTimestamp { time, node }, vector_clock: [(agent, 1)].into_iter().collect() })
            .created_by(AgentId::new(&cashier).unwrap())
            .build()
            .unwrap();
        let alg = if ed { SignatureAlgorithm::Ed25519 } else { SignatureAlgorithm::EcdsaP256Sha256 };
        let signer = Signer::generate(alg, &mut rng);
        let mut reg = KeyRegistry::new();
        reg.register(&AgentId::new(&cashier).unwrap(), signer.verifier());
        let mac = MacKey::derive(&[3; 32], &tenant).unwrap();
        let mut cache = DataKeyCache::default();
        let key = cache.sealing_key_for_event(&k, &e, 0, &mut rng).unwrap().clone();
        seal_event(&mut e, &data, &key, &mac, &signer, &mut rng).unwrap();
        prop_assert_eq!(&verify_and_open_event(&e, &mac, &reg, &k).unwrap()[..], &data[..]);
        // And after a serde round trip of the event.
        let bytes = postcard::to_allocvec(&e).unwrap();
        let back: SovereignFinancialEvent = postcard::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&verify_and_open_event(&back, &mac, &reg, &k).unwrap()[..], &data[..]);
    }

    /// Parsing arbitrary bytes never panics.
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Envelope::parse(&bytes);
        let mut framed = b"DCSE\x01\x01".to_vec();
        framed.extend_from_slice(&bytes);
        let _ = Envelope::parse(&framed);
    }
}
