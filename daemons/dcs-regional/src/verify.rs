//! The leader's verifier of store events, run before it proposes a push: each event's MAC
//! under its tenant's key, and, for tenants whose terminals' public keys are configured,
//! its creator's signature, every signature of a push checked in one batch (Ed25519 batch
//! verification; ECDSA P-256 one by one), on the blocking pool the judge runs on. An event
//! of a tenant this region does not serve is refused.

use std::collections::BTreeMap;

use dcs_core::SovereignFinancialEvent;
use dcs_crypto::{CryptoError, KeyRegistry, MacKey, SignedMessage};
use dcs_sync::{Verifier, VerifyError};

/// A tenant's KEKs, for opening its events' payloads.
pub type Opener = Box<dyn dcs_crypto::KeyProvider + Send + Sync>;

/// Checks tenant MACs, and the signatures of the tenants with a key registry; opens the
/// payloads of the tenants with a keyring.
pub struct TenantVerifier {
    macs: BTreeMap<String, MacKey>,
    signers: BTreeMap<String, KeyRegistry>,
    openers: BTreeMap<String, Opener>,
}

impl TenantVerifier {
    /// A verifier for these tenants' MAC keys (no signatures checked yet).
    pub fn new(macs: BTreeMap<String, MacKey>) -> Self {
        TenantVerifier { macs, signers: BTreeMap::new(), openers: BTreeMap::new() }
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
        for (tenant, registry) in &self.signers {
            let mut items = Vec::new();
            let mut at = Vec::new();
            for (i, e) in events.iter().enumerate() {
                if out[i].is_err() || e.tenant_id().as_str() != tenant {
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
