//! The Regional Agent of DCS: a 3–5 node Raft cluster per region (openraft) that takes its
//! stores' event batches and CRDT deltas, replicates them, forwards every event exactly once to
//! PostgreSQL and Kafka, and sends merged state back.
//!
//! A thin driver of `dcs_sync::RegionalMachine`:
//! - [`raft`]: the one module that knows openraft (pinned `=0.10.0-alpha.37`). The durable
//!   log on SQLite ([`raft::SqliteLogStore`]: one writer thread, group commit, flush callbacks
//!   after COMMIT in log order, votes durable before `save_vote` returns; it passes openraft's
//!   storage suite), the state machine over the replica, the Raft RPCs over tonic (cached
//!   channels, file snapshots in bounded chunks, callers authorized by certificate name).
//! - [`replica`]: the machine replicated. An entry is a [`replica::Proposal`] (the leader's
//!   clock, a store's message with the leader's per-event verdicts, or a tick); applying it
//!   is a pure function written in one transaction of the replica file.
//! - [`node`]: a running node: `LocalRegionalSync` on the leader (followers redirect), the
//!   driver that sends the leader's outputs and proposes ticks, gauges and readiness, and
//!   membership changes. While it leads, [`node::uplink`] keeps one
//!   `RegionalMasterSync.Exchange` stream to the master open and proposes the master's acks.
//! - [`forward`]: while a node leads, each sink (PostgreSQL, Kafka) receives the accepted
//!   events exactly once in effect, fenced by the Raft term; `replay` re-forwards.
//! - [`verify`]: the leader's verifier (tenant MACs, terminals' signatures in one batch).
//! - [`admin`]: the operator's membership routes on the admin port (admin token).
//! - [`config`]: the settings file, `dcs-regional.toml`.
//!
//! The binary (`dcs-regional init | dev-certs | run | members | replay`) wires these to the
//! shared daemon plumbing of `dcs-daemon`.

pub mod admin;
pub mod config;
pub mod forward;
pub mod node;
pub mod raft;
pub mod replica;
pub mod verify;
