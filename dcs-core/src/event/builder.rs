//! The event builder: the only way to make a [`SovereignFinancialEvent`], validating every field.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::canonical::check_envelope_len;
use super::{Audit, EventSignature, EventType, SealedPayload, SovereignFinancialEvent};
use crate::causality::{CausalContext, HlcTimestamp, VectorClock};
use crate::error::{CoreError, Result};
use crate::ids::{AgentId, BranchId, CorrelationId, EventId, IdempotencyKey, TenantId};
use crate::money::Money;

/// Longest accepted KEK id, in bytes.
const MAX_KEK_ID_LEN: usize = 128;
/// Longest accepted MAC or signature, in bytes.
const MAX_PROOF_LEN: usize = 512;

/// Collects the fields of an event and validates them in [`build`](Self::build).
#[derive(Debug, Clone, Default)]
pub struct EventBuilder {
    event_id: Option<EventId>,
    correlation_id: Option<CorrelationId>,
    idempotency_key: Option<IdempotencyKey>,
    tenant_id: Option<TenantId>,
    branch_id: Option<BranchId>,
    agent_id: Option<AgentId>,
    event_type: Option<EventType>,
    amount: Option<Money>,
    kek: Option<(String, u32)>,
    envelope: Vec<u8>,
    causality: Option<CausalContext>,
    created_by: Option<AgentId>,
    approved_by: Option<AgentId>,
    mac: Vec<u8>,
    signature: Option<EventSignature>,
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = Some(value);
            self
        }
    };
}

impl EventBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    setter!(
        /// Sets the event id (required).
        event_id: EventId
    );
    setter!(
        /// Sets the correlation id (defaults to the event id).
        correlation_id: CorrelationId
    );
    setter!(
        /// Sets the idempotency key (required).
        idempotency_key: IdempotencyKey
    );
    setter!(
        /// Sets the tenant (required).
        tenant_id: TenantId
    );
    setter!(
        /// Sets the branch (required).
        branch_id: BranchId
    );
    setter!(
        /// Sets the recording agent (required).
        agent_id: AgentId
    );
    setter!(
        /// Sets the event type (required).
        event_type: EventType
    );
    setter!(
        /// Sets the visible amount (required; zero for non-monetary types).
        amount: Money
    );
    setter!(
        /// Sets the causal context (required).
        causality: CausalContext
    );
    setter!(
        /// Sets the creator who signs the event (required).
        created_by: AgentId
    );
    setter!(
        /// Sets the approving supervisor (optional).
        approved_by: AgentId
    );
    setter!(
        /// Sets an existing signature (when rebuilding a received event).
        signature: EventSignature
    );

    /// Names the key-encryption key (id and version) that will wrap the payload key (required).
    pub fn kek(mut self, kek_id: impl Into<String>, kek_version: u32) -> Self {
        self.kek = Some((kek_id.into(), kek_version));
        self
    }

    /// Sets an existing envelope (when rebuilding a received event).
    pub fn envelope(mut self, envelope: Vec<u8>) -> Self {
        self.envelope = envelope;
        self
    }

    /// Sets an existing MAC (when rebuilding a received event).
    pub fn mac(mut self, mac: Vec<u8>) -> Self {
        self.mac = mac;
        self
    }

    /// Validates every field and makes the event.
    pub fn build(self) -> Result<SovereignFinancialEvent> {
        let event_id = self.event_id.ok_or(CoreError::MissingField("event_id"))?;
        let (kek_id, kek_version) = self.kek.ok_or(CoreError::MissingField("kek"))?;
        if kek_id.is_empty()
            || kek_id.len() > MAX_KEK_ID_LEN
            || kek_id.chars().any(char::is_control)
        {
            return Err(CoreError::InvalidField {
                field: "payload.kek_id",
                reason: alloc::format!(
                    "must be 1 to {MAX_KEK_ID_LEN} bytes without control characters"
                ),
            });
        }
        check_envelope_len(self.envelope.len())?;
        for (field, len) in [
            ("audit.mac", self.mac.len()),
            ("audit.signature", self.signature.as_ref().map_or(0, |s| s.bytes.len())),
        ] {
            if len > MAX_PROOF_LEN {
                return Err(CoreError::InvalidField {
                    field,
                    reason: alloc::format!("{len} bytes is more than {MAX_PROOF_LEN}"),
                });
            }
        }
        let causality = self.causality.ok_or(CoreError::MissingField("causality"))?;
        check_hlc(&causality.hlc)?;
        let agent_id = self.agent_id.ok_or(CoreError::MissingField("agent_id"))?;
        if causality.vector_clock.get(&agent_id) == 0 {
            return Err(CoreError::InvalidField {
                field: "causality.vector_clock",
                reason: alloc::format!(
                    "must count this event for its agent {agent_id} (a counter of at least 1)"
                ),
            });
        }
        Ok(SovereignFinancialEvent {
            event_id,
            correlation_id: self.correlation_id.unwrap_or(CorrelationId::from_event(event_id)),
            idempotency_key: self
                .idempotency_key
                .ok_or(CoreError::MissingField("idempotency_key"))?,
            tenant_id: self.tenant_id.ok_or(CoreError::MissingField("tenant_id"))?,
            branch_id: self.branch_id.ok_or(CoreError::MissingField("branch_id"))?,
            agent_id,
            event_type: self.event_type.ok_or(CoreError::MissingField("event_type"))?,
            amount: self.amount.ok_or(CoreError::MissingField("amount"))?,
            payload: SealedPayload { kek_id, kek_version, envelope: self.envelope },
            causality,
            audit: Audit {
                created_by: self.created_by.ok_or(CoreError::MissingField("audit.created_by"))?,
                approved_by: self.approved_by,
                mac: self.mac,
                signature: self.signature,
            },
        })
    }
}

fn check_hlc(hlc: &HlcTimestamp) -> Result<()> {
    if hlc.node == [0; 16] || hlc.time == 0 {
        return Err(CoreError::InvalidField {
            field: "causality.hlc",
            reason: "the HLC timestamp needs a non-zero time and node id".into(),
        });
    }
    Ok(())
}

/// The serde form of an event: plain fields, validated through the builder on the way in.
#[derive(Serialize, Deserialize)]
pub(super) struct EventParts {
    event_id: EventId,
    correlation_id: CorrelationId,
    idempotency_key: IdempotencyKey,
    tenant_id: TenantId,
    branch_id: BranchId,
    agent_id: AgentId,
    event_type: EventType,
    amount: Money,
    payload: SealedPayload,
    hlc: HlcTimestamp,
    vector_clock: VectorClock,
    audit: Audit,
}

impl TryFrom<EventParts> for SovereignFinancialEvent {
    type Error = CoreError;
    fn try_from(p: EventParts) -> Result<Self> {
        let mut b = EventBuilder::new()
            .event_id(p.event_id)
            .correlation_id(p.correlation_id)
            .idempotency_key(p.idempotency_key)
            .tenant_id(p.tenant_id)
            .branch_id(p.branch_id)
            .agent_id(p.agent_id)
            .event_type(p.event_type)
            .amount(p.amount)
            .kek(p.payload.kek_id, p.payload.kek_version)
            .envelope(p.payload.envelope)
            .causality(CausalContext { hlc: p.hlc, vector_clock: p.vector_clock })
            .created_by(p.audit.created_by)
            .mac(p.audit.mac);
        if let Some(a) = p.audit.approved_by {
            b = b.approved_by(a);
        }
        if let Some(s) = p.audit.signature {
            b = b.signature(s);
        }
        b.build()
    }
}

/// The serde form of an event on the way out: [`EventParts`]' fields, borrowed, so that
/// encoding an event copies nothing but the bytes it writes.
#[derive(Serialize)]
#[serde(rename = "EventParts")]
pub(super) struct EventPartsRef<'a> {
    event_id: &'a EventId,
    correlation_id: &'a CorrelationId,
    idempotency_key: &'a IdempotencyKey,
    tenant_id: &'a TenantId,
    branch_id: &'a BranchId,
    agent_id: &'a AgentId,
    event_type: &'a EventType,
    amount: &'a Money,
    payload: &'a SealedPayload,
    hlc: &'a HlcTimestamp,
    vector_clock: &'a VectorClock,
    audit: &'a Audit,
}

impl<'a> From<&'a SovereignFinancialEvent> for EventPartsRef<'a> {
    fn from(e: &'a SovereignFinancialEvent) -> Self {
        EventPartsRef {
            event_id: &e.event_id,
            correlation_id: &e.correlation_id,
            idempotency_key: &e.idempotency_key,
            tenant_id: &e.tenant_id,
            branch_id: &e.branch_id,
            agent_id: &e.agent_id,
            event_type: &e.event_type,
            amount: &e.amount,
            payload: &e.payload,
            hlc: &e.causality.hlc,
            vector_clock: &e.causality.vector_clock,
            audit: &e.audit,
        }
    }
}
