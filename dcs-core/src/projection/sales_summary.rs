//! Daily sales summary per tenant, branch, business day and currency.

use alloc::collections::BTreeMap;
use core::fmt;

use serde::{Deserialize, Serialize};

use super::{Projection, ProjectionContext};
use crate::commerce::body::SaleRefund;
use crate::commerce::{BusinessDay, EventBody};
use crate::error::{CoreError, Result};
use crate::ids::{BranchId, TenantId};
use crate::money::{Currency, Money};

/// The key of one summary row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SummaryKey {
    /// The tenant.
    pub tenant: TenantId,
    /// The branch.
    pub branch: BranchId,
    /// The business day.
    pub day: BusinessDay,
    /// The currency of the amounts.
    pub currency: Currency,
}

/// One row of the summary. Always `net + tax + refunds == gross`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailySales {
    /// Completed sales.
    pub sales_count: u64,
    /// Refunds and reversals of completed sales.
    pub refund_count: u64,
    /// Σ totals of completed sales: what customers paid, tax included.
    pub gross: Money,
    /// Σ discounts of completed sales (informational; already out of `gross`).
    pub discounts: Money,
    /// Σ totals given back by refunds and reversals, tax included.
    pub refunds: Money,
    /// Σ tax of sales − Σ tax given back.
    pub tax: Money,
    /// Σ net of sales − Σ net given back: revenue without tax.
    pub net: Money,
}

impl DailySales {
    /// An empty row in `currency`.
    pub fn zero(currency: Currency) -> Self {
        let z = Money::zero(currency);
        DailySales {
            sales_count: 0,
            refund_count: 0,
            gross: z,
            discounts: z,
            refunds: z,
            tax: z,
            net: z,
        }
    }

    fn refund(&mut self, r: &SaleRefund) -> Result<()> {
        self.refund_count =
            self.refund_count.checked_add(1).ok_or(CoreError::Overflow("refund count"))?;
        self.refunds = self.refunds.checked_add(r.total)?;
        self.tax = self.tax.checked_sub(r.tax)?;
        self.net = self.net.checked_sub(r.net)?;
        Ok(())
    }
}

impl fmt::Display for DailySales {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} sales, {} refunds: gross {}, discounts {}, refunds {}, tax {}, net {}",
            self.sales_count,
            self.refund_count,
            self.gross,
            self.discounts,
            self.refunds,
            self.tax,
            self.net
        )
    }
}

/// The daily sales summary: a fold of SALE_COMPLETED, SALE_PARTIALLY_REFUNDED and
/// SALE_REVERSED bodies. A refund counts on its own day, not on the day of the sale; a
/// reversal of a sale that never completed (no lines) is ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesSummary {
    rows: BTreeMap<SummaryKey, DailySales>,
}

impl SalesSummary {
    /// An empty summary.
    pub fn new() -> Self {
        Self::default()
    }

    /// The row of a branch, day and currency, if any sale or refund counted there.
    pub fn get(
        &self,
        tenant: &TenantId,
        branch: &BranchId,
        day: BusinessDay,
        currency: Currency,
    ) -> Option<&DailySales> {
        self.rows.get(&SummaryKey { tenant: tenant.clone(), branch: branch.clone(), day, currency })
    }

    /// Every row, ordered by tenant, branch, day and currency.
    pub fn rows(&self) -> impl Iterator<Item = (&SummaryKey, &DailySales)> {
        self.rows.iter()
    }

    fn row(&mut self, ctx: &ProjectionContext, currency: Currency) -> &mut DailySales {
        let key = SummaryKey {
            tenant: ctx.tenant.clone(),
            branch: ctx.branch.clone(),
            day: ctx.day,
            currency,
        };
        self.rows.entry(key).or_insert(DailySales::zero(currency))
    }
}

impl Projection for SalesSummary {
    fn apply(&mut self, ctx: &ProjectionContext, body: &EventBody) -> Result<()> {
        match body {
            EventBody::SaleCompleted(s) => {
                let t = &s.totals;
                let row = self.row(ctx, t.total.currency());
                row.sales_count =
                    row.sales_count.checked_add(1).ok_or(CoreError::Overflow("sales count"))?;
                row.gross = row.gross.checked_add(t.total)?;
                row.discounts = row.discounts.checked_add(t.discount)?;
                row.tax = row.tax.checked_add(t.tax)?;
                row.net = row.net.checked_add(t.net)?;
                Ok(())
            }
            EventBody::SalePartiallyRefunded(r) | EventBody::SaleReversed(r)
                if !r.lines.is_empty() =>
            {
                self.row(ctx, r.total.currency()).refund(r)
            }
            _ => Ok(()),
        }
    }
}
