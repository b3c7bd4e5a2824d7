//! Checked conversion of JavaScript arguments: integers, text and bytes, with errors that say what to pass.
//!
//! Every exported function takes loosely typed JS values through here, so a wrong type, a
//! fractional number or an unsafe integer becomes a JS `Error` with a clear message instead of
//! a silent coercion by the generated glue.

use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsError, JsValue};

/// 2^53 − 1: the largest integer a JS number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A short description of a JS value's type for error messages.
fn type_name(value: &JsValue) -> String {
    if value.is_null() {
        return "null".into();
    }
    value.js_typeof().as_string().unwrap_or_else(|| "unknown".into())
}

/// The JS text of a number (formatted by JS, which keeps Rust's float formatting out of the module).
fn number_text(value: &JsValue) -> String {
    value
        .unchecked_ref::<js_sys::Number>()
        .to_string_with_radix(10)
        .map_or_else(|_| "a number".into(), String::from)
}

/// Reads an integer given as a BigInt or as a number that is a safe integer.
pub(crate) fn int(value: &JsValue, what: &str) -> Result<i128, JsError> {
    if let Some(n) = value.as_f64() {
        if !n.is_finite() || n.fract() != 0.0 {
            return Err(JsError::new(&format!(
                "{what} must be an integer (a bigint or a safe integer number), got {}",
                number_text(value)
            )));
        }
        if n.abs() > MAX_SAFE_INTEGER {
            return Err(JsError::new(&format!(
                "{what} = {} is beyond Number.MAX_SAFE_INTEGER and may have lost digits: pass it as a bigint",
                number_text(value)
            )));
        }
        // Exact: |n| < 2^53 and integral.
        return Ok(n as i128);
    }
    if value.is_bigint() {
        return i128::try_from(value.clone())
            .map_err(|_| JsError::new(&format!("{what} is a bigint outside the 128-bit range")));
    }
    Err(JsError::new(&format!(
        "{what} must be an integer (a bigint or a safe integer number), got {}",
        type_name(value)
    )))
}

/// Reads an integer that must fit `T` (e.g. `i64` minor units, `u64` replica ids, `u32` quantities).
pub(crate) fn int_as<T: TryFrom<i128>>(value: &JsValue, what: &str) -> Result<T, JsError> {
    let n = int(value, what)?;
    T::try_from(n).map_err(|_| {
        JsError::new(&format!("{what} = {n} is out of range for {}", core::any::type_name::<T>()))
    })
}

/// Reads a string argument.
pub(crate) fn text(value: &JsValue, what: &str) -> Result<String, JsError> {
    value
        .as_string()
        .ok_or_else(|| JsError::new(&format!("{what} must be a string, got {}", type_name(value))))
}

/// Reads a byte argument given as a `Uint8Array` (a Node `Buffer` is one).
pub(crate) fn bytes(value: &JsValue, what: &str) -> Result<Vec<u8>, JsError> {
    if !value.is_instance_of::<Uint8Array>() {
        return Err(JsError::new(&format!(
            "{what} must be a Uint8Array, got {}",
            type_name(value)
        )));
    }
    Ok(value.unchecked_ref::<Uint8Array>().to_vec())
}

/// Reads exactly `N` bytes (an HLC node id, the random bits of an event id).
#[cfg(feature = "events")]
pub(crate) fn byte_array<const N: usize>(value: &JsValue, what: &str) -> Result<[u8; N], JsError> {
    let v = bytes(value, what)?;
    let len = v.len();
    v.try_into().map_err(|_| JsError::new(&format!("{what} must be exactly {N} bytes, got {len}")))
}

/// Reads an array argument as its elements.
pub(crate) fn array(value: &JsValue, what: &str) -> Result<Vec<JsValue>, JsError> {
    if !js_sys::Array::is_array(value) {
        return Err(JsError::new(&format!("{what} must be an array, got {}", type_name(value))));
    }
    Ok(value.unchecked_ref::<js_sys::Array>().iter().collect())
}

/// Reads the property `key` of the object `value`.
pub(crate) fn field(value: &JsValue, key: &str, what: &str) -> Result<JsValue, JsError> {
    if !value.is_object() {
        return Err(JsError::new(&format!("{what} must be an object, got {}", type_name(value))));
    }
    js_sys::Reflect::get(value, &JsValue::from_str(key))
        .map_err(|_| JsError::new(&format!("cannot read {what}.{key}")))
}

/// Turns any displayable Rust error into a JS `Error` carrying its message.
pub(crate) fn error(e: impl core::fmt::Display) -> JsError {
    JsError::new(&format!("{e}"))
}
