//! # dcs-proto: the DCS protobuf contract and its validated conversions
//!
//! Protobuf (package `dcs.v1`, files under `proto/dcs/v1`) is the wire format at gRPC
//! boundaries only; what is MACed and signed stays dcs-core's canonical bytes.
//!
//! - [`pb`]: the types generated from the `.proto` files.
//! - Conversions: `From<&dcs_core::SovereignFinancialEvent>` for [`pb::SovereignFinancialEvent`]
//!   and `TryFrom<pb::SovereignFinancialEvent>` for the core event, likewise for money, the
//!   causal context and the event type. The way into core validates every field and returns a
//!   [`ProtoError`] that names the bad one.
//! - [`decode_event`] and [`encode_event`]: bytes to a core event and back.

pub mod pb {
    //! Types generated from `proto/dcs/v1/*.proto` (package `dcs.v1`).
    #![allow(missing_docs, clippy::all, clippy::pedantic)]
    include!(concat!(env!("OUT_DIR"), "/dcs.v1.rs"));
}

mod codec;
mod convert;
mod error;
mod event;
mod limits;

pub use codec::{
    MAX_MESSAGE_LEN, decode_event, decode_event_with_proofs, decode_message, encode_event,
    encode_event_with_proofs,
};
pub use error::ProtoError;
pub use event::{EventWithProofs, MAX_PROOF_SYSTEM_LEN, MAX_STATEMENT_ID_LEN};
pub use limits::{MAX_COMPLIANCE_PROOFS, MAX_VECTOR_CLOCK_ENTRIES};
