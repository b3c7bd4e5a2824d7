//! Conflict-free replicated data types for stores that keep selling while offline.
//!
//! `dcs-crdt` holds the replicated state of an offline-first store — counts, stock, catalogs,
//! prices — so that replicas that change it independently converge when they reconnect, with no
//! coordination. It is sans-IO: no I/O, no clock, no randomness, no threads. Replica ids and
//! Hybrid Logical Clock times are arguments. It depends on no other DCS crate, so the browser
//! (WASM) and Python bindings can use it alone, and it builds as `no_std` + `alloc` when the
//! default `std` feature is off.
//!
//! # Entry points
//!
//! | type | for | value |
//! | --- | --- | --- |
//! | [`GCounter`] | transaction and visit counts | sum of per-replica maxima |
//! | [`PNCounter`] | inventory quantities | increments − decrements |
//! | [`BoundedCounter`] | limited stock that must never be oversold | increments − decrements, never below 0 |
//! | [`ORSet`] | active catalog, open sessions | add-wins set |
//! | [`LWWRegister`] | prices, configuration | latest [`Hlc`] write |
//! | [`ORMap`] | SKU → stock, SKU → price | add-wins keys, values merged per key |
//!
//! Every type implements [`Crdt`]:
//! - **mutators** (`increment`, `add`, `remove`, `set`, `update`, …) are inherent methods that
//!   take the caller's [`ReplicaId`] (and [`Hlc`] for registers), change the local state and
//!   return a small **delta** to ship;
//! - [`Crdt::merge`] joins a full state, [`Crdt::apply_delta`] joins a delta, and
//!   [`Crdt::join_deltas`] groups deltas. Joins are commutative, associative and idempotent, so
//!   deltas and states may arrive in any order, twice, or be lost and resent later; applying all
//!   deltas gives the same state as merging the full states.
//! - [`encode`], [`decode_state`] and [`decode_delta`] give a compact, versioned, canonical
//!   byte form: one [`FORMAT_VERSION`] byte then postcard. Equal states give equal bytes.
//!   Decoding never panics, refuses inputs above [`MAX_INPUT_LEN`], never pre-allocates from a
//!   length prefix beyond serde's 1 MiB cap, and validates invariants ([`CrdtError`] says what
//!   to fix).
//!
//! ```
//! use dcs_crdt::{Crdt, ORMap, PNCounter, ReplicaId, decode_delta, encode};
//!
//! let (till, office) = (ReplicaId(1), ReplicaId(2));
//! let mut here: ORMap<u32, PNCounter> = ORMap::new();
//! let mut there = here.clone();
//!
//! // The till sells 2 of SKU 42 while offline; the office receives 10.
//! let sale = here.update(till, 42, |stock| stock.decrement(till, 2))?;
//! let delivery = there.update(office, 42, |stock| stock.increment(office, 10))?;
//!
//! // Deltas travel as bytes; each side joins the other's.
//! let wire = encode(&sale)?;
//! there.apply_delta(&decode_delta::<ORMap<u32, PNCounter>>(&wire)?);
//! here.apply_delta(&delivery);
//! assert_eq!(here, there);
//! assert_eq!(here.get(&42).map(PNCounter::value), Some(8));
//! # Ok::<(), dcs_crdt::CrdtError>(())
//! ```
//!
//! # Semantics after concurrent operations
//!
//! "Concurrent" means neither replica had seen the other's operation when it made its own.
//!
//! - **[`GCounter`]** — concurrent increments all count: the value is the sum of every replica's
//!   own total. A replica only increments its own entry.
//! - **[`PNCounter`]** — concurrent increments and decrements all count; the value may go
//!   negative (two offline tills each selling the last unit gives −1: that is what
//!   [`BoundedCounter`] prevents).
//! - **[`BoundedCounter`]** (escrow) — the value is split into rights held by replicas; a
//!   replica may decrement or transfer only rights it holds in its own state. Concurrent
//!   decrements at different replicas spend disjoint rights, so the merged value is never
//!   negative. **Decrement past rights:** the call returns
//!   [`CrdtError::InsufficientRights`] and nothing changes — the store refuses or back-orders
//!   the sale, even if other replicas still hold stock, until one of them transfers rights
//!   ([`BoundedCounter::transfer`]) and the transfer reaches it. Overselling is impossible;
//!   the price is that stock parked at an unreachable replica cannot be sold elsewhere.
//! - **[`ORSet`]** — **concurrent add and remove of the same element: the add wins** (the
//!   remove drops only the dots it observed; the concurrent add's dot is new to it). Concurrent
//!   adds merge into one element with both dots; a later remove that has seen both removes it.
//!   Removing an element that was never added (or already removed) changes nothing.
//! - **[`LWWRegister`]** — the write with the greater [`Hlc`] wins: greater HLC time, then, for
//!   **equal HLC times, the greater replica id**. If one replica writes two different values
//!   with an identical `(time, replica)` (which a correct HLC never does), the greater value
//!   wins, so replicas still agree.
//! - **[`ORMap`]** — keys behave as an [`ORSet`]: a key updated concurrently with its removal
//!   stays, with the value state merged from both sides. Concurrent updates of one key join
//!   with the value type's own rules (counter sums, latest price). A removed key keeps its
//!   value state hidden, so if it is re-added the value resumes from the merged state rather
//!   than restarting at zero (stock physically on the shelf does not vanish with a catalog
//!   entry).
//!
//! # How "union with tombstone tracking" maps onto the ORSet
//!
//! The reference architecture describes the OR-Set as a union of adds with tombstones for
//! removals. Here each add's unique tag is a [`Dot`] `(replica, counter)`, and the tombstone set
//! is replaced by the [`CausalContext`]: a dot that the context contains but no entry carries
//! *is* a tombstone. Because every replica numbers its dots 1, 2, 3, …, the set of all
//! observed dots compresses to a version vector (one counter per replica) plus a small "cloud"
//! of out-of-order dots that folds back into the vector once gaps fill. So removals cost nothing
//! that grows with the number of removed elements: the union is the join of entries, and
//! "tombstone tracking" is the context comparison in [`Crdt::merge`].
//!
//! # Rules for callers
//!
//! - A replica mutates only with its own [`ReplicaId`], unique across the system, and never
//!   reuses an id after losing its state (dots and counts would be reused).
//! - [`Hlc::time`] is the Hybrid Logical Clock time from `dcs-core`'s clock.
//! - Decode with [`decode_state`] / [`decode_delta`], which validate; a bare `serde`
//!   deserialization does not check the invariants.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod bounded;
mod codec;
mod context;
mod dot;
mod dotset;
mod error;
mod gcounter;
mod hlc;
mod lww;
mod maxmap;
mod ormap;
mod ormap_delta;
mod orset;
mod orset_delta;
mod pncounter;
mod replica;
mod sorted_map;
mod traits;

pub use bounded::BoundedCounter;
pub use codec::{FORMAT_VERSION, MAX_INPUT_LEN, decode_delta, decode_state, encode};
pub use context::CausalContext;
pub use dot::Dot;
pub use dotset::DotSet;
pub use error::CrdtError;
pub use gcounter::GCounter;
pub use hlc::Hlc;
pub use lww::LWWRegister;
pub use maxmap::MaxMap;
pub use ormap::ORMap;
pub use ormap_delta::ORMapDelta;
pub use orset::ORSet;
pub use orset_delta::ORSetDelta;
pub use pncounter::PNCounter;
pub use replica::ReplicaId;
pub use traits::Crdt;
