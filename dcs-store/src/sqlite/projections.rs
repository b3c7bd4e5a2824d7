//! SQLite projection tables (daily sales, inventory, loyalty) kept in the append transaction.
//!
//! The deltas come from [`crate::projection`]; they are added by upsert in the same
//! transaction as the event rows, so the tables always match the log, and
//! [`SqliteStore::rebuild_projections`] refolds the whole log to the same rows.

use dcs_core::SovereignFinancialEvent;
use dcs_core::commerce::EventBody;
use rusqlite::{Connection, params};

use crate::projection::{
    Folds, Opened, ProjectionRows, Projector, loyalty_row, sales_row, stock_row,
};

use super::{SqliteStore, map_err};
use crate::error::Result;

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
pub(super) fn project_batch<'a>(
    conn: &Connection,
    projector: &Projector,
    facts: impl Iterator<Item = (&'a SovereignFinancialEvent, &'a EventBody)>,
) -> Result<()> {
    let mut folds = Folds::new(projector);
    for (event, body) in facts {
        folds.apply(projector, event, body)?;
    }
    add_rows(conn, &folds.rows())
}

fn read_rows(conn: &Connection) -> Result<ProjectionRows> {
    let mut out = ProjectionRows::default();
    let mut stmt = conn
        .prepare(
            "SELECT tenant_id, branch_id, day, currency, exponent, sales_count, refund_count,
                    gross, discounts, refunds, tax, net FROM projection_sales_summary",
        )
        .map_err(map_err)?;
    let mut rows = stmt.query([]).map_err(map_err)?;
    while let Some(r) = rows.next().map_err(map_err)? {
        let g = |i| r.get::<_, i64>(i).map_err(map_err);
        let code: String = r.get(3).map_err(map_err)?;
        out.sales.push(sales_row(
            r.get(0).map_err(map_err)?,
            r.get(1).map_err(map_err)?,
            r.get(2).map_err(map_err)?,
            (&code, r.get(4).map_err(map_err)?),
            [r.get(5).map_err(map_err)?, r.get(6).map_err(map_err)?],
            [g(7)?, g(8)?, g(9)?, g(10)?, g(11)?],
        )?);
    }
    let mut stmt = conn
        .prepare(
            "SELECT tenant_id, branch_id, sku, received, sold, transferred_out, transferred_in,
                    adjusted FROM projection_inventory",
        )
        .map_err(map_err)?;
    let mut rows = stmt.query([]).map_err(map_err)?;
    while let Some(r) = rows.next().map_err(map_err)? {
        let g = |i| r.get::<_, i64>(i).map_err(map_err);
        out.inventory.push(stock_row(
            r.get(0).map_err(map_err)?,
            r.get(1).map_err(map_err)?,
            r.get(2).map_err(map_err)?,
            [g(3)?, g(4)?, g(5)?, g(6)?, g(7)?],
        )?);
    }
    let mut stmt = conn
        .prepare(
            "SELECT tenant_id, customer_id, purchases, net_spend FROM projection_customer_loyalty",
        )
        .map_err(map_err)?;
    let mut rows = stmt.query([]).map_err(map_err)?;
    while let Some(r) = rows.next().map_err(map_err)? {
        out.loyalty.push(loyalty_row(
            r.get(0).map_err(map_err)?,
            r.get(1).map_err(map_err)?,
            r.get(2).map_err(map_err)?,
            r.get(3).map_err(map_err)?,
        )?);
    }
    out.sort();
    Ok(out)
}

impl SqliteStore {
    /// The projection tables as they are now, ordered by key.
    pub fn projection_rows(&self) -> Result<ProjectionRows> {
        read_rows(&self.lock())
    }

    /// Refolds the whole log and replaces the projection tables with the result.
    ///
    /// `open` says what a stored event holds ([`open_fact`](crate::projection::open_fact)
    /// with the tenant keys is the usual one): its body, no fact, or nothing any more
    /// because its tenant was crypto-shredded; shredded tenants' events are skipped and the
    /// other tenants rebuilt. Returns the rebuilt rows; they equal
    /// [`projection_rows`](Self::projection_rows) from before whenever every event was
    /// appended with its body (and no tenant was shredded since).
    pub fn rebuild_projections(
        &self,
        mut open: impl FnMut(&SovereignFinancialEvent) -> Result<Opened>,
    ) -> Result<ProjectionRows> {
        self.writable("rebuild_projections")?;
        let projector = &self.projector;
        let mut folds = Folds::new(projector);
        let mut from = 1;
        loop {
            let page = self.read_all_sync(from, 10_000)?;
            let Some(last) = page.last() else { break };
            from = last.position + 1;
            for stored in &page {
                if let Opened::Body(body) = open(&stored.event)? {
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
