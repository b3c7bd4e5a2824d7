//! Shared fixtures for dcs-core's integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use dcs_core::causality::HlcTimestamp;
use dcs_core::event::{EventSignature, SignatureAlgorithm};
use dcs_core::*;

/// A fixed, fully populated event used by golden-vector and property tests.
pub fn sample_event() -> SovereignFinancialEvent {
    let agent = AgentId::new("pos-01").unwrap();
    let vector_clock: VectorClock =
        [(agent.clone(), 7), (AgentId::new("pos-02").unwrap(), 3)].into_iter().collect();
    EventBuilder::new()
        .event_id(EventId::new_v7(1_767_225_600_000, [7; 10]))
        .correlation_id(CorrelationId::parse("0194f3a0-0000-7000-8000-000000000001").unwrap())
        .idempotency_key(IdempotencyKey::new("sale-0001/complete").unwrap())
        .tenant_id(TenantId::new("acme").unwrap())
        .branch_id(BranchId::new("store-042").unwrap())
        .agent_id(agent)
        .event_type(EventType::SaleCompleted)
        .amount(Money::from_minor(10_825, Currency::USD))
        .kek("acme/kek", 3)
        .envelope(vec![0xAB; 48])
        .causality(CausalContext {
            hlc: HlcTimestamp { time: 0x6955_B900_0000_0010, node: [9; 16] },
            vector_clock,
        })
        .created_by(AgentId::new("cashier-17").unwrap())
        .approved_by(AgentId::new("supervisor-2").unwrap())
        .mac(vec![1; 64])
        .signature(EventSignature {
            algorithm: SignatureAlgorithm::EcdsaP256Sha256,
            bytes: vec![2; 64],
        })
        .build()
        .unwrap()
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
