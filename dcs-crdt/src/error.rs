//! The one error type of the crate.

/// Everything that can go wrong in `dcs-crdt`: refused mutations and rejected input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrdtError {
    /// The input to decode was empty.
    #[error("input is empty: expected a format version byte followed by postcard data")]
    EmptyInput,
    /// The input to decode is longer than [`crate::MAX_INPUT_LEN`].
    #[error(
        "input is {len} bytes, above the limit of {max} bytes: ship deltas instead of the full state, or split the state"
    )]
    InputTooLong {
        /// Length of the rejected input.
        len: usize,
        /// The limit, [`crate::MAX_INPUT_LEN`].
        max: usize,
    },
    /// The version byte names a format this build cannot read.
    #[error(
        "format version {found} is not supported (this build reads version {supported}): upgrade dcs-crdt on the reading side"
    )]
    UnsupportedVersion {
        /// Version byte found in the input.
        found: u8,
        /// Version this build reads and writes.
        supported: u8,
    },
    /// The postcard payload could not be decoded into the requested type.
    #[error(
        "malformed input ({0}): the bytes are truncated, corrupted, or encode a different type than the one requested"
    )]
    Malformed(postcard::Error),
    /// Bytes were left over after a complete value was decoded.
    #[error(
        "{extra} bytes left over after a complete value: the input concatenates values or encodes a different type"
    )]
    TrailingBytes {
        /// Number of unread bytes.
        extra: usize,
    },
    /// Encoding failed (only possible for element types whose `Serialize` fails).
    #[error("could not encode the value ({0}): check the element type's Serialize implementation")]
    Encode(postcard::Error),
    /// An ORMap key is present but has no value (no valid map or delta is like that).
    #[error(
        "a present map key has no value: the sender's state is corrupt, ask it for a fresh full state"
    )]
    KeyWithoutValue,
    /// An ORSet or ORMap entry carries a dot that its causal context does not contain.
    #[error(
        "entry dot (replica {replica}, counter {counter}) is missing from the causal context: the sender's state is corrupt, ask it for a fresh full state"
    )]
    DotOutsideContext {
        /// Replica of the offending dot.
        replica: u64,
        /// Counter of the offending dot.
        counter: u64,
    },
    /// A counter would pass `u64::MAX`.
    #[error(
        "the count of replica {replica} would exceed u64::MAX: split the quantity across replicas or units"
    )]
    Overflow {
        /// Replica whose count would overflow.
        replica: u64,
    },
    /// A bounded-counter replica tried to spend more rights than it holds.
    #[error(
        "replica {replica} holds {available} rights but tried to spend {requested}: get a transfer of rights from a replica that holds them, or refuse the operation"
    )]
    InsufficientRights {
        /// Replica that tried to spend.
        replica: u64,
        /// Amount it tried to decrement or transfer.
        requested: u64,
        /// Rights it holds in its current state.
        available: u128,
    },
    /// A bounded-counter transfer names the same replica on both sides.
    #[error(
        "replica {replica} cannot transfer rights to itself: name a different destination replica"
    )]
    SelfTransfer {
        /// The replica named twice.
        replica: u64,
    },
}
