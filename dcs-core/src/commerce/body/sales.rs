//! Sale bodies: a sale as initiated or completed, and refunds and reversals of it.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::commerce::{CustomerId, RefundId, SaleId, SaleLine, SaleTotals, Sku, TaxPolicy};
use crate::money::Money;

/// A sale with its priced lines (the body of SALE_INITIATED and SALE_COMPLETED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleRecord {
    /// The sale.
    pub sale_id: SaleId,
    /// How the sale was priced (tax pricing, rounding); refunds round with its mode.
    pub policy: TaxPolicy,
    /// The priced lines, one per SKU.
    pub lines: Vec<SaleLine>,
    /// The sums of the lines.
    pub totals: SaleTotals,
    /// The loyalty customer, if known.
    pub customer: Option<CustomerId>,
}

/// What is given back for one line of a refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLine {
    /// The product returned.
    pub sku: Sku,
    /// Units returned.
    pub quantity: u32,
    /// Net amount given back.
    pub net: Money,
    /// Tax given back.
    pub tax: Money,
    /// Gross amount given back (`net + tax`).
    pub gross: Money,
}

/// Money given back on a sale (the body of SALE_PARTIALLY_REFUNDED and SALE_REVERSED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleRefund {
    /// The sale refunded.
    pub sale_id: SaleId,
    /// The refund (or reversal) id, chosen by the caller.
    pub refund_id: RefundId,
    /// The lines given back (empty when a sale that never completed is voided).
    pub lines: Vec<RefundLine>,
    /// Σ net of the lines.
    pub net: Money,
    /// Σ tax of the lines.
    pub tax: Money,
    /// Σ gross of the lines: what the customer gets back.
    pub total: Money,
    /// The loyalty customer of the sale, if known.
    pub customer: Option<CustomerId>,
    /// Why (e.g. `"damaged"`).
    pub reason: String,
}
