//! The error of every conversion into dcs-core: it names the field that is wrong.

use dcs_core::CoreError;

/// Why a protobuf message is not a valid dcs-core value; every variant but the whole-message
/// ones names the field (a dotted path such as `causality.hlc.node`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtoError {
    /// A required message field is absent.
    #[error("{field}: missing")]
    Missing {
        /// The path of the absent field.
        field: String,
    },
    /// A bytes field has the wrong length.
    #[error("{field}: expected {expected} bytes, got {got}")]
    WrongLength {
        /// The path of the field.
        field: String,
        /// The required length.
        expected: usize,
        /// The length received.
        got: usize,
    },
    /// A field's value breaks a rule of the contract.
    #[error("{field}: {reason}")]
    Invalid {
        /// The path of the field.
        field: String,
        /// What is wrong and what a valid value looks like.
        reason: String,
    },
    /// dcs-core rejected the field's value.
    #[error("{field}: {}", core_reason(.source))]
    Core {
        /// The path of the field.
        field: String,
        /// What dcs-core said.
        source: CoreError,
    },
    /// The encoded message is larger than [`MAX_MESSAGE_LEN`](crate::MAX_MESSAGE_LEN).
    #[error("message: {len} bytes is more than the maximum of {max} bytes")]
    TooLarge {
        /// The length received.
        len: usize,
        /// The maximum accepted.
        max: usize,
    },
    /// The bytes are not a protobuf encoding of the message (prost names the field it was in).
    #[error("message: not a valid protobuf encoding: {0}")]
    Decode(#[from] prost::DecodeError),
    /// A sync envelope of a protocol version this build does not speak (answer it with
    /// [`crate::sync_refusal`]).
    #[error(
        "version: peer speaks sync protocol version {got}, this node supports up to \
         {supported}: upgrade this node, or run the peer at version {supported}"
    )]
    UnsupportedVersion {
        /// The version received.
        got: u32,
        /// The highest version this build speaks.
        supported: u8,
    },
}

/// The reason of a core error without its own `invalid <field>:` prefix, which
/// [`ProtoError`] replaces by the full path.
fn core_reason(error: &CoreError) -> String {
    match error {
        CoreError::InvalidId { reason, .. } | CoreError::InvalidField { reason, .. } => {
            reason.clone()
        }
        other => other.to_string(),
    }
}

impl ProtoError {
    /// The path of the bad field, or `None` when the whole message is at fault.
    pub fn field(&self) -> Option<&str> {
        match self {
            ProtoError::Missing { field }
            | ProtoError::WrongLength { field, .. }
            | ProtoError::Invalid { field, .. }
            | ProtoError::Core { field, .. } => Some(field),
            ProtoError::TooLarge { .. } | ProtoError::Decode(_) => None,
            ProtoError::UnsupportedVersion { .. } => Some("version"),
        }
    }

    /// Puts `prefix.` in front of the field path (used when a message is nested in another).
    pub fn at(mut self, prefix: &str) -> Self {
        if let ProtoError::Missing { field }
        | ProtoError::WrongLength { field, .. }
        | ProtoError::Invalid { field, .. }
        | ProtoError::Core { field, .. } = &mut self
        {
            *field = format!("{prefix}.{field}");
        }
        self
    }

    /// A [`ProtoError::Missing`] for `field`.
    pub(crate) fn missing(field: &str) -> Self {
        ProtoError::Missing { field: field.into() }
    }

    /// A [`ProtoError::Invalid`] for `field`.
    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        ProtoError::Invalid { field: field.into(), reason: reason.into() }
    }

    /// Wraps what dcs-core said about `field`.
    pub(crate) fn core(field: &str) -> impl FnOnce(CoreError) -> Self {
        move |source| ProtoError::Core { field: field.into(), source }
    }
}

/// Takes the field that the core error names (errors of `EventBuilder::build`, whose field
/// names are the protobuf paths: `payload.kek_id`, `audit.mac`, `causality.vector_clock`).
impl From<CoreError> for ProtoError {
    fn from(source: CoreError) -> Self {
        match source {
            CoreError::MissingField(field) => ProtoError::missing(field),
            CoreError::InvalidId { field, .. } | CoreError::InvalidField { field, .. } => {
                ProtoError::Core { field: field.into(), source }
            }
            other => ProtoError::Core { field: "event".into(), source: other },
        }
    }
}
