//! # dcs-store: event stores behind one trait
//!
//! [`EventStore`] is what the agents append to and read from: append-only, idempotent on
//! idempotency keys, with optimistic concurrency per stream and gap-free global positions.
//!
//! - `sqlite::SqliteStore` (feature `sqlite`, default): the Local Agent's store. WAL,
//!   `synchronous=FULL`, a SHA-256 hash chain ([`chain`]) over every row checked by
//!   `verify_chain` and on every read, the sync cursor
//!   (what the region acknowledged), snapshots, CRDT states and sagas.
//! - `postgres::PgStore` (feature `postgres`): the regional store. Versioned migrations
//!   run by a NOLOGIN owner after a one-time superuser bootstrap, `event_store`
//!   hash-partitioned into 8 and append-only in the database itself (with the idempotency
//!   keys, the audit log and every partition, for the owner too), forced row-level security
//!   per tenant, branch logins bound to their identity, commit-ordered gap-free positions
//!   claimed through a `SECURITY DEFINER` function and checked by the database, a stream
//!   index with one entry per run of a stream's consecutive events, and idempotent bulk
//!   `ingest` (pipelined, one statement per partition) with projections in the same
//!   transaction. The `postgres` module doc holds the *Threat model* (what each role can
//!   and cannot do) and the *Operator setup* (bootstrap, logins, scram, the monthly audit
//!   partitions).
//! - `conformance` (feature `conformance`): the behaviour every backend must show, written
//!   once as generic async functions and run by each backend's tests.
//!
//! Errors are [`StoreError`]; each says what happened and what to do.

pub mod api;
pub mod chain;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod error;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod projection;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use api::{AppendResult, EventStore, ExpectedVersion, Snapshot, StoredEvent, StreamId};
pub use error::{Result, StoreError};
pub use projection::{ProjectionRows, Projector};
