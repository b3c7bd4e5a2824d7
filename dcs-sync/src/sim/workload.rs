//! The POS workload: sessions, sales, partial refunds, stock deliveries and transfers between
//! stores, built with `dcs_core::commerce` and sealed into events the way a terminal does.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use dcs_core::causality::HlcTimestamp;
use dcs_core::commerce::body::{StockMovement, StockTransfer};
use dcs_core::commerce::{
    Cart, DomainEvent, EventBody, PosSession, Product, RefundId, Sale, SaleId, SessionId, Sku,
    TaxEngine, TaxPolicy, TaxRate, TaxTable, Tender,
};
use dcs_core::{
    AgentId, BranchId, CausalContext, CoreError, Currency, EventBuilder, EventId, IdempotencyKey,
    Money, SovereignFinancialEvent, TenantId, VectorClock,
};

use super::mac::KeyedVerifier;
use crate::SplitMix64;

/// The tenant every simulated store belongs to.
pub const TENANT: &str = "acme";

/// The simulated catalog: SKU, base price in cents, tax category.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// SKUs with their base price (cents) and tax category.
    pub items: Vec<(Sku, i64, &'static str)>,
    engine: TaxEngine,
}

impl Catalog {
    /// `n` SKUs (`SKU-0` …) with prices from 1.00 to 49.99, alternating general/food tax.
    ///
    /// # Errors
    /// Never for sane `n`; the domain validates names and rates.
    pub fn new(n: u32) -> Result<Self, CoreError> {
        let table = TaxTable::new()
            .with("general", alloc::vec![TaxRate::new("state", 62_500)?])?
            .with("food", alloc::vec![TaxRate::new("state", 20_000)?])?;
        let items = (0..n)
            .map(|i| {
                let cat = if i % 2 == 0 { "general" } else { "food" };
                Ok((Sku::new(format!("SKU-{i}"))?, 100 + i64::from(i * 397 % 4_900), cat))
            })
            .collect::<Result<Vec<_>, CoreError>>()?;
        Ok(Catalog { items, engine: TaxEngine::new(table, TaxPolicy::default()) })
    }
}

/// One store's point of sale: its open session, its sales that can still be refunded, and the
/// counters that keep ids and idempotency keys unique across crashes.
#[derive(Debug, Clone)]
pub struct Pos {
    /// Store number.
    pub store: u32,
    /// Branch id (`store-N`).
    pub branch: BranchId,
    agent: AgentId,
    tenant: TenantId,
    /// The open session, once its opening is durable.
    pub session: Option<PosSession>,
    /// A session whose opening was appended but is not durable yet.
    pub opening: Option<(PosSession, EventId)>,
    /// Completed, durable sales that can still be refunded, with the tender that paid them.
    pub refundable: Vec<(Sale, Tender)>,
    counter: u64,
    sessions: u64,
}

/// What the POS did, for the simulator to append: the domain events and what to do once
/// they are durable.
#[derive(Debug, Clone)]
pub struct Emitted {
    /// The domain events, in order.
    pub events: Vec<DomainEvent>,
    /// A sale that becomes refundable once durable, with its tender.
    pub sale: Option<(Sale, Tender)>,
}

impl Pos {
    /// The POS of store `store`.
    ///
    /// # Errors
    /// Never for sane ids.
    pub fn new(store: u32) -> Result<Self, CoreError> {
        Ok(Pos {
            store,
            branch: BranchId::new(format!("store-{store}"))?,
            agent: AgentId::new(format!("pos-{store}"))?,
            tenant: TenantId::new(TENANT)?,
            session: None,
            opening: None,
            refundable: Vec::new(),
            counter: 0,
            sessions: 0,
        })
    }

    /// Opens a session with a 200.00 float.
    ///
    /// # Errors
    /// Domain errors (none expected).
    pub fn open_session(&mut self) -> Result<(PosSession, DomainEvent), CoreError> {
        self.sessions += 1;
        PosSession::open(
            SessionId::new(format!("{}-D{}", self.branch, self.sessions))?,
            AgentId::new(format!("cashier-{}", self.store))?,
            Money::from_minor(20_000, Currency::USD),
        )
    }

    /// Closes the open session with the expected cash counted.
    ///
    /// # Errors
    /// Domain errors (none expected).
    pub fn close_session(&mut self) -> Result<Option<DomainEvent>, CoreError> {
        match self.session.as_mut() {
            Some(s) if !s.is_closed() => {
                let expected = s.expected_cash()?;
                Ok(Some(s.close(expected)?))
            }
            _ => Ok(None),
        }
    }

    /// A sale of 1–3 lines at `prices` (the store's replicated central prices, or the base).
    ///
    /// # Errors
    /// Domain errors (none expected).
    pub fn sale(
        &mut self,
        rng: &mut SplitMix64,
        catalog: &Catalog,
        price_of: impl Fn(&Sku, i64) -> i64,
    ) -> Result<Emitted, CoreError> {
        let mut cart = Cart::new(Currency::USD);
        let lines = rng.range(1, 3);
        let mut used = Vec::new();
        for _ in 0..lines {
            let i = rng.below(catalog.items.len() as u64) as usize;
            if used.contains(&i) {
                continue;
            }
            used.push(i);
            let (sku, base, cat) = &catalog.items[i];
            let price = Money::from_minor(price_of(sku, *base), Currency::USD);
            cart.add(
                Product::new(sku.as_str(), sku.as_str(), "misc", price, cat)?,
                rng.range(1, 3) as u32,
            )?;
        }
        let priced = cart.totals(&catalog.engine)?;
        self.counter += 1;
        let id = SaleId::new(format!("{}-S{}", self.branch, self.counter))?;
        let (mut sale, started) = Sale::initiate(id, self.branch.clone(), &priced, None)?;
        let tender = if rng.chance(0.5) { Tender::Cash } else { Tender::Card };
        let mut events = alloc::vec![started];
        events.extend(sale.pay_and_complete(tender)?);
        if let Some(s) = self.session.as_mut() {
            for e in &events {
                s.observe(e)?;
            }
        }
        Ok(Emitted { events, sale: Some((sale, tender)) })
    }

    /// A partial refund of one unit of a line of a durable sale, if any is left.
    ///
    /// # Errors
    /// Domain errors (none expected).
    pub fn refund(&mut self, rng: &mut SplitMix64) -> Result<Option<Emitted>, CoreError> {
        if self.refundable.is_empty() {
            return Ok(None);
        }
        let i = rng.below(self.refundable.len() as u64) as usize;
        let (sale, tender) = &mut self.refundable[i];
        let Some(sku) =
            sale.lines().iter().map(|l| l.sku.clone()).find(|s| sale.refundable_quantity(s) > 0)
        else {
            self.refundable.swap_remove(i);
            return Ok(None);
        };
        self.counter += 1;
        let rid = RefundId::new(format!("{}-R{}", self.branch, self.counter))?;
        let events = sale.refund(rid, &[(sku, 1)], *tender, "returned")?;
        Ok(Some(Emitted { events, sale: None }))
    }

    /// A delivery of `qty` units of `sku`.
    pub fn receive(&self, sku: &Sku, qty: u32) -> DomainEvent {
        EventBody::InventoryReceived(StockMovement {
            branch: self.branch.clone(),
            sku: sku.clone(),
            quantity: qty,
        })
        .into()
    }

    /// Stock leaving for `to`.
    pub fn transfer_out(&self, to: &BranchId, sku: &Sku, qty: u32) -> DomainEvent {
        EventBody::InventoryTransferredOut(StockTransfer {
            branch: self.branch.clone(),
            counterparty: to.clone(),
            sku: sku.clone(),
            quantity: qty,
        })
        .into()
    }

    /// Stock arriving from `from`.
    pub fn transfer_in(&self, from: &BranchId, sku: &Sku, qty: u32) -> DomainEvent {
        EventBody::InventoryTransferredIn(StockTransfer {
            branch: self.branch.clone(),
            counterparty: from.clone(),
            sku: sku.clone(),
            quantity: qty,
        })
        .into()
    }

    /// Seals a domain event into a sovereign event stamped `hlc`, with a MAC from `mac`;
    /// `random` fills the event id's random bits.
    ///
    /// # Errors
    /// Domain errors (none expected).
    pub fn seal(
        &mut self,
        event: &DomainEvent,
        hlc: HlcTimestamp,
        random: [u8; 10],
        mac: &KeyedVerifier,
    ) -> Result<SovereignFinancialEvent, CoreError> {
        self.counter += 1;
        let mut vc = VectorClock::new();
        vc.set(self.agent.clone(), self.counter);
        let plaintext = event.plaintext()?;
        let mut sealed = event
            .fill(EventBuilder::new(), Currency::USD)
            .event_id(EventId::new_v7(hlc.unix_ms(), random))
            .idempotency_key(IdempotencyKey::new(format!("{}/{}", self.branch, self.counter))?)
            .tenant_id(self.tenant.clone())
            .branch_id(self.branch.clone())
            .agent_id(self.agent.clone())
            .kek("acme/kek", 1)
            .envelope(plaintext)
            .causality(CausalContext { hlc, vector_clock: vc })
            .created_by(self.agent.clone())
            .build()?;
        mac.seal(&mut sealed);
        Ok(sealed)
    }
}

/// A human-readable name of an event body's type, for traces.
pub fn kind(body: &EventBody) -> String {
    format!("{:?}", body.event_type())
}
