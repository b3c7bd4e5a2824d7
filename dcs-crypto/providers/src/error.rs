//! [`KeysError`]: what can go wrong in a provider's own operations (files, tokens, HTTP).

use std::path::PathBuf;

use dcs_crypto::CryptoError;

/// Errors of this crate's providers; key-hierarchy errors come through as [`CryptoError`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeysError {
    /// A key-hierarchy error (unknown, retired or destroyed KEK, wrong tenant, ...).
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// Reading or writing the keyring file failed.
    #[error("keyring file {}: {action} failed: {source}", path.display())]
    Io {
        /// The keyring file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The keyring file is readable or writable by its group or by others.
    #[error(
        "keyring file {} has mode {mode:o}: group/others can access it; it holds secret keys, \
         so it was not read. Run `chmod 600 {}` (and check who may have copied it)",
        path.display(), path.display()
    )]
    PermissionsTooOpen {
        /// The keyring file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// `create` found a file already there.
    #[error(
        "keyring file {} already exists; open it with FileKeyring::open (nothing was overwritten)",
        path.display()
    )]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// The file is not a keyring this build reads (corrupt, truncated or another format).
    #[error(
        "{} is not a DCS keyring file ({source}); check the path or restore it from a backup \
         (the file was left untouched)",
        path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why it was refused.
        source: CryptoError,
    },
    /// A provider's configuration is missing or invalid (environment, module path, PIN).
    #[error("{provider} configuration: {reason}")]
    Config {
        /// Which provider.
        provider: &'static str,
        /// What is missing or wrong, and how to fix it.
        reason: String,
    },
}

/// A provider failure as the [`CryptoError::Provider`] the `KeyProvider` trait returns.
#[cfg(any(feature = "pkcs11", feature = "vault"))]
pub(crate) fn provider_error(
    provider: &'static str,
    reason: impl std::fmt::Display,
) -> CryptoError {
    CryptoError::Provider { provider, reason: reason.to_string() }
}

/// `Result` with [`KeysError`].
pub type Result<T, E = KeysError> = std::result::Result<T, E>;
