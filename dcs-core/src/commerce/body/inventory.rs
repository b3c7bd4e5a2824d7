//! Inventory bodies: stock received, sold, transferred, adjusted, and low-stock alerts.

use alloc::string::String;

use serde::{Deserialize, Serialize};

use crate::commerce::Sku;
use crate::ids::BranchId;

/// Stock that arrived at or left a branch (INVENTORY_RECEIVED, INVENTORY_SOLD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockMovement {
    /// The branch whose stock changes.
    pub branch: BranchId,
    /// The product.
    pub sku: Sku,
    /// Units moved.
    pub quantity: u32,
}

/// Stock moved between branches (INVENTORY_TRANSFERRED_OUT, INVENTORY_TRANSFERRED_IN).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockTransfer {
    /// The branch whose stock changes.
    pub branch: BranchId,
    /// The other branch (destination of an outgoing transfer, origin of an incoming one).
    pub counterparty: BranchId,
    /// The product.
    pub sku: Sku,
    /// Units moved.
    pub quantity: u32,
}

/// A correction after a count, damage or loss (INVENTORY_ADJUSTED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockAdjustment {
    /// The branch whose stock changes.
    pub branch: BranchId,
    /// The product.
    pub sku: Sku,
    /// Units added (positive) or removed (negative).
    pub delta: i64,
    /// Why (e.g. `"cycle count"`).
    pub reason: String,
}

/// Stock of a SKU fell below its threshold (LOW_STOCK_ALERT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LowStock {
    /// The branch.
    pub branch: BranchId,
    /// The product.
    pub sku: Sku,
    /// Units on hand.
    pub on_hand: i64,
    /// The threshold it fell below.
    pub threshold: i64,
}
