//! Conversions between dcs-core and the dcs.v1 protobuf contract.
//!
//! One test binary (one link on a small machine) with six parts:
//! - `roundtrip`: core → proto → core is the identity for arbitrary events, through
//!   messages and through bytes;
//! - `hostile`: random bytes, mutated encodings and arbitrary field values never panic,
//!   and every conversion error names a field;
//! - `fields`: each invalid field is named in its error;
//! - `golden`: the wire bytes of a sample event are pinned;
//! - `strategies`: proptest generators of valid core events;
//! - `sync`: sync.proto envelopes ↔ dcs-sync messages (round trip, hostile bytes, versions).

// A test crate: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod fields;
mod golden;
mod hostile;
mod roundtrip;
mod strategies;
mod sync;
