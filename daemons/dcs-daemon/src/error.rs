//! The error type of the daemon plumbing.

use std::path::PathBuf;

/// Everything that can go wrong setting a daemon up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// The configuration file or an environment override is invalid.
    #[error("configuration {source_name}: {reason}")]
    Config {
        /// The file (or `environment`) the bad value came from.
        source_name: String,
        /// What is wrong, naming the key.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{}: {reason}", path.display())]
    File {
        /// The path.
        path: PathBuf,
        /// What failed and what to do.
        reason: String,
    },
    /// A TLS certificate or key is unusable.
    #[error("TLS: {0}")]
    Tls(String),
    /// An address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// The address.
        addr: String,
        /// The OS error.
        reason: String,
    },
    /// Telemetry could not be installed (a second recorder or subscriber).
    #[error("telemetry: {0}")]
    Telemetry(String),
}

impl DaemonError {
    /// A file error from an I/O error, with a hint.
    pub fn file(path: impl Into<PathBuf>, err: &std::io::Error) -> Self {
        let hint = match err.kind() {
            std::io::ErrorKind::NotFound => "it does not exist",
            std::io::ErrorKind::PermissionDenied => "permission denied: check its owner and mode",
            _ => "cannot be accessed",
        };
        DaemonError::File { path: path.into(), reason: format!("{hint} ({err})") }
    }
}

/// Result alias for the daemon plumbing.
pub type Result<T, E = DaemonError> = std::result::Result<T, E>;
