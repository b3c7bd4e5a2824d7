//! The store's projections as typed Python objects: `Projections` holding `SalesDay`,
//! `StockRow` and `LoyaltyRow` lists, each with plain attributes.

use pyo3::prelude::*;

use crate::money::Money;

/// One day of sales of a branch in one currency.
#[pyclass(module = "dcs", frozen, get_all, eq, from_py_object)]
#[derive(Clone, PartialEq, Eq)]
pub struct SalesDay {
    /// The tenant.
    tenant: String,
    /// The branch.
    branch: String,
    /// The business day, `YYYY-MM-DD` in the store's time zone.
    day: String,
    /// The currency code.
    currency: String,
    /// Completed sales.
    sales_count: u64,
    /// Refunds and reversals.
    refund_count: u64,
    /// Gross sales.
    gross: Money,
    /// Discounts given.
    discounts: Money,
    /// Money given back.
    refunds: Money,
    /// Tax collected.
    tax: Money,
    /// Net sales.
    net: Money,
}

#[pymethods]
impl SalesDay {
    fn __repr__(&self) -> String {
        format!(
            "SalesDay({}/{} {} {}: {} sale(s), {} refund(s))",
            self.tenant, self.branch, self.day, self.currency, self.sales_count, self.refund_count
        )
    }
}

/// Stock movements of one SKU at a branch.
#[pyclass(module = "dcs", frozen, get_all, eq, from_py_object)]
#[derive(Clone, PartialEq, Eq)]
pub struct StockRow {
    /// The tenant.
    tenant: String,
    /// The branch.
    branch: String,
    /// The SKU.
    sku: String,
    /// Units received.
    received: i64,
    /// Units sold.
    sold: i64,
    /// Units sent to other branches.
    transferred_out: i64,
    /// Units received from other branches.
    transferred_in: i64,
    /// Net count adjustments.
    adjusted: i64,
    /// received − sold − out + in + adjusted.
    on_hand: i64,
}

#[pymethods]
impl StockRow {
    fn __repr__(&self) -> String {
        format!("StockRow({}/{} {}: {} on hand)", self.tenant, self.branch, self.sku, self.on_hand)
    }
}

/// A customer's loyalty totals.
#[pyclass(module = "dcs", frozen, get_all, eq, from_py_object)]
#[derive(Clone, PartialEq, Eq)]
pub struct LoyaltyRow {
    /// The tenant.
    tenant: String,
    /// The customer id.
    customer: String,
    /// Completed purchases.
    purchases: u64,
    /// Net spend in minor units of the program's currency.
    net_spend_minor: i64,
}

#[pymethods]
impl LoyaltyRow {
    fn __repr__(&self) -> String {
        format!("LoyaltyRow({}/{}: {} purchase(s))", self.tenant, self.customer, self.purchases)
    }
}

/// The three projections, each a list ordered by key.
#[pyclass(module = "dcs", frozen, get_all, eq)]
#[derive(Clone, PartialEq, Eq)]
pub struct Projections {
    /// Daily sales per tenant, branch, day and currency.
    sales: Vec<SalesDay>,
    /// Stock per tenant, branch and SKU.
    inventory: Vec<StockRow>,
    /// Loyalty per tenant and customer.
    loyalty: Vec<LoyaltyRow>,
}

#[pymethods]
impl Projections {
    fn __repr__(&self) -> String {
        format!(
            "Projections({} sales day(s), {} stock row(s), {} loyalty row(s))",
            self.sales.len(),
            self.inventory.len(),
            self.loyalty.len()
        )
    }
}

impl Projections {
    /// Converts the store's rows; a stock level that overflows is an error, not a wrap.
    pub(super) fn from_rows(rows: &dcs_store::ProjectionRows) -> PyResult<Self> {
        let sales = rows
            .sales
            .iter()
            .map(|(key, d)| SalesDay {
                tenant: key.tenant.to_string(),
                branch: key.branch.to_string(),
                day: key.day.to_string(),
                currency: key.currency.code().to_string(),
                sales_count: d.sales_count,
                refund_count: d.refund_count,
                gross: Money { inner: d.gross },
                discounts: Money { inner: d.discounts },
                refunds: Money { inner: d.refunds },
                tax: Money { inner: d.tax },
                net: Money { inner: d.net },
            })
            .collect();
        let inventory = rows
            .inventory
            .iter()
            .map(|(key, l)| {
                Ok(StockRow {
                    tenant: key.tenant.to_string(),
                    branch: key.branch.to_string(),
                    sku: key.sku.to_string(),
                    received: l.received,
                    sold: l.sold,
                    transferred_out: l.transferred_out,
                    transferred_in: l.transferred_in,
                    adjusted: l.adjusted,
                    on_hand: l.on_hand().map_err(crate::errors::py)?,
                })
            })
            .collect::<PyResult<_>>()?;
        let loyalty = rows
            .loyalty
            .iter()
            .map(|((tenant, customer), c)| LoyaltyRow {
                tenant: tenant.to_string(),
                customer: customer.to_string(),
                purchases: c.purchases,
                net_spend_minor: c.net_spend,
            })
            .collect();
        Ok(Projections { sales, inventory, loyalty })
    }
}

/// Adds the projection classes to the module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Projections>()?;
    m.add_class::<SalesDay>()?;
    m.add_class::<StockRow>()?;
    m.add_class::<LoyaltyRow>()?;
    Ok(())
}
