//! Canonical bytes: the fixed postcard encodings that are MACed, signed and bound as AAD.
//!
//! Both encodings are postcard over a private struct whose field order is the format. A
//! golden vector (`tests/vectors/canonical_v1.hex`) pins them; changing a field means a new
//! [`CANONICAL_VERSION`], never an edit in place.

use alloc::vec::Vec;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::SovereignFinancialEvent;
use crate::error::{CoreError, Result};

/// Version byte leading every canonical encoding.
pub const CANONICAL_VERSION: u8 = 1;

/// Largest envelope an event may carry (16 MiB).
pub const MAX_ENVELOPE_LEN: usize = 16 * 1024 * 1024;

/// Domain separation between the two encodings.
const AAD_TAG: &[u8; 8] = b"dcs.aad1";
const META_TAG: &[u8; 8] = b"dcs.met1";

pub(super) fn check_envelope_len(len: usize) -> Result<()> {
    if len > MAX_ENVELOPE_LEN {
        return Err(CoreError::InvalidField {
            field: "payload.envelope",
            reason: alloc::format!("{len} bytes is more than the maximum of {MAX_ENVELOPE_LEN}"),
        });
    }
    Ok(())
}

/// What the AEAD binds the ciphertext to (everything visible that identifies the event).
#[derive(Serialize)]
struct AadV1<'a> {
    tag: &'a [u8; 8],
    version: u8,
    event_id: &'a [u8; 16],
    tenant_id: &'a str,
    branch_id: &'a str,
    event_type: u16,
    amount_minor: i64,
    currency: [u8; 3],
    currency_exponent: u8,
    hlc_time: u64,
    hlc_node: &'a [u8; 16],
    kek_id: &'a str,
    kek_version: u32,
}

/// The whole visible metadata, plus a digest of the envelope, for MAC and signature.
#[derive(Serialize)]
struct MetadataV1<'a> {
    tag: &'a [u8; 8],
    version: u8,
    event_id: &'a [u8; 16],
    correlation_id: &'a [u8; 16],
    idempotency_key: &'a str,
    tenant_id: &'a str,
    branch_id: &'a str,
    agent_id: &'a str,
    event_type: u16,
    amount_minor: i64,
    currency: [u8; 3],
    currency_exponent: u8,
    kek_id: &'a str,
    kek_version: u32,
    envelope_sha256: [u8; 32],
    hlc_time: u64,
    hlc_node: &'a [u8; 16],
    vector_clock: Vec<(&'a str, u64)>,
    created_by: &'a str,
    approved_by: Option<&'a str>,
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // postcard only fails on I/O-like sink errors, which a Vec sink never has.
    postcard::to_allocvec(value).unwrap_or_default()
}

impl SovereignFinancialEvent {
    /// The associated data for the payload's AEAD: event id, tenant, branch, type, amount,
    /// currency, HLC time and key ids. Moving a ciphertext to another event changes it.
    pub fn aad_bytes(&self) -> Vec<u8> {
        encode(&AadV1 {
            tag: AAD_TAG,
            version: CANONICAL_VERSION,
            event_id: self.event_id.as_bytes(),
            tenant_id: self.tenant_id.as_str(),
            branch_id: self.branch_id.as_str(),
            event_type: self.event_type.code(),
            amount_minor: self.amount.minor(),
            currency: self.amount.currency().code_bytes(),
            currency_exponent: self.amount.currency().exponent(),
            hlc_time: self.causality.hlc.time,
            hlc_node: &self.causality.hlc.node,
            kek_id: &self.payload.kek_id,
            kek_version: self.payload.kek_version,
        })
    }

    /// The deterministic encoding of the visible metadata that is MACed and signed: every
    /// field except the MAC and signature themselves, with the envelope as its SHA-256.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        encode(&MetadataV1 {
            tag: META_TAG,
            version: CANONICAL_VERSION,
            event_id: self.event_id.as_bytes(),
            correlation_id: self.correlation_id.as_bytes(),
            idempotency_key: self.idempotency_key.as_str(),
            tenant_id: self.tenant_id.as_str(),
            branch_id: self.branch_id.as_str(),
            agent_id: self.agent_id.as_str(),
            event_type: self.event_type.code(),
            amount_minor: self.amount.minor(),
            currency: self.amount.currency().code_bytes(),
            currency_exponent: self.amount.currency().exponent(),
            kek_id: &self.payload.kek_id,
            kek_version: self.payload.kek_version,
            envelope_sha256: Sha256::digest(&self.payload.envelope).into(),
            hlc_time: self.causality.hlc.time,
            hlc_node: &self.causality.hlc.node,
            vector_clock: self
                .causality
                .vector_clock
                .iter()
                .map(|(a, c)| (a.as_str(), c))
                .collect(),
            created_by: self.audit.created_by.as_str(),
            approved_by: self.audit.approved_by.as_ref().map(|a| a.as_str()),
        })
    }
}
