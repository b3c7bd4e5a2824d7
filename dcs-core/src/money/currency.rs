//! ISO-4217 currencies and their minor-unit exponents.

use alloc::string::{String, ToString};
use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{CoreError, Result};

/// An ISO-4217 currency: its three-letter code and the number of decimal minor units.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

/// Active ISO-4217 codes whose exponent is not 2, plus common 2-exponent codes.
const NON_TWO: &[(&str, u8)] = &[
    ("BHD", 3),
    ("BIF", 0),
    ("CLF", 4),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("IQD", 3),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("PYG", 0),
    ("RWF", 0),
    ("TND", 3),
    ("UGX", 0),
    ("UYI", 0),
    ("UYW", 4),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
];

const TWO: &[&str] = &[
    "AED", "ARS", "AUD", "BGN", "BRL", "CAD", "CHF", "CNY", "COP", "CZK", "DKK", "EGP", "EUR",
    "GBP", "GHS", "HKD", "HUF", "IDR", "ILS", "INR", "KES", "MAD", "MXN", "MYR", "NGN", "NOK",
    "NZD", "PEN", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SEK", "SGD", "THB",
    "TRY", "TWD", "UAH", "USD", "UYU", "ZAR",
];

impl Currency {
    /// US dollar (exponent 2).
    pub const USD: Currency = Currency { code: *b"USD", exponent: 2 };
    /// Euro (exponent 2).
    pub const EUR: Currency = Currency { code: *b"EUR", exponent: 2 };
    /// Japanese yen (exponent 0).
    pub const JPY: Currency = Currency { code: *b"JPY", exponent: 0 };
    /// Kuwaiti dinar (exponent 3).
    pub const KWD: Currency = Currency { code: *b"KWD", exponent: 3 };

    /// Looks up a known ISO-4217 code such as `"USD"`.
    pub fn from_code(code: &str) -> Result<Self> {
        let bytes: [u8; 3] =
            code.as_bytes().try_into().map_err(|_| CoreError::UnknownCurrency(code.to_string()))?;
        if let Some((_, e)) = NON_TWO.iter().find(|(c, _)| c.as_bytes() == bytes) {
            return Ok(Currency { code: bytes, exponent: *e });
        }
        if TWO.iter().any(|c| c.as_bytes() == bytes) {
            return Ok(Currency { code: bytes, exponent: 2 });
        }
        Err(CoreError::UnknownCurrency(code.to_string()))
    }

    /// A currency outside the built-in table (e.g. a loyalty currency): three uppercase
    /// letters and an exponent of at most 4. A code that is in the table must use its
    /// ISO exponent.
    pub fn custom(code: &str, exponent: u8) -> Result<Self> {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(CoreError::InvalidField {
                field: "currency",
                reason: alloc::format!("{code:?} is not three uppercase ASCII letters"),
            });
        }
        if exponent > 4 {
            return Err(CoreError::InvalidField {
                field: "currency",
                reason: alloc::format!("exponent {exponent} is larger than 4"),
            });
        }
        if let Ok(known) = Self::from_code(code)
            && known.exponent != exponent
        {
            return Err(CoreError::InvalidField {
                field: "currency",
                reason: alloc::format!(
                    "{code} has ISO-4217 exponent {}, not {exponent}",
                    known.exponent
                ),
            });
        }
        let mut bytes = [0u8; 3];
        bytes.copy_from_slice(code.as_bytes());
        Ok(Currency { code: bytes, exponent })
    }

    /// The three-letter code.
    pub fn code(&self) -> &str {
        // The constructors only admit ASCII uppercase letters.
        core::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// The code as three bytes.
    pub fn code_bytes(&self) -> [u8; 3] {
        self.code
    }

    /// Number of decimal digits of the minor unit (USD 2, JPY 0, KWD 3).
    pub fn exponent(&self) -> u8 {
        self.exponent
    }

    /// 10^exponent: how many minor units make one major unit.
    pub fn minor_per_major(&self) -> i64 {
        10i64.pow(u32::from(self.exponent))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(e{})", self.code(), self.exponent)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        (self.code(), self.exponent).serialize(s)
    }
}
impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let (code, exponent) = <(String, u8)>::deserialize(d)?;
        Currency::custom(&code, exponent).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponents() {
        assert_eq!(Currency::from_code("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::from_code("USD").unwrap().exponent(), 2);
        assert_eq!(Currency::from_code("KWD").unwrap().exponent(), 3);
        assert_eq!(Currency::KWD.minor_per_major(), 1000);
    }

    #[test]
    fn unknown_and_malformed_codes() {
        assert!(matches!(Currency::from_code("XXQ"), Err(CoreError::UnknownCurrency(_))));
        assert!(Currency::from_code("usd").is_err());
        assert!(Currency::custom("PTS", 0).is_ok());
        assert!(Currency::custom("JPY", 2).is_err());
        assert!(Currency::custom("P1S", 0).is_err());
    }
}
