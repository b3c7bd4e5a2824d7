//! `Money` for JS: integer minor units (bigint) in an ISO-4217 currency, checked arithmetic.

use wasm_bindgen::prelude::*;

use crate::args;
use dcs_core::{Currency, RoundingMode};

/// Reads an ISO-4217 currency code such as `"USD"`.
pub(crate) fn currency(value: &JsValue) -> Result<Currency, JsError> {
    Currency::from_code(&args::text(value, "currency")?).map_err(args::error)
}

/// Reads a rounding mode name: `halfEven`, `halfUp`, `towardZero` or `awayFromZero`.
pub(crate) fn rounding(value: &JsValue) -> Result<RoundingMode, JsError> {
    let name = args::text(value, "rounding mode")?;
    match name.to_ascii_lowercase().replace(['_', '-'], "").as_str() {
        "halfeven" => Ok(RoundingMode::HalfEven),
        "halfup" => Ok(RoundingMode::HalfUp),
        "towardzero" => Ok(RoundingMode::TowardZero),
        "awayfromzero" => Ok(RoundingMode::AwayFromZero),
        _ => Err(JsError::new(&format!(
            "unknown rounding mode {name:?}: use \"halfEven\", \"halfUp\", \"towardZero\" or \"awayFromZero\""
        ))),
    }
}

/// An amount in integer minor units (cents, yen, fils) of one currency; never a float.
#[wasm_bindgen]
#[derive(Clone, Copy)]
pub struct Money {
    pub(crate) inner: dcs_core::Money,
}

#[wasm_bindgen]
impl Money {
    /// `minor` units of `currency` (e.g. `1999n, "USD"` for 19.99 USD); rejects non-integers.
    #[wasm_bindgen(js_name = fromMinor)]
    pub fn from_minor(
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] minor: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] currency: JsValue,
    ) -> Result<Money, JsError> {
        let minor = args::int_as::<i64>(&minor, "minor")?;
        Ok(Money { inner: dcs_core::Money::from_minor(minor, self::currency(&currency)?) })
    }

    /// Zero in `currency`.
    pub fn zero(
        #[wasm_bindgen(unchecked_param_type = "string")] currency: JsValue,
    ) -> Result<Money, JsError> {
        Ok(Money { inner: dcs_core::Money::zero(self::currency(&currency)?) })
    }

    /// The amount in minor units.
    #[wasm_bindgen(getter)]
    pub fn minor(&self) -> i64 {
        self.inner.minor()
    }

    /// The ISO-4217 currency code.
    #[wasm_bindgen(getter)]
    pub fn currency(&self) -> String {
        self.inner.currency().code().into()
    }

    /// The number of decimal digits of the minor unit (USD 2, JPY 0, KWD 3).
    #[wasm_bindgen(getter)]
    pub fn exponent(&self) -> u8 {
        self.inner.currency().exponent()
    }

    /// `this + other`; throws on a currency mismatch or overflow.
    pub fn add(&self, other: &Money) -> Result<Money, JsError> {
        let inner = self.inner.checked_add(other.inner).map_err(args::error)?;
        Ok(Money { inner })
    }

    /// `this − other`; throws on a currency mismatch or overflow.
    pub fn sub(&self, other: &Money) -> Result<Money, JsError> {
        let inner = self.inner.checked_sub(other.inner).map_err(args::error)?;
        Ok(Money { inner })
    }

    /// `this × quantity`; throws on overflow.
    pub fn mul(
        &self,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] quantity: JsValue,
    ) -> Result<Money, JsError> {
        let q = args::int_as::<i64>(&quantity, "quantity")?;
        Ok(Money { inner: self.inner.checked_mul(q).map_err(args::error)? })
    }

    /// `−this`.
    pub fn neg(&self) -> Result<Money, JsError> {
        Ok(Money { inner: self.inner.checked_neg().map_err(args::error)? })
    }

    /// `this × numerator / denominator`, rounded to a minor unit with the named `mode`.
    #[wasm_bindgen(js_name = mulRatio)]
    pub fn mul_ratio(
        &self,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] numerator: JsValue,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] denominator: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] mode: JsValue,
    ) -> Result<Money, JsError> {
        let n = args::int_as::<i64>(&numerator, "numerator")?;
        let d = args::int_as::<i64>(&denominator, "denominator")?;
        let inner = self.inner.mul_ratio(n, d, rounding(&mode)?).map_err(args::error)?;
        Ok(Money { inner })
    }

    /// Splits the amount into parts proportional to integer `weights` that sum exactly to it.
    pub fn allocate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Array<bigint | number>")] weights: JsValue,
    ) -> Result<Vec<Money>, JsError> {
        let weights = args::array(&weights, "weights")?
            .iter()
            .map(|w| args::int_as::<u64>(w, "weight"))
            .collect::<Result<Vec<_>, _>>()?;
        let parts = self.inner.allocate(&weights).map_err(args::error)?;
        Ok(parts.into_iter().map(|inner| Money { inner }).collect())
    }

    /// True when both amounts and currencies are equal.
    pub fn equals(&self, other: &Money) -> bool {
        self.inner == other.inner
    }

    /// The amount in major units with its code, e.g. `"19.99 USD"` (display only).
    #[wasm_bindgen(js_name = toString)]
    pub fn to_display(&self) -> String {
        self.inner.to_string()
    }
}
