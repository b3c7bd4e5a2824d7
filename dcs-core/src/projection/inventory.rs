//! Stock levels per tenant, branch and SKU.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::{Projection, ProjectionContext};
use crate::commerce::body::LowStock;
use crate::commerce::{EventBody, Sku};
use crate::error::{CoreError, Result};
use crate::ids::{BranchId, TenantId};

/// The key of one stock row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StockKey {
    /// The tenant.
    pub tenant: TenantId,
    /// The branch holding the stock.
    pub branch: BranchId,
    /// The product.
    pub sku: Sku,
}

/// The movements of one SKU at one branch, in units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    /// Σ INVENTORY_RECEIVED.
    pub received: i64,
    /// Σ INVENTORY_SOLD.
    pub sold: i64,
    /// Σ INVENTORY_TRANSFERRED_OUT.
    pub transferred_out: i64,
    /// Σ INVENTORY_TRANSFERRED_IN.
    pub transferred_in: i64,
    /// Σ INVENTORY_ADJUSTED deltas.
    pub adjusted: i64,
}

impl StockLevel {
    /// Units on hand: received − sold − transferred out + transferred in + adjusted. It can
    /// be negative when offline terminals sold more than the books knew of.
    pub fn on_hand(&self) -> Result<i64> {
        let overflow = || CoreError::Overflow("stock level");
        self.received
            .checked_sub(self.sold)
            .and_then(|v| v.checked_sub(self.transferred_out))
            .and_then(|v| v.checked_add(self.transferred_in))
            .and_then(|v| v.checked_add(self.adjusted))
            .ok_or_else(overflow)
    }
}

/// Stock levels: a fold of the INVENTORY_* bodies, keyed by the branch named in the body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryLevels {
    rows: BTreeMap<StockKey, StockLevel>,
}

fn bump(field: &mut i64, by: i64) -> Result<()> {
    *field = field.checked_add(by).ok_or(CoreError::Overflow("stock level"))?;
    Ok(())
}

impl InventoryLevels {
    /// No stock anywhere.
    pub fn new() -> Self {
        Self::default()
    }

    /// The movements of `sku` at `branch` (all zero if none).
    pub fn level(&self, tenant: &TenantId, branch: &BranchId, sku: &Sku) -> StockLevel {
        let key = StockKey { tenant: tenant.clone(), branch: branch.clone(), sku: sku.clone() };
        self.rows.get(&key).copied().unwrap_or_default()
    }

    /// Units of `sku` on hand at `branch`.
    pub fn on_hand(&self, tenant: &TenantId, branch: &BranchId, sku: &Sku) -> Result<i64> {
        self.level(tenant, branch, sku).on_hand()
    }

    /// Every row, ordered by tenant, branch and SKU.
    pub fn rows(&self) -> impl Iterator<Item = (&StockKey, &StockLevel)> {
        self.rows.iter()
    }

    /// LOW_STOCK_ALERT bodies for every SKU of `tenant` at `branch` with fewer than
    /// `threshold` units on hand, in SKU order.
    pub fn low_stock(
        &self,
        tenant: &TenantId,
        branch: &BranchId,
        threshold: i64,
    ) -> Result<Vec<EventBody>> {
        let mut out = Vec::new();
        for (key, level) in &self.rows {
            if &key.tenant != tenant || &key.branch != branch {
                continue;
            }
            let on_hand = level.on_hand()?;
            if on_hand < threshold {
                out.push(EventBody::LowStockAlert(LowStock {
                    branch: key.branch.clone(),
                    sku: key.sku.clone(),
                    on_hand,
                    threshold,
                }));
            }
        }
        Ok(out)
    }

    fn row(&mut self, ctx: &ProjectionContext, branch: &BranchId, sku: &Sku) -> &mut StockLevel {
        let key = StockKey { tenant: ctx.tenant.clone(), branch: branch.clone(), sku: sku.clone() };
        self.rows.entry(key).or_default()
    }
}

impl Projection for InventoryLevels {
    fn apply(&mut self, ctx: &ProjectionContext, body: &EventBody) -> Result<()> {
        match body {
            EventBody::InventoryReceived(m) => {
                bump(&mut self.row(ctx, &m.branch, &m.sku).received, m.quantity.into())
            }
            EventBody::InventorySold(m) => {
                bump(&mut self.row(ctx, &m.branch, &m.sku).sold, m.quantity.into())
            }
            EventBody::InventoryTransferredOut(t) => {
                bump(&mut self.row(ctx, &t.branch, &t.sku).transferred_out, t.quantity.into())
            }
            EventBody::InventoryTransferredIn(t) => {
                bump(&mut self.row(ctx, &t.branch, &t.sku).transferred_in, t.quantity.into())
            }
            EventBody::InventoryAdjusted(a) => {
                bump(&mut self.row(ctx, &a.branch, &a.sku).adjusted, a.delta)
            }
            _ => Ok(()),
        }
    }
}
