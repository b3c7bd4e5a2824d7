//! Payment bodies: authorizations, captures, refunds and failures.

use alloc::string::String;

use serde::{Deserialize, Serialize};

use crate::commerce::SaleId;
use crate::money::Money;

/// How a customer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tender {
    /// Cash in the drawer (counted by the POS session).
    Cash,
    /// Debit or credit card.
    Card,
    /// A mobile wallet.
    Mobile,
    /// A voucher or gift card.
    Voucher,
    /// Any other tender.
    Other,
}

/// A payment of a sale: authorized, captured or refunded (by the event type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// The sale paid.
    pub sale_id: SaleId,
    /// How it is paid.
    pub tender: Tender,
    /// How much (positive).
    pub amount: Money,
}

/// A payment attempt that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentFailure {
    /// The sale.
    pub sale_id: SaleId,
    /// The tender tried.
    pub tender: Tender,
    /// The amount tried.
    pub amount: Money,
    /// Why it failed (e.g. `"card declined"`).
    pub reason: String,
}
