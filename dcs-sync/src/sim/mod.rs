//! The deterministic fault simulator (feature `sim`).
//!
//! One seed fixes everything: virtual time, latencies, losses, duplicates, reorders,
//! partitions, crashes with restart from durable state, clock skew and the POS workload. The
//! machines run unchanged; the simulator only moves bytes, time and disk writes, exactly like
//! a daemon would, and checks the invariants during and after the run ([`SimReport`]).
//!
//! ```
//! use dcs_sync::sim::{SimConfig, run};
//! let report = run(&SimConfig::ci(7));
//! assert!(report.ok(), "{}", report.summary());
//! assert_eq!(report.trace_hash, run(&SimConfig::ci(7)).trace_hash); // same seed, same trace
//! ```
// The simulator is a checker: its invariant failures are reported as violations, and the
// few `expect`s below guard internal bookkeeping the simulator itself maintains.

pub mod invariants;
pub mod mac;
pub mod net;
pub mod store;
pub mod workload;

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use dcs_core::commerce::{DomainEvent, EventBody, Sale, Sku};
use dcs_core::{EventId, SovereignFinancialEvent};
use dcs_crdt::ReplicaId;

use self::invariants::{Ledger, diff, projected_stock};
use self::mac::KeyedVerifier;
use self::net::{Net, NetConfig, Partitions};
use self::store::MemStore;
use self::workload::{Catalog, Pos};
use crate::{
    Faults, Item, LivenessConfig, LocalConfig, LocalMachine, MasterConfig, MasterMachine, Message,
    NodeId, Now, RegionalConfig, RegionalMachine, ReplicatedState, Restored, SplitMix64,
    SyncConfig, SyncStore, WriteOp, encode_into,
};

/// 2026-11-25 00:00 UTC in Unix ms; simulated time 0 is 07:00 that day.
pub const DAY0_MS: u64 = 1_795_564_800_000;
const START_OFFSET_MS: u64 = 7 * HOUR;
const MINUTE: u64 = 60_000;
const HOUR: u64 = 60 * MINUTE;
/// How long a node's measured full-state size stands for it in the "full state each round"
/// comparison (measuring means encoding the whole state: once a sync round, it was most of the
/// 100-store day's run time; the total moves by under 1 % between 1 and 15 minutes, and by
/// 2.3 % between 15 minutes and an hour).
const FULL_STATE_SAMPLE_MS: u64 = HOUR;
const KEY: [u8; 32] = *b"dcs-sim shared verification key!";

/// Everything a run depends on besides the seed's draws.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// The seed: one seed, one run, one trace.
    pub seed: u64,
    /// Number of stores.
    pub stores: u32,
    /// Number of regions (stores are dealt round-robin).
    pub regions: u16,
    /// Simulated hours from 07:00 on day 0 (24 per day).
    pub hours: u64,
    /// Stores open at this hour (UTC) every day …
    pub open_hour: u64,
    /// … and close at this one.
    pub close_hour: u64,
    /// Catalog size.
    pub skus: u32,
    /// Mean sales per store per open hour.
    pub sales_per_hour: u64,
    /// Protocol timers and limits.
    pub sync: SyncConfig,
    /// Faults of the world: loss, duplication, reordering, partitions, crashes, skew.
    pub chaos: bool,
    /// Deliberate protocol bugs switched on in the regions and the master.
    pub bugs: Faults,
    /// Also measure what sending the full CRDT state each round would have cost.
    pub account_full_state: bool,
    /// Keep the whole trace text (its hash is always computed).
    pub keep_trace: bool,
    /// Sync rounds (intervals) allowed for convergence after the final heal.
    pub convergence_rounds: u64,
    /// Largest clock skew of a node, either way.
    pub max_skew_ms: u64,
    /// The targeted schedule of the HLC hold-back: crash each node once, and restart it at
    /// once, the first time it sends while one of its disk writes is still in flight.
    pub crash_mid_write: bool,
    /// The planted store bug: the nodes' stores keep every accepted item, even one they
    /// already hold by event id or idempotency key (a store without its unique indexes).
    pub store_without_dedup: bool,
}

impl SimConfig {
    /// The profile of the 1,000-seed test: 4 stores, 2 regions, a short trading day, chaos on.
    pub fn ci(seed: u64) -> Self {
        SimConfig {
            seed,
            stores: 4,
            regions: 2,
            hours: 6,
            open_hour: 8,
            close_hour: 12,
            skus: 6,
            sales_per_hour: 3,
            sync: SyncConfig {
                sync_interval_ms: 5 * MINUTE,
                batch_delay_ms: 10_000,
                retransmit_base_ms: 5_000,
                retransmit_max_ms: 5 * MINUTE,
                heartbeat_interval_ms: 15 * MINUTE,
                ..SyncConfig::default()
            },
            chaos: true,
            bugs: Faults::default(),
            account_full_state: false,
            keep_trace: false,
            convergence_rounds: 40,
            max_skew_ms: 3 * MINUTE,
            crash_mid_write: false,
            store_without_dedup: false,
        }
    }

    /// A store day at scale: `stores` stores, `regions` regions, `days` days, chaos on.
    pub fn day(seed: u64, stores: u32, regions: u16, days: u64) -> Self {
        SimConfig {
            stores,
            regions,
            hours: days * 24,
            open_hour: 8,
            close_hour: 22,
            skus: 40,
            sales_per_hour: 6,
            sync: SyncConfig {
                sync_interval_ms: MINUTE,
                batch_delay_ms: 5_000,
                retransmit_base_ms: 5_000,
                retransmit_max_ms: 5 * MINUTE,
                heartbeat_interval_ms: 5 * MINUTE,
                ..SyncConfig::default()
            },
            account_full_state: true,
            ..SimConfig::ci(seed)
        }
    }

    /// The one-line command that replays this run exactly.
    pub fn replay_command(&self) -> String {
        let mut c = format!(
            "cargo run --release -p dcs-sync --features sim --bin dcs-sim -- --seed {} --stores {} --regions {} \
             --hours {} --open {} --close {} --skus {} --sales-per-hour {} --sync-interval-ms {}",
            self.seed,
            self.stores,
            self.regions,
            self.hours,
            self.open_hour,
            self.close_hour,
            self.skus,
            self.sales_per_hour,
            self.sync.sync_interval_ms,
        );
        let s = &self.sync;
        let _ = write!(
            c,
            " --batch-delay-ms {} --retransmit-ms {} --heartbeat-ms {}",
            s.batch_delay_ms, s.retransmit_base_ms, s.heartbeat_interval_ms
        );
        if !self.chaos {
            c.push_str(" --no-chaos");
        }
        if self.bugs.ack_before_durable {
            c.push_str(" --bug ack-before-durable");
        }
        if self.bugs.skip_dedup {
            c.push_str(" --bug skip-dedup");
        }
        if self.bugs.skip_hlc_hold_back {
            c.push_str(" --bug skip-hlc-hold-back");
        }
        if !self.account_full_state {
            c.push_str(" --no-full-state");
        }
        c
    }
}

/// What a run did and whether the invariants held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimReport {
    /// The seed.
    pub seed: u64,
    /// The replay command.
    pub replay: String,
    /// Events durably appended at the stores.
    pub events: u64,
    /// Events appended but lost in a crash before they were durable (never acknowledged).
    pub lost_before_durable: u64,
    /// Sales made.
    pub sales: u64,
    /// Partial refunds made.
    pub refunds: u64,
    /// Transfers sent between stores.
    pub transfers: u64,
    /// Central price changes.
    pub price_changes: u64,
    /// Sessions opened.
    pub sessions_opened: u64,
    /// Sessions closed.
    pub sessions_closed: u64,
    /// Messages sent.
    pub messages: u64,
    /// Pushes sent (sync rounds, first tries and retransmissions).
    pub sync_rounds: u64,
    /// Retransmissions.
    pub retransmits: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Bytes of CRDT payloads sent (delta sync).
    pub crdt_bytes: u64,
    /// Bytes the same rounds would have cost sending the full CRDT state each time.
    pub full_state_bytes: u64,
    /// CRDT payloads that had to be full states (after restarts or log overflow).
    pub full_states_sent: u64,
    /// Crashes injected.
    pub crashes: u64,
    /// Partition windows injected.
    pub partitions: u64,
    /// Largest time from a store's reconnection to its outbox being fully acknowledged.
    pub max_catchup_ms: u64,
    /// Time from the final heal (traffic stopped) to identical CRDT state everywhere.
    pub convergence_ms: Option<u64>,
    /// The same in sync rounds (sync intervals, rounded up).
    pub convergence_rounds: Option<u64>,
    /// The bound checked: sync rounds allowed after the final heal.
    pub convergence_bound: u64,
    /// Simulated time at the end.
    pub end_ms: u64,
    /// FNV-1a hash of the trace.
    pub trace_hash: u64,
    /// The trace text (when kept).
    pub trace: Vec<u8>,
    /// Invariant violations (empty when the run is correct).
    pub violations: Vec<String>,
}

impl SimReport {
    /// True when no invariant was violated.
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }

    /// Bytes on the wire per durable event.
    pub fn bytes_per_event(&self) -> f64 {
        self.bytes as f64 / self.events.max(1) as f64
    }

    /// A multi-line human summary; failing runs name the seed and the replay command.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "seed {}: {} events durable ({} lost before durable), {} sales, {} refunds, {} transfers, \
             {} price changes, {}/{} sessions opened/closed",
            self.seed,
            self.events,
            self.lost_before_durable,
            self.sales,
            self.refunds,
            self.transfers,
            self.price_changes,
            self.sessions_opened,
            self.sessions_closed
        );
        let _ = writeln!(
            s,
            "faults: {} crashes, {} partition windows; {} messages, {} sync rounds ({} retransmits)",
            self.crashes, self.partitions, self.messages, self.sync_rounds, self.retransmits
        );
        let _ = writeln!(
            s,
            "bytes: {} total, {:.0} per event; CRDT delta bytes {} vs full state each round {}{}; \
             {} full-state payloads",
            self.bytes,
            self.bytes_per_event(),
            self.crdt_bytes,
            self.full_state_bytes,
            if self.crdt_bytes > 0 && self.full_state_bytes > 0 {
                format!(" ({:.1}x fewer)", self.full_state_bytes as f64 / self.crdt_bytes as f64)
            } else {
                String::new()
            },
            self.full_states_sent
        );
        let _ = writeln!(
            s,
            "largest catch-up after a store heal: {} ms; convergence after the final heal: {} \
             (bound {} rounds)",
            self.max_catchup_ms,
            match (self.convergence_ms, self.convergence_rounds) {
                (Some(c), Some(r)) => format!("{c} ms = {r} sync rounds"),
                _ => "NOT REACHED".into(),
            },
            self.convergence_bound
        );
        let _ = writeln!(s, "trace hash {:016x}", self.trace_hash);
        if self.ok() {
            let _ = writeln!(s, "invariants: all hold");
        } else {
            let _ = writeln!(s, "INVARIANT VIOLATIONS ({}):", self.violations.len());
            for v in self.violations.iter().take(20) {
                let _ = writeln!(s, "  - {v}");
            }
            let _ = writeln!(s, "replay seed {} with: {}", self.seed, self.replay);
        }
        s
    }
}

enum AnyMachine {
    Local(Box<LocalMachine>),
    Region(Box<RegionalMachine>),
    Master(Box<MasterMachine>),
}

macro_rules! each {
    ($m:expr, $x:ident => $e:expr) => {
        match $m {
            AnyMachine::Local($x) => $e,
            AnyMachine::Region($x) => $e,
            AnyMachine::Master($x) => $e,
        }
    };
}

#[derive(Default)]
struct Slot {
    machine: Option<AnyMachine>,
    store: MemStore,
    incarnation: u64,
    timer_gen: u64,
    timer: Option<u64>,
    skew_ms: i64,
    disk_free_at: u64,
    heal_at: Option<u64>,
}

/// What a durable append unlocks in the POS.
#[derive(Debug, Clone)]
enum Effect {
    Opened(Box<dcs_core::commerce::PosSession>),
    Closed,
    Sale(Box<(Sale, dcs_core::commerce::Tender)>),
    TransferOut { to: u32, sku: Sku, qty: u32 },
}

#[derive(Debug, Clone)]
struct Appended {
    id: EventId,
    event: Box<SovereignFinancialEvent>,
    body: EventBody,
    effect: Option<Effect>,
}

#[derive(Debug, Clone)]
enum Ev {
    Deliver { from: NodeId, to: NodeId, bytes: Rc<[u8]> },
    Timer { node: NodeId, generation: u64 },
    Disk { node: NodeId, token: u64, incarnation: u64 },
    Open { store: u32 },
    Sale { store: u32 },
    Transfer { store: u32 },
    Arrive { store: u32, from: u32, sku: Sku, qty: u32 },
    Close { store: u32 },
    Price,
    Crash { node: NodeId },
    Restart { node: NodeId },
    Heal { node: NodeId },
    Check,
    Converge,
}

struct Sim<'a> {
    cfg: &'a SimConfig,
    rng: SplitMix64,
    now: u64,
    end: u64,
    queue: BTreeMap<(u64, u64), Ev>,
    seq: u64,
    slots: BTreeMap<NodeId, Slot>,
    net: Net,
    catalog: Catalog,
    mac: KeyedVerifier,
    pos: BTreeMap<u32, Pos>,
    open: BTreeSet<u32>,
    unbatched: BTreeMap<NodeId, Vec<Appended>>,
    in_disk: BTreeMap<(NodeId, u64), Vec<Appended>>,
    /// Writes handed to a node's disk and not yet durable, by (node, token).
    writing: BTreeMap<(NodeId, u64), Vec<WriteOp>>,
    durable_events: BTreeMap<u32, Vec<Appended>>,
    live_stock: BTreeMap<u32, BTreeMap<String, i64>>,
    last_hlc: BTreeMap<NodeId, u64>,
    sent_hlc: BTreeMap<NodeId, u64>,
    /// Nodes the `crash_mid_write` schedule has crashed already.
    crashed_mid_write: BTreeSet<NodeId>,
    durable_ids: BTreeSet<EventId>,
    down: BTreeMap<NodeId, Vec<(u64, u64)>>,
    failed: Vec<(u64, NodeId, NodeId)>,
    /// (time, observer, agent) of every "recovered" verdict.
    recovered: Vec<(u64, NodeId, NodeId)>,
    scanned: BTreeMap<NodeId, (usize, BTreeSet<EventId>)>,
    acked_max: BTreeMap<NodeId, u64>,
    full_cache: BTreeMap<NodeId, (u64, u64, u64)>,
    /// The buffer every message is encoded into (then copied out at its exact length).
    scratch: Vec<u8>,
    report: SimReport,
    hash: u64,
    done: bool,
}

/// Runs one simulation.
pub fn run(cfg: &SimConfig) -> SimReport {
    let mut sim = Sim::new(cfg);
    sim.setup();
    sim.run_loop();
    sim.finish()
}

/// Bytes of the postcard encoding of `value`, counted without building it.
fn wire_size<T: serde::Serialize>(value: &T) -> u64 {
    postcard::serialize_with_flavor(value, postcard::ser_flavors::Size::default())
        .map_or(0, |n: usize| n as u64)
}

/// Bytes the CRDT payload takes in `msg`, whose encoding is `encoded` bytes long: for an
/// ack, its encoding less the ack's without the payload (the rest of an ack is small, so this
/// costs far less than sizing the payload itself); for a push, the payload sized directly
/// (a push's items are large).
fn crdt_wire_size(msg: &mut Message, encoded: usize) -> u64 {
    let payload = match msg {
        Message::Ack(a) => a.crdt.take(),
        other => return other.crdt().map_or(0, wire_size),
    };
    let Some(payload) = payload else { return 0 };
    // `Some(p)` encodes as a tag byte and p, `None` as the tag byte alone, and the encoding
    // starts with one protocol-version byte.
    let without = wire_size(&*msg);
    if let Message::Ack(a) = msg {
        a.crdt = Some(payload);
    }
    (encoded as u64).saturating_sub(1 + without)
}

fn fnv(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// A message's line in the trace (formatted only when traced).
struct Kind<'m>(&'m Message);

impl core::fmt::Display for Kind<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Message::Push(p) => {
                write!(f, "push b{} items={} have={}", p.batch, p.items.len(), p.have)
            }
            Message::Ack(a) => write!(f, "ack b{} pos={} have={}", a.batch, a.durable_pos, a.have),
            Message::Heartbeat(h) => write!(f, "heartbeat lag={}", h.lag),
            Message::Refuse(r) => write!(f, "refuse {}", r.reason),
        }
    }
}

/// Hashes whatever is written to it with [`fnv`] (the trace hash of a run whose trace is
/// not kept).
struct FnvWriter(u64);

impl core::fmt::Write for FnvWriter {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0 = fnv(self.0, s.as_bytes());
        Ok(())
    }
}

impl<'a> Sim<'a> {
    fn new(cfg: &'a SimConfig) -> Self {
        let mut rng = SplitMix64::new(cfg.seed);
        let chaos = cfg.chaos;
        let config = NetConfig {
            latency_min_ms: 5,
            latency_max_ms: if chaos { rng.range(50, 800) } else { 50 },
            loss: if chaos { rng.range(0, 10) as f64 / 100.0 } else { 0.0 },
            duplicate: if chaos { rng.range(0, 5) as f64 / 100.0 } else { 0.0 },
        };
        let catalog = match Catalog::new(cfg.skus.max(1)) {
            Ok(c) => c,
            Err(e) => unreachable!("the simulated catalog is valid: {e}"),
        };
        Sim {
            cfg,
            rng,
            now: 0,
            end: cfg.hours * HOUR,
            queue: BTreeMap::new(),
            seq: 0,
            slots: BTreeMap::new(),
            net: Net { config, partitions: Partitions::default() },
            catalog,
            mac: KeyedVerifier::new(KEY),
            pos: BTreeMap::new(),
            open: BTreeSet::new(),
            unbatched: BTreeMap::new(),
            in_disk: BTreeMap::new(),
            writing: BTreeMap::new(),
            durable_events: BTreeMap::new(),
            live_stock: BTreeMap::new(),
            last_hlc: BTreeMap::new(),
            sent_hlc: BTreeMap::new(),
            crashed_mid_write: BTreeSet::new(),
            durable_ids: BTreeSet::new(),
            down: BTreeMap::new(),
            failed: Vec::new(),
            recovered: Vec::new(),
            scanned: BTreeMap::new(),
            acked_max: BTreeMap::new(),
            full_cache: BTreeMap::new(),
            scratch: Vec::new(),
            report: SimReport {
                seed: cfg.seed,
                replay: cfg.replay_command(),
                convergence_bound: cfg.convergence_rounds,
                ..SimReport::default()
            },
            hash: 0xcbf2_9ce4_8422_2325,
            done: false,
        }
    }

    fn trace(&mut self, line: core::fmt::Arguments<'_>) {
        if self.cfg.keep_trace {
            let text = format!("{:>10} {line}\n", self.now);
            self.hash = fnv(self.hash, text.as_bytes());
            self.report.trace.extend_from_slice(text.as_bytes());
        } else {
            // Only the hash is kept: feed the formatted bytes straight into it (the same
            // bytes, so the same hash), without building the line.
            let mut h = FnvWriter(self.hash);
            let _ = writeln!(h, "{:>10} {line}", self.now);
            self.hash = h.0;
        }
    }

    fn violation(&mut self, v: String) {
        self.trace(format_args!("VIOLATION {v}"));
        if self.report.violations.len() < 200 {
            self.report.violations.push(format!("t={} {v}", self.now));
        }
    }

    fn at(&mut self, t: u64, ev: Ev) {
        self.seq += 1;
        self.queue.insert((t.max(self.now), self.seq), ev);
    }

    fn region_of(&self, store: u32) -> NodeId {
        NodeId::Region((store % u32::from(self.cfg.regions.max(1))) as u16)
    }

    fn stores_of(&self, region: u16) -> Vec<NodeId> {
        (0..self.cfg.stores)
            .filter(|s| self.region_of(*s) == NodeId::Region(region))
            .map(NodeId::Store)
            .collect()
    }

    fn now_of(&self, node: NodeId) -> Now {
        let skew = self.slots.get(&node).map_or(0, |s| s.skew_ms);
        let wall = (DAY0_MS + START_OFFSET_MS + self.now) as i64 + skew;
        Now { mono_ms: self.now, wall_ms: wall.max(0) as u64 }
    }

    fn skew(&mut self) -> i64 {
        if !self.cfg.chaos {
            return 0;
        }
        let m = self.cfg.max_skew_ms;
        self.rng.range(0, 2 * m) as i64 - m as i64
    }

    fn liveness(&self) -> LivenessConfig {
        let i = self.cfg.sync.heartbeat_interval_ms;
        LivenessConfig { suspect_after_ms: 3 * i, fail_after_ms: 10 * i }
    }

    fn build(&mut self, node: NodeId, durable: Restored) -> AnyMachine {
        let now = self.now_of(node);
        let seed = self.rng.next_u64();
        let sync = self.cfg.sync;
        let built = match node {
            NodeId::Store(s) => {
                let branch = match self.pos.get(&s) {
                    Some(p) => p.branch.clone(),
                    None => unreachable!("every store has a POS"),
                };
                let cfg = LocalConfig {
                    node,
                    region: self.region_of(s),
                    branch,
                    replica: ReplicaId(10_000 + u64::from(s)),
                    sync,
                };
                LocalMachine::restore(cfg, durable, now, seed)
                    .map(|m| AnyMachine::Local(Box::new(m)))
            }
            NodeId::Region(r) => {
                let cfg = RegionalConfig {
                    node,
                    master: NodeId::Master,
                    stores: self.stores_of(r),
                    replica: ReplicaId(100 + u64::from(r)),
                    sync,
                    liveness: self.liveness(),
                };
                RegionalMachine::restore(cfg, Box::new(self.mac.clone()), durable, now, seed).map(
                    |mut m| {
                        m.set_faults(self.cfg.bugs);
                        AnyMachine::Region(Box::new(m))
                    },
                )
            }
            NodeId::Master => {
                let cfg = MasterConfig {
                    regions: (0..self.cfg.regions).map(NodeId::Region).collect(),
                    replica: ReplicaId(1),
                    sync,
                    liveness: self.liveness(),
                };
                MasterMachine::restore(cfg, durable, now, seed).map(|mut m| {
                    m.set_faults(self.cfg.bugs);
                    AnyMachine::Master(Box::new(m))
                })
            }
        };
        match built {
            Ok(m) => m,
            Err(e) => unreachable!("simulated node ids always make an HLC: {e}"),
        }
    }

    fn windows(
        &mut self,
        node: NodeId,
        p: f64,
        max: u64,
        min_len: u64,
        max_len: u64,
    ) -> Vec<(u64, u64)> {
        let mut w = Vec::new();
        if !self.cfg.chaos || !self.rng.chance(p) {
            return w;
        }
        for _ in 0..self.rng.range(1, max) {
            let start = self.rng.range(0, self.end.saturating_sub(min_len));
            let len = self.rng.range(min_len, max_len);
            w.push((start, (start + len).min(self.end)));
        }
        let _ = node;
        w
    }

    fn setup(&mut self) {
        let mut nodes = alloc::vec![NodeId::Master];
        nodes.extend((0..self.cfg.regions).map(NodeId::Region));
        nodes.extend((0..self.cfg.stores).map(NodeId::Store));
        for s in 0..self.cfg.stores {
            match Pos::new(s) {
                Ok(p) => self.pos.insert(s, p),
                Err(e) => unreachable!("simulated store ids are valid: {e}"),
            };
        }
        for &n in &nodes {
            let skew = self.skew();
            let store = MemStore::new(self.cfg.bugs.skip_dedup || self.cfg.store_without_dedup);
            self.slots.insert(n, Slot { skew_ms: skew, store, ..Slot::default() });
            let m = self.build(n, Restored::default());
            if let Some(slot) = self.slots.get_mut(&n) {
                slot.machine = Some(m);
            }
        }
        // Global catalog and initial central prices.
        let skus: Vec<(Sku, i64)> =
            self.catalog.items.iter().map(|(s, p, _)| (s.clone(), *p)).collect();
        let now = self.now_of(NodeId::Master);
        if let Some(AnyMachine::Master(m)) = self.machine(NodeId::Master) {
            for (sku, price) in &skus {
                m.list_in_catalog(now, sku.as_str());
                let _ = m.set_price(now, sku.as_str(), *price);
            }
        }
        for st in 0..self.cfg.stores {
            self.enroll_till(st);
        }
        // Faults of the world.
        for &n in &nodes {
            let (p, max, lo, hi) = match n {
                NodeId::Store(_) => (0.4, 2, 10 * MINUTE, 4 * HOUR),
                NodeId::Region(_) => (0.5, 1, 10 * MINUTE, 90 * MINUTE),
                NodeId::Master => (0.0, 0, 0, 0),
            };
            let w = self.windows(n, p, max, lo, hi);
            for &(_, e) in &w {
                self.at(e, Ev::Heal { node: n });
            }
            if !w.is_empty() {
                self.net.partitions.windows.insert(n, w);
            }
            let crash_p = match n {
                NodeId::Store(_) => 0.3,
                NodeId::Region(_) => 0.5,
                NodeId::Master => 0.3,
            };
            for (start, end) in self.windows(n, crash_p, 2, MINUTE, 30 * MINUTE) {
                self.at(start, Ev::Crash { node: n });
                self.at(end, Ev::Restart { node: n });
            }
        }
        self.report.partitions = self.net.partitions.count() as u64;
        // The trading days.
        let days = self.cfg.hours.div_ceil(24);
        for d in 0..days {
            for s in 0..self.cfg.stores {
                let jitter = self.rng.below(10 * MINUTE);
                let open = (d * 24 + self.cfg.open_hour) * HOUR - START_OFFSET_MS + jitter;
                let close = (d * 24 + self.cfg.close_hour) * HOUR - START_OFFSET_MS + jitter;
                if open < self.end {
                    self.at(open, Ev::Open { store: s });
                }
                if close < self.end {
                    self.at(close, Ev::Close { store: s });
                }
            }
        }
        let first_price = self.rng.range(30 * MINUTE, 2 * HOUR);
        self.at(first_price, Ev::Price);
        self.at(10 * MINUTE, Ev::Check);
        self.at(self.end, Ev::Converge);
        for &n in &nodes {
            self.drain(n);
        }
    }

    /// Store `st` reports its till to the master's key registry, as dcs-local does each time
    /// it starts (see `crate::enrolled`): nothing new once its state holds the report.
    fn enroll_till(&mut self, st: u32) {
        let node = NodeId::Store(st);
        let now = self.now_of(node);
        if let Some(AnyMachine::Local(m)) = self.machine(node) {
            let (agent, key) = (format!("pos-{st}"), till_key(st));
            if let Err(e) = m.enroll_terminal(now, workload::TENANT, &agent, "ed25519", &key) {
                unreachable!("a simulated till's enrollment is valid: {e}");
            }
        }
    }

    fn machine(&mut self, node: NodeId) -> Option<&mut AnyMachine> {
        self.slots.get_mut(&node).and_then(|s| s.machine.as_mut())
    }

    fn full_state_size(&mut self, node: NodeId) -> u64 {
        let now = self.now;
        let Some(slot) = self.slots.get(&node) else { return 0 };
        if slot.machine.is_none() {
            return 0;
        }
        // Within the sampling window the store is not even looked at (a read waits for the
        // store's writes to be folded).
        if let Some(&(_, at, size)) = self.full_cache.get(&node)
            && now < at + FULL_STATE_SAMPLE_MS
        {
            return size;
        }
        let durable = slot.store.checkpoint();
        let seq = durable.log_seq;
        match self.full_cache.get(&node) {
            Some(&(s, _, size)) if s == seq => size,
            _ => {
                let size = wire_size(&durable.state) + 4;
                self.full_cache.insert(node, (seq, now, size));
                size
            }
        }
    }

    /// Moves a node's outputs into the world: writes to its disk, messages to the network,
    /// its next timer into the queue.
    fn drain(&mut self, node: NodeId) {
        loop {
            let Some(m) = self.machine(node) else { return };
            let Some(batch) = each!(m, x => x.poll_persist()) else { break };
            let appends: Vec<EventId> = batch
                .ops
                .iter()
                .filter_map(|o| match o {
                    WriteOp::Append { item: Item::Event(e), .. } => Some(e.event_id()),
                    _ => None,
                })
                .collect();
            if !appends.is_empty() {
                let pending = self.unbatched.entry(node).or_default();
                let (moved, kept): (Vec<Appended>, Vec<Appended>) =
                    pending.drain(..).partition(|a| appends.contains(&a.id));
                *pending = kept;
                self.in_disk.insert((node, batch.token), moved);
            }
            self.writing.insert((node, batch.token), batch.ops);
            let latency = if self.cfg.chaos { self.rng.range(1, 30) } else { 1 };
            let Some(slot) = self.slots.get_mut(&node) else { return };
            let t = slot.disk_free_at.max(self.now) + latency;
            slot.disk_free_at = t;
            let incarnation = slot.incarnation;
            self.at(t, Ev::Disk { node, token: batch.token, incarnation });
        }
        self.serve_reads(node);
        loop {
            let Some(m) = self.machine(node) else { return };
            let Some((to, msg)) = each!(m, x => x.poll_transmit()) else { break };
            self.transmit(node, to, msg);
            self.crash_if_mid_write(node);
        }
        let Some(m) = self.machine(node) else { return };
        let next = each!(m, x => x.poll_timeout());
        let now = self.now;
        let Some(slot) = self.slots.get_mut(&node) else { return };
        if let Some(t) = next {
            let t = t.max(now);
            if slot.timer != Some(t) {
                slot.timer = Some(t);
                slot.timer_gen += 1;
                let generation = slot.timer_gen;
                self.at(t, Ev::Timer { node, generation });
            }
        }
    }

    /// Serves the node's outbox reads from its store (reads are not writes: no disk delay).
    fn serve_reads(&mut self, node: NodeId) {
        loop {
            let Some(slot) = self.slots.get_mut(&node) else { return };
            let Some(m) = slot.machine.as_mut() else { return };
            let Some(r) = each!(m, x => x.poll_read()) else { return };
            let items = match slot.store.read_outbox(r.after, r.max_items) {
                Ok(items) => items,
                Err(e) => unreachable!("the in-memory store reads without error: {e}"),
            };
            if let Some(m) = slot.machine.as_mut() {
                each!(m, x => x.handle_read(items));
            }
        }
    }

    fn transmit(&mut self, from: NodeId, to: NodeId, msg: Message) {
        self.check_sent_hlc(from, &msg);
        match &msg {
            Message::Push(_) => self.report.sync_rounds += 1,
            Message::Ack(a) => {
                let e = self.acked_max.entry(to).or_insert(0);
                *e = (*e).max(a.durable_pos);
            }
            Message::Heartbeat(_) | Message::Refuse(_) => {}
        }
        let mut scratch = core::mem::take(&mut self.scratch);
        if let Err(e) = encode_into(&msg, &mut scratch) {
            self.violation(format!("{from} cannot encode a message: {e}"));
            return;
        }
        let bytes: Rc<[u8]> = Rc::from(scratch.as_slice());
        self.scratch = scratch;
        if msg.crdt().is_some_and(|p| matches!(p, crate::CrdtPayload::Full { .. })) {
            self.report.full_states_sent += 1;
        }
        let mut msg = msg;
        self.report.crdt_bytes += crdt_wire_size(&mut msg, bytes.len());
        if self.cfg.account_full_state && matches!(msg, Message::Push(_) | Message::Ack(_)) {
            self.report.full_state_bytes += self.full_state_size(from);
        }
        self.report.messages += 1;
        self.report.bytes += bytes.len() as u64;
        self.trace(format_args!("{from}->{to} {} {}B", Kind(&msg), bytes.len()));
        let times = self.net.send(&mut self.rng, self.now, from, to);
        for t in times {
            self.at(t, Ev::Deliver { from, to, bytes: Rc::clone(&bytes) });
        }
    }

    /// Invariant: a node's HLC never goes backwards, across crashes and restarts too: every
    /// message carries the sender's clock, which must never be below one it sent before.
    fn check_sent_hlc(&mut self, from: NodeId, msg: &Message) {
        let Some(hlc) = msg.hlc() else { return };
        let last = self.sent_hlc.get(&from).copied().unwrap_or(0);
        if hlc < last {
            self.violation(format!("{from}: HLC went backwards: sent {hlc} after {last}"));
        }
        self.sent_hlc.insert(from, hlc.max(last));
    }

    fn run_loop(&mut self) {
        let limit = self.end + (self.cfg.convergence_rounds + 2) * self.cfg.sync.sync_interval_ms;
        while let Some(((t, _), ev)) = self.queue.pop_first() {
            if self.done || t > limit {
                break;
            }
            self.now = t;
            self.step(ev);
        }
        if self.report.convergence_ms.is_none() {
            self.violation(format!(
                "replicas did not converge within {} sync rounds after the final heal",
                self.cfg.convergence_rounds
            ));
        }
        self.report.end_ms = self.now;
    }

    fn step(&mut self, ev: Ev) {
        match ev {
            Ev::Deliver { from, to, bytes } => {
                if !self.net.partitions.link_up(from, to, self.now) {
                    self.trace(format_args!("{from}->{to} dropped by partition"));
                    return;
                }
                let now = self.now_of(to);
                let Some(m) = self.machine(to) else {
                    return;
                };
                let r = each!(m, x => x.handle_bytes(now, from, &bytes));
                if let Err(e) = r {
                    self.violation(format!("{to} refused a message from {from}: {e}"));
                }
                self.drain(to);
                if let NodeId::Store(_) = to {
                    self.check_catchup(to);
                }
                self.maybe_crash(to);
            }
            Ev::Timer { node, generation } => {
                let now = self.now_of(node);
                let Some(slot) = self.slots.get_mut(&node) else { return };
                if slot.timer_gen != generation {
                    return;
                }
                slot.timer = None;
                let Some(m) = slot.machine.as_mut() else { return };
                each!(m, x => x.handle_timeout(now));
                let mut events = Vec::new();
                match m {
                    AnyMachine::Region(r) => {
                        events.extend(core::iter::from_fn(|| r.liveness_mut().poll_event()))
                    }
                    AnyMachine::Master(x) => {
                        events.extend(core::iter::from_fn(|| x.liveness_mut().poll_event()))
                    }
                    AnyMachine::Local(_) => {}
                }
                for e in events {
                    match e {
                        crate::LivenessEvent::Failed(agent) => {
                            self.trace(format_args!("{node} detects {agent} failed"));
                            self.check_failure_is_real(node, agent);
                            self.failed.push((self.now, node, agent));
                        }
                        crate::LivenessEvent::Recovered(agent) => {
                            self.recovered.push((self.now, node, agent));
                        }
                        crate::LivenessEvent::Suspected(_) => {}
                    }
                }
                self.drain(node);
            }
            Ev::Disk { node, token, incarnation } => {
                let now = self.now_of(node);
                let Some(slot) = self.slots.get_mut(&node) else { return };
                if slot.incarnation != incarnation {
                    return; // the write died with the crash
                }
                // The host's disk: the batches become durable in the store, in order, and
                // it reports what it did with each accepted item.
                let written: Vec<(NodeId, u64)> =
                    self.writing.range((node, 0)..=(node, token)).map(|(k, _)| *k).collect();
                let mut outcomes = Vec::new();
                let mut refused = None;
                for (n, t) in written {
                    let ops = self.writing.remove(&(n, t)).unwrap_or_default();
                    match slot.store.persist(&crate::PersistBatch { token: t, ops }) {
                        Ok(o) => outcomes.extend(o),
                        Err(e) => refused = Some(format!("{node}: its store refused a write: {e}")),
                    }
                }
                let Some(m) = slot.machine.as_mut() else { return };
                let confirmed = each!(m, x => x.handle_persisted(now, token, &outcomes));
                if let Some(v) = refused {
                    self.violation(v);
                }
                if let Err(e) = confirmed {
                    self.violation(format!("{node} refused its store's outcomes: {e}"));
                }
                let done: Vec<(NodeId, u64)> =
                    self.in_disk.range((node, 0)..=(node, token)).map(|(k, _)| *k).collect();
                for k in done {
                    if let Some(list) = self.in_disk.remove(&k) {
                        for a in list {
                            self.durable(node, a);
                        }
                    }
                }
                self.drain(node);
            }
            Ev::Open { store } => self.open_store(store),
            Ev::Sale { store } => self.sale(store),
            Ev::Transfer { store } => self.transfer(store),
            Ev::Arrive { store, from, sku, qty } => {
                if !self.is_up(NodeId::Store(store)) {
                    self.at(self.now + 10 * MINUTE, Ev::Arrive { store, from, sku, qty });
                    return;
                }
                let (e, from_branch) = match (self.pos.get(&store), self.pos.get(&from)) {
                    (Some(p), Some(f)) => (p.transfer_in(&f.branch, &sku, qty), f.branch.clone()),
                    _ => return,
                };
                let _ = from_branch;
                self.emit(store, alloc::vec![e], None);
            }
            Ev::Close { store } => {
                self.open.remove(&store);
                if !self.is_up(NodeId::Store(store)) {
                    return;
                }
                let closed = self.pos.get_mut(&store).map(Pos::close_session);
                if let Some(Ok(Some(e))) = closed {
                    self.report.sessions_closed += 1;
                    self.emit(store, alloc::vec![e], Some(Effect::Closed));
                }
            }
            Ev::Price => {
                if self.now < self.end {
                    let i = self.rng.below(self.catalog.items.len() as u64) as usize;
                    let (sku, base, _) = self.catalog.items[i].clone();
                    let price = base + self.rng.range(0, base as u64 / 2) as i64;
                    let now = self.now_of(NodeId::Master);
                    if let Some(AnyMachine::Master(m)) = self.machine(NodeId::Master) {
                        if m.set_price(now, sku.as_str(), price).is_ok() {
                            self.report.price_changes += 1;
                        }
                        self.trace(format_args!("master price {sku} = {price}"));
                        self.drain(NodeId::Master);
                    }
                    let next = self.now + self.rng.range(20 * MINUTE, 2 * HOUR);
                    self.at(next, Ev::Price);
                }
            }
            Ev::Crash { node } => self.crash(node),
            Ev::Restart { node } => self.restart(node),
            Ev::Heal { node } => {
                self.trace(format_args!("{node} heals"));
                if let Some(s) = self.slots.get_mut(&node) {
                    s.heal_at = Some(self.now);
                }
            }
            Ev::Check => {
                self.check_during();
                if self.now < self.end {
                    self.at(self.now + 10 * MINUTE, Ev::Check);
                }
            }
            Ev::Converge => self.converge(),
        }
    }

    fn is_up(&self, node: NodeId) -> bool {
        self.slots.get(&node).is_some_and(|s| s.machine.is_some())
    }

    fn open_store(&mut self, store: u32) {
        self.open.insert(store);
        if !self.is_up(NodeId::Store(store)) {
            return;
        }
        let first_day = self.now < 24 * HOUR;
        let mut events = Vec::new();
        let items: Vec<Sku> = self.catalog.items.iter().map(|(s, _, _)| s.clone()).collect();
        for sku in items {
            if first_day || self.rng.chance(0.2) {
                let qty = self.rng.range(20, 60) as u32;
                if let Some(p) = self.pos.get(&store) {
                    events.push(p.receive(&sku, qty));
                }
            }
        }
        if !events.is_empty() {
            self.emit(store, events, None);
        }
        self.ensure_session(store);
        let gap = self.sale_gap();
        self.at(self.now + gap, Ev::Sale { store });
        let t = self.now + self.rng.range(HOUR, 4 * HOUR);
        self.at(t, Ev::Transfer { store });
    }

    fn ensure_session(&mut self, store: u32) {
        let Some(p) = self.pos.get_mut(&store) else { return };
        if p.session.is_some() || p.opening.is_some() {
            return;
        }
        if let Ok((session, e)) = p.open_session() {
            self.report.sessions_opened += 1;
            self.emit(store, alloc::vec![e], Some(Effect::Opened(Box::new(session))));
        }
    }

    fn sale_gap(&mut self) -> u64 {
        let mean = HOUR / self.cfg.sales_per_hour.max(1);
        self.rng.range(mean / 4, mean * 7 / 4)
    }

    fn sale(&mut self, store: u32) {
        if !self.open.contains(&store) || self.now >= self.end {
            return;
        }
        let gap = self.sale_gap();
        self.at(self.now + gap, Ev::Sale { store });
        if !self.is_up(NodeId::Store(store)) {
            return;
        }
        let prices: BTreeMap<String, i64> = match self.machine(NodeId::Store(store)) {
            Some(AnyMachine::Local(m)) => m
                .state()
                .prices
                .iter()
                .filter_map(|(k, v)| v.get().map(|p| (k.to_string(), *p)))
                .collect(),
            _ => BTreeMap::new(),
        };
        let Some(p) = self.pos.get_mut(&store) else { return };
        match p.sale(&mut self.rng, &self.catalog, |sku, base| {
            prices.get(sku.as_str()).copied().unwrap_or(base)
        }) {
            Ok(s) => {
                self.report.sales += 1;
                let effect = s.sale.map(|x| Effect::Sale(Box::new(x)));
                self.emit(store, s.events, effect);
            }
            Err(e) => self.violation(format!("store-{store}: the POS could not ring a sale: {e}")),
        }
        if self.rng.chance(0.15) {
            let Some(p) = self.pos.get_mut(&store) else { return };
            match p.refund(&mut self.rng) {
                Ok(Some(r)) => {
                    self.report.refunds += 1;
                    self.emit(store, r.events, None);
                }
                Ok(None) => {}
                Err(e) => self.violation(format!("store-{store}: refund failed: {e}")),
            }
        }
    }

    fn transfer(&mut self, store: u32) {
        if !self.open.contains(&store) || self.now >= self.end || self.cfg.stores < 2 {
            return;
        }
        let t = self.now + self.rng.range(HOUR, 4 * HOUR);
        self.at(t, Ev::Transfer { store });
        if !self.is_up(NodeId::Store(store)) {
            return;
        }
        let mut to = self.rng.below(u64::from(self.cfg.stores)) as u32;
        if to == store {
            to = (to + 1) % self.cfg.stores;
        }
        let i = self.rng.below(self.catalog.items.len() as u64) as usize;
        let sku = self.catalog.items[i].0.clone();
        let qty = self.rng.range(1, 5) as u32;
        let e = match (self.pos.get(&store), self.pos.get(&to)) {
            (Some(p), Some(q)) => p.transfer_out(&q.branch, &sku, qty),
            _ => return,
        };
        self.report.transfers += 1;
        self.emit(store, alloc::vec![e], Some(Effect::TransferOut { to, sku, qty }));
    }

    /// Seals and appends domain events at a store; the effect applies once the last is durable.
    fn emit(&mut self, store: u32, events: Vec<DomainEvent>, effect: Option<Effect>) {
        let node = NodeId::Store(store);
        let now = self.now_of(node);
        let n = events.len();
        let mut effect = effect;
        for (i, de) in events.into_iter().enumerate() {
            let mut random = [0u8; 10];
            random[..8].copy_from_slice(&self.rng.next_u64().to_le_bytes());
            random[8..].copy_from_slice(&(self.rng.next_u64() as u16).to_le_bytes());
            let hlc = match self.machine(node) {
                Some(AnyMachine::Local(m)) => m.next_hlc(now),
                _ => return,
            };
            let Some(p) = self.pos.get_mut(&store) else { return };
            let sealed = match p.seal(&de, hlc, random, &self.mac) {
                Ok(s) => s,
                Err(e) => {
                    self.violation(format!("{node}: cannot seal an event: {e}"));
                    return;
                }
            };
            let last = self.last_hlc.get(&node).copied().unwrap_or(0);
            if hlc.time <= last {
                self.violation(format!("{node}: HLC went backwards: {} after {last}", hlc.time));
            }
            self.last_hlc.insert(node, hlc.time);
            let id = sealed.event_id();
            let appended = match self.machine(node) {
                Some(AnyMachine::Local(m)) => m.append(now, sealed.clone(), Some(&de.body)),
                _ => return,
            };
            if let Err(e) = appended {
                self.violation(format!("{node}: append refused: {e}"));
                continue;
            }
            if let Some(eff) = dcs_core_stock(&de.body) {
                *self.live_stock.entry(store).or_default().entry(eff.0).or_insert(0) += eff.1;
            }
            let eff = if i + 1 == n { effect.take() } else { None };
            if let Some(Effect::Opened(s)) = &eff
                && let Some(p) = self.pos.get_mut(&store)
            {
                p.opening = Some((s.as_ref().clone(), id));
            }
            self.trace(format_args!("{node} append {} {}", workload::kind(&de.body), id));
            self.unbatched.entry(node).or_default().push(Appended {
                id,
                event: Box::new(sealed),
                body: de.body,
                effect: eff,
            });
        }
        self.drain(node);
        self.maybe_crash(node);
    }

    /// A crash point: right after handling an input, before its writes are durable (where a
    /// protocol that acknowledges or ships too early loses data).
    fn maybe_crash(&mut self, node: NodeId) {
        if !self.cfg.chaos || self.now >= self.end || !self.rng.chance(0.004) {
            return;
        }
        self.crash(node);
        let back = (self.now + self.rng.range(MINUTE, 10 * MINUTE)).min(self.end);
        self.at(back, Ev::Restart { node });
    }

    fn durable(&mut self, node: NodeId, a: Appended) {
        let NodeId::Store(store) = node else { return };
        self.report.events += 1;
        match &a.effect {
            Some(Effect::Opened(s)) => {
                if let Some(p) = self.pos.get_mut(&store) {
                    p.session = Some(s.as_ref().clone());
                    p.opening = None;
                }
            }
            Some(Effect::Closed) => {
                if let Some(p) = self.pos.get_mut(&store) {
                    p.session = None;
                }
            }
            Some(Effect::Sale(s)) => {
                if let Some(p) = self.pos.get_mut(&store) {
                    p.refundable.push(s.as_ref().clone());
                }
            }
            Some(Effect::TransferOut { to, sku, qty }) => {
                let t = self.now + self.rng.range(30 * MINUTE, 3 * HOUR);
                self.at(t, Ev::Arrive { store: *to, from: store, sku: sku.clone(), qty: *qty });
            }
            None => {}
        }
        self.durable_ids.insert(a.id);
        self.durable_events.entry(store).or_default().push(a);
    }

    /// The `crash_mid_write` schedule: the first send of `node` while a write of its is in
    /// flight crashes it then and there (the write is lost) and restarts it at once.
    fn crash_if_mid_write(&mut self, node: NodeId) {
        if !self.cfg.crash_mid_write || self.crashed_mid_write.contains(&node) {
            return;
        }
        if self.writing.range((node, 0)..=(node, u64::MAX)).next().is_none() {
            return;
        }
        self.crashed_mid_write.insert(node);
        let now = self.now;
        self.at(now, Ev::Crash { node });
        self.at(now, Ev::Restart { node });
    }

    fn crash(&mut self, node: NodeId) {
        let Some(slot) = self.slots.get_mut(&node) else { return };
        let Some(m) = slot.machine.take() else { return };
        self.down.entry(node).or_default().push((self.now, u64::MAX));
        drop(m); // what it held beyond its disk (slot.durable) is gone
        let unwritten: Vec<(NodeId, u64)> =
            self.writing.range((node, 0)..=(node, u64::MAX)).map(|(k, _)| *k).collect();
        for k in unwritten {
            self.writing.remove(&k);
        }
        slot.incarnation += 1;
        slot.timer = None;
        slot.timer_gen += 1;
        self.report.crashes += 1;
        self.trace(format_args!("{node} CRASH"));
        if let NodeId::Store(store) = node {
            let mut lost: Vec<Appended> = self.unbatched.remove(&node).unwrap_or_default();
            let keys: Vec<(NodeId, u64)> =
                self.in_disk.range((node, 0)..=(node, u64::MAX)).map(|(k, _)| *k).collect();
            for k in keys {
                lost.extend(self.in_disk.remove(&k).unwrap_or_default());
            }
            self.report.lost_before_durable += lost.len() as u64;
            for a in &lost {
                if let Some((sku, d)) = dcs_core_stock(&a.body) {
                    *self.live_stock.entry(store).or_default().entry(sku).or_insert(0) -= d;
                }
            }
            // The HLC restarts from the durable events: lost ones never existed.
            let last = self
                .durable_events
                .get(&store)
                .and_then(|v| v.last())
                .map_or(0, |a| a.event.causality().hlc.time);
            self.last_hlc.insert(node, last);
            if let Some(p) = self.pos.get_mut(&store) {
                p.opening = None;
            }
        }
    }

    fn restart(&mut self, node: NodeId) {
        if self.is_up(node) {
            return;
        }
        let skew = self.skew();
        let durable = match self.slots.get_mut(&node) {
            Some(s) => {
                s.skew_ms = skew;
                match s.store.load() {
                    Ok(r) => r,
                    Err(e) => unreachable!("the in-memory store loads without error: {e}"),
                }
            }
            None => return,
        };
        if let Some(w) = self.down.get_mut(&node).and_then(|w| w.last_mut()) {
            w.1 = self.now;
        }
        let m = self.build(node, durable);
        if let Some(s) = self.slots.get_mut(&node) {
            s.machine = Some(m);
            s.disk_free_at = self.now;
        }
        if let NodeId::Store(st) = node {
            self.enroll_till(st);
        }
        self.trace(format_args!("{node} RESTART skew {skew} ms"));
        self.check_acked_not_lost();
        self.replay_from_backup(node);
        if let NodeId::Store(store) = node
            && self.open.contains(&store)
        {
            self.ensure_session(store);
        }
        self.drain(node);
    }

    /// Chaos: a restarted store sometimes re-sends an event it made durable long ago at a
    /// new outbox position (as a store restored from an old backup would). Its region's store
    /// must catch it by event id: it may be neither stored nor forwarded twice.
    fn replay_from_backup(&mut self, node: NodeId) {
        let NodeId::Store(store) = node else { return };
        if !self.cfg.chaos || !self.rng.chance(0.3) {
            return;
        }
        let Some(list) = self.durable_events.get(&store).filter(|l| !l.is_empty()) else {
            return;
        };
        let i = self.rng.below(list.len() as u64) as usize;
        let event = list[i].event.as_ref().clone();
        let id = event.event_id();
        let now = self.now_of(node);
        if let Some(AnyMachine::Local(m)) = self.machine(node) {
            match m.append(now, event, None) {
                Ok(pos) => self.trace(format_args!("{node} replays {id} at position {pos}")),
                Err(e) => self.violation(format!("{node}: replaying {id} was refused: {e}")),
            }
        }
    }

    fn check_catchup(&mut self, node: NodeId) {
        let Some(slot) = self.slots.get(&node) else { return };
        let Some(healed) = slot.heal_at else { return };
        let Some(AnyMachine::Local(m)) = slot.machine.as_ref() else { return };
        if m.lag() == 0 && m.pending_appends().is_empty() {
            let d = self.now - healed;
            self.report.max_catchup_ms = self.report.max_catchup_ms.max(d);
            if let Some(s) = self.slots.get_mut(&node) {
                s.heal_at = None;
            }
        }
    }

    /// True when `node` was cut off or down at some time in `[from, to]`.
    fn silent_during(&self, node: NodeId, from: u64, to: u64) -> bool {
        let overlaps = |w: &[(u64, u64)]| w.iter().any(|&(s, e)| s <= to && e >= from);
        self.net.partitions.windows.get(&node).is_some_and(|w| overlaps(w))
            || self.down.get(&node).is_some_and(|w| overlaps(w))
    }

    /// Invariant (liveness, no false alarm): `observer` declares `agent` failed only if the
    /// agent was cut off or down within the failure timeout before.
    fn check_failure_is_real(&mut self, observer: NodeId, agent: NodeId) {
        let fail_after = self.liveness().fail_after_ms;
        if !self.silent_during(agent, self.now.saturating_sub(fail_after), self.now) {
            self.violation(format!(
                "{observer} declared {agent} failed, yet it was up and connected for the last \
                 {fail_after} ms"
            ));
        }
    }

    /// Invariant (liveness, detection): every agent cut off for longer than the failure
    /// timeout (plus two sync rounds) while its observer was up is declared failed.
    fn check_failures_detected(&mut self) -> Vec<String> {
        let fail_after = self.liveness().fail_after_ms;
        let slack = 2 * self.cfg.sync.sync_interval_ms.max(self.cfg.sync.heartbeat_interval_ms);
        let mut v = Vec::new();
        for (agent, windows) in &self.net.partitions.windows {
            let observer = match agent {
                NodeId::Store(s) => self.region_of(*s),
                NodeId::Region(_) => NodeId::Master,
                NodeId::Master => continue,
            };
            for &(s, e) in windows {
                let observer_down = self.down.get(&observer).is_some_and(|w| {
                    w.iter().any(|&(ds, de)| ds <= e && de.saturating_add(fail_after) >= s)
                });
                if e.saturating_sub(s) < fail_after + slack || observer_down {
                    continue;
                }
                let seen = self
                    .failed
                    .iter()
                    .any(|&(t, o, a)| o == observer && a == *agent && s <= t && t <= e)
                    || self.still_failed_at(observer, *agent, s);
                if !seen {
                    v.push(format!(
                        "{agent} was cut off from {s} to {e} ms but {observer} never declared it failed"
                    ));
                }
            }
        }
        v
    }

    /// Whether `observer`'s last verdict on `agent` before `at` was "failed" (declared in an
    /// earlier cut-off, with no recovery and no restart of the observer since).
    fn still_failed_at(&self, observer: NodeId, agent: NodeId, at: u64) -> bool {
        let last = |v: &[(u64, NodeId, NodeId)]| {
            v.iter().filter(|&&(t, o, a)| o == observer && a == agent && t <= at).map(|x| x.0).max()
        };
        let Some(failed) = last(&self.failed) else { return false };
        let recovered = last(&self.recovered).is_some_and(|t| t >= failed);
        let restarted = self
            .down
            .get(&observer)
            .is_some_and(|w| w.iter().any(|&(ds, de)| de >= failed && ds <= at));
        !recovered && !restarted
    }

    /// Invariant: no event acknowledged by a parent is ever lost (its durable position is at
    /// least every position it acknowledged).
    fn check_acked_not_lost(&mut self) {
        let mut v = Vec::new();
        for (child, acked) in &self.acked_max {
            let parent = match child {
                NodeId::Store(s) => self.region_of(*s),
                NodeId::Region(_) => NodeId::Master,
                NodeId::Master => continue,
            };
            let Some(m) = self.slots.get(&parent).and_then(|s| s.machine.as_ref()) else {
                continue;
            };
            let durable = each!(m, x => x.checkpoint().inbox.get(child).copied().unwrap_or(0));
            if durable < *acked {
                v.push(format!(
                    "{parent} acknowledged {child} through position {acked} but durably holds only {durable}: acknowledged events lost"
                ));
            }
        }
        for x in v {
            self.violation(x);
        }
    }

    fn check_during(&mut self) {
        self.check_acked_not_lost();
        let mut v = Vec::new();
        // Exactly once, while running: every item a region or the master accepted since the
        // last check is new there, and stands for an event some store made durable.
        let tiers = (0..self.cfg.regions).map(NodeId::Region).chain([NodeId::Master]);
        for node in tiers {
            let Some(slot) = self.slots.get(&node).filter(|s| s.machine.is_some()) else {
                continue;
            };
            let items = &slot.store.items;
            let (done, seen) = self.scanned.entry(node).or_default();
            for (child, pos, item) in items.iter().skip(*done) {
                let id = item.event_id();
                if !seen.insert(id) {
                    v.push(format!("{node} accepted event {id} again ({child} position {pos})"));
                }
                if !self.durable_ids.contains(&id) {
                    v.push(format!("{node} holds event {id} that no store made durable"));
                }
            }
            *done = items.len();
        }
        for s in 0..self.cfg.stores {
            let node = NodeId::Store(s);
            let Some(AnyMachine::Local(m)) = self.slots.get(&node).and_then(|x| x.machine.as_ref())
            else {
                continue;
            };
            let branch = format!("store-{s}");
            if let Some(stock) = self.live_stock.get(&s) {
                for (sku, units) in stock {
                    let crdt = m.state().on_hand(&branch, sku);
                    if crdt != i128::from(*units) {
                        v.push(format!(
                            "{node}: own stock of {sku} is {crdt} in the CRDT but {units} by its events"
                        ));
                    }
                }
            }
        }
        for x in v {
            self.violation(x);
        }
    }

    fn states(&self) -> Vec<(NodeId, &ReplicatedState)> {
        self.slots
            .iter()
            .filter_map(|(n, s)| s.machine.as_ref().map(|m| (*n, each!(m, x => x.state()))))
            .collect()
    }

    fn converge(&mut self) {
        // At rest means one sync round after the final heal at least (a link healed at the
        // end has carried a message by then, so every registry can have seen its agent).
        if self.now >= self.end + self.cfg.sync.sync_interval_ms {
            let all_up = self.slots.values().all(|s| s.machine.is_some());
            let now = self.now;
            let quiet = self.unbatched.values().all(Vec::is_empty)
                && self.in_disk.is_empty()
                && self.slots.values().all(|s| s.disk_free_at <= now)
                && self.slots.values().all(|s| match s.machine.as_ref() {
                    Some(AnyMachine::Local(m)) => m.lag() == 0,
                    Some(AnyMachine::Region(r)) => r.lag() == 0,
                    _ => true,
                });
            // The full comparison of every replica's state only once the world is at rest.
            if all_up && quiet && self.states().windows(2).all(|w| w[0].1 == w[1].1) {
                let ms = self.now - self.end;
                self.report.convergence_ms = Some(ms);
                self.report.convergence_rounds =
                    Some(ms.div_ceil(self.cfg.sync.sync_interval_ms.max(1)));
                self.trace(format_args!("converged"));
                self.final_checks();
                self.done = true;
                return;
            }
        }
        self.at(self.now + self.cfg.sync.sync_interval_ms, Ev::Converge);
    }

    fn final_checks(&mut self) {
        self.check_acked_not_lost();
        let mut v = self.check_failures_detected();
        // At rest every registry sees every agent alive again.
        for (node, slot) in &self.slots {
            let registry = match slot.machine.as_ref() {
                Some(AnyMachine::Region(r)) => r.liveness(),
                Some(AnyMachine::Master(m)) => m.liveness(),
                _ => continue,
            };
            for (agent, rec) in registry.agents() {
                if rec.health != crate::Health::Alive {
                    v.push(format!("{node} still sees {agent} as {:?} at rest", rec.health));
                }
            }
        }
        // Truth: every durably appended event, as the stores made them.
        let mut truth = Ledger::default();
        let mut ids: BTreeMap<EventId, u32> = BTreeMap::new();
        for (store, list) in &self.durable_events {
            for a in list {
                truth.add_event(&a.event, &a.body);
                if ids.insert(a.id, *store).is_some() {
                    v.push(format!("store-{store} appended event {} twice", a.id));
                }
            }
        }
        match projected_stock(
            self.durable_events.values().flatten().map(|a| (a.event.as_ref(), &a.body)),
        ) {
            Ok(p) => v.extend(diff("stock", "events", &truth.stock, "dcs-core projection", &p)),
            Err(e) => v.push(format!("projection failed: {e}")),
        }
        v.extend(truth.check_money("stores"));
        // Regions: exactly once, and their own ledgers.
        let mut region_ids: BTreeMap<EventId, u32> = BTreeMap::new();
        let mut regions = Ledger::default();
        for r in 0..self.cfg.regions {
            let node = NodeId::Region(r);
            let Some(slot) = self.slots.get(&node).filter(|s| s.machine.is_some()) else {
                continue;
            };
            for (_, _, item) in &slot.store.items {
                let Item::Event(e) = item else {
                    v.push(format!("{node} holds a summary instead of an event"));
                    continue;
                };
                *region_ids.entry(e.event_id()).or_insert(0) += 1;
                match EventBody::from_bytes(&e.payload().envelope) {
                    Ok(body) => regions.add_event(e, &body),
                    Err(err) => {
                        v.push(format!("{node}: stored event {} unreadable: {err}", e.event_id()))
                    }
                }
            }
        }
        for (id, store) in &ids {
            match region_ids.get(id) {
                Some(1) => {}
                Some(n) => {
                    v.push(format!("event {id} of store-{store} stored {n} times by its region"))
                }
                None => {
                    v.push(format!("durable event {id} of store-{store} never reached its region"))
                }
            }
        }
        for (id, n) in &region_ids {
            if !ids.contains_key(id) {
                v.push(format!("region holds event {id} ({n}x) that no store durably appended"));
            }
        }
        v.extend(regions.check_money("regions"));
        v.extend(diff("stock", "stores", &truth.stock, "regions", &regions.stock));
        v.extend(diff("money", "stores", &truth.money, "regions", &regions.money));
        // Master: summaries exactly once.
        let mut master = Ledger::default();
        let mut master_ids: BTreeMap<EventId, u32> = BTreeMap::new();
        if let Some(slot) = self.slots.get(&NodeId::Master).filter(|s| s.machine.is_some()) {
            for (_, _, item) in &slot.store.items {
                if let Item::Summary(s) = item {
                    *master_ids.entry(s.event_id).or_insert(0) += 1;
                    master.add_summary(s);
                }
            }
        }
        for id in ids.keys() {
            match master_ids.get(id) {
                Some(1) => {}
                Some(n) => v.push(format!("master holds the summary of {id} {n} times")),
                None => v.push(format!("the summary of {id} never reached the master")),
            }
        }
        v.extend(master.check_money("master"));
        v.extend(self.check_enrollments());
        v.extend(diff("stock", "stores", &truth.stock, "master", &master.stock));
        v.extend(diff("money", "stores", &truth.money, "master", &master.money));
        // Every replica's CRDT stock equals the events' stock, and the state in its store
        // (what a restart resumes from) equals its working state at rest.
        for (node, slot) in &self.slots {
            let Some(m) = slot.machine.as_ref() else { continue };
            v.extend(truth.check_stock_against(&format!("{node}"), each!(m, x => x.state())));
            if each!(m, x => x.writes_pending()) {
                v.push(format!("{node}: writes still pending at rest"));
            } else if &slot.store.checkpoint().state != each!(m, x => x.state()) {
                v.push(format!("{node}: its store's CRDT state differs from its working state"));
            }
            let dropped = each!(m, x => x.stats().master_writes_dropped);
            if dropped > 0 {
                v.push(format!("{node}: dropped master writes from {dropped} honest payloads"));
            }
            if slot.store.checkpoint().log_seq != each!(m, x => x.checkpoint().log_seq) {
                v.push(format!("{node}: its store's log position differs from its machine's"));
            }
        }
        for x in v {
            self.violation(x);
        }
    }

    /// Every store's till reached the master's registry as its store reported it, and no
    /// store's report changed the key registry itself.
    fn check_enrollments(&self) -> Vec<String> {
        let mut v = Vec::new();
        let Some(state) = self.slots.get(&NodeId::Master).and_then(|s| s.machine.as_ref()) else {
            return v;
        };
        let state = each!(state, x => x.state());
        for st in 0..self.cfg.stores {
            let agent = format!("pos-{st}");
            let reported = state.enrollments(workload::TENANT).find(|e| e.agent == agent);
            let branch = self.pos.get(&st).map(|p| p.branch.as_str());
            match reported {
                None => v.push(format!("the master never got store-{st}'s till {agent}")),
                Some(e) => {
                    if Some(e.enrollment.branch.as_str()) != branch
                        || e.enrollment.public_key != till_key(st)
                        || e.by != ReplicaId(10_000 + u64::from(st))
                    {
                        v.push(format!(
                            "the master holds {agent} as {e:?}, not as store-{st} reported it"
                        ));
                    }
                }
            }
            if state.agent_key(workload::TENANT, &agent).is_some() {
                v.push(format!("store-{st}'s report of {agent} wrote the key registry"));
            }
        }
        v
    }

    fn finish(mut self) -> SimReport {
        for slot in self.slots.values() {
            if let Some(m) = slot.machine.as_ref() {
                self.report.retransmits += each!(m, x => x.stats().retransmits);
            }
        }
        self.report.trace_hash = self.hash;
        self.report
    }
}

/// The public key store `st` reports for its till (any 32 bytes: the registry only lists it).
fn till_key(st: u32) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..4].copy_from_slice(&st.to_be_bytes());
    key
}

/// The (SKU, signed units) a body moves at its own branch.
fn dcs_core_stock(body: &EventBody) -> Option<(String, i64)> {
    crate::stock_effect(body).map(|e| (e.sku, e.delta))
}
