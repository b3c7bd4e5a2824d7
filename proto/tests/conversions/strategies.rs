//! Proptest strategies that make valid core events through `EventBuilder`.

use dcs_core::causality::HlcTimestamp;
use dcs_core::event::{EventSignature, SignatureAlgorithm};
use dcs_core::{
    AgentId, BranchId, CausalContext, CorrelationId, Currency, EventBuilder, EventId, EventType,
    IdempotencyKey, Money, SovereignFinancialEvent, TenantId, VectorClock,
};
use dcs_proto::pb;
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;

/// A valid tenant, branch or agent name (1 to 64 bytes of `[A-Za-z0-9._:-]`).
pub fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._:-]{1,64}"
}

/// A valid agent id.
pub fn agent() -> impl Strategy<Value = AgentId> {
    name().prop_map(|n| AgentId::new(n).expect("valid agent name"))
}

/// Currencies of every exponent from 0 to 4, ISO and custom.
pub fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![
        select(vec!["USD", "EUR", "JPY", "KWD", "CLF", "BHD", "ISK", "UYW"])
            .prop_map(|c| Currency::from_code(c).expect("known code")),
        ("[A-Z]{3}", 0u8..=4).prop_filter_map("custom code clashing with ISO", |(c, e)| {
            Currency::custom(&c, e).ok()
        }),
    ]
}

/// A valid amount.
pub fn money() -> impl Strategy<Value = Money> {
    (any::<i64>(), currency()).prop_map(|(minor, c)| Money::from_minor(minor, c))
}

/// A non-zero HLC timestamp.
pub fn hlc() -> impl Strategy<Value = HlcTimestamp> {
    (1..=u64::MAX, any::<[u8; 16]>().prop_filter("non-zero node", |n| *n != [0; 16]))
        .prop_map(|(time, node)| HlcTimestamp { time, node })
}

/// A vector clock of 1 to 5 agents that counts `agent` at least once.
pub fn vector_clock(agent: AgentId) -> impl Strategy<Value = VectorClock> {
    (btree_map(self::agent(), 1..=u64::MAX, 0..=4), 1..=u64::MAX).prop_map(move |(others, own)| {
        others.into_iter().chain([(agent.clone(), own)]).collect::<VectorClock>()
    })
}

/// A signature of either algorithm (bytes not checked by the contract).
pub fn signature() -> impl Strategy<Value = EventSignature> {
    (
        prop_oneof![Just(SignatureAlgorithm::EcdsaP256Sha256), Just(SignatureAlgorithm::Ed25519)],
        vec(any::<u8>(), 0..=96),
    )
        .prop_map(|(algorithm, bytes)| EventSignature { algorithm, bytes })
}

/// Everything an event has besides its agent and causality, in builder order.
type Parts = (
    (u64, [u8; 10], Option<[u8; 16]>, String),
    (String, String, EventType, Money),
    (String, u32, Vec<u8>),
    (AgentId, Option<AgentId>, Vec<u8>, Option<EventSignature>),
);

fn parts() -> impl Strategy<Value = Parts> {
    (
        (
            0u64..(1 << 48),
            any::<[u8; 10]>(),
            option::of(any::<[u8; 16]>().prop_filter("non-nil", |b| *b != [0; 16])),
            "[ -~]{1,128}",
        ),
        (name(), name(), select(EventType::ALL), money()),
        ("[^\\p{Cc}]{1,32}", any::<u32>(), vec(any::<u8>(), 0..=512)),
        (agent(), option::of(agent()), vec(any::<u8>(), 0..=64), option::of(signature())),
    )
}

/// An arbitrary valid core event.
pub fn event() -> impl Strategy<Value = SovereignFinancialEvent> {
    (agent(), hlc())
        .prop_flat_map(|(agent, hlc)| {
            (Just(agent.clone()), Just(hlc), vector_clock(agent), parts())
        })
        .prop_map(|(agent, hlc, vector_clock, parts)| {
            let (
                (unix_ms, random, correlation, key),
                (tenant, branch, event_type, amount),
                kek,
                audit,
            ) = parts;
            let (kek_id, kek_version, envelope) = kek;
            let (created_by, approved_by, mac, signature) = audit;
            let event_id = EventId::new_v7(unix_ms, random);
            let correlation_id = match correlation {
                Some(bytes) => CorrelationId::from_bytes(bytes).expect("non-nil"),
                None => CorrelationId::from_event(event_id),
            };
            let mut builder = EventBuilder::new()
                .event_id(event_id)
                .correlation_id(correlation_id)
                .idempotency_key(IdempotencyKey::new(key).expect("printable key"))
                .tenant_id(TenantId::new(tenant).expect("valid name"))
                .branch_id(BranchId::new(branch).expect("valid name"))
                .agent_id(agent)
                .event_type(event_type)
                .amount(amount)
                .kek(kek_id, kek_version)
                .envelope(envelope)
                .causality(CausalContext { hlc, vector_clock })
                .created_by(created_by)
                .mac(mac);
            if let Some(a) = approved_by {
                builder = builder.approved_by(a);
            }
            if let Some(s) = signature {
                builder = builder.signature(s);
            }
            builder.build().expect("the strategy makes valid events")
        })
}

/// Up to three well-formed compliance proofs.
pub fn proofs() -> impl Strategy<Value = Vec<pb::ComplianceProof>> {
    vec(
        ("[ -~]{1,64}", "[ -~]{1,128}", vec(any::<u8>(), 0..=64), vec(any::<u8>(), 1..=128))
            .prop_map(|(proof_system, statement_id, public_inputs, proof)| pb::ComplianceProof {
                proof_system,
                statement_id,
                public_inputs,
                proof,
            }),
        0..=3,
    )
}

/// A fixed valid event, for unit tests that break one field of it.
pub fn sample() -> SovereignFinancialEvent {
    let agent = AgentId::new("pos-1").expect("valid");
    EventBuilder::new()
        .event_id(EventId::new_v7(1_700_000_000_000, [7; 10]))
        .idempotency_key(IdempotencyKey::new("sale-42").expect("valid"))
        .tenant_id(TenantId::new("acme").expect("valid"))
        .branch_id(BranchId::new("store-7").expect("valid"))
        .agent_id(agent.clone())
        .event_type(EventType::SaleCompleted)
        .amount(Money::from_minor(1999, Currency::USD))
        .kek("tenant-acme/kek", 3)
        .envelope(vec![1, 2, 3])
        .causality(CausalContext {
            hlc: HlcTimestamp { time: 42 << 32, node: [9; 16] },
            vector_clock: [(agent.clone(), 5)].into_iter().collect(),
        })
        .created_by(agent)
        .approved_by(AgentId::new("supervisor").expect("valid"))
        .mac(vec![0xAA; 64])
        .signature(EventSignature { algorithm: SignatureAlgorithm::Ed25519, bytes: vec![1; 64] })
        .build()
        .expect("valid sample")
}
