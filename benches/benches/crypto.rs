//! dcs-crypto per event, each beside the bare signature operation in the same run: sealing (DEK
//! derivation + commitment + AES-256-GCM + envelope + MAC + signature, data key from the cache)
//! and opening (MAC + signature check, unwrap, commitment check, decryption) of an event with
//! a 256-byte payload, for ECDSA P-256 and Ed25519; and Ed25519 batch verification of 64
//! events against verifying them one by one.
//!
//! Run: `cargo bench -p dcs-benches --bench crypto`. After criterion, it prints *paired*
//! ratios: each operation and its bare signature run in alternating blocks, so the shared
//! machine's load drifts affect both sides alike (the ratios in RESULTS.md come from these).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use dcs_core::causality::HlcTimestamp;
use dcs_core::event::{EventSignature, SignatureAlgorithm};
use dcs_core::*;
use dcs_crypto::{
    DataKeyCache, KekMaterial, KeyProvider, KeyRegistry, Keyring, MacKey, SignedMessage, Signer,
    Verifier, seal_event, verify_and_open_event,
};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

/// Payload size of the per-event benches.
const PAYLOAD_LEN: usize = 256;
/// Events per Ed25519 batch (a regional ingestion batch).
const BATCH: usize = 64;

/// An unsealed sale of `cashier` naming the keyring's current KEK.
fn event(keyring: &Keyring, seq: u64, cashier: &AgentId) -> SovereignFinancialEvent {
    let kek = keyring.current_kek("acme").unwrap();
    let agent = AgentId::new("pos-01").unwrap();
    EventBuilder::new()
        .event_id(EventId::new_v7(1_767_225_600_000 + seq, [seq as u8; 10]))
        .idempotency_key(IdempotencyKey::new(format!("sale-{seq}/complete")).unwrap())
        .tenant_id(TenantId::new("acme").unwrap())
        .branch_id(BranchId::new("store-042").unwrap())
        .agent_id(agent.clone())
        .event_type(EventType::SaleCompleted)
        .amount(Money::from_minor(10_825, Currency::USD))
        .kek(kek.id, kek.version)
        .causality(CausalContext {
            hlc: HlcTimestamp { time: 0x6955_B900_0000_0010 + seq, node: [9; 16] },
            vector_clock: [(agent, 7)].into_iter().collect(),
        })
        .created_by(cashier.clone())
        .build()
        .unwrap()
}

struct Tenant {
    keyring: Keyring,
    cache: DataKeyCache,
    mac_key: MacKey,
    registry: KeyRegistry,
    rng: ChaCha20Rng,
}

impl Tenant {
    fn new() -> Self {
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        let mut keyring = Keyring::new();
        keyring.create_kek("acme", "acme/kek", KekMaterial::Random(&mut rng)).unwrap();
        Self {
            keyring,
            cache: DataKeyCache::default(),
            mac_key: MacKey::random(&mut rng),
            registry: KeyRegistry::new(),
            rng,
        }
    }

    fn signer(&mut self, alg: SignatureAlgorithm, cashier: &AgentId) -> Signer {
        let s = Signer::generate(alg, &mut self.rng);
        self.registry.register(cashier, s.verifier());
        s
    }

    fn seal(&mut self, e: &mut SovereignFinancialEvent, payload: &[u8], signer: &Signer) {
        let key = self.cache.sealing_key_for_event(&self.keyring, e, 1_000, &mut self.rng).unwrap();
        seal_event(e, payload, key, &self.mac_key, signer, &mut self.rng).unwrap();
    }
}

/// One cashier's sealed event and everything needed to seal, open and verify it again.
struct Fixture {
    t: Tenant,
    signer: Signer,
    unsealed: SovereignFinancialEvent,
    sealed: SovereignFinancialEvent,
    canonical: Vec<u8>,
    signature: EventSignature,
    verifier: Verifier,
}

fn fixture(alg: SignatureAlgorithm, payload: &[u8]) -> Fixture {
    let mut t = Tenant::new();
    let cashier = AgentId::new("cashier-17").unwrap();
    let signer = t.signer(alg, &cashier);
    let unsealed = event(&t.keyring, 1, &cashier);
    let mut sealed = unsealed.clone();
    t.seal(&mut sealed, payload, &signer);
    let canonical = sealed.canonical_bytes();
    let signature = sealed.audit().signature.clone().unwrap();
    let verifier = signer.verifier();
    Fixture { t, signer, unsealed, sealed, canonical, signature, verifier }
}

fn per_event(c: &mut Criterion) {
    let payload: Vec<u8> = (0..PAYLOAD_LEN).map(|i| (i * 31) as u8).collect();
    for (alg, name) in
        [(SignatureAlgorithm::EcdsaP256Sha256, "p256"), (SignatureAlgorithm::Ed25519, "ed25519")]
    {
        let Fixture { mut t, signer, unsealed, sealed, canonical, signature, verifier } =
            fixture(alg, &payload);

        let mut g = c.benchmark_group(format!("crypto_{name}"));
        g.sample_size(20).measurement_time(Duration::from_millis(2500));
        g.throughput(Throughput::Elements(1));
        g.bench_function("sign_bare", |b| b.iter(|| signer.sign(black_box(&canonical))));
        g.bench_function("seal_event", |b| {
            b.iter_batched(
                || unsealed.clone(),
                |mut e| {
                    t.seal(&mut e, black_box(&payload), &signer);
                    e
                },
                BatchSize::SmallInput,
            )
        });
        // The worst case the cache avoids: one provider call (make + wrap a data key) per event.
        g.bench_function("seal_event_uncached", |b| {
            b.iter_batched(
                || unsealed.clone(),
                |mut e| {
                    let key = t.keyring.generate_data_key("acme", &mut t.rng).unwrap();
                    seal_event(&mut e, &payload, &key, &t.mac_key, &signer, &mut t.rng).unwrap();
                    e
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_function("verify_bare", |b| {
            b.iter(|| verifier.verify(black_box(&canonical), &signature).unwrap())
        });
        g.bench_function("open_event", |b| {
            b.iter(|| {
                verify_and_open_event(black_box(&sealed), &t.mac_key, &t.registry, &t.keyring)
                    .unwrap()
            })
        });
        g.finish();
    }
}

fn ed25519_batch(c: &mut Criterion) {
    let mut t = Tenant::new();
    let payload = [0x5a; PAYLOAD_LEN];
    // 64 events from 8 cashiers, as a regional batch mixes them.
    let cashiers: Vec<AgentId> =
        (0..8).map(|i| AgentId::new(format!("cashier-{i}")).unwrap()).collect();
    let signers: Vec<Signer> =
        cashiers.iter().map(|a| t.signer(SignatureAlgorithm::Ed25519, a)).collect();
    let events: Vec<SovereignFinancialEvent> = (0..BATCH)
        .map(|i| {
            let mut e = event(&t.keyring, i as u64, &cashiers[i % 8]);
            t.seal(&mut e, &payload, &signers[i % 8]);
            e
        })
        .collect();
    let canonical: Vec<Vec<u8>> = events.iter().map(|e| e.canonical_bytes()).collect();
    let items: Vec<SignedMessage<'_>> = events
        .iter()
        .zip(&canonical)
        .map(|(e, m)| SignedMessage {
            signer: &e.audit().created_by,
            message: m,
            signature: e.audit().signature.as_ref().unwrap(),
        })
        .collect();

    let mut g = c.benchmark_group("crypto_ed25519_verify_64");
    g.sample_size(20).measurement_time(Duration::from_millis(2500));
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("one_by_one", |b| {
        b.iter(|| {
            for it in &items {
                t.registry.verify(it.signer, black_box(it.message), it.signature).unwrap();
            }
        })
    });
    g.bench_function("batch", |b| {
        b.iter(|| {
            let r = t.registry.verify_batch(black_box(&items));
            assert!(r.iter().all(Result::is_ok));
        })
    });
    g.finish();
}

/// Where the non-signature time of an Ed25519 seal and open goes.
fn breakdown(c: &mut Criterion) {
    use dcs_crypto::{commitment, envelope};
    let payload = [0x5a; PAYLOAD_LEN];
    let Fixture { mut t, unsealed, sealed, canonical, .. } =
        fixture(SignatureAlgorithm::Ed25519, &payload);
    let aad = sealed.aad_bytes();
    let env = sealed.payload().envelope.clone();
    let key =
        t.cache.sealing_key_for_event(&t.keyring, &unsealed, 1_000, &mut t.rng).unwrap().clone();
    let parsed = envelope::Envelope::parse(&env).unwrap();

    let mut g = c.benchmark_group("crypto_breakdown");
    g.sample_size(20).measurement_time(Duration::from_secs(2));
    g.bench_function("canonical_bytes", |b| b.iter(|| black_box(&sealed).canonical_bytes()));
    g.bench_function("mac_hmac_sha512", |b| b.iter(|| t.mac_key.compute(black_box(&canonical))));
    for (name, suite) in [
        ("key_commitment_suite1_hkdf_sha512", envelope::SUITE_AES256GCM_HKDF_COMMIT),
        ("key_commitment_suite2_hkdf_sha256", envelope::SUITE_AES256GCM_HKDF256_COMMIT),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| commitment::commit(&key.key, suite, black_box(&parsed.message_id)).unwrap())
        });
    }
    g.bench_function("envelope_seal", |b| {
        b.iter(|| {
            envelope::seal(&key, unsealed.event_id().as_bytes(), &aad, &payload, &mut t.rng)
                .unwrap()
        })
    });
    g.bench_function("envelope_open", |b| {
        b.iter(|| envelope::open(&t.keyring, "acme", &aad, black_box(&env)).unwrap())
    });
    g.finish();
}

/// Median time per call of `a` (fed `setup()` inputs made outside the timing) and of `b`, run in
/// alternating blocks of `n` calls, and the median of the per-block ratios `a / b`.
fn paired<S>(
    label: &str,
    n: usize,
    mut setup: impl FnMut() -> S,
    mut a: impl FnMut(S),
    mut b: impl FnMut(),
) -> f64 {
    const ROUNDS: usize = 25;
    let (mut ta, mut tb, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let inputs: Vec<S> = (0..n).map(|_| setup()).collect();
        let time_a = || {
            let t = Instant::now();
            for i in inputs {
                a(i);
            }
            t.elapsed().as_secs_f64() / n as f64
        };
        let mut time_b = || {
            let t = Instant::now();
            for _ in 0..n {
                b();
            }
            t.elapsed().as_secs_f64() / n as f64
        };
        let (x, y) = if round % 2 == 0 {
            let x = time_a();
            (x, time_b())
        } else {
            let y = time_b();
            (time_a(), y)
        };
        ta.push(x);
        tb.push(y);
        ratio.push(x / y);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (ma, mb, mr) = (median(&mut ta), median(&mut tb), median(&mut ratio));
    println!(
        "paired {label}: {:.1} µs vs {:.1} µs per event, ratio {mr:.3} (median of {ROUNDS} blocks of {n})",
        ma * 1e6,
        mb * 1e6
    );
    mr
}

/// The paired ratios: seal / bare sign, open / bare verify, one-by-one / batch.
fn ratios() {
    let payload: Vec<u8> = (0..PAYLOAD_LEN).map(|i| (i * 31) as u8).collect();
    for (alg, name, n) in [
        (SignatureAlgorithm::EcdsaP256Sha256, "p256", 40),
        (SignatureAlgorithm::Ed25519, "ed25519", 200),
    ] {
        let Fixture { t, signer, unsealed, sealed, canonical, signature, verifier } =
            fixture(alg, &payload);
        let t = std::cell::RefCell::new(t);
        paired(
            &format!("{name} seal_event / sign_bare"),
            n,
            || unsealed.clone(),
            |mut e| t.borrow_mut().seal(&mut e, black_box(&payload), &signer),
            || {
                black_box(signer.sign(black_box(&canonical)));
            },
        );
        let t = t.into_inner();
        paired(
            &format!("{name} open_event / verify_bare"),
            n,
            || (),
            |()| {
                verify_and_open_event(black_box(&sealed), &t.mac_key, &t.registry, &t.keyring)
                    .unwrap();
            },
            || verifier.verify(black_box(&canonical), &signature).unwrap(),
        );
    }
}

criterion_group!(benches, per_event, ed25519_batch, breakdown);

fn main() {
    benches();
    // Only under `cargo bench` (which passes --bench), not when `cargo test` smoke-runs it.
    if std::env::args().any(|a| a == "--bench") {
        ratios();
    }
    Criterion::default().configure_from_args().final_summary();
}
