//! Issue 18: a machine's heap is a function of its configuration and of the CRDT's size, never
//! of how many events went through it.
//!
//! A counting global allocator (`tracking-allocator`: it writes the allocating group into a
//! header of every allocation, so a free is charged to the group that made it, wherever it
//! happens) attributes the live heap bytes to the machine being called: every call into a
//! machine runs inside that machine's allocation group, and so does the host's reading of
//! outbox items *for* the machine (the machine keeps them). What the hosts' stores keep (the
//! outbox until acknowledged, the dedup indexes) is the hosts' and is counted apart.
//!
//! Four stores → one region → one master, in-process, over a catalog of 8 SKUs, with events
//! that receive and sell stock, sync rounds with acks, one store cut off for 50,000 events and
//! restarts of every tier from its store. `DCS_HEAP_EVENTS` sets the number of events (default
//! 200,000; the figures of benches/RESULTS.md are from 1,000,000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::atomic::{AtomicI64, Ordering};

use dcs_core::causality::HlcTimestamp;
use dcs_core::commerce::body::StockMovement;
use dcs_core::commerce::{EventBody, Sku};
use dcs_core::*;
use dcs_crdt::ReplicaId;
use dcs_sync::sim::mac::KeyedVerifier;
use dcs_sync::sim::store::MemStore;
use dcs_sync::*;
use tracking_allocator::{
    AllocationGroupId, AllocationGroupToken, AllocationRegistry, AllocationTracker, Allocator,
};

#[global_allocator]
static GLOBAL: Allocator<std::alloc::System> = Allocator::system();

/// Live bytes per allocation group id (1 is the root: the test and the hosts).
static LIVE: [AtomicI64; 16] = [const { AtomicI64::new(0) }; 16];

fn slot(group: AllocationGroupId) -> &'static AtomicI64 {
    &LIVE[group.as_usize().get().min(LIVE.len() - 1)]
}

/// Charges each allocation to the group that made it, and each free to the same group.
struct Counter;

impl AllocationTracker for Counter {
    fn allocated(&self, _addr: usize, size: usize, _wrapped: usize, group: AllocationGroupId) {
        slot(group).fetch_add(size as i64, Ordering::Relaxed);
    }

    fn deallocated(
        &self,
        _addr: usize,
        size: usize,
        _wrapped: usize,
        source: AllocationGroupId,
        _current: AllocationGroupId,
    ) {
        slot(source).fetch_sub(size as i64, Ordering::Relaxed);
    }
}

fn live(tok: &AllocationGroupToken) -> i64 {
    slot(tok.id()).load(Ordering::Relaxed)
}

const T0: u64 = 1_795_600_000_000;
const KEY: [u8; 32] = [7; 32];
const STORES: u32 = 4;
const SKUS: [&str; 8] = ["MUG", "CUP", "TEA", "JAR", "PEN", "INK", "MAP", "BAG"];
/// Events each store appends per round (a round is 500 ms).
const PER_ROUND: u64 = 128;
const ROUND_MS: u64 = 500;
/// Store 4 is cut off from the region while the stores append this many events in all
/// (from a tenth of the run on).
const OFFLINE: u64 = 50_000;

/// Delta-log entries each machine keeps (small, so that every log, the master's too, is full
/// well before the 100,000-event reference sample: the master takes about one entry a round).
const DELTA_LOG: usize = 64;
/// The bound on each machine's live heap: a full delta log (at most 8 KiB an entry: one
/// stock delta of the 8 × 4 catalog with its dots, measured ~4 KiB), a full outbox window
/// (512 items of at most 4 KiB: a sealed event ~1.5 KiB, twice for the in-flight push), the
/// CRDT (8 SKUs × 4 branches, measured 12 KiB) and the fixed parts (256 KiB).
const BOUND: i64 = (DELTA_LOG as i64) * 8 * 1024 + 512 * 4 * 1024 + 256 * 1024;

fn now(ms: u64) -> Now {
    Now { mono_ms: ms, wall_ms: T0 + ms }
}

fn cfg() -> SyncConfig {
    SyncConfig {
        sync_interval_ms: 1_000,
        batch_delay_ms: 0,
        retransmit_base_ms: 1_000,
        retransmit_max_ms: 2_000,
        heartbeat_interval_ms: 1_000,
        delta_log_capacity: DELTA_LOG,
        ..SyncConfig::default()
    }
}

fn local_cfg(n: u32) -> LocalConfig {
    LocalConfig {
        node: NodeId::Store(n),
        region: NodeId::Region(0),
        branch: BranchId::new(format!("s{n}")).unwrap(),
        replica: ReplicaId(1000 + u64::from(n)),
        sync: cfg(),
    }
}

fn region_cfg() -> RegionalConfig {
    RegionalConfig {
        node: NodeId::Region(0),
        master: NodeId::Master,
        stores: (1..=STORES).map(NodeId::Store).collect(),
        replica: ReplicaId(10),
        sync: cfg(),
        liveness: LivenessConfig::default(),
    }
}

fn master_cfg() -> MasterConfig {
    MasterConfig {
        regions: vec![NodeId::Region(0)],
        replica: ReplicaId(1),
        sync: cfg(),
        liveness: LivenessConfig::default(),
    }
}

/// Store `n`'s `k`-th movement: receive 3 on even `k`, sell 1 on odd, over the catalog.
fn body(n: u32, k: u64) -> EventBody {
    let m = StockMovement {
        branch: BranchId::new(format!("s{n}")).unwrap(),
        sku: Sku::new(SKUS[(k % SKUS.len() as u64) as usize]).unwrap(),
        quantity: if k.is_multiple_of(2) { 3 } else { 1 },
    };
    if k.is_multiple_of(2) { EventBody::InventoryReceived(m) } else { EventBody::InventorySold(m) }
}

/// Builds and seals store `n`'s `k`-th event.
fn event(
    m: &mut LocalMachine,
    n: u32,
    k: u64,
    body: &EventBody,
    at: Now,
) -> SovereignFinancialEvent {
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
    KeyedVerifier::new(KEY).seal(&mut e);
    e
}

/// A host's store: the simulator's in-memory store, whose accepted items the host counts and
/// drops after each round (a real store keeps them on disk, not in the machine's memory).
#[derive(Default)]
struct Host {
    store: MemStore,
    accepted: u64,
}

impl Host {
    fn settle(&mut self) {
        self.accepted += std::mem::take(&mut self.store.items).len() as u64;
        drop(std::mem::take(&mut self.store.rejected));
        drop(std::mem::take(&mut self.store.refused_by_parent));
    }
}

/// `dcs_sync::pump`, with every call into the machine (and the reads of outbox items the
/// machine keeps) charged to the machine's group and the store's writes to the host.
fn persist<M: Persisting>(at: Now, m: &mut M, host: &mut Host, tok: &mut AllocationGroupToken) {
    loop {
        let batch = {
            let _g = tok.enter();
            m.next_persist()
        };
        if let Some(batch) = batch {
            let outcomes = host.store.persist(&on_disk(&batch)).unwrap();
            let _g = tok.enter();
            m.persisted(at, batch.token, &outcomes).unwrap();
            drop(batch);
            continue;
        }
        let _g = tok.enter();
        let Some(r) = m.next_read() else { break };
        let items = host.store.read_outbox(r.after, r.max_items).unwrap();
        m.read(items);
    }
    host.settle();
}

/// The batch as a disk holds it: its own copy of every delta (the simulator's store shares
/// the machine's immutable deltas instead, which would charge what the host keeps, up to its
/// checkpoint tail, to the machine that made them).
fn on_disk(batch: &PersistBatch) -> PersistBatch {
    let ops = batch
        .ops
        .iter()
        .map(|op| match op {
            WriteOp::Delta { from, have, delta, seq } => WriteOp::Delta {
                from: *from,
                have: *have,
                delta: std::sync::Arc::new(delta.as_ref().clone()),
                seq: *seq,
            },
            other => other.clone(),
        })
        .collect();
    PersistBatch { token: batch.token, ops }
}

struct Store {
    n: u32,
    m: LocalMachine,
    host: Host,
    tok: AllocationGroupToken,
    k: u64,
    online: bool,
}

struct Tiers {
    stores: Vec<Store>,
    region: RegionalMachine,
    region_host: Host,
    region_tok: AllocationGroupToken,
    master: MasterMachine,
    master_host: Host,
    master_tok: AllocationGroupToken,
}

impl Tiers {
    /// Every machine's persistence, then every message until none moves (timers that fall
    /// due meanwhile, such as a push after an ack, fire at once).
    fn exchange(&mut self, at: Now) {
        loop {
            let mut moved = self.due(at);
            for s in &mut self.stores {
                persist(at, &mut s.m, &mut s.host, &mut s.tok);
                loop {
                    let bytes = {
                        let _g = s.tok.enter();
                        s.m.poll_transmit().map(|(_, msg)| encode(&msg).unwrap())
                    };
                    let Some(bytes) = bytes else { break };
                    if s.online {
                        let _g = self.region_tok.enter();
                        self.region.handle_bytes(at, NodeId::Store(s.n), &bytes).unwrap();
                        moved = true;
                    }
                }
            }
            persist(at, &mut self.region, &mut self.region_host, &mut self.region_tok);
            loop {
                let out = {
                    let _g = self.region_tok.enter();
                    self.region.poll_transmit().map(|(to, msg)| (to, encode(&msg).unwrap()))
                };
                let Some((to, bytes)) = out else { break };
                if to == NodeId::Master {
                    let _g = self.master_tok.enter();
                    self.master.handle_bytes(at, NodeId::Region(0), &bytes).unwrap();
                    moved = true;
                } else {
                    let s = self.stores.iter_mut().find(|s| NodeId::Store(s.n) == to).unwrap();
                    if s.online {
                        let _g = s.tok.enter();
                        s.m.handle_bytes(at, NodeId::Region(0), &bytes).unwrap();
                        moved = true;
                    }
                }
            }
            persist(at, &mut self.master, &mut self.master_host, &mut self.master_tok);
            loop {
                let bytes = {
                    let _g = self.master_tok.enter();
                    self.master.poll_transmit().map(|(_, msg)| encode(&msg).unwrap())
                };
                let Some(bytes) = bytes else { break };
                let _g = self.region_tok.enter();
                self.region.handle_bytes(at, NodeId::Master, &bytes).unwrap();
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }

    /// Fires the timers due at `at`; true if any was.
    fn due(&mut self, at: Now) -> bool {
        let due = |t: Option<u64>| t.is_some_and(|t| t <= at.mono_ms);
        let mut fired = false;
        for s in &mut self.stores {
            let _g = s.tok.enter();
            if due(s.m.poll_timeout()) {
                s.m.handle_timeout(at);
                fired = true;
            }
        }
        {
            let _g = self.region_tok.enter();
            if due(self.region.poll_timeout()) {
                self.region.handle_timeout(at);
                fired = true;
            }
        }
        let _g = self.master_tok.enter();
        if due(self.master.poll_timeout()) {
            self.master.handle_timeout(at);
            fired = true;
        }
        fired
    }

    fn timers(&mut self, at: Now) {
        for s in &mut self.stores {
            let _g = s.tok.enter();
            s.m.handle_timeout(at);
        }
        {
            let _g = self.region_tok.enter();
            self.region.handle_timeout(at);
        }
        let _g = self.master_tok.enter();
        self.master.handle_timeout(at);
    }

    /// Live heap bytes of each machine: stores 1-4, region, master.
    fn heap(&self) -> Vec<i64> {
        let mut v: Vec<i64> = self.stores.iter().map(|s| live(&s.tok)).collect();
        v.push(live(&self.region_tok));
        v.push(live(&self.master_tok));
        v
    }
}

/// Heap bytes of a copy of `state`: the CRDT's share of a machine's heap.
fn state_bytes(probe: &mut AllocationGroupToken, state: &ReplicatedState) -> i64 {
    let counter = slot(probe.id());
    let _g = probe.enter();
    let before = counter.load(Ordering::Relaxed);
    let copy = state.clone();
    let bytes = counter.load(Ordering::Relaxed) - before;
    drop(copy);
    bytes
}

fn token() -> AllocationGroupToken {
    AllocationGroupToken::register().expect("an allocation group")
}

fn build(at: Now) -> Tiers {
    let stores = (1..=STORES)
        .map(|n| {
            let mut tok = token();
            let m = {
                let _g = tok.enter();
                LocalMachine::new(local_cfg(n), at, n.into()).unwrap()
            };
            Store { n, m, host: Host::default(), tok, k: 0, online: true }
        })
        .collect();
    let mut region_tok = token();
    let region = {
        let _g = region_tok.enter();
        RegionalMachine::new(region_cfg(), Box::new(KeyedVerifier::new(KEY)), at, 99).unwrap()
    };
    let mut master_tok = token();
    let master = {
        let _g = master_tok.enter();
        let mut m = MasterMachine::new(master_cfg(), at, 3).unwrap();
        for (i, sku) in SKUS.iter().enumerate() {
            m.set_price(at, sku, 100 + i as i64).unwrap();
            m.list_in_catalog(at, sku);
        }
        m
    };
    Tiers {
        stores,
        region,
        region_host: Host::default(),
        region_tok,
        master,
        master_host: Host::default(),
        master_tok,
    }
}

#[test]
fn machine_heap_is_flat_over_a_million_events() {
    let total: u64 =
        std::env::var("DCS_HEAP_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    AllocationRegistry::set_global_tracker(Counter).expect("the only tracker");
    AllocationRegistry::enable_tracking();
    let started = std::time::Instant::now();
    let mut t = build(now(0));
    let mut probe = token();
    let milestones: Vec<u64> =
        [10_000, 20_000, 30_000, 50_000, 100_000, 200_000, 500_000, 1_000_000]
            .into_iter()
            .filter(|m| *m <= total)
            .collect();
    let mut samples: Vec<(u64, Vec<i64>)> = vec![];
    let mut peak = vec![0i64; STORES as usize + 2];
    let mut events = 0u64;
    let mut round = 0u64;
    let mut restarts = 0u32;
    while events < total {
        round += 1;
        let at = now(round * ROUND_MS);
        for s in &mut t.stores {
            let cut = total / 10..total / 10 + OFFLINE.min(total / 4);
            s.online = !(s.n == STORES && cut.contains(&events));
            let _g = s.tok.enter();
            for _ in 0..PER_ROUND {
                s.k += 1;
                let b = body(s.n, s.k);
                let e = event(&mut s.m, s.n, s.k, &b, at);
                s.m.append(at, e, Some(&b)).unwrap();
            }
        }
        events += PER_ROUND * u64::from(STORES);
        // Occasional restarts from the store: one tier every 150 rounds, in turn.
        if round.is_multiple_of(150) {
            restarts += 1;
            match (round / 150) % 6 {
                i @ 0..=3 => {
                    let s = &mut t.stores[i as usize];
                    persist(at, &mut s.m, &mut s.host, &mut s.tok);
                    let restored = s.host.store.load().unwrap();
                    let _g = s.tok.enter();
                    s.m = LocalMachine::restore(local_cfg(s.n), restored, at, round).unwrap();
                }
                4 => {
                    let restored = t.region_host.store.load().unwrap();
                    let _g = t.region_tok.enter();
                    t.region = RegionalMachine::restore(
                        region_cfg(),
                        Box::new(KeyedVerifier::new(KEY)),
                        restored,
                        at,
                        round,
                    )
                    .unwrap();
                }
                _ => {
                    let restored = t.master_host.store.load().unwrap();
                    let _g = t.master_tok.enter();
                    t.master = MasterMachine::restore(master_cfg(), restored, at, round).unwrap();
                }
            }
        }
        t.timers(at);
        t.exchange(at);
        let heap = t.heap();
        for (p, h) in peak.iter_mut().zip(&heap) {
            *p = (*p).max(*h);
        }
        if milestones.iter().any(|m| events >= *m && events - PER_ROUND * 4 < *m) {
            let crdt = [
                state_bytes(&mut probe, t.stores[0].m.state()),
                state_bytes(&mut probe, t.region.state()),
                state_bytes(&mut probe, t.master.state()),
            ];
            println!("{events}: CRDT state bytes (store 1, region, master) {crdt:?}");
            samples.push((events, heap));
        }
    }
    // Quiet: every store online, a few more rounds for the last acks.
    for extra in 1..=10 {
        let at = now((round + extra) * ROUND_MS);
        t.timers(at);
        t.exchange(at);
    }
    let secs = started.elapsed().as_secs_f64();
    let names = ["store 1", "store 2", "store 3", "store 4", "region", "master"];
    println!("events    {}", names.map(|n| format!("{n:>10}")).join(""));
    for (e, h) in &samples {
        println!("{e:<9} {}", h.iter().map(|b| format!("{b:>10}")).collect::<String>());
    }
    println!("peak      {}", peak.iter().map(|b| format!("{b:>10}")).collect::<String>());
    println!(
        "host-held (not the machines'): {} B; region accepted {}, master accepted {}; {restarts} restarts; {secs:.1} s",
        slot(AllocationGroupId::ROOT).load(Ordering::Relaxed),
        t.region_host.accepted,
        t.master_host.accepted
    );
    // Everything got through.
    assert_eq!(t.region_host.accepted, events, "the region's store holds every event");
    for s in &t.stores {
        assert_eq!(s.m.lag(), 0, "store {} has nothing left to send", s.n);
    }
    for (name, p) in names.iter().zip(&peak) {
        assert!(*p <= BOUND, "{name}: peak heap {p} B over the bound {BOUND} B");
    }
    // Flat: no sample after 100 k events is over 20 % (+64 KiB) above the highest sample up
    // to 100 k (the logs are full by then; what is in flight at a sample varies).
    let (early, late): (Vec<_>, Vec<_>) = samples.iter().partition(|(e, _)| *e <= 100_352);
    for (i, name) in names.iter().enumerate() {
        let reference = early.iter().map(|(_, h)| h[i]).max().unwrap_or(0);
        for (e, h) in &late {
            assert!(
                h[i] <= reference + reference / 5 + 65_536,
                "{name}: heap grew from at most {reference} B (to 100 k events) to {} B at {e}",
                h[i]
            );
        }
    }
}
