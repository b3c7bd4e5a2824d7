//! The public-key registry: which key each agent (cashier, terminal) signs with, and batch
//! verification of Ed25519 signatures for regional ingestion.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use dcs_core::AgentId;
use dcs_core::event::{EventSignature, SignatureAlgorithm};

use crate::error::{CryptoError, Result};
use crate::signature::{Verifier, ed25519_signature};

/// One signature to check: the signer, the signed bytes and the signature.
#[derive(Debug, Clone, Copy)]
pub struct SignedMessage<'a> {
    /// Who claims to have signed.
    pub signer: &'a AgentId,
    /// The signed bytes (an event's canonical bytes).
    pub message: &'a [u8],
    /// The tagged signature.
    pub signature: &'a EventSignature,
}

/// Maps agent ids to their public keys.
#[derive(Debug, Clone, Default)]
pub struct KeyRegistry {
    keys: BTreeMap<String, Verifier>,
}

impl KeyRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces) the public key of `agent`.
    pub fn register(&mut self, agent: &AgentId, key: Verifier) {
        self.keys.insert(agent.as_str().into(), key);
    }

    /// Removes an agent's key (e.g. when a cashier leaves); returns it.
    pub fn revoke(&mut self, agent: &AgentId) -> Option<Verifier> {
        self.keys.remove(agent.as_str())
    }

    /// The key of `agent`, if registered.
    pub fn get(&self, agent: &AgentId) -> Option<&Verifier> {
        self.keys.get(agent.as_str())
    }

    /// Every registered agent id with its key, ordered by id.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Verifier)> {
        self.keys.iter().map(|(agent, key)| (agent.as_str(), key))
    }

    /// Number of registered agents.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no agent is registered.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn key(&self, agent: &AgentId) -> Result<&Verifier> {
        self.get(agent).ok_or_else(|| CryptoError::UnknownSigner { agent: agent.as_str().into() })
    }

    /// Verifies one signature by `agent` over `message`.
    pub fn verify(
        &self,
        agent: &AgentId,
        message: &[u8],
        signature: &EventSignature,
    ) -> Result<()> {
        self.key(agent)?.verify(message, signature)
    }

    /// Verifies many signatures; returns one result per input, in order.
    ///
    /// Ed25519 signatures are checked together with one batch equation; only if the batch
    /// fails are they re-checked one by one to say which are bad. ECDSA signatures are checked
    /// one by one.
    pub fn verify_batch(&self, items: &[SignedMessage<'_>]) -> Vec<Result<()>> {
        let mut results: Vec<Result<()>> = Vec::with_capacity(items.len());
        let mut batch_idx = Vec::new();
        let mut msgs: Vec<&[u8]> = Vec::new();
        let mut sigs = Vec::new();
        let mut keys = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let r = self.key(item.signer).and_then(|k| match (k, item.signature.algorithm) {
                (Verifier::Ed25519(vk), SignatureAlgorithm::Ed25519) => {
                    let sig = ed25519_signature(&item.signature.bytes)?;
                    batch_idx.push(i);
                    msgs.push(item.message);
                    sigs.push(sig);
                    keys.push(*vk);
                    Ok(())
                }
                (k, _) => k.verify(item.message, item.signature),
            });
            results.push(r);
        }
        if !batch_idx.is_empty() && ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_err() {
            for (j, &i) in batch_idx.iter().enumerate() {
                results[i] =
                    keys[j].verify_strict(msgs[j], &sigs[j]).map_err(|_| CryptoError::BadSignature);
            }
        }
        results
    }
}
