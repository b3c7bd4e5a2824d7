//! The simulator's deterministic sealing and verification: a keyed SHA-256 over the event's
//! canonical bytes stands in for dcs-crypto's MAC (no signature; plaintext envelopes).

use alloc::vec::Vec;

use dcs_core::SovereignFinancialEvent;
use dcs_core::commerce::EventBody;
use sha2::{Digest, Sha256};

use crate::{Verifier, VerifyError};

/// Seals and verifies events with one shared key.
#[derive(Debug, Clone)]
pub struct KeyedVerifier {
    key: [u8; 32],
}

impl KeyedVerifier {
    /// A verifier for `key`.
    pub fn new(key: [u8; 32]) -> Self {
        KeyedVerifier { key }
    }

    fn tag(&self, event: &SovereignFinancialEvent) -> Vec<u8> {
        let mut unsealed = event.clone();
        unsealed.set_mac(Vec::new());
        let bytes = postcard::to_allocvec(&unsealed).unwrap_or_default();
        let mut h = Sha256::new();
        h.update(self.key);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
        h.finalize().to_vec()
    }

    /// Sets the event's MAC.
    pub fn seal(&self, event: &mut SovereignFinancialEvent) {
        let tag = self.tag(event);
        event.set_mac(tag);
    }
}

impl Verifier for KeyedVerifier {
    fn verify(&self, event: &SovereignFinancialEvent) -> Result<(), VerifyError> {
        if event.audit().mac == self.tag(event) { Ok(()) } else { Err(VerifyError::BadMac) }
    }

    fn open(&self, event: &SovereignFinancialEvent) -> Option<EventBody> {
        EventBody::from_bytes(&event.payload().envelope).ok()
    }
}
