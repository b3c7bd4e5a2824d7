//! The error type of dcs-core.

use alloc::string::String;

/// Everything that can go wrong in the event model and the commerce domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// An identifier failed validation; `field` names which one.
    #[error("invalid {field}: {reason}")]
    InvalidId {
        /// The field that holds the identifier (e.g. `tenant_id`).
        field: &'static str,
        /// What is wrong and what a valid value looks like.
        reason: String,
    },
    /// A field of an event or a domain object failed validation.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The field that failed.
        field: &'static str,
        /// What is wrong and what a valid value looks like.
        reason: String,
    },
    /// A required field was not set on a builder.
    #[error("missing {0}: set it on the builder before build()")]
    MissingField(&'static str),
    /// A currency code is not a known ISO-4217 code.
    #[error("unknown currency {0:?}: use an ISO-4217 code such as \"USD\", \"JPY\" or \"KWD\"")]
    UnknownCurrency(String),
    /// Two amounts in different currencies were combined.
    #[error("currency mismatch: {left} vs {right}; convert explicitly before combining amounts")]
    CurrencyMismatch {
        /// The currency of the left operand.
        left: String,
        /// The currency of the right operand.
        right: String,
    },
    /// Integer arithmetic on money or quantities overflowed.
    #[error("arithmetic overflow in {0}: the amount is outside the i64 minor-unit range")]
    Overflow(&'static str),
    /// A remote HLC timestamp is further ahead of the local wall clock than allowed.
    #[error(
        "remote clock is {ahead_ms} ms ahead of local time, more than the allowed drift of {max_ms} ms: check NTP on both agents"
    )]
    ClockDrift {
        /// How far ahead the remote timestamp is, in milliseconds.
        ahead_ms: u64,
        /// The configured maximum drift, in milliseconds.
        max_ms: u64,
    },
    /// A domain rule was broken (e.g. refunding more than was sold).
    #[error("{0}")]
    Rule(String),
    /// Bytes could not be decoded.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// Why decoding failed.
        reason: String,
    },
}

/// Result alias for dcs-core.
pub type Result<T, E = CoreError> = core::result::Result<T, E>;
