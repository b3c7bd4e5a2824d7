//! Projection deltas shared by the backends.
//!
//! Each appended event with its plaintext body is folded by dcs-core's projections into an
//! empty state; every projection field is a sum, so the resulting rows are deltas that a
//! backend adds to its tables in the append transaction. Rebuilding folds the whole log.

use dcs_core::SovereignFinancialEvent;
use dcs_core::commerce::{BusinessDay, CustomerId, EventBody, Sku};
use dcs_core::projection::{
    CustomerLoyalty, DailySales, InventoryLevels, LoyaltyLedger, LoyaltyProgram, Projection,
    ProjectionContext, SalesSummary, StockKey, StockLevel, SummaryKey,
};
use dcs_core::{BranchId, Currency, Money, TenantId};

use crate::error::{Result, StoreError};

/// How events count in the projections: the store's time zone and its loyalty program.
#[derive(Debug, Clone, Default)]
pub struct Projector {
    /// The store's local time as minutes east of UTC (business days follow it).
    pub utc_offset_minutes: i32,
    /// The loyalty program, if the tenant runs one.
    pub loyalty: Option<LoyaltyProgram>,
}

impl Projector {
    /// A projector for a store at `utc_offset_minutes` east of UTC (within ±14 hours), with
    /// an optional loyalty program; an offset out of range is refused here, at open, rather
    /// than at the first append.
    pub fn new(utc_offset_minutes: i32, loyalty: Option<LoyaltyProgram>) -> Result<Self> {
        BusinessDay::from_unix_ms(0, utc_offset_minutes).map_err(|e| StoreError::Invalid {
            field: "utc_offset_minutes",
            reason: e.to_string(),
        })?;
        Ok(Self { utc_offset_minutes, loyalty })
    }
}

/// The rows of the three projection tables, ordered by key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProjectionRows {
    /// Daily sales per tenant, branch, day and currency.
    pub sales: Vec<(SummaryKey, DailySales)>,
    /// Stock per tenant, branch and SKU.
    pub inventory: Vec<(StockKey, StockLevel)>,
    /// Loyalty per tenant and customer.
    pub loyalty: Vec<((TenantId, CustomerId), CustomerLoyalty)>,
}

/// What opening a stored event for the projections gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// Its plaintext business fact.
    Body(EventBody),
    /// It carries no fact the projections count (e.g. another store's event).
    NoFact,
    /// Its tenant was crypto-shredded: the body is gone with the key, and so are the
    /// tenant's projections; the event is skipped.
    Shredded,
}

/// Opens `event`'s envelope with `provider` and decodes its body.
///
/// A destroyed KEK (the tenant was crypto-shredded) is [`Opened::Shredded`]; any other
/// crypto failure stays a [`StoreError::Crypto`]; a body that does not decode is
/// [`StoreError::Decode`].
pub fn open_fact(
    event: &SovereignFinancialEvent,
    provider: &(impl dcs_crypto::KeyProvider + ?Sized),
) -> Result<Opened> {
    match dcs_crypto::open_event(event, provider) {
        Ok(plain) => Ok(Opened::Body(EventBody::from_bytes(&plain)?)),
        Err(dcs_crypto::CryptoError::KekDestroyed { .. }) => Ok(Opened::Shredded),
        Err(e) => Err(StoreError::Crypto(e)),
    }
}

/// In-memory folds of one or more events.
pub(crate) struct Folds {
    sales: SalesSummary,
    inventory: InventoryLevels,
    loyalty: Option<LoyaltyLedger>,
}

impl Folds {
    pub(crate) fn new(projector: &Projector) -> Self {
        Folds {
            sales: SalesSummary::new(),
            inventory: InventoryLevels::new(),
            loyalty: projector.loyalty.clone().map(LoyaltyLedger::new),
        }
    }

    pub(crate) fn apply(
        &mut self,
        projector: &Projector,
        event: &SovereignFinancialEvent,
        body: &EventBody,
    ) -> Result<()> {
        if body.event_type() != event.event_type() {
            return Err(StoreError::Invalid {
                field: "bodies",
                reason: format!(
                    "event {} is {} but its body is {}",
                    event.event_id(),
                    event.event_type(),
                    body.event_type()
                ),
            });
        }
        let shown = body.amount().unwrap_or(Money::zero(event.amount().currency()));
        if shown != event.amount() {
            return Err(StoreError::Invalid {
                field: "bodies",
                reason: format!(
                    "event {} shows {} but its body says {shown}: give each event its own fact",
                    event.event_id(),
                    event.amount()
                ),
            });
        }
        let ctx = ProjectionContext::of_event(event, projector.utc_offset_minutes)?;
        self.sales.apply(&ctx, body)?;
        self.inventory.apply(&ctx, body)?;
        if let Some(l) = &mut self.loyalty {
            l.apply(&ctx, body)?;
        }
        Ok(())
    }

    pub(crate) fn rows(&self) -> ProjectionRows {
        ProjectionRows {
            sales: self.sales.rows().map(|(k, v)| (k.clone(), *v)).collect(),
            inventory: self.inventory.rows().map(|(k, v)| (k.clone(), *v)).collect(),
            loyalty: self
                .loyalty
                .iter()
                .flat_map(|l| l.customers().map(|(k, v)| (k.clone(), *v)))
                .collect(),
        }
    }
}

fn stored(what: &str, e: dcs_core::CoreError) -> StoreError {
    StoreError::Corrupt(format!("projection row {what}: {e}"))
}

/// A daily-sales row read back from a table: key columns, then sales and refund counts,
/// then gross, discounts, refunds, tax and net in minor units.
pub(crate) fn sales_row(
    tenant: String,
    branch: String,
    day: i32,
    (code, exponent): (&str, u8),
    counts: [u64; 2],
    sums: [i64; 5],
) -> Result<(SummaryKey, DailySales)> {
    let currency = Currency::custom(code, exponent).map_err(|e| stored("currency", e))?;
    let m = |v| Money::from_minor(v, currency);
    let key = SummaryKey {
        tenant: TenantId::new(tenant).map_err(|e| stored("tenant", e))?,
        branch: BranchId::new(branch).map_err(|e| stored("branch", e))?,
        day: BusinessDay::from_days(day),
        currency,
    };
    let row = DailySales {
        sales_count: counts[0],
        refund_count: counts[1],
        gross: m(sums[0]),
        discounts: m(sums[1]),
        refunds: m(sums[2]),
        tax: m(sums[3]),
        net: m(sums[4]),
    };
    Ok((key, row))
}

/// A stock row read back from a table: key columns, then received, sold, transferred
/// out, transferred in and adjusted.
pub(crate) fn stock_row(
    tenant: String,
    branch: String,
    sku: String,
    v: [i64; 5],
) -> Result<(StockKey, StockLevel)> {
    let key = StockKey {
        tenant: TenantId::new(tenant).map_err(|e| stored("tenant", e))?,
        branch: BranchId::new(branch).map_err(|e| stored("branch", e))?,
        sku: Sku::new(sku).map_err(|e| stored("sku", e))?,
    };
    let level = StockLevel {
        received: v[0],
        sold: v[1],
        transferred_out: v[2],
        transferred_in: v[3],
        adjusted: v[4],
    };
    Ok((key, level))
}

/// A loyalty row read back from a table.
pub(crate) fn loyalty_row(
    tenant: String,
    customer: String,
    purchases: u64,
    net_spend: i64,
) -> Result<((TenantId, CustomerId), CustomerLoyalty)> {
    let tenant = TenantId::new(tenant).map_err(|e| stored("tenant", e))?;
    let customer = CustomerId::new(customer).map_err(|e| stored("customer", e))?;
    Ok(((tenant, customer), CustomerLoyalty { purchases, net_spend }))
}

impl ProjectionRows {
    /// Orders every table's rows by key (as the in-memory folds are).
    pub(crate) fn sort(&mut self) {
        self.sales.sort_by(|a, b| a.0.cmp(&b.0));
        self.inventory.sort_by(|a, b| a.0.cmp(&b.0));
        self.loyalty.sort_by(|a, b| a.0.cmp(&b.0));
    }
}
