//! # dcs-store: event stores behind one trait
//!
//! [`EventStore`] is what the agents append to and read from: append-only, idempotent on
//! idempotency keys, with optimistic concurrency per stream and gap-free global positions.
//!
//! - `sqlite::SqliteStore` (feature `sqlite`, default): the Local Agent's store. WAL,
//!   `synchronous=FULL`, a hash chain ([`chain`]) over every row checked by `verify_chain`
//!   and on every read, the sync cursor (what the region acknowledged), snapshots, CRDT
//!   states and sagas. Several processes may share one file: writes begin `IMMEDIATE`, so
//!   the busy timeout applies, and the schema of a new file is made in that transaction.
//!   `Options::read_only` opens a store (even on a read-only file or directory) for reading.
//!   An empty path, a FIFO or a directory is refused before SQLite touches it.
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
//! ## SQLite appends: which path verifies
//!
//! - `append_verified` (the path for events from outside the process: a terminal, a peer,
//!   the Python binding): checks each event's MAC (the tenant's `MacKey`) and creator
//!   signature (`KeyRegistry`), and derives the projected facts by opening the events
//!   ([`open_fact`]); facts are never given beside the events, so projections cannot
//!   disagree with the log.
//! - `append_sync`, `append_with_bodies`, `append_group`: no verification, for events this
//!   process has just sealed itself. Given bodies must match their event's type and visible
//!   amount (checked); that they are the events' own plaintext is the caller's word.
//! - `rebuild_projections(open_fact)`: events of a crypto-shredded tenant are
//!   [`Opened::Shredded`] and skipped; other crypto failures stay [`StoreError::Crypto`].
//!
//! ## SQLite chain: what each mechanism stops
//!
//! The attacker can write the file and knows its format.
//! - **Unkeyed chain** (`open`, SHA-256): finds accidental damage and naive edits (a row
//!   changed, deleted, inserted or moved, the `streams` table or the ack cursor edited). It
//!   does **not** stop this attacker: they recompute the chain after deleting a sale.
//! - **Keyed chain** (`open_keyed`, HMAC-SHA256 under `MacKey::derive_chain_key(store id)`,
//!   schema 3): editing, deleting or inserting a row anywhere but at the end needs the key to
//!   re-link the rows after it; the file never holds the key. It does **not** stop an
//!   attacker who holds the tenant's MAC key, nor one who drops the *last* events and points
//!   the chain head at an earlier row (that row's link is in the file).
//! - **Anchors** (`record_anchor`, [`sqlite::ChainAnchor`] signed by the region with its
//!   `Signer`, checked with the `KeyRegistry`): the newest one is kept and `verify_chain`
//!   fails a log shorter than it or different at its position. It does **not** find the
//!   truncation of events nobody outside has acknowledged yet. An attacker who deletes the
//!   stored anchor too is found by `verify_chain_against(&anchor)` with the region's copy
//!   (carrying the head in the sync acknowledgements is a later issue).
//! - **Upgrade** of an unkeyed store (schema ≤ 2, or made by `open`): `open_keyed` verifies
//!   the unkeyed chain, then re-links every row under the key in one transaction. That is
//!   trust on upgrade: an edit made before the upgrade by someone who recomputed the unkeyed
//!   chain is kept; only an anchor held outside can reveal it.
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

pub use api::{
    AppendResult, EventStore, ExpectedVersion, Snapshot, SnapshotVersion, SnapshotWith,
    StoredEvent, StreamId,
};
pub use error::{Result, StoreError};
pub use projection::{Opened, ProjectionRows, Projector, open_fact};
