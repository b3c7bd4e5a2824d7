//! The Regional Agent of DCS: a 3–5 node Raft cluster per region (openraft) that takes its
//! stores' event batches and CRDT deltas, replicates them, forwards every event exactly once to
//! PostgreSQL and Kafka, and sends merged state back.
//!
//! Built so far (issue 20, in steps):
//! - [`raft`]: the one module that knows openraft. Its durable log store on SQLite
//!   ([`raft::SqliteLogStore`]): one writer thread, group commit (many appends per fsync,
//!   `synchronous=FULL`), flush callbacks fired after COMMIT in log order, votes durable before
//!   `save_vote` returns, the full log id stored. It passes openraft's storage test suite
//!   (`tests/raft_log_suite.rs`).
//!
//! Still to come: the replicated `RegionalMachine` state machine, the Raft and store-facing gRPC
//! services, the PostgreSQL and Kafka forwarders and the daemon itself.

pub mod admin;
pub mod config;
pub mod forward;
pub mod node;
pub mod raft;
pub mod replica;
pub mod verify;
