//! Shared fixtures: events, keys and a seeded RNG.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use dcs_core::causality::HlcTimestamp;
use dcs_core::event::SignatureAlgorithm;
use dcs_core::*;
use dcs_crypto::*;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

pub fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

/// A builder holding every field of `e` (envelope, MAC and signature included).
pub fn builder_from(e: &SovereignFinancialEvent) -> EventBuilder {
    let mut b = EventBuilder::new()
        .event_id(e.event_id())
        .correlation_id(e.correlation_id())
        .idempotency_key(e.idempotency_key().clone())
        .tenant_id(e.tenant_id().clone())
        .branch_id(e.branch_id().clone())
        .agent_id(e.agent_id().clone())
        .event_type(e.event_type())
        .amount(e.amount())
        .kek(e.payload().kek_id.clone(), e.payload().kek_version)
        .envelope(e.payload().envelope.clone())
        .causality(e.causality().clone())
        .created_by(e.audit().created_by.clone())
        .mac(e.audit().mac.clone());
    if let Some(a) = &e.audit().approved_by {
        b = b.approved_by(a.clone());
    }
    if let Some(s) = &e.audit().signature {
        b = b.signature(s.clone());
    }
    b
}

/// An unsealed event of `tenant` naming `kek`.
pub fn event(tenant: &str, kek: &KekRef, seq: u8) -> SovereignFinancialEvent {
    let agent = AgentId::new("pos-01").unwrap();
    EventBuilder::new()
        .event_id(EventId::new_v7(1_767_225_600_000 + u64::from(seq), [seq; 10]))
        .idempotency_key(IdempotencyKey::new(format!("sale-{seq}/complete")).unwrap())
        .tenant_id(TenantId::new(tenant).unwrap())
        .branch_id(BranchId::new("store-042").unwrap())
        .agent_id(agent.clone())
        .event_type(EventType::SaleCompleted)
        .amount(Money::from_minor(10_825, Currency::USD))
        .kek(kek.id.clone(), kek.version)
        .causality(CausalContext {
            hlc: HlcTimestamp { time: 0x6955_B900_0000_0010 + u64::from(seq), node: [9; 16] },
            vector_clock: [(agent, 7)].into_iter().collect(),
        })
        .created_by(AgentId::new("cashier-17").unwrap())
        .approved_by(AgentId::new("supervisor-2").unwrap())
        .build()
        .unwrap()
}

/// Everything a tenant needs to seal and verify.
pub struct World {
    pub keyring: Keyring,
    pub cache: DataKeyCache,
    pub mac_key: MacKey,
    pub signer: Signer,
    pub registry: KeyRegistry,
    pub rng: ChaCha20Rng,
}

impl World {
    pub fn new(alg: SignatureAlgorithm) -> Self {
        let mut rng = rng(1);
        let mut keyring = Keyring::new();
        keyring.create_kek("acme", "acme/kek", KekMaterial::Random(&mut rng)).unwrap();
        keyring.create_kek("globex", "globex/kek", KekMaterial::Random(&mut rng)).unwrap();
        let signer = Signer::generate(alg, &mut rng);
        let mut registry = KeyRegistry::new();
        registry.register(&AgentId::new("cashier-17").unwrap(), signer.verifier());
        Self {
            keyring,
            cache: DataKeyCache::default(),
            mac_key: MacKey::random(&mut rng),
            signer,
            registry,
            rng,
        }
    }

    /// A sealed event of `tenant` with `plaintext`.
    pub fn sealed(&mut self, tenant: &str, seq: u8, plaintext: &[u8]) -> SovereignFinancialEvent {
        let kek = self.keyring.current_kek(tenant).unwrap();
        let mut e = event(tenant, &kek, seq);
        let key = self
            .cache
            .sealing_key_for_event(&self.keyring, &e, 1_000, &mut self.rng)
            .unwrap()
            .clone();
        seal_event(&mut e, plaintext, &key, &self.mac_key, &self.signer, &mut self.rng).unwrap();
        e
    }
}
