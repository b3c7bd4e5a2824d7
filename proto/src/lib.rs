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
//! - [`decode_event`] and [`encode_event`]: bytes to a core event and back, with the input
//!   bounded by [`MAX_MESSAGE_LEN`] and the repeated fields counted before they are decoded
//!   ([`MAX_VECTOR_CLOCK_ENTRIES`], [`MAX_COMPLIANCE_PROOFS`]).
//! - Sync protocol (`sync.proto`): [`sync_to_pb`] / [`sync_from_pb`] and [`encode_sync`] /
//!   [`decode_sync`] between dcs-sync's messages and [`pb::SyncEnvelope`]; a newer protocol
//!   version is [`ProtoError::UnsupportedVersion`], answered with [`sync_refusal`].
//! - POS service (`pos.proto`): [`pos`] turns each `PosService` request into a validated
//!   command ([`pos::SubmitSale`], [`pos::SubmitRefund`], …) or a [`ProtoError`] naming the
//!   field, with every list and text bounded.
//! - [`EventWithProofs`]: a core event with the zero-knowledge compliance proofs carried
//!   (opaque) in its payload, which the core event itself does not hold.
//!
//! ```
//! use dcs_proto::{ProtoError, pb};
//!
//! // Conversions into core check every field and name the first bad one.
//! let message = pb::SovereignFinancialEvent { event_id: vec![7; 3], ..Default::default() };
//! let err = dcs_core::SovereignFinancialEvent::try_from(message).unwrap_err();
//! assert_eq!(err.field(), Some("event_id"));
//! assert_eq!(err.to_string(), "event_id: expected 16 bytes, got 3");
//!
//! // Bytes that are not protobuf are a decode error, not a panic.
//! let err = dcs_proto::decode_event(&[0x0a, 0x7f]).unwrap_err();
//! assert!(matches!(err, ProtoError::Decode(_)));
//! ```

pub mod pb {
    //! Types generated from `proto/dcs/v1/*.proto` (package `dcs.v1`).
    #![allow(missing_docs, clippy::all, clippy::pedantic)]
    include!(concat!(env!("OUT_DIR"), "/dcs.v1.rs"));
}

mod codec;
mod convert;
mod error;
mod event;
pub mod grpc_codec;
mod limits;
pub mod pos;
mod sync;

pub use codec::{
    MAX_MESSAGE_LEN, decode_event, decode_event_with_proofs, decode_message, encode_event,
    encode_event_with_proofs,
};
pub use error::ProtoError;
pub use event::{EventWithProofs, MAX_PROOF_SYSTEM_LEN, MAX_STATEMENT_ID_LEN};
pub use limits::{MAX_COMPLIANCE_PROOFS, MAX_VECTOR_CLOCK_ENTRIES};
pub use sync::{
    MAX_SYNC_MESSAGE_LEN, decode_sync, encode_sync, sync_from_pb, sync_refusal, sync_to_pb,
};
