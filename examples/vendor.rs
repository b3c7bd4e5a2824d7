//! The POS vendor's path in one page: seal a sale (dcs-crypto), store it with its projections
//! and the sync checkpoint in one SQLite transaction (dcs-store), and take the push to send to
//! the region (dcs-sync; `dcs_proto::sync_to_pb` makes it the `LocalRegionalSync.Push` message,
//! which dcs-local's sync driver sends over mutual TLS). `cargo run --example vendor`.
#![allow(clippy::print_stdout)]

use dcs_core::commerce::{
    Cart, Product, Sale, SaleId, TaxEngine, TaxPolicy, TaxRate, TaxTable, Tender,
};
use dcs_core::{AgentId, BranchId, Currency, Money, event::SignatureAlgorithm::Ed25519};
use dcs_crypto::{KekMaterial, Keyring, MacKey, Signer, Terminal, TerminalConfig};
use dcs_store::{ExpectedVersion::NoStream, StreamId, sqlite::AppendRequest, sqlite::SqliteStore};
use dcs_sync::{LocalConfig, LocalMachine, Message, NodeId, Now, SyncConfig};
use rand_core::{OsRng, RngCore};

const USD: Currency = Currency::USD;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut keys, mac, signer) =
        (Keyring::new(), MacKey::random(&mut OsRng), Signer::generate(Ed25519, &mut OsRng));
    keys.create_kek("acme", "acme/kek", KekMaterial::Random(&mut OsRng))?;
    let mut till = Terminal::new(TerminalConfig::new("acme", "store-1", "pos-1", USD)?, [7; 16])?;
    let mut cart = Cart::new(USD);
    cart.add(Product::new("MUG", "Mug", "home", Money::from_minor(1299, USD), "general")?, 2)?;
    let mut tax = TaxTable::new();
    tax.set("general", vec![TaxRate::new("state", 62_500)?])?;
    let totals = cart.totals(&TaxEngine::new(tax, TaxPolicy::default()))?;
    let (mut sale, started) =
        Sale::initiate(SaleId::new("R-1")?, BranchId::new("store-1")?, &totals, None)?;
    let facts: Vec<_> =
        std::iter::once(started).chain(sale.pay_and_complete(Tender::Card)?).collect();
    let wall_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as u64;
    let (me, now) = (AgentId::new("pos-1")?, Now { mono_ms: 0, wall_ms });
    let seal = |f| till.seal(f, &me, None, wall_ms, &mut OsRng, &keys, &mac, &signer);
    let events = facts.iter().map(seal).collect::<Result<Vec<_>, _>>()?;
    let bodies: Vec<_> = facts.into_iter().map(|f| f.body).collect();

    let store = SqliteStore::open(
        std::env::temp_dir().join(format!("dcs-vendor-{}.db", std::process::id())),
    )?;
    let branch = BranchId::new("store-1")?;
    let config = LocalConfig {
        node: NodeId::Store(1),
        region: NodeId::Region(0),
        branch,
        replica: dcs_crdt::ReplicaId(1),
        sync: SyncConfig::default(),
    };
    let mut sync = LocalMachine::restore(config, store.load_sync()?, now, OsRng.next_u64())?;
    let stream = StreamId::new("sale-R-1")?;
    let stored = store.append_synced(
        &mut sync,
        now,
        &AppendRequest { stream: &stream, expected: NoStream, events: &events, bodies: &bodies },
    )?;
    sync.handle_timeout(Now { mono_ms: 1_000, wall_ms: wall_ms + 1_000 });
    while let Some((to, Message::Push(push))) = sync.poll_transmit() {
        println!(
            "stored at {}..={}; push {} to {to:?}: {} events",
            stored.first_position,
            stored.last_position,
            push.batch,
            push.items.len()
        );
    }
    Ok(())
}
