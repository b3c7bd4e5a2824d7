//! The store's keys and its registered terminals, loaded from the data directory.
//!
//! - `keys/keyring.dcsk`: the tenant's KEKs (a `dcs-keys` keyring file, 0600).
//! - `keys/mac.key`: the tenant's HMAC-SHA512 key (0600).
//! - `terminals.toml`: one entry per terminal: its id, the SHA-256 of its bearer token, and
//!   its public key. A thin terminal's signing key is held by the daemon in
//!   `keys/terminal-ID.key` (0600); a self-sealing terminal keeps its own and only its public
//!   key is here.

use std::collections::BTreeMap;
use std::path::Path;

use dcs_core::AgentId;
use dcs_crypto::{KeyRegistry, MacKey, Signer};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::config::DataDir;
use crate::error::{LocalError, Result};

pub use dcs_daemon::terminals::{TerminalEntry, TerminalsFile};

/// A registered terminal, authenticated.
#[derive(Debug, Clone)]
pub struct TerminalIdentity {
    /// Its agent id.
    pub agent: AgentId,
    /// Whether it seals its own events.
    pub self_sealing: bool,
}

/// Everything secret and public the daemon seals and verifies with.
pub struct Identity {
    /// The tenant's KEKs (the configured provider).
    pub keyring: Box<dyn crate::keys::Provider>,
    /// The tenant's MAC key.
    pub mac: MacKey,
    /// Public keys of every terminal (for verifying).
    pub registry: KeyRegistry,
    /// Token digest → terminal.
    by_token: BTreeMap<[u8; 32], TerminalIdentity>,
    /// Signing keys of the thin terminals.
    signers: BTreeMap<String, Signer>,
    /// The cashier list in its canonical bytes and the store's signature over them.
    pub cashiers: (Vec<u8>, Vec<u8>),
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").field("terminals", &self.by_token.len()).finish()
    }
}

/// The SHA-256 digest of a bearer token.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Reads a secret file, refusing one readable by group or others.
pub fn read_secret(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| LocalError::file(path, &e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(LocalError::Setup(format!(
                "{}: a key file readable by group or others is refused: chmod 600 it",
                path.display()
            )));
        }
    }
    std::fs::read(path).map(Zeroizing::new).map_err(|e| LocalError::file(path, &e))
}

impl Identity {
    /// Loads the keys and terminals of `dir`, the KEKs from the configured provider.
    pub fn load(
        dir: &DataDir,
        keys: &crate::keys::KeysSection,
        tenant: &str,
        branch: &str,
    ) -> Result<Self> {
        let keyring = crate::keys::open(dir, keys)?;
        let mac = MacKey::from_bytes(&read_secret(&dir.mac_key())?)
            .map_err(|e| LocalError::Setup(format!("{}: {e}", dir.mac_key().display())))?;
        let text = std::fs::read_to_string(dir.terminals())
            .map_err(|e| LocalError::file(dir.terminals(), &e))?;
        let file: TerminalsFile = toml::from_str(&text).map_err(|e| {
            LocalError::Setup(format!("{}: {}", dir.terminals().display(), e.message()))
        })?;
        let mut registry = KeyRegistry::new();
        let mut by_token = BTreeMap::new();
        let mut signers = BTreeMap::new();
        for t in file.terminals {
            let (agent, verifier) = t
                .public_key(&dir.terminals())
                .map_err(|e| LocalError::Setup(format!("terminals.toml: {e}")))?;
            let digest = hex_digest(&t.token_sha256).ok_or_else(|| {
                LocalError::Setup(format!(
                    "terminals.toml: {}: token_sha256 must be 64 hex digits",
                    t.id
                ))
            })?;
            if !t.self_sealing {
                let path = dir.terminal_key(&t.id);
                let signer = Signer::from_key_bytes(&read_secret(&path)?)
                    .map_err(|e| LocalError::Setup(format!("{}: {e}", path.display())))?;
                if signer.verifier().to_bytes() != verifier.to_bytes() {
                    return Err(LocalError::Setup(format!(
                        "{}: the key does not match the public key in terminals.toml",
                        path.display()
                    )));
                }
                signers.insert(t.id.clone(), signer);
            }
            registry.register(&agent, verifier);
            by_token.insert(digest, TerminalIdentity { agent, self_sealing: t.self_sealing });
        }
        let store = crate::enroll::store_signer(dir)?;
        let cashiers = signed_cashiers(dir, &store, tenant, branch)?;
        Ok(Self { keyring, mac, registry, by_token, signers, cashiers })
    }

    /// The terminal holding `token`, if any.
    pub fn authenticate(&self, token: &str) -> Option<&TerminalIdentity> {
        self.by_token.get(&token_digest(token))
    }

    /// The signing key the daemon holds for thin terminal `id`.
    pub fn signer(&self, id: &str) -> Option<&Signer> {
        self.signers.get(id)
    }

    /// The ids of the terminals whose keys the daemon holds.
    pub fn thin_terminals(&self) -> impl Iterator<Item = &str> {
        self.signers.keys().map(String::as_str)
    }
}

/// The store's cashier list from `cashiers.toml`, signed by `store`.
fn signed_cashiers(
    dir: &DataDir,
    store: &Signer,
    tenant: &str,
    branch: &str,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let file = crate::enroll::CashiersFile::read(dir)?;
    let setup = |e: String| LocalError::Setup(format!("{}: {e}", dir.cashiers().display()));
    let mut cashiers = Vec::with_capacity(file.cashiers.len());
    for c in file.cashiers {
        cashiers.push(dcs_crypto::Cashier {
            id: AgentId::new(&c.id).map_err(|e| setup(e.to_string()))?,
            name: c.name,
            pin_hash: c.pin_argon2,
        });
    }
    let list = dcs_crypto::CashierList {
        tenant: dcs_core::TenantId::new(tenant).map_err(|e| setup(e.to_string()))?,
        branch: dcs_core::BranchId::new(branch).map_err(|e| setup(e.to_string()))?,
        issued_unix_ms: crate::desk::now_ms(),
        cashiers,
    };
    list.sign(store).map_err(|e| setup(e.to_string()))
}

fn hex_digest(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
