//! PostgreSQL projection tables, updated by upsert in the ingest transaction.

use tokio_postgres::Transaction;

use super::map_pg;
use crate::error::Result;
use crate::projection::{ProjectionRows, loyalty_row, sales_row, stock_row};

/// Adds the delta `rows` to the tables (every field is a sum), one statement per table.
pub(super) async fn add_rows(tx: &Transaction<'_>, rows: &ProjectionRows) -> Result<()> {
    for (k, d) in &rows.sales {
        tx.execute(
            "INSERT INTO projection_sales_summary AS p VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (tenant_id, branch_id, day, currency) DO UPDATE SET
               sales_count = p.sales_count + excluded.sales_count,
               refund_count = p.refund_count + excluded.refund_count,
               gross = p.gross + excluded.gross, discounts = p.discounts + excluded.discounts,
               refunds = p.refunds + excluded.refunds, tax = p.tax + excluded.tax, net = p.net + excluded.net",
            &[
                &k.tenant.as_str(),
                &k.branch.as_str(),
                &k.day.days(),
                &k.currency.code(),
                &i16::from(k.currency.exponent()),
                &(d.sales_count as i64),
                &(d.refund_count as i64),
                &d.gross.minor(),
                &d.discounts.minor(),
                &d.refunds.minor(),
                &d.tax.minor(),
                &d.net.minor(),
            ],
        )
        .await
        .map_err(map_pg)?;
    }
    for (k, l) in &rows.inventory {
        tx.execute(
            "INSERT INTO projection_inventory AS p VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (tenant_id, branch_id, sku) DO UPDATE SET
               received = p.received + excluded.received, sold = p.sold + excluded.sold,
               transferred_out = p.transferred_out + excluded.transferred_out,
               transferred_in = p.transferred_in + excluded.transferred_in,
               adjusted = p.adjusted + excluded.adjusted",
            &[
                &k.tenant.as_str(),
                &k.branch.as_str(),
                &k.sku.as_str(),
                &l.received,
                &l.sold,
                &l.transferred_out,
                &l.transferred_in,
                &l.adjusted,
            ],
        )
        .await
        .map_err(map_pg)?;
    }
    for ((tenant, customer), c) in &rows.loyalty {
        tx.execute(
            "INSERT INTO projection_customer_loyalty AS p (tenant_id, customer_id, purchases, net_spend)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, customer_id) DO UPDATE SET
               purchases = p.purchases + excluded.purchases, net_spend = p.net_spend + excluded.net_spend",
            &[&tenant.as_str(), &customer.as_str(), &(c.purchases as i64), &c.net_spend],
        )
        .await
        .map_err(map_pg)?;
    }
    Ok(())
}

/// The projection rows this scope can see, ordered by key.
pub(super) async fn read_rows(tx: &Transaction<'_>) -> Result<ProjectionRows> {
    let mut out = ProjectionRows::default();
    for r in tx
        .query(
            "SELECT tenant_id, branch_id, day, currency::text, exponent, sales_count, refund_count,
                    gross, discounts, refunds, tax, net FROM projection_sales_summary",
            &[],
        )
        .await
        .map_err(map_pg)?
    {
        let code: String = r.get(3);
        let exponent: i16 = r.get(4);
        out.sales.push(sales_row(
            r.get(0),
            r.get(1),
            r.get(2),
            (&code, u8::try_from(exponent).unwrap_or(u8::MAX)),
            [r.get::<_, i64>(5) as u64, r.get::<_, i64>(6) as u64],
            [r.get(7), r.get(8), r.get(9), r.get(10), r.get(11)],
        )?);
    }
    for r in tx
        .query(
            "SELECT tenant_id, branch_id, sku, received, sold, transferred_out, transferred_in, adjusted
             FROM projection_inventory",
            &[],
        )
        .await
        .map_err(map_pg)?
    {
        out.inventory.push(stock_row(
            r.get(0),
            r.get(1),
            r.get(2),
            [r.get(3), r.get(4), r.get(5), r.get(6), r.get(7)],
        )?);
    }
    for r in tx
        .query(
            "SELECT tenant_id, customer_id, purchases, net_spend FROM projection_customer_loyalty",
            &[],
        )
        .await
        .map_err(map_pg)?
    {
        out.loyalty.push(loyalty_row(r.get(0), r.get(1), r.get::<_, i64>(2) as u64, r.get(3))?);
    }
    out.sort();
    Ok(out)
}
