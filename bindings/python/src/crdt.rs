//! The CRDTs as Python classes: mutators return delta bytes; states round-trip through bytes.

use dcs_crdt::{Crdt, Hlc, ReplicaId};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::py;

/// Encodes a value with the versioned dcs-crdt codec into Python bytes.
fn bytes<'py, T: serde::Serialize>(py_: Python<'py>, value: &T) -> PyResult<Bound<'py, PyBytes>> {
    let raw = dcs_crdt::encode(value).map_err(py)?;
    Ok(PyBytes::new(py_, &raw))
}

/// Declares a Python class over a CRDT with the shared methods.
macro_rules! crdt_class {
    ($(#[doc = $doc:literal])* $name:ident, $inner:ty, { $($extra:tt)* }) => {
        $(#[doc = $doc])*
        #[pyclass(module = "dcs", from_py_object)]
        #[derive(Clone, Default)]
        pub struct $name {
            inner: $inner,
        }

        #[pymethods]
        impl $name {
            /// An empty state.
            #[new]
            fn new() -> Self {
                Self::default()
            }

            /// Decodes and validates state bytes written by `to_bytes` (in any language).
            #[staticmethod]
            fn from_bytes(data: &Bound<'_, PyAny>) -> PyResult<Self> {
                let data = crate::args::bytes_like(data, "state bytes")?;
                Ok(Self { inner: dcs_crdt::decode_state::<$inner>(&data).map_err(py)? })
            }

            /// The canonical bytes of the state: equal states give equal bytes.
            fn to_bytes<'py>(&self, py_: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
                bytes(py_, &self.inner)
            }

            /// Joins the full state `other` into this one.
            fn merge(&mut self, other: &Self) {
                self.inner.merge(&other.inner);
            }

            /// Joins delta bytes (from a mutator or `join_deltas`) into this state.
            fn apply_delta(&mut self, delta: &Bound<'_, PyAny>) -> PyResult<()> {
                let delta = crate::args::bytes_like(delta, "delta bytes")?;
                let delta = dcs_crdt::decode_delta::<$inner>(&delta).map_err(py)?;
                self.inner.apply_delta(&delta);
                Ok(())
            }

            /// Joins two deltas into one to ship together.
            #[staticmethod]
            fn join_deltas<'py>(
                py_: Python<'py>,
                a: &Bound<'_, PyAny>,
                b: &Bound<'_, PyAny>,
            ) -> PyResult<Bound<'py, PyBytes>> {
                let a = crate::args::bytes_like(a, "delta bytes")?;
                let b = crate::args::bytes_like(b, "delta bytes")?;
                let mut joined = dcs_crdt::decode_delta::<$inner>(&a).map_err(py)?;
                let b = dcs_crdt::decode_delta::<$inner>(&b).map_err(py)?;
                <$inner as Crdt>::join_deltas(&mut joined, &b);
                bytes(py_, &joined)
            }

            /// An independent copy.
            fn copy(&self) -> Self {
                self.clone()
            }

            fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
                other.cast::<Self>().is_ok_and(|o| o.borrow().inner == self.inner)
            }

            fn __repr__(&self) -> String {
                format!("{}({:?})", stringify!($name), self.value_repr())
            }

            $($extra)*
        }
    };
}

crdt_class!(
    /// A grow-only counter (transactions, visits).
    GCounter,
    dcs_crdt::GCounter,
    {
    /// Adds `amount` for `replica`; returns the delta bytes.
    fn increment<'py>(&mut self, py_: Python<'py>, replica: u64, amount: u64) -> PyResult<Bound<'py, PyBytes>> {
        let delta = self.inner.increment(ReplicaId(replica), amount).map_err(py)?;
        bytes(py_, &delta)
    }

    /// The counter's value.
    #[getter]
    fn value(&self) -> u128 {
        self.inner.value()
    }
    }
);

impl GCounter {
    fn value_repr(&self) -> u128 {
        self.inner.value()
    }
}

crdt_class!(
    /// An increment/decrement counter (stock quantities).
    PNCounter,
    dcs_crdt::PNCounter,
    {
    /// Adds `amount` for `replica`; returns the delta bytes.
    fn increment<'py>(&mut self, py_: Python<'py>, replica: u64, amount: u64) -> PyResult<Bound<'py, PyBytes>> {
        let delta = self.inner.increment(ReplicaId(replica), amount).map_err(py)?;
        bytes(py_, &delta)
    }

    /// Subtracts `amount` for `replica`; returns the delta bytes.
    fn decrement<'py>(&mut self, py_: Python<'py>, replica: u64, amount: u64) -> PyResult<Bound<'py, PyBytes>> {
        let delta = self.inner.decrement(ReplicaId(replica), amount).map_err(py)?;
        bytes(py_, &delta)
    }

    /// The counter's value (increments − decrements).
    #[getter]
    fn value(&self) -> i128 {
        self.inner.value()
    }
    }
);

impl PNCounter {
    fn value_repr(&self) -> i128 {
        self.inner.value()
    }
}

crdt_class!(
    /// An add-wins observed-remove set of strings (active catalog, open sessions).
    ORSet,
    dcs_crdt::ORSet<String>,
    {
    /// Adds `value` on behalf of `replica`; returns the delta bytes.
    fn add<'py>(&mut self, py_: Python<'py>, replica: u64, value: String) -> PyResult<Bound<'py, PyBytes>> {
        let delta = self.inner.add(ReplicaId(replica), value);
        bytes(py_, &delta)
    }

    /// Removes `value` (the adds this replica has seen); returns the delta bytes.
    fn remove<'py>(&mut self, py_: Python<'py>, value: String) -> PyResult<Bound<'py, PyBytes>> {
        let delta = self.inner.remove(&value);
        bytes(py_, &delta)
    }

    /// The elements, in the set's order.
    #[getter]
    fn value(&self) -> Vec<String> {
        self.value_repr()
    }

    fn __contains__(&self, value: &str) -> bool {
        self.inner.contains(&value.to_string())
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }
    }
);

impl ORSet {
    fn value_repr(&self) -> Vec<String> {
        self.inner.iter().cloned().collect()
    }
}

crdt_class!(
    /// A last-writer-wins register of a string (prices, configuration).
    LWWRegister,
    dcs_crdt::LWWRegister<String>,
    {
    /// Writes `value` stamped with HLC `time` by `replica`; returns the delta bytes.
    fn set<'py>(&mut self, py_: Python<'py>, value: String, time: u64, replica: u64) -> PyResult<Bound<'py, PyBytes>> {
        let delta = self.inner.set(value, Hlc::new(time, ReplicaId(replica)));
        bytes(py_, &delta)
    }

    /// The current value, or None if never written.
    #[getter]
    fn value(&self) -> Option<String> {
        self.value_repr()
    }
    }
);

impl LWWRegister {
    fn value_repr(&self) -> Option<String> {
        self.inner.get().cloned()
    }
}

crdt_class!(
    /// A counter that never goes below zero (limited stock): replicas spend only rights they hold.
    BoundedCounter,
    dcs_crdt::BoundedCounter,
    {
        /// Adds `amount` (and as many rights) for `replica`; returns the delta bytes.
        fn increment<'py>(&mut self, py_: Python<'py>, replica: u64, amount: u64) -> PyResult<Bound<'py, PyBytes>> {
            let delta = self.inner.increment(ReplicaId(replica), amount).map_err(py)?;
            bytes(py_, &delta)
        }

        /// Spends `amount` of `replica`'s rights; raises CrdtError (changing nothing) if it holds fewer.
        fn decrement<'py>(&mut self, py_: Python<'py>, replica: u64, amount: u64) -> PyResult<Bound<'py, PyBytes>> {
            let delta = self.inner.decrement(ReplicaId(replica), amount).map_err(py)?;
            bytes(py_, &delta)
        }

        /// Moves `amount` rights from `source` (the caller) to `target`; returns the delta bytes.
        fn transfer<'py>(&mut self, py_: Python<'py>, source: u64, target: u64, amount: u64) -> PyResult<Bound<'py, PyBytes>> {
            let delta = self.inner.transfer(ReplicaId(source), ReplicaId(target), amount).map_err(py)?;
            bytes(py_, &delta)
        }

        /// The rights `replica` holds here.
        fn rights(&self, replica: u64) -> u128 {
            self.inner.rights(ReplicaId(replica))
        }

        /// The counter's value (never negative).
        #[getter]
        fn value(&self) -> u128 {
            self.inner.value()
        }
    }
);

impl BoundedCounter {
    fn value_repr(&self) -> u128 {
        self.inner.value()
    }
}

crdt_class!(
    /// A map of string keys to PNCounters with add-wins keys (SKU → stock).
    PNCounterMap,
    dcs_crdt::ORMap<String, dcs_crdt::PNCounter>,
    {
        /// Adds `amount` to `key`'s counter for `replica`; returns the delta bytes.
        fn increment<'py>(&mut self, py_: Python<'py>, replica: u64, key: String, amount: u64) -> PyResult<Bound<'py, PyBytes>> {
            let r = ReplicaId(replica);
            let delta = self.inner.update(r, key, |c| c.increment(r, amount)).map_err(py)?;
            bytes(py_, &delta)
        }

        /// Subtracts `amount` from `key`'s counter for `replica`; returns the delta bytes.
        fn decrement<'py>(&mut self, py_: Python<'py>, replica: u64, key: String, amount: u64) -> PyResult<Bound<'py, PyBytes>> {
            let r = ReplicaId(replica);
            let delta = self.inner.update(r, key, |c| c.decrement(r, amount)).map_err(py)?;
            bytes(py_, &delta)
        }

        /// Removes `key` (the updates this replica has seen); returns the delta bytes.
        fn remove<'py>(&mut self, py_: Python<'py>, key: String) -> PyResult<Bound<'py, PyBytes>> {
            let delta = self.inner.remove(&key);
            bytes(py_, &delta)
        }

        /// `key`'s count, or None if absent.
        fn get(&self, key: String) -> Option<i128> {
            self.inner.get(&key).map(dcs_crdt::PNCounter::value)
        }

        /// {key: count}.
        #[getter]
        fn value(&self) -> std::collections::BTreeMap<String, i128> {
            self.value_repr()
        }

        fn __len__(&self) -> usize {
            self.inner.len()
        }
    }
);

impl PNCounterMap {
    fn value_repr(&self) -> std::collections::BTreeMap<String, i128> {
        self.inner
            .keys()
            .filter_map(|k| self.inner.get(k).map(|c| (k.clone(), c.value())))
            .collect()
    }
}
