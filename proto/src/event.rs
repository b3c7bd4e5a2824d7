//! The event conversion, with or without the compliance proofs beside it.

use dcs_core::event::{Audit, EventSignature, SignatureAlgorithm};
use dcs_core::{
    BranchId, CausalContext, CorrelationId, EventBuilder, EventId, IdempotencyKey, Money,
    SovereignFinancialEvent, TenantId,
};

use crate::ProtoError;
use crate::convert::{agent, event_type_from_wire, id_bytes};
use crate::limits::check_counts;
use crate::pb;

/// Longest accepted `ComplianceProof.proof_system`, in bytes.
pub const MAX_PROOF_SYSTEM_LEN: usize = 64;
/// Longest accepted `ComplianceProof.statement_id`, in bytes.
pub const MAX_STATEMENT_ID_LEN: usize = 128;

/// A core event and the zero-knowledge compliance proofs that travelled in its payload.
///
/// The proofs are carried opaque: their names are checked, their bytes are not verified here.
/// They are not part of the core event nor of its canonical bytes (so not MACed or signed).
/// Encoding does not check them; decoding does (see [`MAX_PROOF_SYSTEM_LEN`],
/// [`MAX_STATEMENT_ID_LEN`] and [`MAX_COMPLIANCE_PROOFS`](crate::MAX_COMPLIANCE_PROOFS)).
#[derive(Debug, Clone, PartialEq)]
pub struct EventWithProofs {
    /// The validated core event.
    pub event: SovereignFinancialEvent,
    /// The proofs, in the order they were sent.
    pub compliance_proofs: Vec<pb::ComplianceProof>,
}

impl From<&SovereignFinancialEvent> for pb::SovereignFinancialEvent {
    fn from(e: &SovereignFinancialEvent) -> Self {
        let payload = e.payload();
        let audit = e.audit();
        pb::SovereignFinancialEvent {
            event_id: e.event_id().as_bytes().to_vec(),
            correlation_id: e.correlation_id().as_bytes().to_vec(),
            idempotency_key: e.idempotency_key().as_str().into(),
            tenant_id: e.tenant_id().as_str().into(),
            branch_id: e.branch_id().as_str().into(),
            agent_id: e.agent_id().as_str().into(),
            event_type: pb::EventType::from(e.event_type()).into(),
            amount: Some(e.amount().into()),
            payload: Some(pb::SovereignPayload {
                kek_id: payload.kek_id.clone(),
                kek_version: payload.kek_version,
                envelope: payload.envelope.clone(),
                compliance_proofs: Vec::new(),
            }),
            causality: Some(e.causality().into()),
            audit: Some(pb::Audit {
                created_by: audit.created_by.as_str().into(),
                approved_by: audit.approved_by.as_ref().map(|a| a.as_str().into()),
                mac: audit.mac.clone(),
                signature: audit.signature.as_ref().map(|s| pb::Signature {
                    algorithm: signature_algorithm(s.algorithm).into(),
                    signature: s.bytes.clone(),
                }),
            }),
        }
    }
}

impl From<&EventWithProofs> for pb::SovereignFinancialEvent {
    fn from(e: &EventWithProofs) -> Self {
        let mut message = pb::SovereignFinancialEvent::from(&e.event);
        if let Some(payload) = message.payload.as_mut() {
            payload.compliance_proofs.clone_from(&e.compliance_proofs);
        }
        message
    }
}

/// Validates every field; the compliance proofs are checked and dropped (see
/// [`EventWithProofs`] to keep them).
impl TryFrom<pb::SovereignFinancialEvent> for SovereignFinancialEvent {
    type Error = ProtoError;
    fn try_from(message: pb::SovereignFinancialEvent) -> Result<Self, ProtoError> {
        EventWithProofs::try_from(message).map(|e| e.event)
    }
}

/// Validates every field and each compliance proof's names.
impl TryFrom<pb::SovereignFinancialEvent> for EventWithProofs {
    type Error = ProtoError;
    fn try_from(m: pb::SovereignFinancialEvent) -> Result<Self, ProtoError> {
        check_counts(
            m.payload.as_ref().map_or(0, |p| p.compliance_proofs.len()),
            m.causality.as_ref().map_or(0, |c| c.vector_clock.len()),
        )?;
        let event_id = EventId::from_bytes(id_bytes("event_id", &m.event_id)?)
            .map_err(ProtoError::core("event_id"))?;
        let correlation_id =
            CorrelationId::from_bytes(id_bytes("correlation_id", &m.correlation_id)?)
                .map_err(ProtoError::core("correlation_id"))?;
        let idempotency_key =
            IdempotencyKey::new(m.idempotency_key).map_err(ProtoError::core("idempotency_key"))?;
        let tenant_id = TenantId::new(m.tenant_id).map_err(ProtoError::core("tenant_id"))?;
        let branch_id = BranchId::new(m.branch_id).map_err(ProtoError::core("branch_id"))?;
        let agent_id = agent("agent_id", m.agent_id)?;
        let event_type = event_type_from_wire(m.event_type)?;
        let amount = m.amount.ok_or_else(|| ProtoError::missing("amount"))?;
        let amount = Money::try_from(amount).map_err(|e| e.at("amount"))?;
        let payload = m.payload.ok_or_else(|| ProtoError::missing("payload"))?;
        let causality = m.causality.ok_or_else(|| ProtoError::missing("causality"))?;
        let causality = CausalContext::try_from(causality).map_err(|e| e.at("causality"))?;
        let audit = audit(m.audit.ok_or_else(|| ProtoError::missing("audit"))?)?;
        check_proofs(&payload.compliance_proofs)?;

        let mut builder = EventBuilder::new()
            .event_id(event_id)
            .correlation_id(correlation_id)
            .idempotency_key(idempotency_key)
            .tenant_id(tenant_id)
            .branch_id(branch_id)
            .agent_id(agent_id)
            .event_type(event_type)
            .amount(amount)
            .kek(payload.kek_id, payload.kek_version)
            .envelope(payload.envelope)
            .causality(causality)
            .created_by(audit.created_by)
            .mac(audit.mac);
        if let Some(approver) = audit.approved_by {
            builder = builder.approved_by(approver);
        }
        if let Some(signature) = audit.signature {
            builder = builder.signature(signature);
        }
        // The builder's field names are the protobuf paths (`payload.kek_id`, `audit.mac`,
        // `causality.vector_clock`), which `From<CoreError>` keeps.
        let event = builder.build()?;
        Ok(EventWithProofs { event, compliance_proofs: payload.compliance_proofs })
    }
}

/// Reads the audit block (its fields named `audit.*`).
fn audit(a: pb::Audit) -> Result<Audit, ProtoError> {
    let signature = match a.signature {
        None => None,
        Some(s) => Some(EventSignature {
            algorithm: algorithm_from_wire(s.algorithm)?,
            bytes: s.signature,
        }),
    };
    Ok(Audit {
        created_by: agent("audit.created_by", a.created_by)?,
        approved_by: a.approved_by.map(|text| agent("audit.approved_by", text)).transpose()?,
        mac: a.mac,
        signature,
    })
}

/// The protobuf value of a core signature algorithm.
fn signature_algorithm(a: SignatureAlgorithm) -> pb::SignatureAlgorithm {
    match a {
        SignatureAlgorithm::EcdsaP256Sha256 => pb::SignatureAlgorithm::EcdsaP256Sha256,
        SignatureAlgorithm::Ed25519 => pb::SignatureAlgorithm::Ed25519,
    }
}

/// Reads the raw value of `audit.signature.algorithm`.
fn algorithm_from_wire(value: i32) -> Result<SignatureAlgorithm, ProtoError> {
    match pb::SignatureAlgorithm::try_from(value) {
        Ok(pb::SignatureAlgorithm::EcdsaP256Sha256) => Ok(SignatureAlgorithm::EcdsaP256Sha256),
        Ok(pb::SignatureAlgorithm::Ed25519) => Ok(SignatureAlgorithm::Ed25519),
        Ok(pb::SignatureAlgorithm::Unspecified) => Err(ProtoError::invalid(
            "audit.signature.algorithm",
            "SIGNATURE_ALGORITHM_UNSPECIFIED (0) is not an algorithm; leave the signature out \
             when the event is not signed",
        )),
        Err(_) => Err(ProtoError::invalid(
            "audit.signature.algorithm",
            format!("unknown signature algorithm {value}"),
        )),
    }
}

/// Checks the names of each compliance proof and that it has proof bytes.
fn check_proofs(proofs: &[pb::ComplianceProof]) -> Result<(), ProtoError> {
    for (i, proof) in proofs.iter().enumerate() {
        let at = |name: &str| format!("payload.compliance_proofs[{i}].{name}");
        for (name, text, max) in [
            ("proof_system", &proof.proof_system, MAX_PROOF_SYSTEM_LEN),
            ("statement_id", &proof.statement_id, MAX_STATEMENT_ID_LEN),
        ] {
            if text.is_empty()
                || text.len() > max
                || !text.bytes().all(|b| (0x20..=0x7e).contains(&b))
            {
                return Err(ProtoError::invalid(
                    &at(name),
                    format!(
                        "must be 1 to {max} bytes of printable ASCII, got {} bytes",
                        text.len()
                    ),
                ));
            }
        }
        if proof.proof.is_empty() {
            return Err(ProtoError::invalid(&at("proof"), "must not be empty"));
        }
    }
    Ok(())
}
