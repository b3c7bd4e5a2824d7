//! Arguments from Python: bytes-like objects and integers that must not be booleans.

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes};

/// The bytes of `obj` if it is bytes-like (`bytes`, `bytearray`, `memoryview`, any contiguous
/// buffer of bytes); a TypeError naming `what` otherwise.
pub(crate) fn bytes_like(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if obj.is_instance_of::<pyo3::types::PyString>() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be bytes-like (bytes, bytearray or memoryview), not str: encode it first"
        )));
    }
    let buffer = PyBuffer::<u8>::get(obj).map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be bytes-like (bytes, bytearray or memoryview), not {}",
            type_name(obj)
        ))
    })?;
    buffer.to_vec(obj.py())
}

/// An int argument that refuses `True`/`False` (a bool is an int in Python, never an amount).
pub(crate) fn strict_int(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<i64> {
    if obj.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!("{what} must be an int, not bool")));
    }
    obj.extract::<i64>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be an int (minor units, within ±2**63), not {}",
            type_name(obj)
        ))
    })
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map_or_else(|_| "?".to_string(), |n| n.to_string())
}
