//! `terminals.toml`: a store's registered terminals and their public keys. The store's
//! daemon writes and reads it (with its tokens); the region reads the public keys of its
//! stores' terminals from the same files to check their events' signatures.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use dcs_core::AgentId;
use dcs_core::event::SignatureAlgorithm;
use dcs_crypto::{KeyRegistry, Verifier};
use serde::{Deserialize, Serialize};

use crate::error::{DaemonError, Result};

/// One entry of `terminals.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminalEntry {
    /// The terminal's agent id (the `agent_id` of its events).
    pub id: String,
    /// Hex SHA-256 of its bearer token (the token itself is shown once, by `init`).
    pub token_sha256: String,
    /// `ed25519` or `ecdsa-p256`.
    pub algorithm: String,
    /// Its public key, base64.
    pub public_key: String,
    /// True when the terminal seals its own events (the daemon holds no key for it).
    #[serde(default)]
    pub self_sealing: bool,
    /// Hex SHA-256 of the DER of the terminal's client certificate, when it may authenticate
    /// by certificate on a POS port with TLS (`dcs-local terminal cert`); none: token only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_sha256: Option<String>,
}

/// `terminals.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminalsFile {
    /// The terminals.
    #[serde(default, rename = "terminal")]
    pub terminals: Vec<TerminalEntry>,
}

fn bad(path: &Path, reason: String) -> DaemonError {
    DaemonError::File { path: path.to_path_buf(), reason }
}

impl TerminalsFile {
    /// Reads and parses the file at `path`.
    ///
    /// # Errors
    /// [`DaemonError::File`] naming the file and what is wrong.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| bad(path, e.to_string()))?;
        toml::from_str(&text).map_err(|e| bad(path, e.message().to_string()))
    }

    /// Registers every terminal's public key into `registry` (`path` names the file in
    /// errors).
    ///
    /// # Errors
    /// [`DaemonError::File`] for an entry with a bad id, algorithm or key.
    pub fn register_into(&self, registry: &mut KeyRegistry, path: &Path) -> Result<()> {
        for t in &self.terminals {
            let (agent, key) = t.public_key(path)?;
            registry.register(&agent, key);
        }
        Ok(())
    }
}

impl TerminalEntry {
    /// The terminal's agent id and public key.
    ///
    /// # Errors
    /// [`DaemonError::File`] naming the entry and what is wrong.
    pub fn public_key(&self, path: &Path) -> Result<(AgentId, Verifier)> {
        let agent = AgentId::new(self.id.clone()).map_err(|e| bad(path, e.to_string()))?;
        let alg = algorithm(&self.algorithm).map_err(|r| bad(path, format!("{}: {r}", self.id)))?;
        let public = B64
            .decode(&self.public_key)
            .map_err(|_| bad(path, format!("{}: public_key is not base64", self.id)))?;
        let key = Verifier::from_bytes(alg, &public)
            .map_err(|e| bad(path, format!("{}: {e}", self.id)))?;
        Ok((agent, key))
    }
}

/// The signature algorithm named `ed25519` or `ecdsa-p256`.
///
/// # Errors
/// A sentence naming the accepted values.
pub fn algorithm(name: &str) -> std::result::Result<SignatureAlgorithm, String> {
    match name {
        "ed25519" => Ok(SignatureAlgorithm::Ed25519),
        "ecdsa-p256" => Ok(SignatureAlgorithm::EcdsaP256Sha256),
        other => Err(format!("algorithm {other:?} is not \"ed25519\" or \"ecdsa-p256\"")),
    }
}
