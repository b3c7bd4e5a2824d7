//! The bearer token of a daemon's operator routes on its admin port (`/admin/...`): made by
//! `init` into a 0600 file of the data directory, read by the daemon (which keeps only its
//! SHA-256) and by the daemon's own CLI on the same host. Requests without it get 401.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand_core::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{DaemonError, Result};
use crate::files::{self, Access};

/// What the daemon checks requests against.
#[derive(Clone)]
pub struct AdminToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.trim().as_bytes()).into()
}

impl AdminToken {
    /// Writes a fresh random token to `path` (0600; refuses to overwrite).
    ///
    /// # Errors
    /// [`DaemonError::File`] when the file exists or cannot be written.
    pub fn create(path: &Path) -> Result<()> {
        let mut raw = Zeroizing::new([0u8; 32]);
        rand_core::OsRng.fill_bytes(raw.as_mut());
        let token = Zeroizing::new(B64.encode(raw.as_ref()));
        files::write_new(path, token.as_bytes(), Access::Private)
    }

    /// Reads the token file at `path` (the CLI sends it).
    ///
    /// # Errors
    /// [`DaemonError::File`] naming the file.
    pub fn read_secret(path: &Path) -> Result<Zeroizing<String>> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| DaemonError::File { path: path.to_path_buf(), reason: e.to_string() })?;
        Ok(Zeroizing::new(text.trim().to_string()))
    }

    /// The daemon's check for the token in `path`.
    ///
    /// # Errors
    /// [`DaemonError::File`] naming the file.
    pub fn load(path: &Path) -> Result<Self> {
        Ok(AdminToken { digest: digest(&Self::read_secret(path)?) })
    }

    /// Whether an `Authorization` header value carries the token (`Bearer …`); the
    /// comparison is of SHA-256 digests, so its timing says nothing about the token.
    pub fn allows(&self, authorization: Option<&str>) -> bool {
        authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .is_some_and(|t| digest(t) == self.digest)
    }
}
