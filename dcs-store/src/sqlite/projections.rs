//! Projections kept in the append transaction: daily sales, inventory and loyalty tables.
//!
//! Each appended event with its plaintext body is folded by dcs-core's projections into an
//! empty state; the resulting rows are deltas (every projection field is a sum) added to
//! the tables by upsert in the same transaction as the event rows. So the tables always
//! match the log, and [`SqliteStore::rebuild_projections`] can refold the whole log and
//! must produce the same rows.

use dcs_core::commerce::{BusinessDay, CustomerId, EventBody, Sku};
use dcs_core::projection::{
    CustomerLoyalty, DailySales, InventoryLevels, LoyaltyLedger, LoyaltyProgram, Projection,
    ProjectionContext, SalesSummary, StockKey, StockLevel, SummaryKey,
};
use dcs_core::{BranchId, Currency, Money, SovereignFinancialEvent, TenantId};
use rusqlite::{Connection, params};

use super::{SqliteStore, map_err};
use crate::error::{Result, StoreError};

/// How events count in the projections: the store's time zone and its loyalty program.
#[derive(Debug, Clone, Default)]
pub struct Projector {
    /// The store's local time as minutes east of UTC (business days follow it).
    pub utc_offset_minutes: i32,
    /// The loyalty program, if the tenant runs one.
    pub loyalty: Option<LoyaltyProgram>,
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

/// In-memory folds of one or more events.
struct Folds {
    sales: SalesSummary,
    inventory: InventoryLevels,
    loyalty: Option<LoyaltyLedger>,
}

impl Folds {
    fn new(projector: &Projector) -> Self {
        Folds {
            sales: SalesSummary::new(),
            inventory: InventoryLevels::new(),
            loyalty: projector.loyalty.clone().map(LoyaltyLedger::new),
        }
    }

    fn apply(
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
        let ctx = ProjectionContext::of_event(event, projector.utc_offset_minutes)?;
        self.sales.apply(&ctx, body)?;
        self.inventory.apply(&ctx, body)?;
        if let Some(l) = &mut self.loyalty {
            l.apply(&ctx, body)?;
        }
        Ok(())
    }

    fn rows(&self) -> ProjectionRows {
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

/// Adds `rows` to the tables (every field is a sum).
fn add_rows(conn: &Connection, rows: &ProjectionRows) -> Result<()> {
    let mut sales = conn
        .prepare_cached(
            "INSERT INTO projection_sales_summary VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (tenant_id, branch_id, day, currency) DO UPDATE SET
               sales_count = sales_count + excluded.sales_count,
               refund_count = refund_count + excluded.refund_count,
               gross = gross + excluded.gross, discounts = discounts + excluded.discounts,
               refunds = refunds + excluded.refunds, tax = tax + excluded.tax, net = net + excluded.net",
        )
        .map_err(map_err)?;
    for (k, d) in &rows.sales {
        sales
            .execute(params![
                k.tenant.as_str(),
                k.branch.as_str(),
                k.day.days(),
                k.currency.code(),
                k.currency.exponent(),
                d.sales_count,
                d.refund_count,
                d.gross.minor(),
                d.discounts.minor(),
                d.refunds.minor(),
                d.tax.minor(),
                d.net.minor()
            ])
            .map_err(map_err)?;
    }
    let mut stock = conn
        .prepare_cached(
            "INSERT INTO projection_inventory VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (tenant_id, branch_id, sku) DO UPDATE SET
               received = received + excluded.received, sold = sold + excluded.sold,
               transferred_out = transferred_out + excluded.transferred_out,
               transferred_in = transferred_in + excluded.transferred_in,
               adjusted = adjusted + excluded.adjusted",
        )
        .map_err(map_err)?;
    for (k, l) in &rows.inventory {
        stock
            .execute(params![
                k.tenant.as_str(),
                k.branch.as_str(),
                k.sku.as_str(),
                l.received,
                l.sold,
                l.transferred_out,
                l.transferred_in,
                l.adjusted
            ])
            .map_err(map_err)?;
    }
    let mut loyalty = conn
        .prepare_cached(
            "INSERT INTO projection_customer_loyalty VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (tenant_id, customer_id) DO UPDATE SET
               purchases = purchases + excluded.purchases, net_spend = net_spend + excluded.net_spend",
        )
        .map_err(map_err)?;
    for ((tenant, customer), c) in &rows.loyalty {
        loyalty
            .execute(params![tenant.as_str(), customer.as_str(), c.purchases, c.net_spend])
            .map_err(map_err)?;
    }
    Ok(())
}

/// Folds a batch into deltas and adds them to the tables (inside the caller's transaction).
pub(super) fn project_batch(
    conn: &Connection,
    projector: &Projector,
    events: &[SovereignFinancialEvent],
    bodies: &[EventBody],
) -> Result<()> {
    let mut folds = Folds::new(projector);
    for (event, body) in events.iter().zip(bodies) {
        folds.apply(projector, event, body)?;
    }
    add_rows(conn, &folds.rows())
}

fn read_rows(conn: &Connection) -> Result<ProjectionRows> {
    let bad = |what: &str, e: dcs_core::CoreError| StoreError::Corrupt(format!("{what}: {e}"));
    let mut out = ProjectionRows::default();
    let mut stmt = conn
        .prepare("SELECT tenant_id, branch_id, day, currency, exponent, sales_count, refund_count, gross, discounts, refunds, tax, net FROM projection_sales_summary")
        .map_err(map_err)?;
    let mut rows = stmt.query([]).map_err(map_err)?;
    while let Some(r) = rows.next().map_err(map_err)? {
        let code: String = r.get(3).map_err(map_err)?;
        let currency = Currency::custom(&code, r.get(4).map_err(map_err)?)
            .map_err(|e| bad("sales currency", e))?;
        let m = |i: usize| -> Result<Money> {
            Ok(Money::from_minor(r.get(i).map_err(map_err)?, currency))
        };
        let key = SummaryKey {
            tenant: TenantId::new(r.get::<_, String>(0).map_err(map_err)?)
                .map_err(|e| bad("sales tenant", e))?,
            branch: BranchId::new(r.get::<_, String>(1).map_err(map_err)?)
                .map_err(|e| bad("sales branch", e))?,
            day: BusinessDay::from_days(r.get(2).map_err(map_err)?),
            currency,
        };
        let row = DailySales {
            sales_count: r.get(5).map_err(map_err)?,
            refund_count: r.get(6).map_err(map_err)?,
            gross: m(7)?,
            discounts: m(8)?,
            refunds: m(9)?,
            tax: m(10)?,
            net: m(11)?,
        };
        out.sales.push((key, row));
    }
    let mut stmt = conn
        .prepare("SELECT tenant_id, branch_id, sku, received, sold, transferred_out, transferred_in, adjusted FROM projection_inventory")
        .map_err(map_err)?;
    let mut rows = stmt.query([]).map_err(map_err)?;
    while let Some(r) = rows.next().map_err(map_err)? {
        let key = StockKey {
            tenant: TenantId::new(r.get::<_, String>(0).map_err(map_err)?)
                .map_err(|e| bad("stock tenant", e))?,
            branch: BranchId::new(r.get::<_, String>(1).map_err(map_err)?)
                .map_err(|e| bad("stock branch", e))?,
            sku: Sku::new(r.get::<_, String>(2).map_err(map_err)?)
                .map_err(|e| bad("stock sku", e))?,
        };
        let level = StockLevel {
            received: r.get(3).map_err(map_err)?,
            sold: r.get(4).map_err(map_err)?,
            transferred_out: r.get(5).map_err(map_err)?,
            transferred_in: r.get(6).map_err(map_err)?,
            adjusted: r.get(7).map_err(map_err)?,
        };
        out.inventory.push((key, level));
    }
    let mut stmt = conn
        .prepare(
            "SELECT tenant_id, customer_id, purchases, net_spend FROM projection_customer_loyalty",
        )
        .map_err(map_err)?;
    let mut rows = stmt.query([]).map_err(map_err)?;
    while let Some(r) = rows.next().map_err(map_err)? {
        let tenant = TenantId::new(r.get::<_, String>(0).map_err(map_err)?)
            .map_err(|e| bad("loyalty tenant", e))?;
        let customer = CustomerId::new(r.get::<_, String>(1).map_err(map_err)?)
            .map_err(|e| bad("loyalty customer", e))?;
        let c = CustomerLoyalty {
            purchases: r.get(2).map_err(map_err)?,
            net_spend: r.get(3).map_err(map_err)?,
        };
        out.loyalty.push(((tenant, customer), c));
    }
    out.sales.sort_by(|a, b| a.0.cmp(&b.0));
    out.inventory.sort_by(|a, b| a.0.cmp(&b.0));
    out.loyalty.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

impl SqliteStore {
    /// The projection tables as they are now, ordered by key.
    pub fn projection_rows(&self) -> Result<ProjectionRows> {
        read_rows(&self.lock())
    }

    /// Refolds the whole log and replaces the projection tables with the result.
    ///
    /// `open` gives the plaintext body of a stored event (decrypting its envelope), or
    /// `None` for an event that carries no projected fact. Returns the rebuilt rows; they
    /// equal [`projection_rows`](Self::projection_rows) from before whenever every event was
    /// appended with its body.
    pub fn rebuild_projections(
        &self,
        mut open: impl FnMut(&SovereignFinancialEvent) -> Result<Option<EventBody>>,
    ) -> Result<ProjectionRows> {
        let projector = &self.projector;
        let mut folds = Folds::new(projector);
        let mut from = 1;
        loop {
            let page = self.read_all_sync(from, 10_000)?;
            let Some(last) = page.last() else { break };
            from = last.position + 1;
            for stored in &page {
                if let Some(body) = open(&stored.event)? {
                    folds.apply(projector, &stored.event, &body)?;
                }
            }
        }
        let rows = folds.rows();
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(map_err)?;
        tx.execute_batch(
            "DELETE FROM projection_sales_summary; DELETE FROM projection_inventory;
             DELETE FROM projection_customer_loyalty;",
        )
        .map_err(map_err)?;
        add_rows(&tx, &rows)?;
        tx.commit().map_err(map_err)?;
        Ok(rows)
    }
}
