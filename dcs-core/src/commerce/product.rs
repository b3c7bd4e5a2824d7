//! Catalog products: what is sold, at which unit price and under which tax category.

use alloc::string::String;

use serde::{Deserialize, Serialize};

use super::code::check_text;
use super::{Sku, TaxCategory};
use crate::error::{CoreError, Result};
use crate::money::Money;

/// Longest product name, in bytes.
pub const MAX_PRODUCT_NAME_LEN: usize = 200;
/// Longest product category, in bytes.
pub const MAX_PRODUCT_CATEGORY_LEN: usize = 64;

/// A catalog product. Its unit price is tax-exclusive or tax-inclusive as the
/// [`TaxPolicy`](super::TaxPolicy) of the checkout says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ProductFields", into = "ProductFields")]
pub struct Product {
    sku: Sku,
    name: String,
    category: String,
    unit_price: Money,
    tax_category: TaxCategory,
}

impl Product {
    /// Validates and makes a product: a valid SKU, a name of 1 to 200 bytes, a category of
    /// 1 to 64 bytes, a unit price of zero or more and a valid tax category.
    pub fn new(
        sku: &str,
        name: &str,
        category: &str,
        unit_price: Money,
        tax_category: &str,
    ) -> Result<Self> {
        check_text("product.name", name, MAX_PRODUCT_NAME_LEN)?;
        check_text("product.category", category, MAX_PRODUCT_CATEGORY_LEN)?;
        if unit_price.is_negative() {
            return Err(CoreError::InvalidField {
                field: "product.unit_price",
                reason: alloc::format!("{unit_price} is negative; prices must be zero or more"),
            });
        }
        Ok(Product {
            sku: Sku::new(sku)?,
            name: name.into(),
            category: category.into(),
            unit_price,
            tax_category: TaxCategory::new(tax_category)?,
        })
    }

    /// The same product at another unit price (a central price overriding the list price).
    ///
    /// # Errors
    /// [`CoreError::InvalidField`] naming `product.unit_price` if `unit_price` is negative.
    pub fn with_unit_price(&self, unit_price: Money) -> Result<Self> {
        if unit_price.is_negative() {
            return Err(CoreError::InvalidField {
                field: "product.unit_price",
                reason: alloc::format!("{unit_price} is negative; prices must be zero or more"),
            });
        }
        Ok(Product { unit_price, ..self.clone() })
    }

    /// The SKU.
    pub fn sku(&self) -> &Sku {
        &self.sku
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The merchandise category (e.g. `beverages`).
    pub fn category(&self) -> &str {
        &self.category
    }

    /// The price of one unit.
    pub fn unit_price(&self) -> Money {
        self.unit_price
    }

    /// The tax category that selects the tax rates.
    pub fn tax_category(&self) -> &TaxCategory {
        &self.tax_category
    }
}

/// The serde form of a product: its fields in order, validated by [`Product::new`] when read.
type ProductFields = (String, String, String, Money, String);

impl TryFrom<ProductFields> for Product {
    type Error = CoreError;
    fn try_from((sku, name, category, price, tax): ProductFields) -> Result<Self> {
        Product::new(&sku, &name, &category, price, &tax)
    }
}

impl From<Product> for ProductFields {
    fn from(p: Product) -> Self {
        (p.sku.into(), p.name, p.category, p.unit_price, p.tax_category.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn usd(m: i64) -> Money {
        Money::from_minor(m, Currency::USD)
    }

    #[test]
    fn validates_fields() {
        let p = Product::new("TEA-1", "Green tea", "beverages", usd(450), "food").unwrap();
        assert_eq!(p.sku().as_str(), "TEA-1");
        assert_eq!(p.unit_price(), usd(450));
        assert_eq!(p.tax_category().as_str(), "food");
        assert_eq!((p.name(), p.category()), ("Green tea", "beverages"));
        assert!(Product::new("", "Tea", "b", usd(1), "food").is_err());
        assert!(Product::new("T", "", "b", usd(1), "food").is_err());
        assert!(Product::new("T", "Tea", "", usd(1), "food").is_err());
        assert!(Product::new("T", "Tea", "b", usd(-1), "food").is_err());
        assert!(Product::new("T", "Tea", "b", usd(1), "").is_err());
        let long = "n".repeat(MAX_PRODUCT_NAME_LEN + 1);
        assert!(Product::new("T", &long, "b", usd(1), "food").is_err());
    }

    #[test]
    fn serde_revalidates() {
        let p = Product::new("TEA-1", "Green tea", "beverages", usd(450), "food").unwrap();
        let bytes = postcard::to_allocvec(&p).unwrap();
        assert_eq!(postcard::from_bytes::<Product>(&bytes).unwrap(), p);
        let bad: ProductFields = ("T".into(), "".into(), "b".into(), usd(1), "food".into());
        let bytes = postcard::to_allocvec(&bad).unwrap();
        assert!(postcard::from_bytes::<Product>(&bytes).is_err());
    }
}
