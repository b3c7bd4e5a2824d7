//! Priced sale lines and sale totals, as carried by cart totals and sale events.

use alloc::string::String;

use serde::{Deserialize, Serialize};

use super::Sku;
use crate::error::Result;
use crate::money::{Currency, Money};

/// One priced line of a sale. Always `net + tax == gross`, and
/// `unit_price × quantity − line_discount − cart_discount` is `net` when prices exclude
/// tax and `gross` when they include it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleLine {
    /// The product sold.
    pub sku: Sku,
    /// The product name at the time of sale.
    pub name: String,
    /// Units sold.
    pub quantity: u32,
    /// Price of one unit, as in the catalog.
    pub unit_price: Money,
    /// The discount on this line.
    pub line_discount: Money,
    /// This line's share of the cart discount.
    pub cart_discount: Money,
    /// The amount without tax.
    pub net: Money,
    /// The tax of the line.
    pub tax: Money,
    /// The amount with tax: what the customer pays for the line.
    pub gross: Money,
}

impl SaleLine {
    /// `unit_price × quantity`.
    pub fn extended(&self) -> Result<Money> {
        self.unit_price.checked_mul(i64::from(self.quantity))
    }

    /// Both discounts of the line.
    pub fn discount(&self) -> Result<Money> {
        self.line_discount.checked_add(self.cart_discount)
    }
}

/// The sums over the lines of a sale. `net + tax == total` and
/// `subtotal − discount` is `net` (exclusive prices) or `total` (inclusive prices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleTotals {
    /// Σ `unit_price × quantity`.
    pub subtotal: Money,
    /// Σ line and cart discounts.
    pub discount: Money,
    /// Σ net.
    pub net: Money,
    /// Σ tax.
    pub tax: Money,
    /// Σ gross: what the customer pays.
    pub total: Money,
}

impl SaleTotals {
    /// Zero totals in `currency`.
    pub fn zero(currency: Currency) -> Self {
        let z = Money::zero(currency);
        SaleTotals { subtotal: z, discount: z, net: z, tax: z, total: z }
    }

    /// Sums `lines`, which must all be in `currency`.
    pub fn of_lines<'a>(
        currency: Currency,
        lines: impl IntoIterator<Item = &'a SaleLine>,
    ) -> Result<Self> {
        let mut t = SaleTotals::zero(currency);
        for l in lines {
            t.subtotal = t.subtotal.checked_add(l.extended()?)?;
            t.discount = t.discount.checked_add(l.discount()?)?;
            t.net = t.net.checked_add(l.net)?;
            t.tax = t.tax.checked_add(l.tax)?;
            t.total = t.total.checked_add(l.gross)?;
        }
        Ok(t)
    }
}
