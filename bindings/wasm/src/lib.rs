//! # dcs-wasm: DCS for the browser POS and Node, through wasm-bindgen
//!
//! The same sans-IO core as the Rust SDK, exposed to JavaScript and TypeScript:
//! - CRDTs ([`counters`], [`collections`]): `GCounter`, `PNCounter`, `BoundedCounter`, `ORSet`,
//!   `LWWRegister`, `PNCounterMap`, each with `merge`, byte deltas (`applyDelta`,
//!   `joinDeltas`), `toBytes`/`fromBytes` in dcs-crdt's canonical form and `value`.
//! - [`money`]: `Money` in integer minor units (bigint) of an ISO-4217 currency.
//! - [`cart`]: `Product`, `TaxEngine` and `Cart` with discounts and exact tax totals.
//! - [`event`]: `newEventId`, `HybridClock`, `EventBuilder` and `Event`; time and randomness
//!   come from JS (`Date.now()`, `crypto.getRandomValues`).
//! - [`till`]: `Till`, the browser till's commands sealed with data keys its store leased,
//!   `verifyCashiers`, `checkPin`, `parseEnrollment`.
//!
//! Every argument is checked ([`args`]): a wrong type, a non-integer amount, malformed bytes or
//! an unknown currency throws a JS `Error` carrying the Rust message; nothing panics. The
//! offline event queue (IndexedDB) is JavaScript shipped in the package (`js/queue.js`). Build
//! with `build.sh`, which runs wasm-bindgen and wasm-opt and prints the gzipped size.

pub mod args;
pub mod cart;
pub mod collections;
pub mod counters;
mod crdt_common;
#[cfg(feature = "events")]
pub mod event;
pub mod money;
#[cfg(feature = "till")]
pub mod till;
