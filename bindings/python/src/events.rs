//! Keys, signers, the sale lifecycle and sealed events: build, seal, open, verify.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use dcs_core::commerce::{
    CustomerId, DomainEvent as CoreDomainEvent, RefundId, Sale as CoreSale, SaleId, Sku, Tender,
};
use dcs_core::event::SignatureAlgorithm;
use dcs_core::{AgentId, BranchId, IdempotencyKey, SovereignFinancialEvent};
use dcs_crypto::{
    KekMaterial, KekRef, KeyRegistry as CoreRegistry, Keyring as CoreKeyring,
    Terminal as CoreTerminal, TerminalConfig, TerminalState,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rand_core::{OsRng, RngCore};

use crate::args::bytes_like;
use crate::errors::py;
use crate::money::{CartTotals, Money};

/// Milliseconds since the Unix epoch from the system clock (the binding is the driver).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Tenants' key-encryption keys, in memory (persist with `to_bytes`, keep the bytes secret).
#[pyclass(module = "dcs")]
pub struct Keyring {
    pub(crate) inner: CoreKeyring,
}

#[pymethods]
impl Keyring {
    /// An empty keyring.
    #[new]
    fn new() -> Self {
        Self { inner: CoreKeyring::new() }
    }

    /// Creates a random KEK `kek_id` for `tenant`; returns its version.
    fn create_kek(&mut self, tenant: &str, kek_id: &str) -> PyResult<u32> {
        Ok(self
            .inner
            .create_kek(tenant, kek_id, KekMaterial::Random(&mut OsRng))
            .map_err(py)?
            .version)
    }

    /// Adds a new random version of `kek_id`; new events use it. Returns the version.
    fn rotate(&mut self, kek_id: &str) -> PyResult<u32> {
        Ok(self.inner.rotate(kek_id, KekMaterial::Random(&mut OsRng)).map_err(py)?.version)
    }

    /// Retires version `version` of `kek_id`: payloads under it no longer open.
    fn retire(&mut self, kek_id: &str, version: u32) -> PyResult<()> {
        self.inner.retire(&KekRef::new(kek_id, version)).map_err(py)
    }

    /// Crypto-shreds `tenant`: destroys its KEKs; returns how many were destroyed.
    fn destroy_tenant(&mut self, tenant: &str) -> usize {
        self.inner.destroy_tenant(tenant)
    }

    /// The keyring's bytes (secret!).
    fn to_bytes<'py>(&self, py_: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py_, &self.inner.to_bytes())
    }

    /// Reads bytes written by `to_bytes` (bytes-like); a damaged keyring raises CryptoError.
    #[staticmethod]
    fn from_bytes(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let data = bytes_like(data, "keyring bytes")?;
        Ok(Self { inner: CoreKeyring::from_bytes(&data).map_err(py)? })
    }

    /// The keyring sealed (AES-256-GCM) under a 32-byte `wrapping_key` kept elsewhere; any
    /// edit fails `from_sealed_bytes`.
    fn to_sealed_bytes<'py>(
        &self,
        py_: Python<'py>,
        wrapping_key: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let key = data_key(wrapping_key)?;
        let sealed = self.inner.to_sealed_bytes(&key, &mut OsRng).map_err(py)?;
        Ok(PyBytes::new(py_, &sealed))
    }

    /// Opens bytes written by `to_sealed_bytes` with the same `wrapping_key`.
    #[staticmethod]
    fn from_sealed_bytes(
        data: &Bound<'_, PyAny>,
        wrapping_key: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let data = bytes_like(data, "sealed keyring bytes")?;
        let key = data_key(wrapping_key)?;
        Ok(Self { inner: CoreKeyring::from_sealed_bytes(&data, &key).map_err(py)? })
    }

    fn __repr__(&self) -> &'static str {
        "Keyring(<secret>)"
    }
}

/// A tenant's HMAC-SHA512 key for event metadata.
#[pyclass(module = "dcs")]
pub struct MacKey {
    pub(crate) inner: dcs_crypto::MacKey,
}

#[pymethods]
impl MacKey {
    /// A fresh random key, or the key given as bytes.
    #[new]
    #[pyo3(signature = (secret = None))]
    fn new(secret: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let inner = match secret {
            Some(s) => {
                let s = zeroize::Zeroizing::new(bytes_like(s, "MAC key secret")?);
                dcs_crypto::MacKey::from_bytes(&s).map_err(py)?
            }
            None => dcs_crypto::MacKey::random(&mut OsRng),
        };
        Ok(Self { inner })
    }

    /// The key's secret bytes (secret! keep them where only the owner can read them);
    /// `MacKey(secret)` loads them again.
    fn to_bytes<'py>(&self, py_: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py_, &self.inner.to_secret_bytes())
    }

    fn __repr__(&self) -> &'static str {
        "MacKey(<secret>)"
    }
}

/// The Python name of a signature algorithm.
fn algorithm_label(a: SignatureAlgorithm) -> &'static str {
    match a {
        SignatureAlgorithm::EcdsaP256Sha256 => "ecdsa-p256",
        SignatureAlgorithm::Ed25519 => "ed25519",
    }
}

/// A 32-byte wrapping key from a bytes-like argument.
fn data_key(obj: &Bound<'_, PyAny>) -> PyResult<dcs_crypto::DataKey> {
    let raw = zeroize::Zeroizing::new(bytes_like(obj, "wrapping key")?);
    dcs_crypto::DataKey::from_slice(&raw).map_err(py)
}

fn algorithm(name: &str) -> PyResult<SignatureAlgorithm> {
    match name {
        "ecdsa-p256" => Ok(SignatureAlgorithm::EcdsaP256Sha256),
        "ed25519" => Ok(SignatureAlgorithm::Ed25519),
        other => Err(PyValueError::new_err(format!(
            "signature algorithm must be \"ecdsa-p256\" or \"ed25519\", got {other:?}"
        ))),
    }
}

/// A creator's signing key (ECDSA P-256 or Ed25519).
#[pyclass(module = "dcs")]
pub struct Signer {
    pub(crate) inner: dcs_crypto::Signer,
}

#[pymethods]
impl Signer {
    /// A fresh key of `algorithm`: "ecdsa-p256" (default) or "ed25519".
    #[new]
    #[pyo3(signature = (algorithm_name = "ecdsa-p256"))]
    fn new(algorithm_name: &str) -> PyResult<Self> {
        Ok(Self { inner: dcs_crypto::Signer::generate(algorithm(algorithm_name)?, &mut OsRng) })
    }

    /// The public key's bytes.
    fn public_key<'py>(&self, py_: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py_, &self.inner.verifier().to_bytes())
    }

    /// The algorithm: "ecdsa-p256" or "ed25519".
    #[getter]
    fn algorithm(&self) -> &'static str {
        algorithm_label(self.inner.algorithm())
    }

    /// A key file (secret!): algorithm, 32-byte secret and a digest, so a POS keeps its
    /// identity across restarts. `Signer.from_key_bytes` loads it.
    fn to_key_bytes<'py>(&self, py_: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py_, &self.inner.to_key_bytes())
    }

    /// Loads a key file written by `to_key_bytes` (bytes-like); a damaged file raises.
    #[staticmethod]
    fn from_key_bytes(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let data = zeroize::Zeroizing::new(bytes_like(data, "signer key file")?);
        Ok(Self { inner: dcs_crypto::Signer::from_key_bytes(&data).map_err(py)? })
    }

    /// The raw 32-byte secret (secret!), e.g. to store it in a key provider.
    fn secret_bytes<'py>(&self, py_: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py_, self.inner.to_secret_bytes().as_slice())
    }

    /// A signer from a raw 32-byte secret of `algorithm_name`.
    #[staticmethod]
    fn from_secret(algorithm_name: &str, secret: &Bound<'_, PyAny>) -> PyResult<Self> {
        let secret = zeroize::Zeroizing::new(bytes_like(secret, "signer secret")?);
        let inner =
            dcs_crypto::Signer::from_bytes(algorithm(algorithm_name)?, &secret).map_err(py)?;
        Ok(Self { inner })
    }

    fn __repr__(&self) -> String {
        format!("Signer({:?})", dcs_crypto::signature::algorithm_name(self.inner.algorithm()))
    }
}

/// Public keys of agents and cashiers, for verifying signatures.
#[pyclass(module = "dcs")]
pub struct KeyRegistry {
    pub(crate) inner: CoreRegistry,
}

#[pymethods]
impl KeyRegistry {
    /// An empty registry.
    #[new]
    fn new() -> Self {
        Self { inner: CoreRegistry::new() }
    }

    /// Registers `signer`'s public key for `agent_id`.
    fn register(&mut self, agent_id: &str, signer: &Signer) -> PyResult<()> {
        self.inner.register(&AgentId::new(agent_id).map_err(py)?, signer.inner.verifier());
        Ok(())
    }

    /// Registers a public key given as bytes (`Signer.public_key()`) for `agent_id`.
    fn register_public_key(
        &mut self,
        agent_id: &str,
        algorithm_name: &str,
        public_key: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let public_key = bytes_like(public_key, "public key")?;
        let key = dcs_crypto::Verifier::from_bytes(algorithm(algorithm_name)?, &public_key)
            .map_err(py)?;
        self.inner.register(&AgentId::new(agent_id).map_err(py)?, key);
        Ok(())
    }
}

/// One business fact of the sale or session lifecycle, not yet sealed.
#[pyclass(module = "dcs", frozen, from_py_object)]
#[derive(Clone)]
pub struct DomainEvent {
    pub(crate) inner: CoreDomainEvent,
}

#[pymethods]
impl DomainEvent {
    /// The event type name, e.g. "SALE_COMPLETED".
    #[getter]
    fn event_type(&self) -> &'static str {
        self.inner.event_type.name()
    }

    /// The visible amount, or None for non-monetary facts.
    #[getter]
    fn amount(&self) -> Option<Money> {
        self.inner.amount.map(|inner| Money { inner })
    }

    fn __repr__(&self) -> String {
        format!(
            "DomainEvent({}, {:?})",
            self.inner.event_type.name(),
            self.inner.amount.map(|m| m.to_string())
        )
    }
}

fn tender(name: &str) -> PyResult<Tender> {
    match name {
        "cash" => Ok(Tender::Cash),
        "card" => Ok(Tender::Card),
        "mobile" => Ok(Tender::Mobile),
        "voucher" => Ok(Tender::Voucher),
        other => Err(PyValueError::new_err(format!(
            "tender must be \"cash\", \"card\", \"mobile\" or \"voucher\", got {other:?}"
        ))),
    }
}

fn wrap(events: Vec<CoreDomainEvent>) -> Vec<DomainEvent> {
    events.into_iter().map(|inner| DomainEvent { inner }).collect()
}

/// A sale: initiated from a priced cart, paid, completed, refunded within what was sold.
#[pyclass(module = "dcs")]
pub struct Sale {
    inner: CoreSale,
}

#[pymethods]
impl Sale {
    /// Starts sale `sale_id` at `branch` from `totals`; returns (sale, SALE_INITIATED fact).
    #[staticmethod]
    #[pyo3(signature = (sale_id, branch, totals, customer = None))]
    fn initiate(
        sale_id: &str,
        branch: &str,
        totals: &CartTotals,
        customer: Option<&str>,
    ) -> PyResult<(Sale, DomainEvent)> {
        let customer = customer.map(CustomerId::new).transpose().map_err(py)?;
        let (inner, started) = CoreSale::initiate(
            SaleId::new(sale_id).map_err(py)?,
            BranchId::new(branch).map_err(py)?,
            &totals.inner,
            customer,
        )
        .map_err(py)?;
        Ok((Sale { inner }, DomainEvent { inner: started }))
    }

    /// Authorizes and captures the total with `tender`, then completes; returns the facts.
    fn pay_and_complete(&mut self, tender_name: &str) -> PyResult<Vec<DomainEvent>> {
        Ok(wrap(self.inner.pay_and_complete(tender(tender_name)?).map_err(py)?))
    }

    /// Refunds `lines` [(sku, quantity)] with `tender`; never more than was sold.
    fn refund(
        &mut self,
        refund_id: &str,
        lines: Vec<(String, u32)>,
        tender_name: &str,
        reason: &str,
    ) -> PyResult<Vec<DomainEvent>> {
        let lines = lines
            .iter()
            .map(|(s, q)| Sku::new(s).map(|s| (s, *q)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(py)?;
        let facts = self
            .inner
            .refund(RefundId::new(refund_id).map_err(py)?, &lines, tender(tender_name)?, reason)
            .map_err(py)?;
        Ok(wrap(facts))
    }

    /// The sale's total.
    #[getter]
    fn total(&self) -> Money {
        Money { inner: self.inner.totals().total }
    }

    /// What has been refunded so far.
    #[getter]
    fn refunded(&self) -> PyResult<Money> {
        Ok(Money { inner: self.inner.refunded().map_err(py)? })
    }
}

/// A sealed, MACed and signed event.
#[pyclass(module = "dcs", frozen, from_py_object)]
#[derive(Clone)]
pub struct Event {
    pub(crate) inner: SovereignFinancialEvent,
}

#[pymethods]
impl Event {
    /// The event id (UUIDv7 text).
    #[getter]
    fn event_id(&self) -> String {
        self.inner.event_id().to_string()
    }
    /// The event type name.
    #[getter]
    fn event_type(&self) -> &'static str {
        self.inner.event_type().name()
    }
    /// The amount, or None for a fact that carries no money (as on `DomainEvent.amount`).
    #[getter]
    fn amount(&self) -> Option<Money> {
        self.inner.fact_amount().map(|inner| Money { inner })
    }
    /// The tenant.
    #[getter]
    fn tenant(&self) -> String {
        self.inner.tenant_id().to_string()
    }
    /// The branch.
    #[getter]
    fn branch(&self) -> String {
        self.inner.branch_id().to_string()
    }
    /// The idempotency key.
    #[getter]
    fn idempotency_key(&self) -> String {
        self.inner.idempotency_key().as_str().to_string()
    }

    /// The event's bytes (postcard), as stores and the sync protocol carry it.
    fn to_bytes<'py>(&self, py_: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py_, &self.inner.to_bytes())
    }

    /// Decodes and validates event bytes (from `to_bytes`, in any language; bytes-like);
    /// exactly one event, no trailing bytes.
    #[staticmethod]
    fn from_bytes(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let data = bytes_like(data, "event bytes")?;
        Ok(Self { inner: SovereignFinancialEvent::from_bytes(&data).map_err(py)? })
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Self>().is_ok_and(|o| o.get().inner == self.inner)
    }

    fn __repr__(&self) -> String {
        format!(
            "Event({} {} {})",
            self.inner.event_type().name(),
            self.inner.amount(),
            self.inner.event_id()
        )
    }
}

/// Opens `event`'s payload with `keyring` (the plaintext body bytes).
#[pyfunction]
pub fn open_event<'py>(
    py_: Python<'py>,
    event: &Event,
    keyring: &Keyring,
) -> PyResult<Bound<'py, PyBytes>> {
    let plain = py_.detach(|| dcs_crypto::open_event(&event.inner, &keyring.inner)).map_err(py)?;
    Ok(PyBytes::new(py_, &plain))
}

/// Checks `event`'s MAC with `mac_key` and its creator's signature in `registry`.
#[pyfunction]
pub fn verify_event(
    py_: Python<'_>,
    event: &Event,
    mac_key: &MacKey,
    registry: &KeyRegistry,
) -> PyResult<()> {
    py_.detach(|| dcs_crypto::verify_event(&event.inner, &mac_key.inner, &registry.inner))
        .map_err(py)
}

/// A POS terminal's identity, clocks and keys: it turns facts into sealed events.
///
/// Safe to share between Python threads: sealing takes the terminal's lock, so its clocks
/// advance one event at a time. Save `state()` after sealing and pass it back as `state=` on
/// restart so the clocks continue; the idempotency keys need no saved state (see `seal`).
#[pyclass(module = "dcs")]
pub struct Terminal {
    state: Mutex<CoreTerminal>,
    cashier: AgentId,
}

#[pymethods]
impl Terminal {
    /// A terminal of `tenant`/`branch` run by `agent`, its events created by `cashier`.
    ///
    /// It seals under the tenant's current KEK and follows rotations; with `kek_id` (and
    /// `kek_version`) it seals only while that KEK is current and raises otherwise.
    #[new]
    #[pyo3(signature = (tenant, branch, agent, cashier, kek_id = None, kek_version = None, currency_code = "USD", state = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        tenant: &str,
        branch: &str,
        agent: &str,
        cashier: &str,
        kek_id: Option<&str>,
        kek_version: Option<u32>,
        currency_code: &str,
        state: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut config =
            TerminalConfig::new(tenant, branch, agent, crate::money::currency(currency_code)?)
                .map_err(py)?;
        config.pinned_kek = match (kek_id, kek_version) {
            (Some(id), version) => Some(KekRef::checked(id, version.unwrap_or(1)).map_err(py)?),
            (None, None) => None,
            (None, Some(_)) => {
                return Err(PyValueError::new_err("kek_version needs kek_id: name the KEK too"));
            }
        };
        let saved = match state {
            Some(b) => TerminalState::from_bytes(&bytes_like(b, "terminal state")?).map_err(py)?,
            None => TerminalState::default(),
        };
        let mut node = [0u8; 16];
        OsRng.fill_bytes(&mut node);
        node[0] |= 1;
        let inner = CoreTerminal::resume(config, node, &saved).map_err(py)?;
        Ok(Self { state: Mutex::new(inner), cashier: AgentId::new(cashier).map_err(py)? })
    }

    /// Builds, seals, MACs and signs one event per fact, in order.
    ///
    /// `keys` gives each fact its command's idempotency key (e.g. the receipt number), so a
    /// command rebuilt after a crash is refused by the store instead of stored twice; without
    /// it each event gets `AGENT/EVENT-ID`, unique per event with no saved state.
    #[pyo3(signature = (facts, keyring, mac_key, signer, keys = None))]
    fn seal(
        &self,
        py_: Python<'_>,
        facts: Vec<DomainEvent>,
        keyring: &Keyring,
        mac_key: &MacKey,
        signer: &Signer,
        keys: Option<Vec<String>>,
    ) -> PyResult<Vec<Event>> {
        let keys: Vec<Option<IdempotencyKey>> = match keys {
            None => vec![None; facts.len()],
            Some(k) if k.len() == facts.len() => k
                .into_iter()
                .map(|k| IdempotencyKey::new(k).map(Some))
                .collect::<Result<_, _>>()
                .map_err(py)?,
            Some(k) => {
                return Err(PyValueError::new_err(format!(
                    "keys has {} entries for {} facts: give one key per fact, or none",
                    k.len(),
                    facts.len()
                )));
            }
        };
        let sealed = py_.detach(|| {
            let mut term = self.lock()?;
            let mut out = Vec::with_capacity(facts.len());
            for (fact, key) in facts.iter().zip(keys) {
                let event = term
                    .seal(
                        &fact.inner,
                        &self.cashier,
                        key,
                        now_ms(),
                        &mut OsRng,
                        &keyring.inner,
                        &mac_key.inner,
                        &signer.inner,
                    )
                    .map_err(py)?;
                out.push(Event { inner: event });
            }
            Ok::<_, PyErr>(out)
        })?;
        Ok(sealed)
    }

    /// The clocks to save (bytes) and pass back as `Terminal(..., state=...)` after a restart.
    fn state<'py>(&self, py_: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py_, &self.lock()?.state().to_bytes()))
    }

    /// Drops and zeroizes the cached data keys (e.g. after shredding a tenant).
    fn evict_keys(&self) -> PyResult<()> {
        self.lock()?.evict_keys();
        Ok(())
    }
}

impl Terminal {
    fn lock(&self) -> PyResult<std::sync::MutexGuard<'_, CoreTerminal>> {
        self.state.lock().map_err(|_| {
            crate::errors::CryptoError::new_err(
                "a previous seal on this terminal panicked; create a new Terminal",
            )
        })
    }
}
