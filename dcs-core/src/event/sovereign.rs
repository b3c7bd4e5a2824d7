//! The sovereign financial event: one immutable business fact, sealed and signed.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::EventType;
use crate::causality::CausalContext;
use crate::ids::{AgentId, BranchId, CorrelationId, EventId, IdempotencyKey, TenantId};
use crate::money::Money;

/// The encrypted business payload: an opaque envelope and the key-encryption key it names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SealedPayload {
    /// The KEK id that wraps the payload's data key (e.g. `tenant-acme/kek`).
    pub kek_id: String,
    /// The KEK version used.
    pub kek_version: u32,
    /// The envelope bytes produced by dcs-crypto (empty until sealed).
    #[serde(with = "serde_bytes")]
    pub envelope: Vec<u8>,
}

/// Which signature algorithm an event's creator used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum SignatureAlgorithm {
    /// ECDSA over P-256 with SHA-256 (the default).
    EcdsaP256Sha256 = 1,
    /// Ed25519.
    Ed25519 = 2,
}

/// The creator's signature over the event's canonical bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EventSignature {
    /// The algorithm that made it.
    pub algorithm: SignatureAlgorithm,
    /// The signature bytes (fixed-size r‖s for ECDSA, 64 bytes for Ed25519).
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

/// Who made and approved an event, and the proofs of integrity and origin.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Audit {
    /// The agent (cashier, terminal) that created the event and signs it.
    pub created_by: AgentId,
    /// A supervisor who approved it, when the type needs one (refunds, reversals).
    pub approved_by: Option<AgentId>,
    /// HMAC-SHA512 over the canonical bytes with the tenant's MAC key (empty until MACed).
    #[serde(with = "serde_bytes")]
    pub mac: Vec<u8>,
    /// The creator's signature over the canonical bytes (absent until signed).
    pub signature: Option<EventSignature>,
}

/// One immutable financial fact: who, where, what, how much, when, and its seal.
///
/// Made only through [`EventBuilder`](super::EventBuilder), which validates every field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "super::builder::EventParts")]
pub struct SovereignFinancialEvent {
    pub(super) event_id: EventId,
    pub(super) correlation_id: CorrelationId,
    pub(super) idempotency_key: IdempotencyKey,
    pub(super) tenant_id: TenantId,
    pub(super) branch_id: BranchId,
    pub(super) agent_id: AgentId,
    pub(super) event_type: EventType,
    pub(super) amount: Money,
    pub(super) payload: SealedPayload,
    pub(super) causality: CausalContext,
    pub(super) audit: Audit,
}

impl Serialize for SovereignFinancialEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        super::builder::EventPartsRef::from(self).serialize(serializer)
    }
}

/// Longest stored form accepted by [`SovereignFinancialEvent::from_bytes`]: the largest
/// envelope plus room for the visible metadata.
pub const MAX_EVENT_BYTES: usize = super::canonical::MAX_ENVELOPE_LEN + 64 * 1024;

impl SovereignFinancialEvent {
    /// The stored form (postcard of the event's parts): what stores keep and queues carry.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing owned, validated parts into a growable buffer cannot fail.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Decodes the stored form canonically: the input must be exactly one event, at most
    /// [`MAX_EVENT_BYTES`] long, that validates like a freshly built one; trailing bytes are
    /// refused, so one event has one encoding.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        let what = "event bytes";
        if bytes.len() > MAX_EVENT_BYTES {
            return Err(crate::CoreError::Decode {
                what,
                reason: alloc::format!(
                    "{} bytes is more than the maximum of {MAX_EVENT_BYTES}",
                    bytes.len()
                ),
            });
        }
        let (event, rest) = postcard::take_from_bytes::<Self>(bytes)
            .map_err(|e| crate::CoreError::Decode { what, reason: alloc::format!("{e}") })?;
        if !rest.is_empty() {
            return Err(crate::CoreError::Decode {
                what,
                reason: alloc::format!(
                    "{} trailing bytes after the event; pass exactly the bytes of one event",
                    rest.len()
                ),
            });
        }
        Ok(event)
    }

    /// The event's UUIDv7 id.
    pub fn event_id(&self) -> EventId {
        self.event_id
    }
    /// The id of the business transaction the event belongs to.
    pub fn correlation_id(&self) -> CorrelationId {
        self.correlation_id
    }
    /// The key that makes a retried append a no-op.
    pub fn idempotency_key(&self) -> &IdempotencyKey {
        &self.idempotency_key
    }
    /// The owning tenant.
    pub fn tenant_id(&self) -> &TenantId {
        &self.tenant_id
    }
    /// The branch (store) where it happened.
    pub fn branch_id(&self) -> &BranchId {
        &self.branch_id
    }
    /// The agent (terminal or local agent) that recorded it.
    pub fn agent_id(&self) -> &AgentId {
        &self.agent_id
    }
    /// Its type.
    pub fn event_type(&self) -> EventType {
        self.event_type
    }
    /// The visible amount (may be zero for non-monetary types).
    pub fn amount(&self) -> Money {
        self.amount
    }

    /// The amount as the domain fact had it: `None` for a zero amount on a type that does not
    /// always carry money (an inventory or saga fact, an agent note without an amount), the
    /// inverse of [`DomainEvent::visible_amount`](crate::commerce::DomainEvent::visible_amount).
    pub fn fact_amount(&self) -> Option<Money> {
        if self.amount.is_zero() && !self.event_type.always_has_amount() {
            None
        } else {
            Some(self.amount)
        }
    }

    /// The sealed payload.
    pub fn payload(&self) -> &SealedPayload {
        &self.payload
    }
    /// HLC time and vector clock.
    pub fn causality(&self) -> &CausalContext {
        &self.causality
    }
    /// Creator, approver, MAC and signature.
    pub fn audit(&self) -> &Audit {
        &self.audit
    }

    /// Attaches the envelope produced by sealing the payload.
    ///
    /// Fails if the envelope is larger than [`MAX_ENVELOPE_LEN`](super::MAX_ENVELOPE_LEN).
    pub fn set_envelope(&mut self, envelope: Vec<u8>) -> crate::Result<()> {
        super::canonical::check_envelope_len(envelope.len())?;
        self.payload.envelope = envelope;
        Ok(())
    }

    /// Attaches the HMAC-SHA512 over [`canonical_bytes`](Self::canonical_bytes).
    pub fn set_mac(&mut self, mac: Vec<u8>) {
        self.audit.mac = mac;
    }

    /// Attaches the creator's signature over [`canonical_bytes`](Self::canonical_bytes).
    pub fn set_signature(&mut self, signature: EventSignature) {
        self.audit.signature = Some(signature);
    }
}
