//! Validated identifiers and free-text fields of the commerce domain (SKUs, sale ids, ...).

use alloc::string::String;

use crate::error::{CoreError, Result};
use crate::money::{Currency, Money};

/// Checks a free-text field: not blank, at most `max` bytes, no control characters.
pub(crate) fn check_text(field: &'static str, text: &str, max: usize) -> Result<()> {
    if text.trim().is_empty() || text.len() > max {
        return Err(CoreError::InvalidField {
            field,
            reason: alloc::format!(
                "must be 1 to {max} bytes of non-blank text, got {} bytes",
                text.len()
            ),
        });
    }
    if text.chars().any(char::is_control) {
        return Err(CoreError::InvalidField {
            field,
            reason: "must not contain control characters (newlines, tabs, ...)".into(),
        });
    }
    Ok(())
}

/// Checks that `amount` is in `currency` and more than zero.
pub(crate) fn check_positive(amount: Money, currency: Currency, field: &'static str) -> Result<()> {
    if amount.currency() != currency {
        return Err(CoreError::CurrencyMismatch {
            left: currency.code().into(),
            right: amount.currency().code().into(),
        });
    }
    if amount.minor() <= 0 {
        return Err(CoreError::InvalidField {
            field,
            reason: alloc::format!("{amount} must be more than zero"),
        });
    }
    Ok(())
}

/// Checks a code: 1 to `max` bytes of printable ASCII without spaces (`!` through `~`).
fn check_code(field: &'static str, text: &str, max: usize) -> Result<()> {
    if text.is_empty() || text.len() > max {
        return Err(CoreError::InvalidField {
            field,
            reason: alloc::format!("must be 1 to {max} bytes long, got {}", text.len()),
        });
    }
    if let Some(pos) = text.bytes().position(|b| !(0x21..=0x7e).contains(&b)) {
        return Err(CoreError::InvalidField {
            field,
            reason: alloc::format!(
                "byte {pos} of {text:?} is not printable ASCII; use letters, digits and punctuation without spaces"
            ),
        });
    }
    Ok(())
}

macro_rules! code_type {
    ($(#[$doc:meta])* $ty:ident, $field:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $ty(String);

        impl $ty {
            #[doc = concat!("Validates and wraps a code: 1 to ", stringify!($max), " bytes of printable ASCII without spaces.")]
            pub fn new(text: impl Into<String>) -> Result<Self> {
                let text = text.into();
                check_code($field, &text, $max)?;
                Ok($ty(text))
            }

            /// The code as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $ty {
            type Error = CoreError;
            fn try_from(text: String) -> Result<Self> {
                Self::new(text)
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = CoreError;
            fn try_from(text: &str) -> Result<Self> {
                Self::new(text)
            }
        }

        impl From<$ty> for String {
            fn from(code: $ty) -> String {
                code.0
            }
        }

        impl core::fmt::Display for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl core::fmt::Debug for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, concat!(stringify!($ty), "({:?})"), self.0)
            }
        }
    };
}

code_type!(
    /// A stock-keeping unit: the catalog code of a product.
    Sku,
    "sku",
    64
);
code_type!(
    /// A tax category (e.g. `standard`, `food`, `exempt`) that selects the tax rates of a product.
    TaxCategory,
    "tax_category",
    32
);
code_type!(
    /// The id of a sale, chosen by the caller (e.g. a receipt number).
    SaleId,
    "sale_id",
    64
);
code_type!(
    /// The id of a refund of a sale, chosen by the caller.
    RefundId,
    "refund_id",
    64
);
code_type!(
    /// The id of a loyalty customer.
    CustomerId,
    "customer_id",
    64
);
code_type!(
    /// The id of a POS cashier session.
    SessionId,
    "session_id",
    64
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_validated() {
        assert!(Sku::new("COFFEE-250G").is_ok());
        assert!(Sku::new("").is_err());
        assert!(Sku::new("has space").is_err());
        assert!(Sku::new("x".repeat(65)).is_err());
        assert!(Sku::new("x".repeat(64)).is_ok());
        assert!(TaxCategory::new("é").is_err());
    }

    #[test]
    fn text_is_validated() {
        assert!(check_text("name", "Coffee 250 g", 10).is_err());
        assert!(check_text("name", "Coffee", 10).is_ok());
        assert!(check_text("name", "  ", 10).is_err());
        assert!(check_text("name", "a\nb", 10).is_err());
    }

    #[test]
    fn serde_revalidates() {
        let bytes = postcard::to_allocvec(&"bad sku").unwrap();
        assert!(postcard::from_bytes::<Sku>(&bytes).is_err());
        let bytes = postcard::to_allocvec(&Sku::new("A1").unwrap()).unwrap();
        assert_eq!(postcard::from_bytes::<Sku>(&bytes).unwrap().as_str(), "A1");
    }
}
