//! Discounts: a fixed amount or a percentage in basis points.

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::money::{Currency, Money, RoundingMode};

/// 10 000 basis points are 100 %.
pub const BPS: u32 = 10_000;

/// A discount on a line or on the whole cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Discount {
    /// A fixed amount off (zero or more, in the cart's currency).
    Amount(Money),
    /// A percentage off in basis points (`1_000` is 10 %), at most `10_000`.
    Percent(u32),
}

impl Discount {
    /// Checks the discount against the cart's currency and its range.
    pub fn validate(&self, currency: Currency) -> Result<()> {
        match self {
            Discount::Amount(m) if m.currency() != currency => Err(CoreError::CurrencyMismatch {
                left: currency.code().into(),
                right: m.currency().code().into(),
            }),
            Discount::Amount(m) if m.is_negative() => Err(CoreError::InvalidField {
                field: "discount",
                reason: alloc::format!("{m} is negative; a discount must be zero or more"),
            }),
            Discount::Percent(bps) if *bps > BPS => Err(CoreError::InvalidField {
                field: "discount",
                reason: alloc::format!(
                    "{bps} basis points is above 100 % ({BPS}); give percentages in basis points (15 % = 1500)"
                ),
            }),
            _ => Ok(()),
        }
    }

    /// The amount taken off `base`, rounded with `mode`; an error if it exceeds `base`.
    pub fn amount_of(&self, base: Money, mode: RoundingMode, what: &str) -> Result<Money> {
        self.validate(base.currency())?;
        let off = match self {
            Discount::Amount(m) => *m,
            Discount::Percent(bps) => base.mul_ratio(i64::from(*bps), i64::from(BPS), mode)?,
        };
        if off.minor() > base.minor() {
            return Err(CoreError::Rule(alloc::format!(
                "the discount of {off} on {what} exceeds its amount {base}: lower the discount"
            )));
        }
        Ok(off)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_limits() {
        let usd = |m| Money::from_minor(m, Currency::USD);
        let mode = RoundingMode::HalfUp;
        assert_eq!(Discount::Percent(1_500).amount_of(usd(999), mode, "x").unwrap(), usd(150));
        assert_eq!(Discount::Amount(usd(100)).amount_of(usd(999), mode, "x").unwrap(), usd(100));
        assert!(Discount::Amount(usd(1_000)).amount_of(usd(999), mode, "x").is_err());
        assert!(Discount::Amount(usd(-1)).validate(Currency::USD).is_err());
        assert!(Discount::Percent(10_001).validate(Currency::USD).is_err());
        assert!(Discount::Amount(usd(1)).validate(Currency::EUR).is_err());
    }
}
