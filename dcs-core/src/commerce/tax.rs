//! Tax rates per tax category and the tax policy of a checkout (pricing and rounding).
//!
//! Rates are integers in parts per million ([`PPM`]): 8.875 % is `88_750`, 20 % is
//! `200_000`. No floats are used anywhere; see [`TaxEngine`](super::TaxEngine) for the
//! arithmetic.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::TaxCategory;
use super::code::check_text;
use crate::error::{CoreError, Result};
use crate::money::RoundingMode;

/// One million: a rate of `PPM` parts per million is 100 %.
pub const PPM: u32 = 1_000_000;
/// Largest combined rate of a tax category, in parts per million (100 %).
///
/// Sales taxes and VAT are far below it (the highest standard VAT is 27 %); a rate above
/// 100 % is almost always a unit mistake (percent or basis points given as ppm), so it is
/// refused rather than charged.
pub const MAX_COMBINED_PPM: u32 = PPM;
/// Longest tax rate name, in bytes.
pub const MAX_TAX_NAME_LEN: usize = 64;

/// One tax levied on a line, e.g. a state tax of 6.25 % (`62_500` ppm).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "(String, u32)", into = "(String, u32)")]
pub struct TaxRate {
    name: String,
    ppm: u32,
}

impl TaxRate {
    /// A rate named `name` (e.g. `"state"`, `"VAT"`) of `ppm` parts per million.
    pub fn new(name: &str, ppm: u32) -> Result<Self> {
        check_text("tax_rate.name", name, MAX_TAX_NAME_LEN)?;
        if ppm > MAX_COMBINED_PPM {
            return Err(CoreError::InvalidField {
                field: "tax_rate.ppm",
                reason: alloc::format!(
                    "{ppm} ppm is above {MAX_COMBINED_PPM} (100 %); give the rate in parts per million (6.25 % = 62500)"
                ),
            });
        }
        Ok(TaxRate { name: name.into(), ppm })
    }

    /// A rate given in basis points (1/100 of a percent): `bps × 100` ppm.
    pub fn from_bps(name: &str, bps: u32) -> Result<Self> {
        Self::new(name, bps.saturating_mul(100))
    }

    /// The rate's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The rate in parts per million.
    pub fn ppm(&self) -> u32 {
        self.ppm
    }
}

impl TryFrom<(String, u32)> for TaxRate {
    type Error = CoreError;
    fn try_from((name, ppm): (String, u32)) -> Result<Self> {
        TaxRate::new(&name, ppm)
    }
}

impl From<TaxRate> for (String, u32) {
    fn from(rate: TaxRate) -> Self {
        (rate.name, rate.ppm)
    }
}

/// The tax rates of every tax category. A category must be listed to be sold; list it with
/// no rates to make it tax-exempt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TaxTableParts")]
pub struct TaxTable {
    categories: BTreeMap<TaxCategory, Vec<TaxRate>>,
}

/// The wire form of a [`TaxTable`], validated by [`TaxTable::set`] on the way in.
#[derive(Serialize, Deserialize)]
struct TaxTableParts {
    categories: BTreeMap<TaxCategory, Vec<TaxRate>>,
}

impl TryFrom<TaxTableParts> for TaxTable {
    type Error = CoreError;
    fn try_from(parts: TaxTableParts) -> Result<Self> {
        let mut table = TaxTable::new();
        for (category, rates) in parts.categories {
            table.set(category.as_str(), rates)?;
        }
        Ok(table)
    }
}

impl TaxTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the rates of `category` (replacing earlier ones), checking that their names are
    /// distinct and their sum is at most [`MAX_COMBINED_PPM`].
    pub fn set(&mut self, category: &str, rates: Vec<TaxRate>) -> Result<()> {
        for (i, r) in rates.iter().enumerate() {
            if rates[..i].iter().any(|earlier| earlier.name == r.name) {
                return Err(CoreError::InvalidField {
                    field: "tax_table",
                    reason: alloc::format!(
                        "two rates of {category:?} are named {:?}; give each rate of a category its own name",
                        r.name
                    ),
                });
            }
        }
        let combined: u64 = rates.iter().map(|r| u64::from(r.ppm)).sum();
        if combined > u64::from(MAX_COMBINED_PPM) {
            return Err(CoreError::InvalidField {
                field: "tax_table",
                reason: alloc::format!(
                    "the rates of {category:?} add up to {combined} ppm, above {MAX_COMBINED_PPM}"
                ),
            });
        }
        self.categories.insert(TaxCategory::new(category)?, rates);
        Ok(())
    }

    /// [`set`](Self::set) in builder style.
    pub fn with(mut self, category: &str, rates: Vec<TaxRate>) -> Result<Self> {
        self.set(category, rates)?;
        Ok(self)
    }

    /// The rates of `category`; an error if the category is not in the table.
    pub fn rates(&self, category: &TaxCategory) -> Result<&[TaxRate]> {
        self.categories
            .get(category)
            .map(Vec::as_slice)
            .ok_or_else(|| {
                CoreError::Rule(alloc::format!(
                    "tax category {category} is not in the tax table: add the category to the tax table (an empty list of rates makes it exempt)"
                ))
            })
    }
}

/// Whether catalog prices exclude or include tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaxPricing {
    /// Prices are net; tax is added on top (US sales tax).
    Exclusive,
    /// Prices are gross; the tax is contained in them (EU VAT).
    Inclusive,
}

/// Where tax is rounded to a minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaxRounding {
    /// Each line's tax is rounded on its own; the invoice tax is the sum of the lines.
    PerLine,
    /// Tax is rounded once per tax category and rate on the sum of the lines, then
    /// allocated back to the lines so that they still sum exactly.
    PerInvoice,
}

/// How a checkout prices and rounds: tax pricing, tax rounding and one rounding mode used
/// for tax and percentage discounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaxPolicy {
    /// Whether prices exclude or include tax.
    pub pricing: TaxPricing,
    /// Whether tax is rounded per line or per invoice.
    pub rounding: TaxRounding,
    /// The rounding mode of every division (tax and percentage discounts).
    pub mode: RoundingMode,
}

impl Default for TaxPolicy {
    /// Tax-exclusive prices, per-line rounding, half-up (commercial) rounding.
    fn default() -> Self {
        TaxPolicy {
            pricing: TaxPricing::Exclusive,
            rounding: TaxRounding::PerLine,
            mode: RoundingMode::HalfUp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn rates_and_table_are_validated() {
        assert_eq!(TaxRate::from_bps("state", 625).unwrap().ppm(), 62_500);
        assert!(TaxRate::new("", 1).is_err());
        assert!(TaxRate::new("x", MAX_COMBINED_PPM + 1).is_err());
        let big = TaxRate::new("x", MAX_COMBINED_PPM).unwrap();
        assert!(TaxTable::new().set("a", vec![big.clone(), big]).is_err());
        let t = TaxTable::new().with("exempt", vec![]).unwrap();
        let exempt = TaxCategory::new("exempt").unwrap();
        assert!(t.rates(&exempt).unwrap().is_empty());
        let err = t.rates(&TaxCategory::new("food").unwrap()).unwrap_err();
        assert!(matches!(err, CoreError::Rule(m) if m.contains("add the category")));
    }

    #[test]
    fn a_rate_above_100_percent_is_refused() {
        // 1000 % was accepted before; 100 % is the ceiling of a rate and of a category.
        let err = TaxRate::new("VAT", 10 * PPM).unwrap_err();
        assert!(err.to_string().contains("tax_rate.ppm"), "{err}");
        assert!(TaxRate::new("VAT", PPM + 1).is_err());
        let half = TaxRate::new("a", PPM / 2).unwrap();
        let more = TaxRate::new("b", PPM / 2 + 1).unwrap();
        assert!(TaxTable::new().set("std", vec![half, more]).is_err());
    }

    #[test]
    fn duplicate_rate_names_are_refused() {
        let state = TaxRate::new("state", 62_500).unwrap();
        let err = TaxTable::new().set("std", vec![state.clone(), state.clone()]).unwrap_err();
        assert!(err.to_string().contains("\"state\""), "{err}");
        // The same name in two categories is fine.
        let t = TaxTable::new().with("a", vec![state.clone()]).unwrap();
        assert!(t.with("b", vec![state]).is_ok());
    }

    #[test]
    fn decoding_a_table_validates_it_like_set() {
        let rate = TaxRate::new("state", 62_500).unwrap();
        let mut raw = BTreeMap::new();
        raw.insert(TaxCategory::new("std").unwrap(), vec![rate.clone(), rate]);
        let bytes = postcard::to_allocvec(&TaxTableParts { categories: raw }).unwrap();
        assert!(postcard::from_bytes::<TaxTable>(&bytes).is_err());
        let good = TaxTable::new().with("std", vec![TaxRate::new("s", 1).unwrap()]).unwrap();
        let bytes = postcard::to_allocvec(&good).unwrap();
        assert_eq!(postcard::from_bytes::<TaxTable>(&bytes).unwrap(), good);
    }
}
