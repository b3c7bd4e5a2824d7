//! The master's driver: one thread owns the `MasterMachine` and its SQLite store. It takes
//! inputs (the regions' messages, an operator's price or catalog change, a question about the
//! machine's state) from a bounded queue, persists what the machine writes (`dcs_sync::pump`)
//! before anything it sends goes out, hands the machine's messages to the regions' streams,
//! fires the machine's timers, and records each region's contact in the registry (last seen;
//! last successful sync = the last push the master acknowledged).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dcs_proto::pb;
use dcs_store::sqlite::MasterStore;
use dcs_sync::{Health, MasterConfig, MasterMachine, Message, NodeId, Now, SyncStore};
use tokio::sync::{mpsc, oneshot};
use tonic::Status;

/// The regions' open streams: where the machine's messages to each go.
pub type Streams = Arc<Mutex<HashMap<NodeId, mpsc::Sender<Result<pb::SyncEnvelope, Status>>>>>;

/// What the driver answers about one region.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegionHealth {
    /// The region's number.
    pub region: u16,
    /// `alive`, `suspect` or `failed` (never heard from: `failed` once the timeout passed).
    pub health: &'static str,
}

/// One input of the driver.
pub enum Input {
    /// A message a region sent (its protocol version as the envelope said).
    Message {
        /// The region.
        from: NodeId,
        /// The message (boxed: a push is large, the other inputs small).
        msg: Box<Message>,
        /// The sender's protocol version.
        version: u32,
    },
    /// An operator sets the central price of a SKU (minor units).
    SetPrice {
        /// The SKU.
        sku: String,
        /// The price in minor units (never negative: the API checks).
        price_minor: i64,
        /// The outcome once durable: the change's position in the master's delta log.
        reply: oneshot::Sender<Result<u64, String>>,
    },
    /// An operator lists a SKU in the global catalog.
    ListInCatalog {
        /// The SKU.
        sku: String,
        /// The outcome once durable.
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// The central prices of some SKUs as the master holds them.
    Prices {
        /// The SKUs asked for.
        skus: Vec<String>,
        /// (SKU, price) for each.
        reply: oneshot::Sender<Vec<(String, Option<i64>)>>,
    },
    /// An operator changes the central key registry (see [`dcs_sync::keys`]).
    Key {
        /// The tenant of the agent.
        tenant: String,
        /// The agent (terminal, cashier) id.
        agent: String,
        /// Register or rotate its key, or revoke it.
        change: KeyChange,
        /// The outcome once durable: the change's position in the master's delta log, or
        /// why the registry refused it (a message naming the field).
        reply: oneshot::Sender<Result<u64, KeyRefusal>>,
    },
    /// The key registry's entries of a tenant as the master holds them.
    Keys {
        /// The tenant.
        tenant: String,
        /// Every agent of the tenant the registry or a store names, ordered by agent.
        reply: oneshot::Sender<Vec<AgentRow>>,
    },
    /// A region leader reported its Raft cluster's health.
    RaftReport {
        /// The region's number.
        region: u32,
        /// The report, checked.
        report: Box<dcs_store::sqlite::RaftReport>,
        /// How far each of its stores has merged the master's log: (store, position).
        reach: Vec<(u32, u64)>,
        /// The branch each named store is named by: (store, branch).
        names: Vec<(u32, String)>,
    },
    /// The failure detector's verdict on each region.
    Health {
        /// One row per configured region.
        reply: oneshot::Sender<Vec<RegionHealth>>,
    },
}

/// One agent of a tenant as the master knows it: the registry's entry, and what a store
/// reported of it (see `dcs_sync::enrolled`).
#[derive(Debug, Clone, Default)]
pub struct AgentRow {
    /// The agent id.
    pub agent: String,
    /// The registry's entry, if the master wrote one.
    pub key: Option<dcs_sync::AgentKey>,
    /// The store's report and the replica id of the store that wrote it.
    pub enrolled: Option<(dcs_sync::Enrollment, u64)>,
}

/// A change of the central key registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyChange {
    /// Register (or rotate to) this public key.
    Register {
        /// `ed25519` or `ecdsa-p256`.
        algorithm: String,
        /// The key bytes.
        public_key: Vec<u8>,
    },
    /// Revoke the agent's events made at or after `from_ms`.
    Revoke {
        /// Unix ms.
        from_ms: u64,
        /// Why.
        reason: String,
    },
}

/// Why a key change did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRefusal {
    /// The registry refused the request (the message names the field to fix).
    Invalid(String),
    /// The change could not be made durable.
    Unavailable(String),
}

/// Why the driver could not start.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The store would not open or load.
    #[error("the master store {path}: {reason}")]
    Store {
        /// Its file.
        path: String,
        /// The store's error.
        reason: String,
    },
    /// The machine refused its configuration or checkpoint.
    #[error("the master machine: {0}")]
    Machine(String),
}

/// The wall clock as the machine's `Now` (both clocks: the same base on every restart).
pub fn now() -> Now {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    Now { mono_ms: ms, wall_ms: ms }
}

/// The queue the servers put inputs on.
#[derive(Clone)]
pub struct Inputs(SyncSender<Input>);

impl Inputs {
    /// Queues `input`; false when the queue is full or the driver stopped (a region's message
    /// is then dropped: the region resends it).
    pub fn offer(&self, input: Input) -> bool {
        match self.0.try_send(input) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                metrics::counter!("dcs_master_inputs_dropped_total").increment(1);
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

/// How often the driver samples every region's lag and health, and how long samples stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sampling {
    /// Between two samples, ms.
    pub every_ms: u64,
    /// Kept for, ms.
    pub keep_ms: u64,
}

/// Opens the store at `path`, restores the machine and starts the driver thread; it runs
/// until every [`Inputs`] is dropped.
///
/// # Errors
/// [`DriverError`] when the store or the machine cannot start.
pub fn start(
    path: &Path,
    config: MasterConfig,
    seed: u64,
    streams: Streams,
    queue: usize,
    sampling: Sampling,
) -> Result<(Inputs, std::thread::JoinHandle<()>), DriverError> {
    let store_err = |e: dcs_store::StoreError| DriverError::Store {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut store = MasterStore::open(path).map_err(store_err)?;
    let restored = store.load().map_err(store_err)?;
    let machine = MasterMachine::restore(config.clone(), restored, now(), seed)
        .map_err(|e| DriverError::Machine(e.to_string()))?;
    let (tx, rx) = std::sync::mpsc::sync_channel(queue.max(1));
    let driver = Driver {
        machine,
        store,
        streams,
        config,
        seed,
        versions: HashMap::new(),
        sampling,
        sampled_at: 0,
        sinks_sampled_at: HashMap::new(),
    };
    let handle = std::thread::Builder::new()
        .name("dcs-master-driver".into())
        .spawn(move || driver.run(&rx))
        .map_err(|e| DriverError::Machine(format!("cannot start the driver thread: {e}")))?;
    Ok((Inputs(tx), handle))
}

struct Driver {
    machine: MasterMachine,
    store: MasterStore,
    streams: Streams,
    config: MasterConfig,
    seed: u64,
    versions: HashMap<NodeId, u32>,
    sampling: Sampling,
    sampled_at: u64,
    /// Per region: when its sinks' backlog was last kept as a sample (one per sampling period,
    /// however often the region reports).
    sinks_sampled_at: HashMap<u32, u64>,
}

impl Driver {
    fn run(mut self, rx: &Receiver<Input>) {
        loop {
            let t = now();
            let wait = self
                .machine
                .poll_timeout()
                .map_or(Duration::from_millis(500), |due| {
                    Duration::from_millis(due.saturating_sub(t.mono_ms))
                })
                .min(Duration::from_millis(500));
            match rx.recv_timeout(wait) {
                Ok(input) => self.handle(input),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            let t = now();
            if self.machine.poll_timeout().is_some_and(|due| due <= t.mono_ms) {
                self.machine.handle_timeout(t);
            }
            self.flush();
            if t.wall_ms.saturating_sub(self.sampled_at) >= self.sampling.every_ms {
                self.sampled_at = t.wall_ms;
                self.sample(t.wall_ms);
            }
        }
    }

    /// Records every region's lag and health now.
    fn sample(&mut self, at_ms: u64) {
        let rows: Vec<(u32, u64, &str)> = self
            .config
            .regions
            .iter()
            .filter_map(|n| match n {
                NodeId::Region(r) => {
                    let rec = self.machine.liveness().get(*n);
                    Some((
                        u32::from(*r),
                        rec.map_or(0, |a| a.lag),
                        health_name(rec.map(|a| a.health)),
                    ))
                }
                _ => None,
            })
            .collect();
        if let Err(e) = self.store.record_samples(at_ms, self.sampling.keep_ms, &rows) {
            tracing::warn!(error = %e, "cannot record the regions' samples");
        }
    }

    fn handle(&mut self, input: Input) {
        let t = now();
        match input {
            Input::Message { from, msg, version } => {
                let lag = match msg.as_ref() {
                    Message::Push(p) => Some(p.lag),
                    Message::Heartbeat(h) => Some(h.lag),
                    _ => None,
                };
                self.versions.insert(from, version);
                if let Err(e) = self.machine.handle_message(t, from, *msg) {
                    tracing::warn!(from = %from, error = %e, "a region's message was refused");
                    metrics::counter!("dcs_master_refused_messages_total").increment(1);
                }
                if let NodeId::Region(r) = from {
                    self.record(r, t.wall_ms, None, lag.unwrap_or(0), version);
                }
            }
            Input::SetPrice { sku, price_minor, reply } => {
                let r = self.machine.set_price(t, &sku, price_minor).map_err(|e| e.to_string());
                let r = r.and_then(|()| self.persist()).map(|()| self.machine.log_position());
                if let Ok(position) = r
                    && let Err(e) =
                        self.store.record_price_change(&sku, price_minor, position, t.wall_ms)
                {
                    // The change itself is durable: only its arrival view lacks it.
                    tracing::warn!(sku = %sku, error = %e, "cannot record a price change's arrival");
                }
                let _ = reply.send(r);
            }
            Input::Key { tenant, agent, change, reply } => {
                let r = match change {
                    KeyChange::Register { algorithm, public_key } => {
                        self.machine.register_key(t, &tenant, &agent, &algorithm, &public_key)
                    }
                    KeyChange::Revoke { from_ms, reason } => {
                        self.machine.revoke_key(t, &tenant, &agent, from_ms, &reason)
                    }
                };
                let r = match r {
                    Err(dcs_sync::SyncError::Domain(why)) => Err(KeyRefusal::Invalid(why)),
                    Err(e) => Err(KeyRefusal::Invalid(e.to_string())),
                    Ok(()) => self
                        .persist()
                        .map(|()| self.machine.log_position())
                        .map_err(KeyRefusal::Unavailable),
                };
                let _ = reply.send(r);
            }
            Input::Keys { tenant, reply } => {
                let state = self.machine.state();
                let mut rows: BTreeMap<String, AgentRow> = BTreeMap::new();
                for (agent, key) in state.agent_keys(&tenant) {
                    rows.entry(agent.to_string()).or_default().key = Some(key.clone());
                }
                for e in state.enrollments(&tenant) {
                    let row = rows.entry(e.agent.to_string()).or_default();
                    row.enrolled = Some((e.enrollment.clone(), e.by.0));
                }
                let _ = reply
                    .send(rows.into_iter().map(|(agent, row)| AgentRow { agent, ..row }).collect());
            }
            Input::ListInCatalog { sku, reply } => {
                self.machine.list_in_catalog(t, &sku);
                let _ = reply.send(self.persist());
            }
            Input::Prices { skus, reply } => {
                let state = self.machine.state();
                let _ =
                    reply.send(skus.into_iter().map(|s| (s.clone(), state.price(&s))).collect());
            }
            Input::RaftReport { region, report, reach, names } => {
                if let Err(e) = self.store.record_raft(region, t.wall_ms, &report) {
                    tracing::warn!(region, error = %e, "cannot record a region's Raft report");
                }
                let last = self.sinks_sampled_at.get(&region).copied().unwrap_or(0);
                if t.wall_ms.saturating_sub(last) >= self.sampling.every_ms {
                    self.sinks_sampled_at.insert(region, t.wall_ms);
                    let keep = self.sampling.keep_ms;
                    if let Err(e) = self.store.record_sink_samples(region, t.wall_ms, keep, &report)
                    {
                        tracing::warn!(region, error = %e, "cannot record a region's sink backlog");
                    }
                }
                if let Err(e) = self.store.record_reach(region, t.wall_ms, &reach) {
                    tracing::warn!(region, error = %e, "cannot record how far its stores merged");
                }
                if let Err(e) = self.store.record_store_names(region, &names) {
                    tracing::warn!(region, error = %e, "cannot record its stores' branches");
                }
            }
            Input::Health { reply } => {
                let rows = self
                    .config
                    .regions
                    .iter()
                    .filter_map(|n| match n {
                        NodeId::Region(r) => Some(RegionHealth {
                            region: *r,
                            health: health_name(self.machine.liveness().get(*n).map(|a| a.health)),
                        }),
                        _ => None,
                    })
                    .collect();
                let _ = reply.send(rows);
            }
        }
    }

    /// Writes what the machine wrote; on a store failure the machine restarts from the store.
    fn persist(&mut self) -> Result<(), String> {
        match dcs_sync::pump(now(), &mut self.machine, &mut self.store) {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::error!(error = %e, "the master store failed: restarting the machine from it");
                metrics::counter!("dcs_master_store_errors_total").increment(1);
                let reason = e.to_string();
                match self.store.load() {
                    Ok(restored) => {
                        match MasterMachine::restore(
                            self.config.clone(),
                            restored,
                            now(),
                            self.seed,
                        ) {
                            Ok(m) => self.machine = m,
                            Err(e) => tracing::error!(error = %e, "cannot restore the machine"),
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "cannot load the master store"),
                }
                Err(reason)
            }
        }
    }

    /// Persists, then sends every message the machine has (a message waits for the HLC it
    /// carries to be durable).
    fn flush(&mut self) {
        if self.persist().is_err() {
            return;
        }
        while let Some((to, msg)) = self.machine.poll_transmit() {
            if let (NodeId::Region(r), Message::Ack(_)) = (to, &msg) {
                let t = now();
                let lag = self.machine.liveness().get(to).map_or(0, |a| a.lag);
                let version = self.versions.get(&to).copied().unwrap_or(0);
                self.record(r, t.wall_ms, Some(t.wall_ms), lag, version);
            }
            let env = match dcs_proto::sync_to_pb(NodeId::Master, &msg) {
                Ok(env) => env,
                Err(e) => {
                    tracing::error!(to = %to, error = %e, "cannot encode a sync message");
                    continue;
                }
            };
            let streams = self.streams.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(tx) = streams.get(&to) {
                // A full queue drops the message: the machine retransmits.
                if tx.try_send(Ok(env)).is_ok() {
                    metrics::counter!("dcs_master_messages_total", "direction" => "out")
                        .increment(1);
                }
            }
        }
    }

    fn record(&mut self, region: u16, seen: u64, acked: Option<u64>, lag: u64, version: u32) {
        let v = format!("sync/{version}");
        if let Err(e) = self.store.record_region(u32::from(region), seen, acked, lag, &v) {
            tracing::warn!(region, error = %e, "cannot record the region's contact");
        }
    }
}

/// The failure detector's verdict as the API names it (never heard from counts as failed).
fn health_name(h: Option<Health>) -> &'static str {
    match h {
        Some(Health::Alive) => "alive",
        Some(Health::Suspect) => "suspect",
        _ => "failed",
    }
}
