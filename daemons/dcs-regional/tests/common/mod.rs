//! What the regional tests share: a region's configuration over the simulator's keyed MAC, and
//! a store machine whose sealed events that verifier accepts.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, missing_docs)]

pub mod client;
pub mod master;
pub mod procs;
pub mod proxy;
pub mod region;
pub mod sinks;

use dcs_core::causality::HlcTimestamp;
use dcs_core::commerce::body::StockMovement;
use dcs_core::commerce::{EventBody, Sku};
use dcs_core::*;
use dcs_crdt::ReplicaId;
use dcs_regional::replica::{Clock, ReplicaConfig};
use dcs_sync::sim::mac::KeyedVerifier;
use dcs_sync::{
    LivenessConfig, LocalConfig, LocalMachine, NodeId, Now, RegionalConfig, SyncConfig,
};

pub const T0: u64 = 1_795_600_000_000;
pub const KEY: [u8; 32] = [7; 32];
pub const STORES: u32 = 2;

pub fn now(ms: u64) -> Now {
    Now { mono_ms: ms, wall_ms: T0 + ms }
}

pub fn clock(ms: u64) -> Clock {
    Clock { mono_ms: ms, wall_ms: T0 + ms }
}

pub fn sync_config() -> SyncConfig {
    SyncConfig {
        sync_interval_ms: 1_000,
        batch_delay_ms: 0,
        retransmit_base_ms: 500,
        retransmit_max_ms: 2_000,
        heartbeat_interval_ms: 1_000,
        ..SyncConfig::default()
    }
}

pub fn replica_config() -> ReplicaConfig {
    replica_config_for(STORES)
}

/// A region of `stores` stores (1..=stores).
pub fn replica_config_for(stores: u32) -> ReplicaConfig {
    ReplicaConfig {
        region: RegionalConfig {
            node: NodeId::Region(0),
            master: NodeId::Master,
            stores: (1..=stores).map(NodeId::Store).collect(),
            replica: ReplicaId(10),
            sync: sync_config(),
            liveness: LivenessConfig::default(),
        },
        seed: 99,
        keys: Default::default(),
    }
}

pub fn verifier() -> KeyedVerifier {
    KeyedVerifier::new(KEY)
}

pub fn store(n: u32) -> LocalMachine {
    store_with(n, sync_config())
}

/// Store `n` with its own sync tuning.
pub fn store_with(n: u32, sync: SyncConfig) -> LocalMachine {
    LocalMachine::new(
        LocalConfig {
            node: NodeId::Store(n),
            region: NodeId::Region(0),
            branch: BranchId::new(format!("s{n}")).unwrap(),
            replica: ReplicaId(1000 + u64::from(n)),
            sync,
        },
        now(0),
        n.into(),
    )
    .unwrap()
}

/// Store `n`'s `k`-th event (3 units of MUG received), sealed under [`KEY`].
pub fn event(
    m: &mut LocalMachine,
    n: u32,
    k: u64,
    at: Now,
) -> (SovereignFinancialEvent, EventBody) {
    let body = EventBody::InventoryReceived(StockMovement {
        branch: BranchId::new(format!("s{n}")).unwrap(),
        sku: Sku::new("MUG").unwrap(),
        quantity: 3,
    });
    let hlc: HlcTimestamp = m.next_hlc(at);
    let agent = AgentId::new(format!("pos-{n}")).unwrap();
    let mut vc = VectorClock::new();
    vc.set(agent.clone(), k);
    let d = DomainEvent::new(body.clone());
    let mut id = [0u8; 10];
    id[0] = n as u8;
    id[1..9].copy_from_slice(&k.to_be_bytes());
    let mut e = d
        .fill(EventBuilder::new(), Currency::USD)
        .event_id(EventId::new_v7(hlc.unix_ms(), id))
        .idempotency_key(IdempotencyKey::new(format!("s{n}/{k}")).unwrap())
        .tenant_id(TenantId::new("acme").unwrap())
        .branch_id(BranchId::new(format!("s{n}")).unwrap())
        .agent_id(agent.clone())
        .kek("acme/kek", 1)
        .envelope(d.plaintext().unwrap())
        .causality(CausalContext { hlc, vector_clock: vc })
        .created_by(agent)
        .build()
        .unwrap();
    verifier().seal(&mut e);
    (e, body)
}
