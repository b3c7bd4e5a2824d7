//! Shared test harness: random operation histories over three replicas, for every type.
#![allow(dead_code)]

use core::fmt::Debug;

use dcs_crdt::{
    BoundedCounter, Crdt, GCounter, Hlc, LWWRegister, ORMap, ORSet, PNCounter, ReplicaId,
};
use proptest::prelude::*;

/// Number of replicas in a simulated history.
pub const REPLICAS: usize = 3;

/// The replica id of simulated replica `i` (spread out so ids are not just 0, 1, 2).
pub fn rid(i: usize) -> ReplicaId {
    ReplicaId(1_000 + 7 * i as u64)
}

/// A type under test and how to drive it with random operations.
pub trait Model: Crdt + Debug {
    /// One random operation.
    type Op: Debug + Clone;
    /// Generator of operations.
    fn op() -> BoxedStrategy<Self::Op>;
    /// Runs `op` at `replica`; `None` when the type refuses it (e.g. no rights).
    fn run(&mut self, replica: ReplicaId, op: &Self::Op) -> Option<Self::Delta>;
}

/// One step of a history: an operation at a replica, or a full-state sync `to ← from`.
#[derive(Debug, Clone)]
pub enum Step<O> {
    /// Operation at replica index.
    Op(usize, O),
    /// Replica `.0` merges the full state of replica `.1`.
    Sync(usize, usize),
}

/// Generator of histories of up to `len` steps.
pub fn history<M: Model>(len: usize) -> impl Strategy<Value = Vec<Step<M::Op>>> {
    let step = prop_oneof![
        4 => (0..REPLICAS, M::op()).prop_map(|(r, o)| Step::Op(r, o)),
        1 => (0..REPLICAS, 0..REPLICAS).prop_map(|(a, b)| Step::Sync(a, b)),
    ];
    proptest::collection::vec(step, 0..len)
}

/// Runs a history: the final replica states and every delta produced, in production order.
pub fn simulate<M: Model>(steps: &[Step<M::Op>]) -> (Vec<M>, Vec<M::Delta>) {
    let mut replicas: Vec<M> = (0..REPLICAS).map(|_| M::default()).collect();
    let mut deltas = Vec::new();
    for step in steps {
        match step {
            Step::Op(r, op) => {
                if let Some(delta) = replicas[*r].run(rid(*r), op) {
                    deltas.push(delta);
                }
            }
            Step::Sync(to, from) => {
                let source = replicas[*from].clone();
                replicas[*to].merge(&source);
            }
        }
    }
    (replicas, deltas)
}

/// The join of full states.
pub fn merged<M: Model>(states: &[M]) -> M {
    let mut out = M::default();
    for s in states {
        out.merge(s);
    }
    out
}

/// Small element and key domain so that histories collide often.
fn small() -> impl Strategy<Value = u8> {
    0u8..6
}

/// Operations on a GCounter.
impl Model for GCounter {
    type Op = u64;
    fn op() -> BoxedStrategy<u64> {
        (0u64..20).boxed()
    }
    fn run(&mut self, replica: ReplicaId, op: &u64) -> Option<Self> {
        self.increment(replica, *op).ok()
    }
}

/// Signed change to a counter.
#[derive(Debug, Clone)]
pub enum CounterOp {
    /// Increment by.
    Inc(u64),
    /// Decrement by.
    Dec(u64),
}

/// Generator of counter changes.
fn counter_op() -> BoxedStrategy<CounterOp> {
    prop_oneof![(0u64..20).prop_map(CounterOp::Inc), (0u64..20).prop_map(CounterOp::Dec)].boxed()
}

impl Model for PNCounter {
    type Op = CounterOp;
    fn op() -> BoxedStrategy<CounterOp> {
        counter_op()
    }
    fn run(&mut self, replica: ReplicaId, op: &CounterOp) -> Option<Self> {
        match op {
            CounterOp::Inc(n) => self.increment(replica, *n).ok(),
            CounterOp::Dec(n) => self.decrement(replica, *n).ok(),
        }
    }
}

/// Operation on a BoundedCounter.
#[derive(Debug, Clone)]
pub enum BoundedOp {
    /// Create stock (and rights) here.
    Inc(u64),
    /// Spend rights held here.
    Dec(u64),
    /// Give rights to another replica (index).
    Transfer(usize, u64),
}

impl Model for BoundedCounter {
    type Op = BoundedOp;
    fn op() -> BoxedStrategy<BoundedOp> {
        prop_oneof![
            (0u64..10).prop_map(BoundedOp::Inc),
            (0u64..10).prop_map(BoundedOp::Dec),
            (0..REPLICAS, 0u64..10).prop_map(|(to, n)| BoundedOp::Transfer(to, n)),
        ]
        .boxed()
    }
    fn run(&mut self, replica: ReplicaId, op: &BoundedOp) -> Option<Self> {
        match op {
            BoundedOp::Inc(n) => self.increment(replica, *n).ok(),
            BoundedOp::Dec(n) => self.decrement(replica, *n).ok(),
            BoundedOp::Transfer(to, n) => self.transfer(replica, rid(*to), *n).ok(),
        }
    }
}

/// Operation on a set.
#[derive(Debug, Clone)]
pub enum SetOp {
    /// Add the element.
    Add(u8),
    /// Remove the element.
    Remove(u8),
}

impl Model for ORSet<u8> {
    type Op = SetOp;
    fn op() -> BoxedStrategy<SetOp> {
        prop_oneof![small().prop_map(SetOp::Add), small().prop_map(SetOp::Remove)].boxed()
    }
    fn run(&mut self, replica: ReplicaId, op: &SetOp) -> Option<Self::Delta> {
        Some(match op {
            SetOp::Add(x) => self.add(replica, *x),
            SetOp::Remove(x) => self.remove(x),
        })
    }
}

/// A write `(value, HLC time)`; small times so that equal times at different replicas happen.
pub type Write = (u8, u64);

impl Model for LWWRegister<u8> {
    type Op = Write;
    fn op() -> BoxedStrategy<Write> {
        (small(), 1u64..5).boxed()
    }
    fn run(&mut self, replica: ReplicaId, (value, time): &Write) -> Option<Self> {
        Some(self.set(*value, Hlc::new(*time, replica)))
    }
}

/// Operation on a map of counters.
#[derive(Debug, Clone)]
pub enum MapOp {
    /// Change the counter under the key.
    Update(u8, CounterOp),
    /// Remove the key.
    Remove(u8),
}

impl Model for ORMap<u8, PNCounter> {
    type Op = MapOp;
    fn op() -> BoxedStrategy<MapOp> {
        prop_oneof![
            3 => (small(), counter_op()).prop_map(|(k, o)| MapOp::Update(k, o)),
            1 => small().prop_map(MapOp::Remove),
        ]
        .boxed()
    }
    fn run(&mut self, replica: ReplicaId, op: &MapOp) -> Option<Self::Delta> {
        match op {
            MapOp::Update(key, change) => self
                .update(replica, *key, |c: &mut PNCounter| {
                    c.run(replica, change).ok_or(dcs_crdt::CrdtError::EmptyInput)
                })
                .ok(),
            MapOp::Remove(key) => Some(self.remove(key)),
        }
    }
}

/// Operation on a price list.
#[derive(Debug, Clone)]
pub enum PriceOp {
    /// Set the price of the key.
    Set(u8, Write),
    /// Remove the key.
    Remove(u8),
}

impl Model for ORMap<u8, LWWRegister<u8>> {
    type Op = PriceOp;
    fn op() -> BoxedStrategy<PriceOp> {
        prop_oneof![
            3 => (small(), small(), 1u64..5).prop_map(|(k, v, t)| PriceOp::Set(k, (v, t))),
            1 => small().prop_map(PriceOp::Remove),
        ]
        .boxed()
    }
    fn run(&mut self, replica: ReplicaId, op: &PriceOp) -> Option<Self::Delta> {
        match op {
            PriceOp::Set(key, (value, time)) => self
                .update(replica, *key, |r: &mut LWWRegister<u8>| {
                    Ok(r.set(*value, Hlc::new(*time, replica)))
                })
                .ok(),
            PriceOp::Remove(key) => Some(self.remove(key)),
        }
    }
}

/// postcard's unsigned LEB128 varint.
pub fn varint(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}
