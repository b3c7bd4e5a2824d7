//! The daemon's errors, and how each becomes a gRPC status a terminal can act on.

use std::path::Path;

use dcs_store::StoreError;
use tonic::Status;

/// What stops the daemon from starting, or fails one request.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The data directory, a key file or the config is unusable.
    #[error("setup: {0}")]
    Setup(String),
    /// The daemon plumbing failed (config, TLS, a port).
    #[error(transparent)]
    Daemon(#[from] dcs_daemon::DaemonError),
    /// The request is malformed; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// A rule of the domain refuses the request (a closed session, an over-refund).
    #[error("{0}")]
    Refused(String),
    /// No terminal, or an unknown one.
    #[error("{0}")]
    Unauthenticated(String),
    /// The master revoked the terminal (or the agent that made the event): nothing stored.
    #[error("{0}")]
    Revoked(String),
    /// The event store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Sealing, verifying or opening failed.
    #[error(transparent)]
    Crypto(#[from] dcs_crypto::CryptoError),
}

impl LocalError {
    /// A file error with the path.
    pub fn file(path: impl AsRef<Path>, e: &std::io::Error) -> Self {
        LocalError::Setup(format!("{}: {e}", path.as_ref().display()))
    }
}

/// Result alias of the daemon.
pub type Result<T, E = LocalError> = std::result::Result<T, E>;

impl From<dcs_proto::ProtoError> for LocalError {
    fn from(e: dcs_proto::ProtoError) -> Self {
        LocalError::Invalid(e.to_string())
    }
}

impl From<dcs_core::CoreError> for LocalError {
    fn from(e: dcs_core::CoreError) -> Self {
        use dcs_core::CoreError as C;
        match e {
            C::Rule(_) | C::CurrencyMismatch { .. } => LocalError::Refused(e.to_string()),
            _ => LocalError::Invalid(e.to_string()),
        }
    }
}

impl From<LocalError> for Status {
    fn from(e: LocalError) -> Status {
        let msg = e.to_string();
        match e {
            LocalError::Invalid(_) => Status::invalid_argument(msg),
            LocalError::Refused(_) => Status::failed_precondition(msg),
            LocalError::Unauthenticated(_) => Status::unauthenticated(msg),
            LocalError::Revoked(_) => Status::permission_denied(msg),
            LocalError::Store(s) => match s {
                StoreError::DiskFull => Status::unavailable(format!(
                    "the store's disk is full: nothing was stored; the sale can be retried once space is freed ({msg})"
                )),
                StoreError::Locked => Status::unavailable(msg),
                StoreError::ReadOnly { .. } | StoreError::ReadOnlyFilesystem { .. } => {
                    Status::unavailable(format!(
                        "the store's data directory is read-only: nothing was stored; the sale can be retried once it is writable again ({msg})"
                    ))
                }
                StoreError::Conflict { .. } => Status::aborted(msg),
                StoreError::IdempotencyKeyReused { .. }
                | StoreError::IdempotencyMismatch { .. } => Status::already_exists(msg),
                StoreError::DuplicateEvent(_) => Status::already_exists(msg),
                StoreError::Invalid { .. } => Status::invalid_argument(msg),
                _ => Status::unavailable(msg),
            },
            LocalError::Crypto(c) => match c {
                dcs_crypto::CryptoError::BadMac
                | dcs_crypto::CryptoError::BadSignature
                | dcs_crypto::CryptoError::MissingMac
                | dcs_crypto::CryptoError::MissingSignature
                | dcs_crypto::CryptoError::UnknownSigner { .. } => Status::unauthenticated(msg),
                _ => Status::failed_precondition(msg),
            },
            LocalError::Setup(_) | LocalError::Daemon(_) => Status::internal(msg),
        }
    }
}
