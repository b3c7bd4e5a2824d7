//! An amount of money: i64 minor units plus a currency, with checked arithmetic.

use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use super::{Currency, RoundingMode, div_round};
use crate::error::{CoreError, Result};

/// An amount in integer minor units (cents, yen, fils) of one currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// An amount of `minor` units (e.g. 1999 for 19.99 USD).
    pub const fn from_minor(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    /// Zero in `currency`.
    pub const fn zero(currency: Currency) -> Self {
        Money { minor: 0, currency }
    }

    /// The amount in minor units.
    pub const fn minor(&self) -> i64 {
        self.minor
    }

    /// The currency.
    pub const fn currency(&self) -> Currency {
        self.currency
    }

    /// True when the amount is zero.
    pub const fn is_zero(&self) -> bool {
        self.minor == 0
    }

    /// True when the amount is below zero.
    pub const fn is_negative(&self) -> bool {
        self.minor < 0
    }

    fn same_currency(&self, other: &Money) -> Result<()> {
        if self.currency != other.currency {
            return Err(CoreError::CurrencyMismatch {
                left: self.currency.code().into(),
                right: other.currency.code().into(),
            });
        }
        Ok(())
    }

    /// `self + other`; errors on a currency mismatch or overflow.
    pub fn checked_add(self, other: Money) -> Result<Money> {
        self.same_currency(&other)?;
        let minor = self.minor.checked_add(other.minor).ok_or(CoreError::Overflow("add"))?;
        Ok(Money { minor, ..self })
    }

    /// `self - other`; errors on a currency mismatch or overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money> {
        self.same_currency(&other)?;
        let minor = self.minor.checked_sub(other.minor).ok_or(CoreError::Overflow("sub"))?;
        Ok(Money { minor, ..self })
    }

    /// `self × quantity` (a unit price times a count).
    pub fn checked_mul(self, quantity: i64) -> Result<Money> {
        let minor = self.minor.checked_mul(quantity).ok_or(CoreError::Overflow("mul"))?;
        Ok(Money { minor, ..self })
    }

    /// `-self`.
    pub fn checked_neg(self) -> Result<Money> {
        let minor = self.minor.checked_neg().ok_or(CoreError::Overflow("neg"))?;
        Ok(Money { minor, ..self })
    }

    /// `self × numerator / denominator`, rounded to a minor unit with `mode`.
    pub fn mul_ratio(self, numerator: i64, denominator: i64, mode: RoundingMode) -> Result<Money> {
        let exact = i128::from(self.minor) * i128::from(numerator);
        let q = div_round(exact, i128::from(denominator), mode)?;
        let minor = i64::try_from(q).map_err(|_| CoreError::Overflow("mul_ratio"))?;
        Ok(Money { minor, ..self })
    }

    /// Sums amounts that must all be in `currency`.
    pub fn sum<'a>(
        currency: Currency,
        items: impl IntoIterator<Item = &'a Money>,
    ) -> Result<Money> {
        items.into_iter().try_fold(Money::zero(currency), |acc, m| acc.checked_add(*m))
    }

    /// Splits the amount into parts proportional to `weights` that sum exactly to it.
    ///
    /// Each part gets the floor of its share; the minor units left over go one each to
    /// the parts with the largest remainders (ties to the earlier part), so the result is
    /// deterministic. Negative amounts are split like their absolute value and negated.
    pub fn allocate(self, weights: &[u64]) -> Result<Vec<Money>> {
        let total: u128 = weights.iter().map(|w| u128::from(*w)).sum();
        if weights.is_empty() || total == 0 {
            return Err(CoreError::Rule(
                "allocate needs at least one weight and a non-zero weight total".into(),
            ));
        }
        let sign: i128 = if self.minor < 0 { -1 } else { 1 };
        let amount = u128::from(self.minor.unsigned_abs());
        let mut parts: Vec<u128> = Vec::with_capacity(weights.len());
        let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
        for (i, w) in weights.iter().enumerate() {
            let exact = amount * u128::from(*w);
            parts.push(exact / total);
            remainders.push((exact % total, i));
        }
        let allocated: u128 = parts.iter().sum();
        let mut left = amount - allocated;
        remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, i) in remainders {
            if left == 0 {
                break;
            }
            parts[i] += 1;
            left -= 1;
        }
        parts
            .into_iter()
            .map(|p| {
                let signed = i128::try_from(p).map_err(|_| CoreError::Overflow("allocate"))? * sign;
                let minor = i64::try_from(signed).map_err(|_| CoreError::Overflow("allocate"))?;
                Ok(Money { minor, currency: self.currency })
            })
            .collect()
    }

    /// Splits the amount into `n` parts that differ by at most one minor unit.
    pub fn split(self, n: usize) -> Result<Vec<Money>> {
        self.allocate(&alloc::vec![1; n])
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = u32::from(self.currency.exponent());
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if e == 0 {
            return write!(f, "{sign}{abs} {}", self.currency);
        }
        let unit = 10u64.pow(e);
        write!(
            f,
            "{sign}{}.{:0width$} {}",
            abs / unit,
            abs % unit,
            self.currency,
            width = e as usize
        )
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn display_uses_exponent() {
        assert_eq!(Money::from_minor(1999, Currency::USD).to_string(), "19.99 USD");
        assert_eq!(Money::from_minor(-5, Currency::USD).to_string(), "-0.05 USD");
        assert_eq!(Money::from_minor(500, Currency::JPY).to_string(), "500 JPY");
        assert_eq!(Money::from_minor(1234, Currency::KWD).to_string(), "1.234 KWD");
    }

    #[test]
    fn mixing_currencies_is_an_error() {
        let err = Money::from_minor(1, Currency::USD)
            .checked_add(Money::from_minor(1, Currency::EUR))
            .unwrap_err();
        assert!(matches!(err, CoreError::CurrencyMismatch { .. }));
    }

    #[test]
    fn overflow_is_an_error() {
        let max = Money::from_minor(i64::MAX, Currency::USD);
        assert!(max.checked_add(Money::from_minor(1, Currency::USD)).is_err());
        assert!(max.checked_mul(2).is_err());
        assert!(Money::from_minor(i64::MIN, Currency::USD).checked_neg().is_err());
    }

    #[test]
    fn allocation_sums_exactly() {
        let parts = Money::from_minor(100, Currency::USD).split(3).unwrap();
        let minors: Vec<i64> = parts.iter().map(|m| m.minor()).collect();
        assert_eq!(minors, [34, 33, 33]);
        let parts = Money::from_minor(-100, Currency::USD).allocate(&[1, 1, 1]).unwrap();
        assert_eq!(parts.iter().map(|m| m.minor()).sum::<i64>(), -100);
        assert!(Money::from_minor(1, Currency::USD).allocate(&[0, 0]).is_err());
    }
}
