//! What the SQLite sync tests share: a store's machine over a SQLite file, a region that
//! takes everything, and events whose stock movement follows from their sequence number.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use dcs_core::commerce::EventBody;
use dcs_core::commerce::Sku;
use dcs_core::commerce::body::StockMovement;
use dcs_core::{BranchId, SovereignFinancialEvent};
use dcs_crdt::ReplicaId;
use dcs_store::conformance::test_event;
use dcs_store::sqlite::{AppendRequest, SqliteStore};
use dcs_store::{ExpectedVersion, StreamId};
use dcs_sync::{
    LivenessConfig, LocalConfig, LocalMachine, NodeId, Now, RegionalConfig, RegionalMachine,
    SyncConfig, Verifier, VerifyError,
};

/// The branch of `test_event`.
pub const BRANCH: &str = "store-1";
/// The store's node id.
pub const STORE: NodeId = NodeId::Store(1);

/// Monotonic and wall time at `ms`.
pub fn now(ms: u64) -> Now {
    Now { mono_ms: ms, wall_ms: 1_795_600_000_000 + ms }
}

/// Timers short enough for tests, a small outbox window (reads are exercised).
pub fn sync_config() -> SyncConfig {
    SyncConfig {
        sync_interval_ms: 100,
        batch_delay_ms: 0,
        retransmit_base_ms: 50,
        retransmit_max_ms: 400,
        max_batch_items: 16,
        outbox_window_items: 32,
        ..SyncConfig::default()
    }
}

/// The store's machine config.
pub fn local_config() -> LocalConfig {
    LocalConfig {
        node: STORE,
        region: NodeId::Region(0),
        branch: BranchId::new(BRANCH).unwrap(),
        replica: ReplicaId(1001),
        sync: sync_config(),
    }
}

/// The test region's configuration: one store, [`STORE`].
pub fn region_config() -> RegionalConfig {
    RegionalConfig {
        node: NodeId::Region(0),
        master: NodeId::Master,
        stores: vec![STORE],
        replica: ReplicaId(10),
        sync: sync_config(),
        liveness: LivenessConfig::default(),
    }
}

/// A region that takes the store's events.
pub fn region() -> RegionalMachine {
    RegionalMachine::new(region_config(), Box::new(TakesAll), now(0), 7).unwrap()
}

/// Accepts every event (the tests' events carry no real MAC).
pub struct TakesAll;

impl Verifier for TakesAll {
    fn verify(&self, _event: &SovereignFinancialEvent) -> Result<(), VerifyError> {
        Ok(())
    }
}

/// The stock movement event `seq` stands for: 1 to 7 units of one of three SKUs received.
pub fn body(seq: u64) -> EventBody {
    EventBody::InventoryReceived(StockMovement {
        branch: BranchId::new(BRANCH).unwrap(),
        sku: Sku::new(format!("SKU-{}", seq % 3)).unwrap(),
        quantity: (seq % 7 + 1) as u32,
    })
}

/// Event `seq` (idempotency key `ev-{seq}`).
pub fn event(seq: u64) -> SovereignFinancialEvent {
    test_event("t", seq, &format!("ev-{seq}"))
}

/// The sequence number of an event made by [`event`].
pub fn seq_of(e: &SovereignFinancialEvent) -> u64 {
    e.idempotency_key().as_str().trim_start_matches("ev-").parse().unwrap()
}

/// Appends events `seqs` in one group commit with the machine's writes, and confirms them.
pub fn append(store: &SqliteStore, m: &mut LocalMachine, seqs: std::ops::Range<u64>, at: Now) {
    let events: Vec<_> = seqs.clone().map(event).collect();
    let stream = StreamId::new("sales").unwrap();
    let req = AppendRequest {
        stream: &stream,
        expected: ExpectedVersion::Any,
        events: &events,
        bodies: &[],
    };
    let (results, batches) = store
        .append_group_synced(&[req], |results| {
            let r = results[0].as_ref().unwrap();
            for (i, e) in events.iter().enumerate() {
                let seq = seq_of(e);
                m.append_at(at, r.first_position + i as u64, e.clone(), Some(&body(seq))).unwrap();
            }
            Ok(std::iter::from_fn(|| m.poll_persist()).collect())
        })
        .unwrap();
    assert!(results[0].is_ok());
    for b in batches {
        m.handle_persisted(at, b.token, &[]).unwrap();
    }
}

/// Starts this test binary again as a child running only the ignored test `name`, with
/// `envs` set, its stdin and stdout piped (stderr dropped).
pub fn spawn_child(name: &str, envs: &[(&str, String)]) -> std::process::Child {
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([name, "--exact", "--ignored", "--nocapture", "--test-threads=1"]);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap()
}

/// Moves messages between the store's machine and the region (whose writes go to `host`)
/// until the store's outbox is empty.
pub fn sync<H: dcs_sync::SyncStore>(
    store: &mut SqliteStore,
    m: &mut LocalMachine,
    r: &mut RegionalMachine,
    host: &mut H,
    t: &mut u64,
) where
    H::Error: std::fmt::Debug,
{
    for _ in 0..100_000 {
        *t += 10;
        dcs_sync::pump(now(*t), m, store).unwrap();
        m.handle_timeout(now(*t));
        r.handle_timeout(now(*t));
        dcs_sync::pump(now(*t), m, store).unwrap();
        let out: Vec<dcs_sync::Message> =
            std::iter::from_fn(|| m.poll_transmit()).map(|(_, x)| x).collect();
        if out.is_empty() && m.lag() == 0 {
            return;
        }
        for msg in out {
            r.handle_message(now(*t), STORE, msg).unwrap();
        }
        dcs_sync::pump(now(*t), r, host).unwrap();
        while let Some((to, msg)) = r.poll_transmit() {
            if to == STORE {
                m.handle_message(now(*t), NodeId::Region(0), msg).unwrap();
            }
        }
    }
    panic!("the outbox never drained (lag {})", m.lag());
}
