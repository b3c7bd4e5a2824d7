//! The shopping cart: lines of products, line and cart discounts, and priced totals.

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::tax_engine::{TaxComponentTotal, allocate_or_zero, weight};
use super::{Discount, Product, SaleLine, SaleTotals, Sku, TaxEngine, TaxPolicy};
use crate::error::{CoreError, Result};
use crate::money::{Currency, Money};

/// One line of a cart: a product, how many, and an optional line discount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    product: Product,
    quantity: u32,
    discount: Option<Discount>,
}

impl CartLine {
    /// The product.
    pub fn product(&self) -> &Product {
        &self.product
    }

    /// The quantity (at least one).
    pub fn quantity(&self) -> u32 {
        self.quantity
    }

    /// The line discount, if any.
    pub fn discount(&self) -> Option<Discount> {
        self.discount
    }
}

/// A cart in one currency, one line per SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    currency: Currency,
    lines: Vec<CartLine>,
    discount: Option<Discount>,
}

/// A priced cart: its lines with discounts and tax, totals and tax per rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartTotals {
    /// The priced lines, in cart order.
    pub lines: Vec<SaleLine>,
    /// The sums of the lines.
    pub totals: SaleTotals,
    /// Tax per rate, for the receipt.
    pub taxes: Vec<TaxComponentTotal>,
    /// The policy the cart was priced with (a sale keeps it for refunds).
    pub policy: TaxPolicy,
}

impl Cart {
    /// An empty cart in `currency`.
    pub fn new(currency: Currency) -> Self {
        Cart { currency, lines: Vec::new(), discount: None }
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The lines.
    pub fn lines(&self) -> &[CartLine] {
        &self.lines
    }

    /// The cart discount, if any.
    pub fn discount(&self) -> Option<Discount> {
        self.discount
    }

    /// True when the cart has no lines.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    fn position(&self, sku: &Sku) -> Result<usize> {
        self.lines
            .iter()
            .position(|l| l.product.sku() == sku)
            .ok_or_else(|| CoreError::Rule(alloc::format!("SKU {sku} is not in the cart")))
    }

    /// Adds `quantity` (at least one) of `product`; adds to the line if the SKU is there.
    pub fn add(&mut self, product: Product, quantity: u32) -> Result<()> {
        if quantity == 0 {
            return Err(CoreError::InvalidField {
                field: "quantity",
                reason: "must be at least 1; use remove to take a line out".into(),
            });
        }
        let price = product.unit_price();
        if price.currency() != self.currency {
            return Err(CoreError::CurrencyMismatch {
                left: self.currency.code().into(),
                right: price.currency().code().into(),
            });
        }
        if let Ok(i) = self.position(product.sku()) {
            let line = &mut self.lines[i];
            if line.product != product {
                return Err(CoreError::Rule(alloc::format!(
                    "SKU {} is already in the cart as a different product (price {}): remove it first",
                    product.sku(),
                    line.product.unit_price()
                )));
            }
            line.quantity =
                line.quantity.checked_add(quantity).ok_or(CoreError::Overflow("cart quantity"))?;
            return Ok(());
        }
        self.lines.push(CartLine { product, quantity, discount: None });
        Ok(())
    }

    /// Removes the line of `sku`.
    pub fn remove(&mut self, sku: &Sku) -> Result<CartLine> {
        let i = self.position(sku)?;
        Ok(self.lines.remove(i))
    }

    /// Sets the quantity of the line of `sku`; zero removes the line.
    pub fn set_quantity(&mut self, sku: &Sku, quantity: u32) -> Result<()> {
        let i = self.position(sku)?;
        if quantity == 0 {
            self.lines.remove(i);
        } else {
            self.lines[i].quantity = quantity;
        }
        Ok(())
    }

    /// Sets (or clears with `None`) the discount of the line of `sku`.
    pub fn set_line_discount(&mut self, sku: &Sku, discount: Option<Discount>) -> Result<()> {
        if let Some(d) = &discount {
            d.validate(self.currency)?;
        }
        let i = self.position(sku)?;
        self.lines[i].discount = discount;
        Ok(())
    }

    /// Sets (or clears with `None`) the discount on the whole cart, which is allocated
    /// across the lines in proportion to their amounts after line discounts.
    pub fn set_cart_discount(&mut self, discount: Option<Discount>) -> Result<()> {
        if let Some(d) = &discount {
            d.validate(self.currency)?;
        }
        self.discount = discount;
        Ok(())
    }

    /// Prices the cart: line discounts, then the cart discount allocated over the lines
    /// with [`Money::allocate`] (so the shares sum exactly to it), then tax by `engine`.
    pub fn totals(&self, engine: &TaxEngine) -> Result<CartTotals> {
        let mode = engine.policy().mode;
        let mut extended = Vec::with_capacity(self.lines.len());
        let mut line_discounts = Vec::with_capacity(self.lines.len());
        let mut after = Vec::with_capacity(self.lines.len());
        for line in &self.lines {
            let ext = line.product.unit_price().checked_mul(i64::from(line.quantity))?;
            let off = match &line.discount {
                Some(d) => d.amount_of(ext, mode, line.product.sku().as_str())?,
                None => Money::zero(self.currency),
            };
            extended.push(ext);
            line_discounts.push(off);
            after.push(ext.checked_sub(off)?);
        }
        let subtotal_after = Money::sum(self.currency, &after)?;
        let cart_off = match &self.discount {
            Some(d) => d.amount_of(subtotal_after, mode, "the cart")?,
            None => Money::zero(self.currency),
        };
        let weights: Vec<u64> = after.iter().map(|m| weight(*m)).collect();
        let shares = allocate_or_zero(cart_off, &weights)?;
        let mut taxable = Vec::with_capacity(self.lines.len());
        for (line, (a, s)) in self.lines.iter().zip(after.iter().zip(&shares)) {
            taxable.push((line.product.tax_category(), a.checked_sub(*s)?));
        }
        let tax = engine.compute(self.currency, &taxable)?;
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, (line, t)) in self.lines.iter().zip(tax.lines).enumerate() {
            lines.push(SaleLine {
                sku: line.product.sku().clone(),
                name: line.product.name().into(),
                quantity: line.quantity,
                unit_price: line.product.unit_price(),
                line_discount: line_discounts[i],
                cart_discount: shares[i],
                net: t.net,
                tax: t.tax,
                gross: t.gross,
            });
        }
        let totals = SaleTotals::of_lines(self.currency, &lines)?;
        Ok(CartTotals { lines, totals, taxes: tax.components, policy: *engine.policy() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commerce::{TaxRate, TaxTable};
    use alloc::vec;

    fn usd(m: i64) -> Money {
        Money::from_minor(m, Currency::USD)
    }

    fn product(sku: &str, price: Money) -> Product {
        Product::new(sku, "Item", "misc", price, "std").unwrap()
    }

    fn engine() -> TaxEngine {
        let table =
            TaxTable::new().with("std", vec![TaxRate::new("VAT", 100_000).unwrap()]).unwrap();
        TaxEngine::new(table, TaxPolicy::default())
    }

    #[test]
    fn add_merges_and_set_quantity_removes() {
        let mut c = Cart::new(Currency::USD);
        c.add(product("A", usd(100)), 1).unwrap();
        c.add(product("A", usd(100)), 2).unwrap();
        assert_eq!(c.lines()[0].quantity(), 3);
        assert!(c.add(product("A", usd(101)), 1).is_err());
        assert!(c.add(product("B", usd(1)), 0).is_err());
        let a = Sku::new("A").unwrap();
        c.set_quantity(&a, 0).unwrap();
        assert!(c.is_empty());
        assert!(c.remove(&a).is_err());
        assert!(c.set_quantity(&a, 1).is_err());
    }

    #[test]
    fn mixed_currencies_are_rejected() {
        let mut c = Cart::new(Currency::USD);
        let eur = Money::from_minor(100, Currency::EUR);
        assert!(matches!(c.add(product("A", eur), 1), Err(CoreError::CurrencyMismatch { .. })));
        assert!(c.set_cart_discount(Some(Discount::Amount(eur))).is_err());
    }

    #[test]
    fn discounts_and_tax() {
        let mut c = Cart::new(Currency::USD);
        c.add(product("A", usd(1000)), 2).unwrap();
        c.add(product("B", usd(500)), 1).unwrap();
        let a = Sku::new("A").unwrap();
        c.set_line_discount(&a, Some(Discount::Percent(1_000))).unwrap();
        c.set_cart_discount(Some(Discount::Amount(usd(100)))).unwrap();
        let t = c.totals(&engine()).unwrap();
        // A: 20.00 − 2.00 = 18.00; B: 5.00; cart 1.00 split 18:5 → 0.78 + 0.22.
        assert_eq!(t.lines[0].cart_discount, usd(78));
        assert_eq!(t.lines[1].cart_discount, usd(22));
        assert_eq!(t.lines[0].net, usd(1722));
        assert_eq!(t.lines[0].tax, usd(172));
        assert_eq!(t.totals.subtotal, usd(2500));
        assert_eq!(t.totals.discount, usd(300));
        assert_eq!(t.totals.net, usd(2200));
        assert_eq!(t.totals.tax, usd(220));
        assert_eq!(t.totals.total, usd(2420));
    }

    #[test]
    fn over_discount_is_an_error() {
        let mut c = Cart::new(Currency::USD);
        c.add(product("A", usd(100)), 1).unwrap();
        let a = Sku::new("A").unwrap();
        c.set_line_discount(&a, Some(Discount::Amount(usd(101)))).unwrap();
        let err = c.totals(&engine()).unwrap_err();
        assert!(matches!(err, CoreError::Rule(m) if m.contains("lower the discount")));
        c.set_line_discount(&a, None).unwrap();
        c.set_cart_discount(Some(Discount::Amount(usd(101)))).unwrap();
        assert!(c.totals(&engine()).is_err());
        c.set_cart_discount(Some(Discount::Percent(10_000))).unwrap();
        assert_eq!(c.totals(&engine()).unwrap().totals.total, usd(0));
    }

    #[test]
    fn empty_cart_totals_are_zero() {
        let t = Cart::new(Currency::JPY).totals(&engine()).unwrap();
        assert_eq!(t.totals.total, Money::zero(Currency::JPY));
        assert!(t.lines.is_empty());
    }
}
