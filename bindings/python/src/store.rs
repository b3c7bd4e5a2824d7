//! The local SQLite event store as a Python context manager: verifying appends, paged
//! reads, typed projections.

mod projections;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dcs_core::projection::LoyaltyProgram;
use dcs_store::sqlite::{Durability, MAX_READ, Options, SqliteStore, Verification};
use dcs_store::{ExpectedVersion, Projector, StoreError as CoreStoreError, StreamId, open_fact};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors::{CryptoError, StoreError, py};
use crate::events::{Event, KeyRegistry, Keyring, MacKey};
use crate::money::Money;
use projections::Projections;

/// Adds the store's classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Store>()?;
    m.add_class::<AppendResult>()?;
    m.add_class::<StoreIterator>()?;
    projections::register(m)
}

/// A store error as Python sees it: a crypto failure stays a `CryptoError`.
fn store_err(e: CoreStoreError) -> PyErr {
    match e {
        CoreStoreError::Crypto(c) => py(c),
        e @ CoreStoreError::Unverified { .. } => CryptoError::new_err(e.to_string()),
        other => py(other),
    }
}

/// Refuses a read limit above what one call returns.
fn check_limit(method: &str, limit: usize) -> PyResult<()> {
    if limit > MAX_READ {
        return Err(PyValueError::new_err(format!(
            "Store.{method}(limit={limit}): one call returns at most {MAX_READ} events; page with Store.iter_all(from_position, page_size) instead"
        )));
    }
    Ok(())
}

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
            StoreError::new_err(format!(
                "the store {} is closed: open a new dcs.Store to use it",
                self.path.display()
            ))
        })
    }
}

#[pymethods]
impl Store {
    /// Opens (or creates) the store at `path` (str or os.PathLike).
    ///
    /// `loyalty` = (spend_unit Money, points, [(tier, threshold)]); `busy_timeout` is in
    /// seconds (how long a write waits for another process's lock); `durability` is
    /// "full" (survives power loss) or "normal" (survives a process crash); `read_only`
    /// opens an existing store for reading only (appends raise StoreError). With `mac_key`
    /// (the tenant's MacKey) the hash chain is keyed: nobody without the key can recompute
    /// it after an edit; an unkeyed store is verified and re-chained under the key once.
    #[new]
    #[pyo3(signature = (path, utc_offset_minutes = 0, loyalty = None, *, busy_timeout = 5.0, durability = "full", read_only = false, mac_key = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py_: Python<'_>,
        path: PathBuf,
        utc_offset_minutes: i32,
        loyalty: Option<LoyaltyArg>,
        busy_timeout: f64,
        durability: &str,
        read_only: bool,
        mac_key: Option<&MacKey>,
    ) -> PyResult<Self> {
        let loyalty = loyalty
            .map(|(unit, points, tiers)| {
                let tiers: Vec<(&str, u64)> = tiers.iter().map(|(n, t)| (n.as_str(), *t)).collect();
                LoyaltyProgram::new(unit.inner, points, &tiers)
            })
            .transpose()
            .map_err(py)?;
        let busy_timeout = Duration::try_from_secs_f64(busy_timeout).map_err(|_| {
            PyValueError::new_err(format!(
                "Store(busy_timeout={busy_timeout}): give a number of seconds, 0 or more"
            ))
        })?;
        let durability = match durability {
            "full" => Durability::Full,
            "normal" => Durability::Normal,
            other => {
                return Err(PyValueError::new_err(format!(
                    "Store(durability={other:?}): use \"full\" or \"normal\""
                )));
            }
        };
        let options = Options { durability, busy_timeout, read_only, ..Options::default() };
        let p = path.clone();
        let key = mac_key.map(|k| &k.inner);
        let store = py_
            .detach(|| match key {
                Some(k) => SqliteStore::open_keyed(&p, options, k),
                None => SqliteStore::open_with(&p, options),
            })
            .map_err(store_err)?;
        let store = store.with_projector(Projector::new(utc_offset_minutes, loyalty).map_err(py)?);
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

    /// True when the store was opened with `read_only=True`.
    #[getter]
    fn read_only(&self) -> PyResult<bool> {
        Ok(self.store()?.is_read_only())
    }

    /// Verifies then appends `events` to `stream` in one durable transaction.
    ///
    /// Each event's MAC is checked with `mac_key` and its creator's signature with
    /// `registry`; one that fails raises CryptoError and nothing is written. With
    /// `keyring`, each event's fact is opened from the event itself and counted in the
    /// projections in the same transaction. `expected_version`: None/"any", "no_stream",
    /// or the stream's version.
    #[pyo3(signature = (stream, events, *, mac_key, registry, keyring = None, expected_version = None))]
    #[allow(clippy::too_many_arguments)]
    fn append(
        &self,
        py_: Python<'_>,
        stream: &str,
        events: Vec<Event>,
        mac_key: &MacKey,
        registry: &KeyRegistry,
        keyring: Option<&Keyring>,
        expected_version: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<AppendResult> {
        let stream = StreamId::new(stream).map_err(py)?;
        let expected = expected(expected_version)?;
        let events: Vec<_> = events.into_iter().map(|e| e.inner).collect();
        let store = self.store()?;
        let v = Verification {
            mac_key: &mac_key.inner,
            registry: &registry.inner,
            keys: keyring.map(|k| &k.inner as &(dyn dcs_crypto::KeyProvider + Sync)),
        };
        let r = py_
            .detach(|| store.append_verified(&stream, expected, &events, &v))
            .map_err(store_err)?;
        Ok(AppendResult {
            first_position: r.first_position,
            last_position: r.last_position,
            stream_version: r.stream_version,
            deduplicated: r.deduplicated,
        })
    }

    /// Up to `limit` (at most 100,000) events from `from_position` on, as (position, Event)
    /// pairs; each row's hash is checked. A larger limit raises ValueError: use `iter_all`.
    #[pyo3(signature = (from_position = 1, limit = 10_000))]
    fn read_all(
        &self,
        py_: Python<'_>,
        from_position: u64,
        limit: usize,
    ) -> PyResult<Vec<(u64, Event)>> {
        check_limit("read_all", limit)?;
        let store = self.store()?;
        let rows = py_.detach(|| store.read_all_sync(from_position, limit)).map_err(store_err)?;
        Ok(rows.into_iter().map(|s| (s.position, Event { inner: s.event })).collect())
    }

    /// Every event from `from_position` on, as (position, Event) pairs, read `page_size`
    /// (1 to 100,000) at a time; events appended while iterating are included.
    #[pyo3(signature = (from_position = 1, page_size = 1_000))]
    fn iter_all(&self, from_position: u64, page_size: usize) -> PyResult<StoreIterator> {
        if page_size == 0 || page_size > MAX_READ {
            return Err(PyValueError::new_err(format!(
                "Store.iter_all(page_size={page_size}): give 1 to {MAX_READ}"
            )));
        }
        Ok(StoreIterator {
            store: self.store()?,
            next: from_position.max(1),
            page_size,
            page: VecDeque::new(),
        })
    }

    /// Iterates over every event, as `iter_all()` does.
    fn __iter__(&self) -> PyResult<StoreIterator> {
        self.iter_all(1, 1_000)
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
        check_limit("read_stream", limit)?;
        let stream = StreamId::new(stream).map_err(py)?;
        let store = self.store()?;
        let rows = py_
            .detach(|| store.read_stream_sync(&stream, from_version, limit))
            .map_err(store_err)?;
        Ok(rows.into_iter().map(|s| Event { inner: s.event }).collect())
    }

    /// The position of the newest event (0 when empty).
    #[getter]
    fn head_position(&self, py_: Python<'_>) -> PyResult<u64> {
        let store = self.store()?;
        py_.detach(|| store.head_position_sync()).map_err(store_err)
    }

    /// Verifies the whole hash chain; returns the number of rows (raises TamperedError).
    fn verify_chain(&self, py_: Python<'_>) -> PyResult<u64> {
        let store = self.store()?;
        Ok(py_.detach(|| store.verify_chain()).map_err(store_err)?.rows)
    }

    /// The projections kept in the append transactions (typed rows: `.sales`,
    /// `.inventory`, `.loyalty`).
    fn projections(&self, py_: Python<'_>) -> PyResult<Projections> {
        let store = self.store()?;
        let rows = py_.detach(|| store.projection_rows()).map_err(store_err)?;
        Projections::from_rows(&rows)
    }

    /// Rebuilds the projections from the log, opening each payload with `keyring`; returns
    /// them as `projections()` does (equal when the log and tables agree). Events of a
    /// crypto-shredded tenant are skipped (its projections went with its key); any other
    /// key failure raises CryptoError and changes nothing.
    fn rebuild_projections(&self, py_: Python<'_>, keyring: &Keyring) -> PyResult<Projections> {
        let store = self.store()?;
        let kr = &keyring.inner;
        let rows =
            py_.detach(|| store.rebuild_projections(|e| open_fact(e, kr))).map_err(store_err)?;
        Projections::from_rows(&rows)
    }

    fn __repr__(&self) -> String {
        format!(
            "Store({:?}{})",
            self.path.display().to_string(),
            if self.inner.is_some() { "" } else { ", closed" }
        )
    }
}

/// Pages through the log for `Store.iter_all`; holds at most one page.
#[pyclass(module = "dcs")]
pub struct StoreIterator {
    store: Arc<SqliteStore>,
    next: u64,
    page_size: usize,
    page: VecDeque<(u64, Event)>,
}

#[pymethods]
impl StoreIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py_: Python<'_>) -> PyResult<Option<(u64, Event)>> {
        if self.page.is_empty() {
            let (store, from, size) = (&self.store, self.next, self.page_size);
            let rows = py_.detach(|| store.read_all_sync(from, size)).map_err(store_err)?;
            if let Some(last) = rows.last() {
                self.next = last.position + 1;
            }
            self.page.extend(rows.into_iter().map(|s| (s.position, Event { inner: s.event })));
        }
        Ok(self.page.pop_front())
    }
}
