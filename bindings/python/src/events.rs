//! Keys, signers, the sale lifecycle and sealed events: build, seal, open, verify.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use dcs_core::commerce::{
    CustomerId, DomainEvent as CoreDomainEvent, RefundId, Sale as CoreSale, SaleId, Sku, Tender,
};
use dcs_core::event::SignatureAlgorithm;
use dcs_core::{
    AgentId, BranchId, CausalContext, Currency, EventBuilder, EventId, HybridClock, IdempotencyKey,
    SovereignFinancialEvent, TenantId, VectorClock,
};
use dcs_crypto::{
    CachePolicy, DataKeyCache, KekMaterial, KekRef, KeyRegistry as CoreRegistry,
    Keyring as CoreKeyring,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rand_core::{OsRng, RngCore};

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

    /// Reads bytes written by `to_bytes`.
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        Ok(Self { inner: CoreKeyring::from_bytes(data).map_err(py)? })
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
    fn new(secret: Option<&[u8]>) -> PyResult<Self> {
        let inner = match secret {
            Some(s) => dcs_crypto::MacKey::from_bytes(s).map_err(py)?,
            None => dcs_crypto::MacKey::random(&mut OsRng),
        };
        Ok(Self { inner })
    }

    fn __repr__(&self) -> &'static str {
        "MacKey(<secret>)"
    }
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
        public_key: &[u8],
    ) -> PyResult<()> {
        let key =
            dcs_crypto::Verifier::from_bytes(algorithm(algorithm_name)?, public_key).map_err(py)?;
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
    /// The visible amount.
    #[getter]
    fn amount(&self) -> Money {
        Money { inner: self.inner.amount() }
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
    fn to_bytes<'py>(&self, py_: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let raw = postcard::to_allocvec(&self.inner).map_err(|e| {
            crate::errors::CoreError::new_err(format!("cannot encode the event: {e}"))
        })?;
        Ok(PyBytes::new(py_, &raw))
    }

    /// Decodes and validates event bytes (from `to_bytes`, in any language).
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        let inner = postcard::from_bytes(data).map_err(|e| {
            crate::errors::CoreError::new_err(format!("not a valid DCS event: {e}"))
        })?;
        Ok(Self { inner })
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
/// Safe to share between Python threads: sealing takes the terminal's lock, so its clocks and
/// sequence numbers advance one event at a time.
#[pyclass(module = "dcs")]
pub struct Terminal {
    state: Mutex<TerminalState>,
}

/// The clocks, identity and key cache a terminal advances as it seals.
struct TerminalState {
    tenant: TenantId,
    branch: BranchId,
    agent: AgentId,
    cashier: AgentId,
    currency: Currency,
    kek: KekRef,
    clock: HybridClock,
    vclock: VectorClock,
    cache: DataKeyCache,
    seq: u64,
}

#[pymethods]
impl Terminal {
    /// A terminal of `tenant`/`branch` run by `agent`, sealing under `kek_id` version `kek_version`.
    #[new]
    #[pyo3(signature = (tenant, branch, agent, cashier, kek_id, kek_version, currency_code = "USD"))]
    fn new(
        tenant: &str,
        branch: &str,
        agent: &str,
        cashier: &str,
        kek_id: &str,
        kek_version: u32,
        currency_code: &str,
    ) -> PyResult<Self> {
        let mut node = [0u8; 16];
        OsRng.fill_bytes(&mut node);
        node[0] |= 1;
        let state = TerminalState {
            tenant: TenantId::new(tenant).map_err(py)?,
            branch: BranchId::new(branch).map_err(py)?,
            agent: AgentId::new(agent).map_err(py)?,
            cashier: AgentId::new(cashier).map_err(py)?,
            currency: crate::money::currency(currency_code)?,
            kek: KekRef::new(kek_id, kek_version),
            clock: HybridClock::new(node, 60_000).map_err(py)?,
            vclock: VectorClock::new(),
            cache: DataKeyCache::new(CachePolicy::default()),
            seq: 0,
        };
        Ok(Self { state: Mutex::new(state) })
    }

    /// Builds, seals, MACs and signs one event per fact, in order.
    fn seal(
        &self,
        py_: Python<'_>,
        facts: Vec<DomainEvent>,
        keyring: &Keyring,
        mac_key: &MacKey,
        signer: &Signer,
    ) -> PyResult<Vec<Event>> {
        let facts: Vec<CoreDomainEvent> = facts.into_iter().map(|f| f.inner).collect();
        let sealed = py_.detach(|| {
            let mut state = self.state.lock().map_err(|_| {
                crate::errors::CryptoError::new_err(
                    "a previous seal on this terminal panicked; create a new Terminal",
                )
            })?;
            state.seal_all(&facts, &keyring.inner, &mac_key.inner, &signer.inner)
        })?;
        Ok(sealed.into_iter().map(|inner| Event { inner }).collect())
    }
}

impl TerminalState {
    fn seal_all(
        &mut self,
        facts: &[CoreDomainEvent],
        keyring: &CoreKeyring,
        mac_key: &dcs_crypto::MacKey,
        signer: &dcs_crypto::Signer,
    ) -> PyResult<Vec<SovereignFinancialEvent>> {
        let mut out = Vec::with_capacity(facts.len());
        for fact in facts {
            self.seq += 1;
            let now = now_ms();
            let hlc = self.clock.tick(now);
            self.vclock.increment(&self.agent);
            let mut random = [0u8; 10];
            OsRng.fill_bytes(&mut random);
            let mut event = fact
                .fill(EventBuilder::new(), self.currency)
                .event_id(EventId::new_v7(now, random))
                .idempotency_key(
                    IdempotencyKey::new(format!("{}/{}/{}", self.agent, now, self.seq))
                        .map_err(py)?,
                )
                .tenant_id(self.tenant.clone())
                .branch_id(self.branch.clone())
                .agent_id(self.agent.clone())
                .kek(self.kek.id.clone(), self.kek.version)
                .causality(CausalContext { hlc, vector_clock: self.vclock.clone() })
                .created_by(self.cashier.clone())
                .build()
                .map_err(py)?;
            let key =
                self.cache.sealing_key_for_event(keyring, &event, now, &mut OsRng).map_err(py)?;
            let plain = fact.plaintext().map_err(py)?;
            dcs_crypto::seal_event(&mut event, &plain, key, mac_key, signer, &mut OsRng)
                .map_err(py)?;
            out.push(event);
        }
        Ok(out)
    }
}
