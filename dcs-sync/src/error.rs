//! Errors of the sync machines and the wire codec.

use alloc::string::String;

use crate::messages::NodeId;

/// What went wrong, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// The buffer was empty.
    #[error("empty message: a sync message starts with its protocol version byte")]
    Empty,
    /// The buffer is larger than any message may be.
    #[error("message of {len} bytes is over the {max}-byte limit: send smaller batches")]
    TooLarge {
        /// Length received.
        len: usize,
        /// Largest length accepted.
        max: usize,
    },
    /// The peer speaks a protocol version this node does not know.
    #[error(
        "peer speaks sync protocol version {got}, this node supports up to {supported}: \
         upgrade this node, or run the peer at version {supported}"
    )]
    UnsupportedVersion {
        /// Version byte received.
        got: u8,
        /// Highest version this build speaks.
        supported: u8,
    },
    /// The bytes are not a message of the announced version.
    #[error(
        "malformed sync message ({0}): the bytes are not a postcard-encoded message of this version"
    )]
    Decode(String),
    /// Bytes were left after the message.
    #[error("{0} trailing bytes after the message: the sender framed it wrongly")]
    Trailing(usize),
    /// A CRDT payload broke an invariant.
    #[error("invalid CRDT payload: {0}; the sender's state is corrupt or it speaks another format")]
    Crdt(String),
    /// A message could not be encoded.
    #[error("cannot encode the message: {0}")]
    Encode(String),
    /// A message came from a node that is not configured as a peer.
    #[error(
        "message from {0}, which is not a configured peer of this machine: add it to the config"
    )]
    UnknownPeer(NodeId),
    /// An event of another branch was appended to a store's outbox.
    #[error(
        "event of branch {got} appended to the outbox of branch {expected}: route it to its own store"
    )]
    WrongBranch {
        /// The machine's branch.
        expected: String,
        /// The event's branch.
        got: String,
    },
    /// A domain value could not be turned into a CRDT change.
    #[error("cannot derive the CRDT change of the event: {0}")]
    Domain(String),
    /// The host reported a different number of outcomes than the batches had accepted items.
    #[error(
        "the store reported {got} outcomes for {expected} accepted items: report one outcome per \
         WriteOp::Accept of the confirmed batches, in order"
    )]
    Outcomes {
        /// Accepted items in the confirmed batches.
        expected: usize,
        /// Outcomes reported.
        got: usize,
    },
    /// An outbox position was not the next one.
    #[error(
        "outbox position {got} appended where {expected} was next: tell the machine of every \
         store append, in the store's order"
    )]
    OutOfOrder {
        /// The next position.
        expected: u64,
        /// The position given.
        got: u64,
    },
    /// The peer refused our messages.
    #[error("{peer} refused our messages ({reason}); it supports protocol version {supported}")]
    Refused {
        /// Who refused.
        peer: NodeId,
        /// Its reason.
        reason: String,
        /// The version it supports.
        supported: u8,
    },
}

/// Why a verifier refused an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The MAC does not match the event.
    #[error("MAC mismatch: the event was altered after it was sealed, or sealed with another key")]
    BadMac,
    /// The signature does not verify.
    #[error("signature does not verify: the event was altered or signed by an unknown key")]
    BadSignature,
    /// Any other refusal.
    #[error("event refused: {0}")]
    Other(String),
}
