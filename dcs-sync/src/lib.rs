//! The DCS sync protocol between tiers, as sans-IO state machines, with a deterministic fault
//! simulator that proves it.
//!
//! Three machines, one per tier: [`LocalMachine`] (a store's agent), [`RegionalMachine`] and
//! [`MasterMachine`]. None of them does I/O, reads a clock, spawns a thread or draws OS
//! randomness: time ([`Now`]), randomness (a seed) and received bytes are arguments, and every
//! output is polled. A daemon only moves bytes, time and disk writes in and out:
//!
//! ```text
//! loop {
//!     machine.handle_bytes(now, from, &bytes)?;      // or handle_timeout(now) when due
//!     while let Some(w) = machine.poll_persist() {   // make writes durable, then confirm
//!         disk.write(&w.ops); machine.handle_persisted(now, w.token);
//!     }
//!     while let Some((to, msg)) = machine.poll_transmit() { net.send(to, encode(&msg)?) }
//!     sleep_until(machine.poll_timeout());
//! }
//! ```
//!
//! # Message flow
//!
//! - **Store → region**: [`Push`] with a bounded batch of durable outbox [`Item`]s (positions
//!   1, 2, 3, …), the CRDT changes since the region's last reported delta-log position, and
//!   how far the store has merged the region's log. The region verifies each event with the
//!   [`Verifier`] it is given, deduplicates by position, event id and idempotency key, stores
//!   it, merges the CRDT delta and answers with an [`Ack`] **only once that is durable**: the
//!   highest durable position plus the changes the store has not merged (every other store's
//!   stock, central prices, …). Unanswered pushes are retransmitted with exponential backoff
//!   and jitter ([`Backoff`]); an idle store still pushes every sync interval, which pulls.
//! - **Region → master**: the same shape: event summaries ([`EventSummary`]) up with the
//!   region's merged state, global state (catalog and central prices, last-writer-wins) and
//!   every other region's state down.
//! - **Who writes what**: a parent merges of a child's CRDT payload only what children write
//!   (stock, sessions, the terminals a store enrolled: [`enrolled`]); prices, the catalog and
//!   the key registry come from the master alone ([`StateDelta::without_master_writes`]).
//! - **Liveness**: [`Heartbeat`]s and pushes feed a [`Liveness`] registry (last seen, lag,
//!   alive → suspect → failed with configurable timeouts).
//! - **Versions**: [`codec::encode`] writes [`PROTOCOL_VERSION`] first; a peer with a newer
//!   version gets a [`Refuse`] and an [`SyncError::UnsupportedVersion`], an older one a
//!   decode error asking to upgrade the sender, never garbage.
//!
//! # What is persisted, and where
//!
//! A machine's memory is a function of its configuration and of the CRDT state, never of the
//! history. The host's store is the one durable home of every fact, behind the
//! [`SyncStore`] trait (SQLite and PostgreSQL in `dcs-store`, an in-memory model in the
//! simulator):
//! - writes come out of `poll_persist()` as [`WriteOp`]s; the host makes each batch durable
//!   in one transaction and confirms it with `handle_persisted(token, outcomes)`: one
//!   [`Outcome`] per accepted item, because the store, which holds every accepted event,
//!   deduplicates by event id and idempotency key (the machine only checks positions);
//! - the outbox is the store's: on a store, its event log's positions are the outbox
//!   positions ([`LocalMachine::append_at`]) and the region's acknowledgement is its ack. The
//!   machine holds a bounded window of unacknowledged items and asks for more in pages
//!   (`poll_read()` → [`OutboxRead`], answered with `handle_read`);
//! - the [`Checkpoint`] (HLC, CRDT state, delta-log tail, per-peer cursors) changes only
//!   through the same writes, in the same transactions; `restore` takes it with the outbox's
//!   bounds ([`Restored`]), never the history. [`pump`] drives a synchronous store.
//!
//! What was not persisted was never acknowledged or shipped, so peers resend it.
//!
//! # The simulator
//!
//! With the `sim` feature (on by default), [`sim`] drives a whole topology through latency,
//! loss, duplication, reordering, partitions, crashes and clock skew from one seed, and checks
//! the invariants:
//! `cargo run --release -p dcs-sync --features sim --bin dcs-sim -- --seed 42 --stores 100
//! --regions 3 --days 1` runs a 100-store day, `--profile ci --seed 0 --soak 100000` a long
//! soak (see the crate README).
#![cfg_attr(not(feature = "sim"), no_std)]

extern crate alloc;

mod backoff;
mod checkpoint;
pub mod codec;
mod delta_log;
mod downlink;
mod durable;
pub mod enrolled;
mod error;
mod key_name;
pub mod keys;
mod liveness;
mod local;
mod master;
mod messages;
mod node;
mod outbox;
mod persistence;
mod reach;
mod regional;
mod rng;
mod state;
mod uplink;
mod verifier;

#[cfg(feature = "sim")]
pub mod sim;

pub use backoff::Backoff;
pub use checkpoint::{Checkpoint, CheckpointOp, LOG_TAIL, LogEntry};
pub use codec::{MAX_MESSAGE_LEN, decode, encode, encode_into};
pub use delta_log::DeltaLog;
pub use durable::{Outcome, PersistBatch, WriteOp};
pub use enrolled::{Enrolled, Enrollment};
pub use error::{SyncError, VerifyError};
pub use keys::{AgentKey, PreviousKey, Revocation};
pub use liveness::{AgentRecord, Health, Liveness, LivenessConfig, LivenessEvent};
pub use local::{LocalConfig, LocalMachine};
pub use master::{MasterConfig, MasterMachine};
pub use messages::{
    Ack, CrdtPayload, EventSummary, Heartbeat, Item, Message, NodeId, PROTOCOL_VERSION, Positioned,
    Push, Refuse, Rejection, StockEffect, stock_effect,
};
pub use node::{Faults, Now, Stats, SyncConfig};
pub use persistence::{OutboxRead, Persisting, PumpError, Restored, SyncStore, pump};
pub use regional::{RegionalConfig, RegionalMachine};
pub use rng::SplitMix64;
pub use state::{KeyName, ReplicatedState, SessionKey, StateDelta, StockKey};
pub use verifier::Verifier;
