//! What can go wrong running the demo, each saying what to do.

use std::path::PathBuf;

/// A demo error.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A daemon binary is missing and could not be built.
    #[error(
        "{0} is not built: run `cargo build --release -p dcs-local -p dcs-regional -p dcs-master`"
    )]
    Missing(PathBuf),
    /// A command the demo runs failed.
    #[error("{command} failed: {reason}")]
    Command {
        /// The command line.
        command: String,
        /// Its output or error.
        reason: String,
    },
    /// A file of the demo directory.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A daemon did not come up or answer.
    #[error("{0}")]
    Daemon(String),
    /// A bad argument.
    #[error("{0}")]
    Usage(String),
}

/// `Result` with [`DemoError`].
pub type Result<T, E = DemoError> = std::result::Result<T, E>;

/// A file error naming the file.
pub fn file(path: &std::path::Path, e: impl std::fmt::Display) -> DemoError {
    DemoError::File { path: path.to_path_buf(), reason: e.to_string() }
}
