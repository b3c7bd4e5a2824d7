//! Events from outside the process: the verifying append refuses altered or unsigned
//! events, derives the projected facts from the events themselves, and a crypto-shredded
//! tenant leaves the other tenants' projections rebuildable. Real keys, real seals.
#![allow(clippy::unwrap_used, clippy::panic)]

use dcs_core::causality::HlcTimestamp;
use dcs_core::commerce::body::StockMovement;
use dcs_core::commerce::*;
use dcs_core::event::SignatureAlgorithm;
use dcs_core::*;
use dcs_crypto::{CryptoError, DataKeyCache, KekMaterial, KeyRegistry, Keyring, MacKey, Signer};
use dcs_store::sqlite::{SqliteStore, Verification};
use dcs_store::{ExpectedVersion, Opened, StoreError, StreamId, open_fact};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

struct Pos {
    keyring: Keyring,
    mac: MacKey,
    signer: Signer,
    registry: KeyRegistry,
    cache: DataKeyCache,
    rng: ChaCha20Rng,
    seq: u64,
}

impl Pos {
    fn new() -> Self {
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        let mut keyring = Keyring::new();
        keyring.create_kek("acme", "acme/kek", KekMaterial::Random(&mut rng)).unwrap();
        keyring.create_kek("globex", "globex/kek", KekMaterial::Random(&mut rng)).unwrap();
        let signer = Signer::generate(SignatureAlgorithm::Ed25519, &mut rng);
        let mut registry = KeyRegistry::new();
        registry.register(&AgentId::new("cashier-1").unwrap(), signer.verifier());
        let mac = MacKey::random(&mut rng);
        Pos {
            keyring,
            mac,
            signer,
            registry,
            cache: DataKeyCache::new(Default::default()),
            rng,
            seq: 0,
        }
    }

    fn verification(&self) -> Verification<'_> {
        Verification { mac_key: &self.mac, registry: &self.registry, keys: Some(&self.keyring) }
    }

    /// Seals one event per fact for `tenant`, as a terminal does.
    fn seal(&mut self, tenant: &str, facts: &[DomainEvent]) -> Vec<SovereignFinancialEvent> {
        let agent = AgentId::new("pos-1").unwrap();
        let mut out = Vec::new();
        for fact in facts {
            self.seq += 1;
            let hlc =
                HlcTimestamp { time: (1_795_615_200u64 + self.seq * 60) << 32, node: [1; 16] };
            let mut event = fact
                .fill(EventBuilder::new(), Currency::USD)
                .event_id(EventId::new_v7(hlc.unix_ms(), [self.seq as u8; 10]))
                .idempotency_key(IdempotencyKey::new(format!("{tenant}-{}", self.seq)).unwrap())
                .tenant_id(TenantId::new(tenant).unwrap())
                .branch_id(BranchId::new("store-1").unwrap())
                .agent_id(agent.clone())
                .kek(format!("{tenant}/kek"), 1)
                .causality(CausalContext {
                    hlc,
                    vector_clock: [(agent.clone(), self.seq)].into_iter().collect(),
                })
                .created_by(AgentId::new("cashier-1").unwrap())
                .build()
                .unwrap();
            let key = self
                .cache
                .sealing_key_for_event(&self.keyring, &event, 1_000, &mut self.rng)
                .unwrap()
                .clone();
            let plain = fact.plaintext().unwrap();
            dcs_crypto::seal_event(
                &mut event,
                &plain,
                &key,
                &self.mac,
                &self.signer,
                &mut self.rng,
            )
            .unwrap();
            out.push(event);
        }
        out
    }
}

fn received(sku: &str, qty: u32) -> DomainEvent {
    DomainEvent::new(EventBody::InventoryReceived(StockMovement {
        branch: BranchId::new("store-1").unwrap(),
        sku: Sku::new(sku).unwrap(),
        quantity: qty,
    }))
}

fn sale(id: &str, qty: u32) -> Vec<DomainEvent> {
    let table =
        TaxTable::new().with("general", vec![TaxRate::new("state", 62_500).unwrap()]).unwrap();
    let engine = TaxEngine::new(table, TaxPolicy::default());
    let mut cart = Cart::new(Currency::USD);
    let mug = Product::new("MUG", "Mug", "misc", Money::from_minor(1299, Currency::USD), "general");
    cart.add(mug.unwrap(), qty).unwrap();
    let priced = cart.totals(&engine).unwrap();
    let branch = BranchId::new("store-1").unwrap();
    let (mut s, started) = Sale::initiate(SaleId::new(id).unwrap(), branch, &priced, None).unwrap();
    let mut events = vec![started, s.capture(Tender::Cash, priced.totals.total).unwrap()];
    events.extend(s.complete().unwrap());
    events
}

fn stream(s: &str) -> StreamId {
    StreamId::new(s).unwrap()
}

#[test]
fn an_altered_or_unsigned_event_is_refused_and_nothing_is_written() {
    let mut pos = Pos::new();
    let store = SqliteStore::open_in_memory().unwrap();
    let good = pos.seal("acme", &[received("MUG", 3), received("CUP", 1)]);
    // An event MACed under another key (not this tenant's).
    let mut other_key = Pos::new();
    other_key.mac = MacKey::random(&mut other_key.rng);
    other_key.seq = 10;
    let batch = [good[0].clone(), other_key.seal("acme", &[received("MUG", 1)]).remove(0)];
    let err = store
        .append_verified(&stream("s"), ExpectedVersion::Any, &batch, &pos.verification())
        .unwrap_err();
    match &err {
        StoreError::Unverified { index, .. } => assert_eq!(*index, 1),
        other => panic!("expected Unverified, got {other:?}"),
    }
    assert_eq!(store.head_position_sync().unwrap(), 0);
    // An agent the registry does not know.
    let mut stranger = Pos::new();
    stranger.mac = pos.mac.clone();
    stranger.seq = 20;
    stranger.signer = Signer::generate(SignatureAlgorithm::Ed25519, &mut stranger.rng);
    let foreign = stranger.seal("acme", &[received("MUG", 1)]);
    let err = store
        .append_verified(&stream("s"), ExpectedVersion::Any, &foreign, &pos.verification())
        .unwrap_err();
    assert!(matches!(err, StoreError::Unverified { index: 0, .. }), "{err:?}");
    assert_eq!(store.head_position_sync().unwrap(), 0);
    // The genuine batch goes in and is projected from its own bodies.
    store.append_verified(&stream("s"), ExpectedVersion::Any, &good, &pos.verification()).unwrap();
    let rows = store.projection_rows().unwrap();
    assert_eq!(rows.inventory.len(), 2);
}

#[test]
fn facts_of_another_sale_are_refused() {
    let mut pos = Pos::new();
    let store = SqliteStore::open_in_memory().unwrap();
    let facts_a = sale("S-A", 1);
    let facts_b = sale("S-B", 3);
    let events_a = pos.seal("acme", &facts_a);
    let bodies_b: Vec<EventBody> = facts_b.iter().map(|f| f.body.clone()).collect();
    let err = store
        .append_with_bodies(&stream("sale-A"), ExpectedVersion::NoStream, &events_a, &bodies_b)
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "bodies", .. }), "{err:?}");
    assert!(err.to_string().contains("its own fact"), "{err}");
    assert_eq!(store.head_position_sync().unwrap(), 0);
    // The verifying append takes no facts: it opens them from the events.
    store
        .append_verified(
            &stream("sale-A"),
            ExpectedVersion::NoStream,
            &events_a,
            &pos.verification(),
        )
        .unwrap();
    let rows = store.projection_rows().unwrap();
    let keyring = &pos.keyring;
    assert_eq!(store.rebuild_projections(|e| open_fact(e, keyring)).unwrap(), rows);
    assert_eq!(rows.sales[0].1.sales_count, 1);
}

#[test]
fn a_shredded_tenant_is_skipped_and_the_others_rebuilt() {
    let mut pos = Pos::new();
    let store = SqliteStore::open_in_memory().unwrap();
    let acme = pos.seal("acme", &[received("MUG", 3)]);
    let globex = pos.seal("globex", &[received("MUG", 5)]);
    store.append_verified(&stream("a"), ExpectedVersion::Any, &acme, &pos.verification()).unwrap();
    store
        .append_verified(&stream("g"), ExpectedVersion::Any, &globex, &pos.verification())
        .unwrap();
    assert_eq!(store.projection_rows().unwrap().inventory.len(), 2);
    pos.keyring.destroy_tenant("globex");
    assert_eq!(open_fact(&globex[0], &pos.keyring).unwrap(), Opened::Shredded);
    let keyring = &pos.keyring;
    let rebuilt = store.rebuild_projections(|e| open_fact(e, keyring)).unwrap();
    assert_eq!(rebuilt.inventory.len(), 1);
    assert_eq!(rebuilt.inventory[0].0.tenant.as_str(), "acme");
    assert_eq!(store.projection_rows().unwrap(), rebuilt);
    // Any other crypto failure stays a crypto error, never a "database error".
    let empty = Keyring::new();
    let err = store.rebuild_projections(|e| open_fact(e, &empty)).unwrap_err();
    assert!(matches!(err, StoreError::Crypto(CryptoError::UnknownKek { .. })), "{err:?}");
    assert!(!err.to_string().contains("database error"), "{err}");
}
