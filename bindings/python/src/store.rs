//! The local SQLite event store as a Python context manager.

use std::path::PathBuf;
use std::sync::Arc;

use dcs_core::commerce::EventBody;
use dcs_core::projection::LoyaltyProgram;
use dcs_store::sqlite::SqliteStore;
use dcs_store::{ExpectedVersion, Projector, StoreError as CoreStoreError, StreamId};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{StoreError, py};
use crate::events::{DomainEvent, Event, Keyring};
use crate::money::Money;

/// A loyalty program as Python gives it: (spend unit, points per unit, [(tier, threshold)]).
type LoyaltyArg = (Money, u64, Vec<(String, u64)>);

/// What an append wrote (or, for a retried append, what it had written).
#[pyclass(module = "dcs", frozen, get_all, eq)]
#[derive(Clone, PartialEq, Eq)]
pub struct AppendResult {
    /// Position of the first event.
    first_position: u64,
    /// Position of the last event.
    last_position: u64,
    /// The stream's version after the append.
    stream_version: u64,
    /// True when the idempotency keys were already used: nothing was written.
    deduplicated: bool,
}

#[pymethods]
impl AppendResult {
    fn __repr__(&self) -> String {
        format!(
            "AppendResult(first_position={}, last_position={}, stream_version={}, deduplicated={})",
            self.first_position,
            self.last_position,
            self.stream_version,
            if self.deduplicated { "True" } else { "False" }
        )
    }
}

fn expected(version: Option<&Bound<'_, PyAny>>) -> PyResult<ExpectedVersion> {
    let Some(v) = version else { return Ok(ExpectedVersion::Any) };
    if let Ok(s) = v.extract::<String>() {
        return match s.as_str() {
            "any" => Ok(ExpectedVersion::Any),
            "no_stream" => Ok(ExpectedVersion::NoStream),
            other => Err(PyValueError::new_err(format!(
                "expected_version must be an int, \"any\" or \"no_stream\", got {other:?}"
            ))),
        };
    }
    Ok(ExpectedVersion::Exact(v.extract::<u64>()?))
}

/// A tamper-evident, crash-safe SQLite event store (use it in a `with` block).
#[pyclass(module = "dcs")]
pub struct Store {
    inner: Option<Arc<SqliteStore>>,
    path: PathBuf,
}

impl Store {
    fn store(&self) -> PyResult<Arc<SqliteStore>> {
        self.inner.clone().ok_or_else(|| {
            StoreError::new_err(format!("the store {} is closed", self.path.display()))
        })
    }
}

#[pymethods]
impl Store {
    /// Opens (or creates) the store at `path`; `loyalty` = (spend_unit Money, points, [(tier, threshold)]).
    #[new]
    #[pyo3(signature = (path, utc_offset_minutes = 0, loyalty = None))]
    fn new(
        py_: Python<'_>,
        path: PathBuf,
        utc_offset_minutes: i32,
        loyalty: Option<LoyaltyArg>,
    ) -> PyResult<Self> {
        let loyalty = loyalty
            .map(|(unit, points, tiers)| {
                let tiers: Vec<(&str, u64)> = tiers.iter().map(|(n, t)| (n.as_str(), *t)).collect();
                LoyaltyProgram::new(unit.inner, points, &tiers)
            })
            .transpose()
            .map_err(py)?;
        let p = path.clone();
        let store = py_.detach(|| SqliteStore::open(&p)).map_err(py)?;
        let store = store.with_projector(Projector { utc_offset_minutes, loyalty });
        Ok(Self { inner: Some(Arc::new(store)), path })
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&mut self, _exc: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.inner = None;
        false
    }

    /// Closes the store; later calls raise StoreError.
    fn close(&mut self) {
        self.inner = None;
    }

    /// Appends sealed `events` to `stream` in one durable transaction.
    ///
    /// `facts` (the plaintext DomainEvents, one per event) update the projections in the same
    /// transaction. `expected_version`: None/"any", "no_stream", or the stream's version.
    #[pyo3(signature = (stream, events, facts = None, expected_version = None))]
    fn append(
        &self,
        py_: Python<'_>,
        stream: &str,
        events: Vec<Event>,
        facts: Option<Vec<DomainEvent>>,
        expected_version: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<AppendResult> {
        let stream = StreamId::new(stream).map_err(py)?;
        let expected = expected(expected_version)?;
        let events: Vec<_> = events.into_iter().map(|e| e.inner).collect();
        let bodies: Vec<EventBody> =
            facts.unwrap_or_default().into_iter().map(|f| f.inner.body).collect();
        let store = self.store()?;
        let r = py_
            .detach(|| store.append_with_bodies(&stream, expected, &events, &bodies))
            .map_err(py)?;
        Ok(AppendResult {
            first_position: r.first_position,
            last_position: r.last_position,
            stream_version: r.stream_version,
            deduplicated: r.deduplicated,
        })
    }

    /// Events from `from_position` on, as (position, Event) pairs; each row's hash is checked.
    #[pyo3(signature = (from_position = 1, limit = 10_000))]
    fn read_all(
        &self,
        py_: Python<'_>,
        from_position: u64,
        limit: usize,
    ) -> PyResult<Vec<(u64, Event)>> {
        let store = self.store()?;
        let rows = py_.detach(|| store.read_all_sync(from_position, limit)).map_err(py)?;
        Ok(rows.into_iter().map(|s| (s.position, Event { inner: s.event })).collect())
    }

    /// Events of `stream` from `from_version` on.
    #[pyo3(signature = (stream, from_version = 1, limit = 10_000))]
    fn read_stream(
        &self,
        py_: Python<'_>,
        stream: &str,
        from_version: u64,
        limit: usize,
    ) -> PyResult<Vec<Event>> {
        let stream = StreamId::new(stream).map_err(py)?;
        let store = self.store()?;
        let rows =
            py_.detach(|| store.read_stream_sync(&stream, from_version, limit)).map_err(py)?;
        Ok(rows.into_iter().map(|s| Event { inner: s.event }).collect())
    }

    /// The position of the newest event (0 when empty).
    #[getter]
    fn head_position(&self, py_: Python<'_>) -> PyResult<u64> {
        let store = self.store()?;
        py_.detach(|| store.head_position_sync()).map_err(py)
    }

    /// Verifies the whole hash chain; returns the number of rows (raises TamperedError).
    fn verify_chain(&self, py_: Python<'_>) -> PyResult<u64> {
        let store = self.store()?;
        Ok(py_.detach(|| store.verify_chain()).map_err(py)?.rows)
    }

    /// The projections kept in the append transactions: {"sales": [...], "inventory": [...], "loyalty": [...]}.
    fn projections<'py>(&self, py_: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let store = self.store()?;
        let rows = py_.detach(|| store.projection_rows()).map_err(py)?;
        projections_dict(py_, &rows)
    }

    /// Rebuilds the projections from the log, opening each payload with `keyring`; returns
    /// them in the same form as `projections()` (equal when the log and tables agree).
    fn rebuild_projections<'py>(
        &self,
        py_: Python<'py>,
        keyring: &Keyring,
    ) -> PyResult<Bound<'py, PyDict>> {
        let store = self.store()?;
        let kr = &keyring.inner;
        let rows = py_
            .detach(|| {
                store.rebuild_projections(|e| {
                    let plain = dcs_crypto::open_event(e, kr)
                        .map_err(|err| CoreStoreError::Database(err.to_string()))?;
                    Ok(Some(EventBody::from_bytes(&plain)?))
                })
            })
            .map_err(py)?;
        projections_dict(py_, &rows)
    }

    fn __repr__(&self) -> String {
        format!(
            "Store({:?}{})",
            self.path.display().to_string(),
            if self.inner.is_some() { "" } else { ", closed" }
        )
    }
}

fn projections_dict<'py>(
    py_: Python<'py>,
    rows: &dcs_store::ProjectionRows,
) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py_);
    let mut sales = Vec::new();
    for (key, day) in &rows.sales {
        let d = PyDict::new(py_);
        d.set_item("tenant", key.tenant.as_str())?;
        d.set_item("branch", key.branch.as_str())?;
        d.set_item("day", key.day.to_string())?;
        d.set_item("currency", key.currency.code())?;
        d.set_item("sales_count", day.sales_count)?;
        d.set_item("refund_count", day.refund_count)?;
        for (name, m) in [
            ("gross", day.gross),
            ("discounts", day.discounts),
            ("refunds", day.refunds),
            ("tax", day.tax),
            ("net", day.net),
        ] {
            d.set_item(name, Money { inner: m })?;
        }
        sales.push(d);
    }
    out.set_item("sales", sales)?;
    let mut stock = Vec::new();
    for (key, level) in &rows.inventory {
        let d = PyDict::new(py_);
        d.set_item("tenant", key.tenant.as_str())?;
        d.set_item("branch", key.branch.as_str())?;
        d.set_item("sku", key.sku.to_string())?;
        d.set_item("received", level.received)?;
        d.set_item("sold", level.sold)?;
        d.set_item("transferred_out", level.transferred_out)?;
        d.set_item("transferred_in", level.transferred_in)?;
        stock.push(d);
    }
    out.set_item("inventory", stock)?;
    let mut loyalty = Vec::new();
    for ((tenant, customer), c) in &rows.loyalty {
        let d = PyDict::new(py_);
        d.set_item("tenant", tenant.as_str())?;
        d.set_item("customer", customer.to_string())?;
        d.set_item("purchases", c.purchases)?;
        d.set_item("net_spend_minor", c.net_spend)?;
        loyalty.push(d);
    }
    out.set_item("loyalty", loyalty)?;
    Ok(out)
}
