//! A POS terminal: its identity, clocks and data-key cache, turning domain facts into sealed
//! events. Sans-IO: the caller hands in the time, the randomness and the keys.
//!
//! ```
//! use dcs_core::commerce::{DomainEvent, EventBody};
//! use dcs_core::event::SignatureAlgorithm;
//! use dcs_core::*;
//! use dcs_crypto::terminal::{Terminal, TerminalConfig};
//! use dcs_crypto::{KekMaterial, Keyring, MacKey, Signer};
//! # use rand_chacha::rand_core::SeedableRng;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
//! let mut keyring = Keyring::new();
//! keyring.create_kek("acme", "acme/kek", KekMaterial::Random(&mut rng))?;
//! let (mac_key, signer) = (MacKey::random(&mut rng), Signer::generate(SignatureAlgorithm::Ed25519, &mut rng));
//! let config = TerminalConfig::new("acme", "store-042", "pos-01", Currency::USD)?;
//! let mut till = Terminal::new(config, [3; 16])?;
//! let fact = DomainEvent::new(EventBody::AgentDecisionMade(commerce::body::AgentNote {
//!     subject: "reorder".into(), detail: "SKU-1 below 5".into(), amount: None }));
//! let cashier = AgentId::new("cashier-17")?;
//! let now_ms = 1_767_225_600_000; // the caller's wall clock
//! let event = till.seal(&fact, &cashier, None, now_ms, &mut rng, &keyring, &mac_key, &signer)?;
//! assert!(event.idempotency_key().as_str().starts_with("pos-01/"));
//! // Keep `till.state()` with the store's data to resume the clocks after a restart.
//! let saved = till.state().to_bytes();
//! # let _ = saved;
//! # Ok(()) }
//! ```
//!
//! ## Idempotency keys
//! Unless the caller passes its own, an event's key is `AGENT/EVENT-ID`. The event id is a
//! UUIDv7 made of the caller's wall time and 80 bits of the caller's randomness, so keys of
//! two terminals with the same agent id (a restarted POS, one `Terminal` per request, two
//! processes) do not collide, and nothing has to survive a restart for that. Such a key makes
//! a *resend of the sealed event* idempotent. When the POS may rebuild a command after a crash
//! (it lost the sealed event before the store acknowledged it), pass the command's own key,
//! e.g. the receipt number: the store then refuses the rebuilt event as a reuse of the key
//! with another event instead of storing a second sale.
//!
//! ## Keys
//! Each seal asks the provider for the tenant's current KEK, so a rotation is followed and a
//! retired or crypto-shredded KEK refuses at once (see [`crate::dek_cache`]); call
//! [`Terminal::evict_keys`] to erase the cached data keys from memory.

use alloc::string::String;
use alloc::vec::Vec;

use dcs_core::causality::{CausalContext, HlcTimestamp, HybridClock, VectorClock};
use dcs_core::commerce::DomainEvent;
use dcs_core::{
    AgentId, BranchId, Currency, EventBuilder, EventId, IdempotencyKey, SovereignFinancialEvent,
    TenantId,
};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::dek_cache::{CachePolicy, DataKeyCache};
use crate::error::{CryptoError, Result};
use crate::mac::MacKey;
use crate::provider::KeyProvider;
use crate::signature::Signer;

/// Default largest drift of a remote HLC time ahead of the local wall clock (one minute).
pub const DEFAULT_MAX_DRIFT_MS: u64 = 60_000;

/// Format version of [`TerminalState::to_bytes`].
const STATE_VERSION: u8 = 1;

/// Who a terminal is: tenant, branch, its agent id and the currency it sells in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalConfig {
    /// The tenant whose KEKs and MAC key seal its events.
    pub tenant: TenantId,
    /// The branch (store) it belongs to.
    pub branch: BranchId,
    /// The terminal's agent id (the `agent_id` of its events).
    pub agent: AgentId,
    /// The currency of its amounts.
    pub currency: Currency,
    /// Data-key cache bounds.
    pub cache: CachePolicy,
    /// Largest drift of a remote HLC time ahead of the wall clock.
    pub max_drift_ms: u64,
    /// When set, seal only while this is the tenant's current KEK (a terminal provisioned for
    /// one KEK version refuses instead of following a rotation).
    pub pinned_kek: Option<crate::provider::KekRef>,
}

impl TerminalConfig {
    /// A configuration with default cache bounds and drift, validating every id.
    pub fn new(tenant: &str, branch: &str, agent: &str, currency: Currency) -> Result<Self> {
        Ok(Self {
            tenant: TenantId::new(tenant)?,
            branch: BranchId::new(branch)?,
            agent: AgentId::new(agent)?,
            currency,
            cache: CachePolicy::default(),
            max_drift_ms: DEFAULT_MAX_DRIFT_MS,
            pinned_kek: None,
        })
    }
}

/// What a terminal must keep across restarts: its last HLC time and its vector clock.
///
/// Save it (with the store's data) after sealing and hand it to [`Terminal::resume`], so the
/// restarted terminal's clocks never go backwards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalState {
    /// The last HLC time the terminal handed out.
    pub hlc_last: u64,
    /// The terminal's vector clock.
    pub vector_clock: VectorClock,
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    version: u8,
    state: TerminalState,
}

impl TerminalState {
    /// The versioned postcard form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let file = StateFile { version: STATE_VERSION, state: self.clone() };
        // Postcard into a growable buffer cannot fail for these types.
        postcard::to_allocvec(&file).unwrap_or_default()
    }

    /// Reads bytes written by [`to_bytes`](Self::to_bytes); refuses other versions and
    /// trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bad = |reason: &str| {
            CryptoError::Event(dcs_core::CoreError::Decode {
                what: "terminal state",
                reason: reason.into(),
            })
        };
        let (file, rest) = postcard::take_from_bytes::<StateFile>(bytes)
            .map_err(|_| bad("undecodable: truncated or not a terminal state"))?;
        if file.version != STATE_VERSION {
            return Err(bad("unknown format version (written by a newer DCS?)"));
        }
        if !rest.is_empty() {
            return Err(bad("trailing bytes after the state"));
        }
        Ok(file.state)
    }
}

/// A POS terminal that seals domain facts into events (see the [module doc](self)).
#[derive(Debug)]
pub struct Terminal {
    config: TerminalConfig,
    clock: HybridClock,
    vclock: VectorClock,
    cache: DataKeyCache,
}

impl Terminal {
    /// A terminal with fresh clocks; `node` (random, not all zero) names its HLC.
    pub fn new(config: TerminalConfig, node: [u8; 16]) -> Result<Self> {
        Self::resume(config, node, &TerminalState::default())
    }

    /// A terminal resuming from a saved [`TerminalState`]: its clocks continue after it.
    pub fn resume(config: TerminalConfig, node: [u8; 16], state: &TerminalState) -> Result<Self> {
        let mut clock = HybridClock::new(node, config.max_drift_ms)?;
        clock.restore(HlcTimestamp { time: state.hlc_last, node });
        let cache = DataKeyCache::new(config.cache);
        Ok(Self { config, clock, vclock: state.vector_clock.clone(), cache })
    }

    /// Its configuration.
    pub fn config(&self) -> &TerminalConfig {
        &self.config
    }

    /// What to save to resume after a restart.
    pub fn state(&self) -> TerminalState {
        TerminalState { hlc_last: self.clock.last().time, vector_clock: self.vclock.clone() }
    }

    /// Drops and zeroizes every cached data key.
    pub fn evict_keys(&mut self) {
        self.cache.clear();
    }

    /// Adds a data key the store leased to this terminal, good for `max_uses` events until
    /// `expires_ms`; seal through a [`LeasedKeys`](crate::lease::LeasedKeys) provider for its KEK.
    pub fn lease(&mut self, key: crate::SealingKey, now_ms: u64, max_uses: u64, expires_ms: u64) {
        let tenant = self.config.tenant.as_str();
        self.cache.insert_leased(tenant, key, now_ms, max_uses, expires_ms);
    }

    /// Events the cached (or leased) key under `kek` may still seal at `now_ms`.
    pub fn remaining_uses(&self, kek: &crate::KekRef, now_ms: u64) -> u64 {
        self.cache.remaining_uses(self.config.tenant.as_str(), kek, now_ms)
    }

    /// Builds, seals, MACs and signs one event for `fact`, created by `cashier`, at wall time
    /// `now_ms`, under the tenant's current KEK.
    ///
    /// `key` is the command's idempotency key; `None` makes `AGENT/EVENT-ID` (see the module
    /// doc). Nothing changes on an error except the clocks, which only move forward.
    #[allow(clippy::too_many_arguments)]
    pub fn seal<R: RngCore + CryptoRng>(
        &mut self,
        fact: &DomainEvent,
        cashier: &AgentId,
        key: Option<IdempotencyKey>,
        now_ms: u64,
        rng: &mut R,
        provider: &(impl KeyProvider + ?Sized),
        mac_key: &MacKey,
        signer: &Signer,
    ) -> Result<SovereignFinancialEvent> {
        let tenant = self.config.tenant.as_str();
        let sealing = match &self.config.pinned_kek {
            Some(kek) => self.cache.sealing_key(provider, tenant, kek, now_ms, rng)?.clone(),
            None => self.cache.current_sealing_key(provider, tenant, now_ms, rng)?.clone(),
        };
        let plaintext = fact.plaintext()?;
        let mut random = [0u8; 10];
        rng.fill_bytes(&mut random);
        let event_id = EventId::new_v7(now_ms, random);
        let key = match key {
            Some(k) => k,
            None => IdempotencyKey::new(default_key(&self.config.agent, event_id))?,
        };
        let hlc = self.clock.tick(now_ms);
        let mut vclock = self.vclock.clone();
        vclock.increment(&self.config.agent);
        let kek = &sealing.wrapped.kek;
        let mut event = fact
            .fill(EventBuilder::new(), self.config.currency)
            .event_id(event_id)
            .idempotency_key(key)
            .tenant_id(self.config.tenant.clone())
            .branch_id(self.config.branch.clone())
            .agent_id(self.config.agent.clone())
            .kek(kek.id.clone(), kek.version)
            .causality(CausalContext { hlc, vector_clock: vclock.clone() })
            .created_by(cashier.clone())
            .build()?;
        crate::event::seal_event(&mut event, &plaintext, &sealing, mac_key, signer, rng)?;
        self.vclock = vclock;
        Ok(event)
    }
}

/// The default idempotency key of an event: `AGENT/EVENT-ID`.
fn default_key(agent: &AgentId, event_id: EventId) -> String {
    alloc::format!("{}/{}", agent.as_str(), event_id)
}
