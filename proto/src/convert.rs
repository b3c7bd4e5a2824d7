//! Conversions of the parts of an event: ids, event type, money and the causal context.
//!
//! Each `TryFrom` names fields relative to its own message (`hlc.node`, `currency_code`);
//! the event conversion puts the path of the enclosing field in front
//! ([`ProtoError::at`]).

use dcs_core::causality::HlcTimestamp;
use dcs_core::{AgentId, CausalContext, Currency, EventType, Money, VectorClock};

use crate::ProtoError;
use crate::pb;

/// Length of a UUID and of an HLC node id, in bytes.
const ID_LEN: usize = 16;

/// Reads a 16-byte id (UUID or HLC node) from a bytes field.
pub(crate) fn id_bytes(field: &str, bytes: &[u8]) -> Result<[u8; ID_LEN], ProtoError> {
    bytes.try_into().map_err(|_| ProtoError::WrongLength {
        field: field.into(),
        expected: ID_LEN,
        got: bytes.len(),
    })
}

/// Validates an agent name held in `field`.
pub(crate) fn agent(field: &str, text: String) -> Result<AgentId, ProtoError> {
    AgentId::new(text).map_err(ProtoError::core(field))
}

impl From<EventType> for pb::EventType {
    fn from(t: EventType) -> Self {
        // Exhaustive on purpose: a type added to dcs-core does not compile until it is here
        // (and in event_type.proto).
        match t {
            EventType::SaleInitiated => pb::EventType::SaleInitiated,
            EventType::SaleCompleted => pb::EventType::SaleCompleted,
            EventType::SaleReversed => pb::EventType::SaleReversed,
            EventType::SalePartiallyRefunded => pb::EventType::SalePartiallyRefunded,
            EventType::InventoryReceived => pb::EventType::InventoryReceived,
            EventType::InventorySold => pb::EventType::InventorySold,
            EventType::InventoryTransferredOut => pb::EventType::InventoryTransferredOut,
            EventType::InventoryTransferredIn => pb::EventType::InventoryTransferredIn,
            EventType::InventoryAdjusted => pb::EventType::InventoryAdjusted,
            EventType::LowStockAlert => pb::EventType::LowStockAlert,
            EventType::PaymentAuthorized => pb::EventType::PaymentAuthorized,
            EventType::PaymentCaptured => pb::EventType::PaymentCaptured,
            EventType::PaymentRefunded => pb::EventType::PaymentRefunded,
            EventType::PaymentFailed => pb::EventType::PaymentFailed,
            EventType::LedgerEntryPosted => pb::EventType::LedgerEntryPosted,
            EventType::EndOfDayReconciliation => pb::EventType::EndOfDayReconciliation,
            EventType::PeriodClosed => pb::EventType::PeriodClosed,
            EventType::SagaInitiated => pb::EventType::SagaInitiated,
            EventType::SagaStepCompleted => pb::EventType::SagaStepCompleted,
            EventType::SagaCompensationTriggered => pb::EventType::SagaCompensationTriggered,
            EventType::SagaCompleted => pb::EventType::SagaCompleted,
            EventType::SagaFailed => pb::EventType::SagaFailed,
            EventType::AgentDecisionMade => pb::EventType::AgentDecisionMade,
            EventType::AgentActionExecuted => pb::EventType::AgentActionExecuted,
            EventType::AgentLearningUpdated => pb::EventType::AgentLearningUpdated,
            EventType::SessionOpened => pb::EventType::SessionOpened,
            EventType::SessionClosed => pb::EventType::SessionClosed,
        }
    }
}

/// Errors name the field `event_type`.
impl TryFrom<pb::EventType> for EventType {
    type Error = ProtoError;
    fn try_from(t: pb::EventType) -> Result<Self, ProtoError> {
        event_type_from_wire(t as i32)
    }
}

/// Reads the raw enum value of an `event_type` field: its numeric value is the core code.
pub(crate) fn event_type_from_wire(value: i32) -> Result<EventType, ProtoError> {
    const FIELD: &str = "event_type";
    if value == pb::EventType::Unspecified as i32 {
        return Err(ProtoError::invalid(FIELD, "EVENT_TYPE_UNSPECIFIED (0) is not an event type"));
    }
    let code = u16::try_from(value)
        .map_err(|_| ProtoError::invalid(FIELD, format!("unknown event type value {value}")))?;
    EventType::from_code(code).map_err(ProtoError::core(FIELD))
}

impl From<Money> for pb::Money {
    fn from(m: Money) -> Self {
        let currency = m.currency();
        pb::Money {
            minor_units: m.minor(),
            currency_code: currency.code().into(),
            exponent: u32::from(currency.exponent()),
        }
    }
}

/// Errors name `currency_code` or `exponent`.
impl TryFrom<pb::Money> for Money {
    type Error = ProtoError;
    fn try_from(m: pb::Money) -> Result<Self, ProtoError> {
        let well_formed_code =
            m.currency_code.len() == 3 && m.currency_code.bytes().all(|b| b.is_ascii_uppercase());
        if !well_formed_code {
            // Quote short values only: the field may hold megabytes of hostile text.
            let got = if m.currency_code.len() <= 16 {
                format!("{:?}", m.currency_code)
            } else {
                format!("a {}-byte string", m.currency_code.len())
            };
            return Err(ProtoError::invalid(
                "currency_code",
                format!("{got} is not three uppercase ASCII letters"),
            ));
        }
        let exponent = u8::try_from(m.exponent).map_err(|_| {
            ProtoError::invalid("exponent", format!("{} is larger than 4", m.exponent))
        })?;
        // With a well-formed code, what is left to reject is the exponent (above 4, or not
        // the ISO-4217 exponent of a known code).
        let currency =
            Currency::custom(&m.currency_code, exponent).map_err(ProtoError::core("exponent"))?;
        Ok(Money::from_minor(m.minor_units, currency))
    }
}

impl From<&CausalContext> for pb::CausalContext {
    fn from(c: &CausalContext) -> Self {
        pb::CausalContext {
            hlc: Some(pb::HybridLogicalClock { time: c.hlc.time, node: c.hlc.node.to_vec() }),
            // VectorClock iterates in agent order, the order the contract requires.
            vector_clock: c
                .vector_clock
                .iter()
                .map(|(agent, counter)| pb::VectorClockEntry {
                    agent_id: agent.as_str().into(),
                    counter,
                })
                .collect(),
        }
    }
}

/// Errors name `hlc`, `hlc.time`, `hlc.node` or `vector_clock[i].agent_id|counter`.
impl TryFrom<pb::CausalContext> for CausalContext {
    type Error = ProtoError;
    fn try_from(c: pb::CausalContext) -> Result<Self, ProtoError> {
        let hlc = c.hlc.ok_or_else(|| ProtoError::missing("hlc"))?;
        if hlc.time == 0 {
            return Err(ProtoError::invalid("hlc.time", "must not be zero"));
        }
        let node = id_bytes("hlc.node", &hlc.node)?;
        if node == [0; ID_LEN] {
            return Err(ProtoError::invalid("hlc.node", "must not be all zeroes"));
        }
        Ok(CausalContext {
            hlc: HlcTimestamp { time: hlc.time, node },
            vector_clock: vector_clock(c.vector_clock)?,
        })
    }
}

/// Reads vector clock entries, which must be sorted by agent with no duplicates or zeroes,
/// so that one clock has exactly one encoding.
fn vector_clock(entries: Vec<pb::VectorClockEntry>) -> Result<VectorClock, ProtoError> {
    let mut agents: Vec<(AgentId, u64)> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let at = |name: &str| format!("vector_clock[{i}].{name}");
        let agent_id = agent(&at("agent_id"), entry.agent_id)?;
        if let Some((previous, _)) = agents.last()
            && previous >= &agent_id
        {
            return Err(ProtoError::invalid(
                &at("agent_id"),
                format!(
                    "{:?} does not come after {:?}: entries must be sorted by \
                     agent_id with no duplicates",
                    agent_id.as_str(),
                    previous.as_str()
                ),
            ));
        }
        if entry.counter == 0 {
            return Err(ProtoError::invalid(
                &at("counter"),
                "must be at least 1 (leave out agents whose counter is zero)",
            ));
        }
        agents.push((agent_id, entry.counter));
    }
    Ok(agents.into_iter().collect())
}
