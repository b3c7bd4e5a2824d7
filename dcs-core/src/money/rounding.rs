//! Integer division with an explicitly named rounding mode.

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};

/// How a division that does not come out even is rounded to a whole minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RoundingMode {
    /// To the nearest; ties to the even neighbour (banker's rounding).
    HalfEven,
    /// To the nearest; ties away from zero (commercial rounding).
    HalfUp,
    /// Toward zero (truncation).
    TowardZero,
    /// Away from zero.
    AwayFromZero,
}

/// Divides `numerator` by `denominator`, rounding the quotient with `mode`.
pub fn div_round(numerator: i128, denominator: i128, mode: RoundingMode) -> Result<i128> {
    if denominator == 0 {
        return Err(CoreError::Rule("division by zero".into()));
    }
    let q = numerator.checked_div(denominator).ok_or(CoreError::Overflow("div_round"))?;
    let r = numerator % denominator;
    if r == 0 {
        return Ok(q);
    }
    // Sign of the exact quotient; the truncated quotient q is rounded toward zero.
    let negative = (numerator < 0) != (denominator < 0);
    let step = if negative { -1 } else { 1 };
    let twice_r = r.unsigned_abs().checked_mul(2).ok_or(CoreError::Overflow("div_round"))?;
    let d = denominator.unsigned_abs();
    let away = match mode {
        RoundingMode::TowardZero => false,
        RoundingMode::AwayFromZero => true,
        RoundingMode::HalfUp => twice_r >= d,
        RoundingMode::HalfEven => twice_r > d || (twice_r == d && q % 2 != 0),
    };
    Ok(if away { q + step } else { q })
}

#[cfg(test)]
mod tests {
    use super::*;
    use RoundingMode::*;

    #[test]
    fn ties() {
        assert_eq!(div_round(5, 2, HalfEven).unwrap(), 2);
        assert_eq!(div_round(7, 2, HalfEven).unwrap(), 4);
        assert_eq!(div_round(5, 2, HalfUp).unwrap(), 3);
        assert_eq!(div_round(-5, 2, HalfUp).unwrap(), -3);
        assert_eq!(div_round(-5, 2, HalfEven).unwrap(), -2);
        assert_eq!(div_round(-7, 2, HalfEven).unwrap(), -4);
        assert_eq!(div_round(7, 3, TowardZero).unwrap(), 2);
        assert_eq!(div_round(7, 3, AwayFromZero).unwrap(), 3);
        assert_eq!(div_round(-7, 3, AwayFromZero).unwrap(), -3);
        assert_eq!(div_round(10, 4, HalfUp).unwrap(), 3);
        assert_eq!(div_round(11, 4, HalfEven).unwrap(), 3);
        assert!(div_round(1, 0, HalfUp).is_err());
    }
}
