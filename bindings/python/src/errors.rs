//! The `dcs.DcsError` exception hierarchy and the mapping of each crate's errors onto it.

use pyo3::PyErr;
use pyo3::create_exception;
use pyo3::exceptions::PyException;

create_exception!(
    dcs,
    DcsError,
    PyException,
    "Base of every error DCS raises; the message is the Rust one."
);
create_exception!(
    dcs,
    CoreError,
    DcsError,
    "An invalid identifier, event field or domain operation."
);
create_exception!(
    dcs,
    MoneyError,
    CoreError,
    "Invalid money: unknown currency, mixed currencies, overflow."
);
create_exception!(dcs, CrdtError, DcsError, "Malformed CRDT bytes or a refused CRDT operation.");
create_exception!(dcs, CryptoError, DcsError, "A key, seal, MAC or signature failure.");
create_exception!(dcs, StoreError, DcsError, "The event store refused or failed an operation.");
create_exception!(dcs, ConflictError, StoreError, "An append expected another stream version.");
create_exception!(
    dcs,
    TamperedError,
    StoreError,
    "A stored row fails its hash: the log was edited."
);

/// Converts a crate error into the matching Python exception.
pub(crate) trait IntoPy {
    /// The exception, carrying the Rust message.
    fn py(self) -> PyErr;
}

impl IntoPy for dcs_core::CoreError {
    fn py(self) -> PyErr {
        let msg = self.to_string();
        match self {
            dcs_core::CoreError::UnknownCurrency(_)
            | dcs_core::CoreError::CurrencyMismatch { .. }
            | dcs_core::CoreError::Overflow(_) => MoneyError::new_err(msg),
            _ => CoreError::new_err(msg),
        }
    }
}

impl IntoPy for dcs_crdt::CrdtError {
    fn py(self) -> PyErr {
        CrdtError::new_err(self.to_string())
    }
}

impl IntoPy for dcs_crypto::CryptoError {
    fn py(self) -> PyErr {
        CryptoError::new_err(self.to_string())
    }
}

impl IntoPy for dcs_store::StoreError {
    fn py(self) -> PyErr {
        let msg = self.to_string();
        match self {
            dcs_store::StoreError::Conflict { .. } => ConflictError::new_err(msg),
            dcs_store::StoreError::Tampered { .. } => TamperedError::new_err(msg),
            _ => StoreError::new_err(msg),
        }
    }
}

/// `map_err` into the Python exception.
pub(crate) fn py<E: IntoPy>(e: E) -> PyErr {
    e.py()
}
