//! The leader's verifier of store events, run before it proposes a push: each event's MAC
//! under its tenant's key, and, for tenants whose terminals' public keys are configured,
//! its creator's signature, every signature of a push checked in one batch (Ed25519 batch
//! verification; ECDSA P-256 one by one), on the blocking pool the judge runs on. An event
//! of a tenant this region does not serve is refused.
//!
//! An agent the master's key registry holds a key for is checked against that key instead
//! (the one it held when the event was made: see `dcs_sync::AgentKey::key_at`), whatever the
//! configured files say: the replica publishes the registry to the verifier as it applies it
//! ([`SharedKeys`]), so a rotation or a registration takes effect on the next push.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use dcs_core::SovereignFinancialEvent;
use dcs_crypto::{CryptoError, KeyRegistry, MacKey, SignedMessage};
use dcs_sync::ReplicatedState;
use dcs_sync::{AgentKey, Verifier, VerifyError};

/// A registry key, parsed: its verifier, or why it does not parse.
fn parse((algorithm, bytes): &(String, Vec<u8>)) -> Result<dcs_crypto::Verifier, String> {
    dcs_crypto::Verifier::from_registry(algorithm, bytes)
        .map_err(|e| format!("the registry's {algorithm} key does not parse: {e}"))
}

/// The master's key registry as this region last applied it: each agent's entry as the
/// core keeps it (`tenant/agent` → [`AgentKey`]), and every key in it parsed once.
#[derive(Default)]
pub struct RegisteredKeys {
    agents: BTreeMap<String, AgentKey>,
    parsed: BTreeMap<(String, Vec<u8>), Result<dcs_crypto::Verifier, String>>,
}

impl std::fmt::Debug for RegisteredKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RegisteredKeys({} agents)", self.agents.len())
    }
}

impl RegisteredKeys {
    /// The registry of `state`.
    pub fn of(state: &ReplicatedState) -> Self {
        let agents: BTreeMap<String, AgentKey> = state
            .keys
            .iter()
            .filter_map(|(name, register)| {
                Some((name.as_str().to_string(), register.get()?.clone()))
            })
            .collect();
        let keys =
            agents.values().flat_map(|a| a.key.iter().chain(a.previous.iter().map(|p| &p.key)));
        let parsed = keys.map(|k| (k.clone(), parse(k))).collect();
        RegisteredKeys { agents, parsed }
    }

    /// Agents with a registered key.
    pub fn len(&self) -> usize {
        self.agents.values().filter(|a| a.key.is_some()).count()
    }

    /// Whether no agent has a registered key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key `e` must verify under (the one its creator held when it was made, as
    /// [`AgentKey::key_at`] decides), if the registry holds one; the reason when that key
    /// does not parse.
    fn key_for(
        &self,
        e: &SovereignFinancialEvent,
    ) -> Option<Result<&dcs_crypto::Verifier, String>> {
        let agent = e.audit().created_by.as_str();
        let entry = self.agents.get(&format!("{}/{agent}", e.tenant_id().as_str()))?;
        let key = entry.key_at(e.causality().hlc.unix_ms())?;
        let parsed = self.parsed.get(key)?;
        Some(parsed.as_ref().map_err(|why| format!("agent {agent:?}: {why}")))
    }
}

/// The registry shared between a replica (which publishes it) and the leader's verifier.
pub type SharedKeys = Arc<RwLock<RegisteredKeys>>;

/// A tenant's KEKs, for opening its events' payloads.
pub type Opener = Box<dyn dcs_crypto::KeyProvider + Send + Sync>;

/// Checks tenant MACs, and the signatures of the tenants with a key registry; opens the
/// payloads of the tenants with a keyring.
pub struct TenantVerifier {
    macs: BTreeMap<String, MacKey>,
    signers: BTreeMap<String, KeyRegistry>,
    openers: BTreeMap<String, Opener>,
    registered: SharedKeys,
}

impl TenantVerifier {
    /// A verifier for these tenants' MAC keys (no signatures checked yet).
    pub fn new(macs: BTreeMap<String, MacKey>) -> Self {
        TenantVerifier {
            macs,
            signers: BTreeMap::new(),
            openers: BTreeMap::new(),
            registered: SharedKeys::default(),
        }
    }

    /// Also checks the events of agents the master's key registry holds a key for against
    /// it, as `keys` holds it when a push arrives (the replica keeps it current).
    pub fn with_registered(mut self, keys: SharedKeys) -> Self {
        self.registered = keys;
        self
    }

    /// Also opens `tenant`'s authentic events with `keys` (the summary's stock movement).
    pub fn with_opener(mut self, tenant: impl Into<String>, keys: Opener) -> Self {
        self.openers.insert(tenant.into(), keys);
        self
    }

    /// Also checks the signatures of `tenant`'s events against `registry` (an event with no
    /// signature, or by an unregistered agent, is refused).
    pub fn with_signers(mut self, tenant: impl Into<String>, registry: KeyRegistry) -> Self {
        self.signers.insert(tenant.into(), registry);
        self
    }

    /// Checks the events whose creator has a key in the master's registry (Ed25519 in one
    /// batch per tenant); returns which events it judged.
    fn verify_registered(
        &self,
        events: &[&SovereignFinancialEvent],
        canonical: &[Vec<u8>],
        out: &mut [Result<(), VerifyError>],
    ) -> Vec<bool> {
        let mut judged = vec![false; events.len()];
        let registered = self.registered.read().unwrap_or_else(PoisonError::into_inner);
        if registered.agents.is_empty() {
            return judged;
        }
        // Per tenant: the batch's keys by agent, and the events checked in one batch.
        let mut batches: BTreeMap<&str, (KeyRegistry, Vec<usize>)> = BTreeMap::new();
        for (i, e) in events.iter().enumerate() {
            if out[i].is_err() {
                continue;
            }
            let Some(key) = registered.key_for(e) else { continue };
            judged[i] = true;
            let key = match key {
                Ok(k) => k,
                Err(why) => {
                    out[i] = Err(VerifyError::Other(why));
                    continue;
                }
            };
            let Some(signature) = &e.audit().signature else {
                out[i] = Err(VerifyError::BadSignature);
                continue;
            };
            let (registry, at) = batches.entry(e.tenant_id().as_str()).or_default();
            let agent = &e.audit().created_by;
            match registry.get(agent) {
                // Another event of this push by the same agent under another key (one made
                // before its rotation, one after): checked on its own.
                Some(k) if k != key => {
                    out[i] =
                        key.verify(&canonical[i], signature).map_err(|_| VerifyError::BadSignature);
                }
                _ => {
                    registry.register(agent, key.clone());
                    at.push(i);
                }
            }
        }
        for (registry, at) in batches.into_values() {
            let items: Vec<SignedMessage<'_>> = at
                .iter()
                .filter_map(|&i| {
                    let e = events[i];
                    Some(SignedMessage {
                        signer: &e.audit().created_by,
                        message: &canonical[i],
                        signature: e.audit().signature.as_ref()?,
                    })
                })
                .collect();
            for (r, i) in registry.verify_batch(&items).into_iter().zip(at) {
                out[i] = r.map_err(signature_error);
            }
        }
        judged
    }

    fn mac(&self, e: &SovereignFinancialEvent, canonical: &[u8]) -> Result<(), VerifyError> {
        let tenant = e.tenant_id().as_str();
        let Some(key) = self.macs.get(tenant) else {
            return Err(VerifyError::Other(format!(
                "tenant {tenant:?} is not served by this region (no MAC key for it)"
            )));
        };
        key.verify(canonical, &e.audit().mac).map_err(|_| VerifyError::BadMac)
    }
}

fn signature_error(e: CryptoError) -> VerifyError {
    match e {
        CryptoError::UnknownSigner { agent } => {
            VerifyError::Other(format!("agent {agent:?} has no registered public key"))
        }
        _ => VerifyError::BadSignature,
    }
}

impl Verifier for TenantVerifier {
    /// The body of an authentic event of a tenant with a keyring; None when the region holds
    /// no keyring for it or the payload does not open (the summary then carries no stock).
    fn open(&self, e: &SovereignFinancialEvent) -> Option<dcs_core::commerce::EventBody> {
        let keys = self.openers.get(e.tenant_id().as_str())?;
        let plain = dcs_crypto::open_event(e, keys.as_ref()).ok()?;
        dcs_core::commerce::EventBody::from_bytes(&plain).ok()
    }

    fn verify(&self, e: &SovereignFinancialEvent) -> Result<(), VerifyError> {
        self.verify_batch(&[e]).pop().unwrap_or(Err(VerifyError::BadSignature))
    }

    fn verify_batch(&self, events: &[&SovereignFinancialEvent]) -> Vec<Result<(), VerifyError>> {
        let canonical: Vec<Vec<u8>> = events.iter().map(|e| e.canonical_bytes()).collect();
        let mut out: Vec<Result<(), VerifyError>> =
            events.iter().zip(&canonical).map(|(e, c)| self.mac(e, c)).collect();
        let judged = self.verify_registered(events, &canonical, &mut out);
        for (tenant, registry) in &self.signers {
            let mut items = Vec::new();
            let mut at = Vec::new();
            for (i, e) in events.iter().enumerate() {
                if out[i].is_err() || judged[i] || e.tenant_id().as_str() != tenant {
                    continue;
                }
                match &e.audit().signature {
                    Some(signature) => {
                        items.push(SignedMessage {
                            signer: &e.audit().created_by,
                            message: &canonical[i],
                            signature,
                        });
                        at.push(i);
                    }
                    None => out[i] = Err(VerifyError::BadSignature),
                }
            }
            for (r, i) in registry.verify_batch(&items).into_iter().zip(at) {
                out[i] = r.map_err(signature_error);
            }
        }
        out
    }
}
