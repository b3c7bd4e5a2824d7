//! A store day with DCS, end to end: open a POS session, sell two carts with mixed tax,
//! refund part of a sale, close the session with a cash count. Every fact becomes a sealed
//! event (AES-256-GCM envelope, HMAC-SHA512, ECDSA P-256 signature) appended to a local
//! SQLite store together with its projections; the example prints the events, verifies the
//! hash chain, every MAC and signature, and prints the daily summary.
//!
//! Run: `cargo run --release --example quickstart`.

use std::error::Error;
use std::time::{SystemTime, UNIX_EPOCH};

use dcs_core::commerce::{
    Cart, CustomerId, Discount, DomainEvent, EventBody, PosSession, Product, RefundId, Sale,
    SaleId, SessionId, Sku, TaxEngine, TaxPolicy, TaxRate, TaxTable, Tender,
};
use dcs_core::event::SignatureAlgorithm;
use dcs_core::projection::LoyaltyProgram;
use dcs_core::{
    AgentId, BranchId, CausalContext, Currency, EventBuilder, EventId, HybridClock, IdempotencyKey,
    Money, SovereignFinancialEvent, TenantId, VectorClock,
};
use dcs_crypto::{
    CachePolicy, DataKeyCache, KekMaterial, KekRef, KeyRegistry, Keyring, MacKey, Signer,
    open_event, seal_event, verify_event,
};
use dcs_store::sqlite::SqliteStore;
use dcs_store::{ExpectedVersion, Projector, StreamId};
use rand_core::{OsRng, RngCore};

type Res<T> = Result<T, Box<dyn Error>>;

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A POS terminal: its clocks, its keys, and the store it appends to.
struct Terminal {
    tenant: TenantId,
    branch: BranchId,
    agent: AgentId,
    cashier: AgentId,
    clock: HybridClock,
    vclock: VectorClock,
    keyring: Keyring,
    kek: KekRef,
    cache: DataKeyCache,
    mac_key: MacKey,
    signer: Signer,
    store: SqliteStore,
    seq: u64,
}

impl Terminal {
    /// Seals each domain event and appends them to `stream` as one batch with their bodies.
    fn record(&mut self, stream: &str, facts: &[DomainEvent]) -> Res<()> {
        let mut events = Vec::with_capacity(facts.len());
        for fact in facts {
            self.seq += 1;
            let now = now_ms();
            let hlc = self.clock.tick(now);
            self.vclock.increment(&self.agent);
            let mut random = [0u8; 10];
            OsRng.fill_bytes(&mut random);
            let mut event = fact
                .fill(EventBuilder::new(), Currency::USD)
                .event_id(EventId::new_v7(now, random))
                .idempotency_key(IdempotencyKey::new(format!("{}/{}", self.agent, self.seq))?)
                .tenant_id(self.tenant.clone())
                .branch_id(self.branch.clone())
                .agent_id(self.agent.clone())
                .kek(self.kek.id.clone(), self.kek.version)
                .causality(CausalContext { hlc, vector_clock: self.vclock.clone() })
                .created_by(self.cashier.clone())
                .build()?;
            let key = self.cache.sealing_key_for_event(&self.keyring, &event, now, &mut OsRng)?;
            seal_event(
                &mut event,
                &fact.plaintext()?,
                key,
                &self.mac_key,
                &self.signer,
                &mut OsRng,
            )?;
            events.push(event);
        }
        let bodies: Vec<EventBody> = facts.iter().map(|f| f.body.clone()).collect();
        let stream = StreamId::new(stream)?;
        self.store.append_with_bodies(&stream, ExpectedVersion::Any, &events, &bodies)?;
        Ok(())
    }
}

fn main() -> Res<()> {
    // Keys: a tenant KEK in a local keyring, a tenant MAC key, the cashier's signing key.
    let tenant = TenantId::new("acme")?;
    let mut keyring = Keyring::new();
    let kek = keyring.create_kek(tenant.as_str(), "acme/kek", KekMaterial::Random(&mut OsRng))?;
    let cashier = AgentId::new("cashier-1")?;
    let signer = Signer::generate(SignatureAlgorithm::EcdsaP256Sha256, &mut OsRng);
    let mut registry = KeyRegistry::new();
    registry.register(&cashier, signer.verifier());

    let path = std::env::temp_dir().join(format!("dcs-quickstart-{}.db", std::process::id()));
    let program = LoyaltyProgram::new(usd(100), 1, &[("silver", 10), ("gold", 100)])?;
    let store = SqliteStore::open(&path)?
        .with_projector(Projector { utc_offset_minutes: 0, loyalty: Some(program) });
    let mut node = [0u8; 16];
    OsRng.fill_bytes(&mut node);
    node[0] |= 1;
    let mut pos = Terminal {
        tenant: tenant.clone(),
        branch: BranchId::new("store-1")?,
        agent: AgentId::new("pos-1")?,
        cashier: cashier.clone(),
        clock: HybridClock::new(node, 60_000)?,
        vclock: VectorClock::new(),
        keyring,
        kek,
        cache: DataKeyCache::new(CachePolicy::default()),
        mac_key: MacKey::random(&mut OsRng),
        signer,
        store,
        seq: 0,
    };

    // The catalog and the tax rules: state 6.25 % + city 2.5 % on general goods, 2 % on food.
    let table = TaxTable::new()
        .with("general", vec![TaxRate::new("state", 62_500)?, TaxRate::new("city", 25_000)?])?
        .with("food", vec![TaxRate::new("state", 20_000)?])?;
    let engine = TaxEngine::new(table, TaxPolicy::default());
    let mug = Product::new("MUG", "Mug", "home", usd(1299), "general")?;
    let bread = Product::new("BREAD", "Bread", "bakery", usd(349), "food")?;

    // Open the session with a 200.00 float.
    let (mut session, opened) = PosSession::open(SessionId::new("D-1")?, cashier, usd(20_000))?;
    pos.record("session-D-1", &[opened])?;

    // Sale 1: 2 mugs and 3 breads, 10 % off the cart, a loyalty customer, paid in cash.
    let mut cart = Cart::new(Currency::USD);
    cart.add(mug.clone(), 2)?;
    cart.add(bread.clone(), 3)?;
    cart.set_cart_discount(Some(Discount::Percent(1_000)))?;
    let priced = cart.totals(&engine)?;
    let customer = Some(CustomerId::new("C-7")?);
    let (mut sale1, started) =
        Sale::initiate(SaleId::new("S-1")?, pos.branch.clone(), &priced, customer)?;
    let mut facts = vec![started];
    facts.extend(sale1.pay_and_complete(Tender::Cash)?);
    for f in &facts {
        session.observe(f)?;
    }
    pos.record("sale-S-1", &facts)?;

    // Sale 2: one mug, no customer.
    let mut cart = Cart::new(Currency::USD);
    cart.add(mug, 1)?;
    let priced = cart.totals(&engine)?;
    let (mut sale2, started) =
        Sale::initiate(SaleId::new("S-2")?, pos.branch.clone(), &priced, None)?;
    let mut facts = vec![started];
    facts.extend(sale2.pay_and_complete(Tender::Cash)?);
    for f in &facts {
        session.observe(f)?;
    }
    pos.record("sale-S-2", &facts)?;

    // A partial refund: one stale bread from sale 1, in cash.
    let refund =
        sale1.refund(RefundId::new("R-1")?, &[(Sku::new("BREAD")?, 1)], Tender::Cash, "stale")?;
    for f in &refund {
        session.observe(f)?;
    }
    pos.record("sale-S-1", &refund)?;

    // Close: the cashier counts 0.25 less than expected.
    let counted = session.expected_cash()?.checked_sub(usd(25))?;
    let closed = session.close(counted)?;
    pos.record("session-D-1", &[closed])?;

    // Print the log, checking each event's MAC, signature and envelope on the way.
    let chain = pos.store.verify_chain()?;
    println!(
        "{:>3}  {:<26} {:>12}  {:<36}  {:>8}",
        "pos", "event", "amount", "event id", "envelope"
    );
    for stored in pos.store.read_all_sync(1, usize::MAX)? {
        let e: &SovereignFinancialEvent = &stored.event;
        verify_event(e, &pos.mac_key, &registry)?;
        let body = EventBody::from_bytes(&open_event(e, &pos.keyring)?)?;
        assert_eq!(body.event_type(), e.event_type(), "the envelope holds this event's fact");
        println!(
            "{:>3}  {:<26} {:>12}  {}  {:>6} B",
            stored.position,
            e.event_type().name(),
            e.amount().to_string(),
            e.event_id(),
            e.payload().envelope.len()
        );
    }
    println!(
        "\nhash chain: {} rows verified; every MAC, ECDSA P-256 signature and envelope checked",
        chain.rows
    );

    // The projections kept in the append transactions, and the same rebuilt from the log.
    let rows = pos.store.projection_rows()?;
    println!("\ndaily sales summary");
    for (key, day) in &rows.sales {
        println!("  {} {} {}: {day}", key.branch, key.day, key.currency);
    }
    for ((_, customer), c) in &rows.loyalty {
        println!(
            "  loyalty {customer}: {} purchase(s), net spend {}",
            c.purchases,
            usd(c.net_spend)
        );
    }
    let keyring = &pos.keyring;
    let rebuilt = pos.store.rebuild_projections(|e| dcs_store::open_fact(e, keyring))?;
    println!("  rebuilt from the log: {}", if rebuilt == rows { "identical" } else { "DIFFERENT" });
    if let Some(EventBody::SessionClosed(report)) = pos
        .store
        .read_all_sync(1, usize::MAX)?
        .last()
        .map(|s| open_event(&s.event, &pos.keyring))
        .transpose()?
        .map(|p| EventBody::from_bytes(&p))
        .transpose()?
    {
        println!(
            "\nsession D-1 closed: expected {}, counted {}, variance {}",
            report.expected, report.counted, report.variance
        );
    }
    drop(pos);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(())
}
