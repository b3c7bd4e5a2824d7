//! The store's keys and its registered terminals, loaded from the data directory.
//!
//! - `keys/keyring.dcsk`: the tenant's KEKs (a `dcs-keys` keyring file, 0600).
//! - `keys/mac.key`: the tenant's HMAC-SHA512 key (0600).
//! - `terminals.toml`: one entry per terminal: its id, the SHA-256 of its bearer token, its
//!   public key, and optionally the SHA-256 of its client certificate (`cert_sha256`). A thin
//!   terminal's signing key is held by the daemon in `keys/terminal-ID.key` (0600); a
//!   self-sealing terminal keeps its own and only its public key is here.

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

/// Why a request's terminal is not let in (each a gRPC `UNAUTHENTICATED`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Neither a token nor a client certificate.
    #[error(
        "no terminal token: send `authorization: Bearer <token>`, or connect over TLS with the \
         terminal's client certificate"
    )]
    NoCredentials,
    /// The `authorization` header is not `Bearer <token>`.
    #[error("authorization must be `Bearer <token>`")]
    BadHeader,
    /// No terminal holds the token.
    #[error("unknown terminal token")]
    UnknownToken,
    /// The CA issued the client certificate, but no terminal is registered with it.
    #[error(
        "client certificate sha256:{digest_prefix}… is not registered to any terminal: \
         register it with `dcs-local terminal cert` and restart the daemon, or connect without it"
    )]
    UnregisteredCertificate {
        /// The first 16 hex digits of the certificate's SHA-256.
        digest_prefix: String,
    },
    /// The client certificate and the token are two different terminals'.
    #[error(
        "the client certificate is terminal {cert}'s but the bearer token is terminal {token}'s: \
         send one terminal's credentials"
    )]
    Mismatch {
        /// The terminal of the certificate.
        cert: String,
        /// The terminal of the token.
        token: String,
    },
}

impl AuthError {
    /// A short label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::NoCredentials => "no_credentials",
            AuthError::BadHeader => "bad_header",
            AuthError::UnknownToken => "unknown_token",
            AuthError::UnregisteredCertificate { .. } => "unregistered_certificate",
            AuthError::Mismatch { .. } => "mismatch",
        }
    }
}

/// What terminals authenticate with: their tokens' and client certificates' SHA-256 digests.
#[derive(Debug, Default)]
pub struct Credentials {
    by_token: BTreeMap<[u8; 32], TerminalIdentity>,
    by_cert: BTreeMap<[u8; 32], TerminalIdentity>,
}

impl Credentials {
    /// Registers `terminal` with its token digest and, if any, its certificate digest.
    ///
    /// # Errors
    /// `Setup` when another terminal has the same token or certificate.
    pub fn insert(
        &mut self,
        terminal: TerminalIdentity,
        token: [u8; 32],
        cert: Option<[u8; 32]>,
    ) -> Result<()> {
        let id = terminal.agent.as_str().to_string();
        if let Some(other) = self.by_token.get(&token) {
            return Err(LocalError::Setup(format!(
                "terminals.toml: terminals {} and {id} have the same token_sha256: every \
                 terminal needs its own token",
                other.agent.as_str()
            )));
        }
        if let Some(cert) = cert {
            if let Some(other) = self.by_cert.get(&cert) {
                return Err(LocalError::Setup(format!(
                    "terminals.toml: terminals {} and {id} have the same cert_sha256: issue {id} \
                     its own certificate (`dcs-local terminal cert --id {id}`)",
                    other.agent.as_str()
                )));
            }
            self.by_cert.insert(cert, terminal.clone());
        }
        self.by_token.insert(token, terminal);
        Ok(())
    }

    /// How many terminals are registered.
    pub fn len(&self) -> usize {
        self.by_token.len()
    }

    /// The terminal a request comes from: by the leaf of its verified client certificate
    /// (`leaf`, DER) if it presented one, else by the `authorization: Bearer` header. A
    /// certificate no terminal is registered with is refused, and so are a certificate and a
    /// token of two different terminals, or a token no terminal holds.
    ///
    /// # Errors
    /// [`AuthError`] naming what is wrong.
    pub fn authenticate(
        &self,
        leaf: Option<&[u8]>,
        authorization: Option<&[u8]>,
    ) -> std::result::Result<&TerminalIdentity, AuthError> {
        let by_cert = match leaf {
            Some(der) => {
                let digest = dcs_daemon::tls::cert_sha256(der);
                let found = self.by_cert.get(&digest).ok_or_else(|| {
                    AuthError::UnregisteredCertificate { digest_prefix: hex(&digest[..8]) }
                })?;
                Some(found)
            }
            None => None,
        };
        let by_token = match authorization {
            Some(header) => {
                let token = std::str::from_utf8(header)
                    .ok()
                    .and_then(|h| h.strip_prefix("Bearer "))
                    .ok_or(AuthError::BadHeader)?;
                Some(self.by_token.get(&token_digest(token)).ok_or(AuthError::UnknownToken)?)
            }
            None => None,
        };
        match (by_cert, by_token) {
            (Some(c), Some(t)) if c.agent != t.agent => Err(AuthError::Mismatch {
                cert: c.agent.as_str().to_string(),
                token: t.agent.as_str().to_string(),
            }),
            (Some(found), _) | (None, Some(found)) => Ok(found),
            (None, None) => Err(AuthError::NoCredentials),
        }
    }
}

/// Everything secret and public the daemon seals and verifies with.
pub struct Identity {
    /// The tenant's KEKs (the configured provider).
    pub keyring: Box<dyn crate::keys::Provider>,
    /// The tenant's MAC key.
    pub mac: MacKey,
    /// Public keys of every terminal (for verifying).
    pub registry: KeyRegistry,
    /// Token and certificate digests → terminal.
    pub credentials: Credentials,
    /// Signing keys of the thin terminals.
    signers: BTreeMap<String, Signer>,
    /// The cashier list in its canonical bytes and the store's signature over them.
    pub cashiers: (Vec<u8>, Vec<u8>),
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").field("terminals", &self.credentials.len()).finish()
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
        let mut credentials = Credentials::default();
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
            let cert = match &t.cert_sha256 {
                Some(text) => Some(hex_digest(text).ok_or_else(|| {
                    LocalError::Setup(format!(
                        "terminals.toml: {}: cert_sha256 must be 64 hex digits (the SHA-256 of the \
                         certificate's DER; `dcs-local terminal cert` writes it)",
                        t.id
                    ))
                })?),
                None => None,
            };
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
            credentials.insert(
                TerminalIdentity { agent, self_sealing: t.self_sealing },
                digest,
                cert,
            )?;
        }
        let store = crate::enroll::store_signer(dir)?;
        let cashiers = signed_cashiers(dir, &store, tenant, branch)?;
        Ok(Self { keyring, mac, registry, credentials, signers, cashiers })
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

/// The 32 bytes of a 64-digit hex digest.
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn terminal(id: &str) -> TerminalIdentity {
        TerminalIdentity { agent: AgentId::new(id).unwrap(), self_sealing: false }
    }

    fn credentials() -> Credentials {
        let mut c = Credentials::default();
        let a_cert = dcs_daemon::tls::cert_sha256(b"cert of a");
        c.insert(terminal("a"), token_digest("token-a"), Some(a_cert)).unwrap();
        c.insert(terminal("b"), token_digest("token-b"), None).unwrap();
        c
    }

    fn who(
        c: &Credentials,
        cert: Option<&[u8]>,
        header: Option<&str>,
    ) -> std::result::Result<String, AuthError> {
        c.authenticate(cert, header.map(str::as_bytes)).map(|t| t.agent.as_str().to_string())
    }

    #[test]
    fn a_certificate_or_a_token_names_the_terminal() {
        let c = credentials();
        assert_eq!(who(&c, Some(b"cert of a"), None).unwrap(), "a");
        assert_eq!(who(&c, None, Some("Bearer token-b")).unwrap(), "b");
        // Both, of the same terminal: fine.
        assert_eq!(who(&c, Some(b"cert of a"), Some("Bearer token-a")).unwrap(), "a");
    }

    #[test]
    fn what_names_no_terminal_or_two_is_refused() {
        let c = credentials();
        assert_eq!(who(&c, None, None).unwrap_err(), AuthError::NoCredentials);
        assert_eq!(who(&c, None, Some("token-a")).unwrap_err(), AuthError::BadHeader);
        assert_eq!(who(&c, None, Some("Bearer nope")).unwrap_err(), AuthError::UnknownToken);
        let stranger = who(&c, Some(b"someone else"), Some("Bearer token-b")).unwrap_err();
        let digest = hex(&dcs_daemon::tls::cert_sha256(b"someone else"));
        assert!(stranger.to_string().contains(&digest[..16]), "{stranger}");
        assert!(matches!(stranger, AuthError::UnregisteredCertificate { .. }));
        let two = who(&c, Some(b"cert of a"), Some("Bearer token-b")).unwrap_err();
        assert_eq!(two, AuthError::Mismatch { cert: "a".into(), token: "b".into() });
        // A good certificate does not excuse a wrong token.
        let wrong = who(&c, Some(b"cert of a"), Some("Bearer nope")).unwrap_err();
        assert_eq!(wrong, AuthError::UnknownToken);
    }

    #[test]
    fn two_terminals_cannot_share_a_certificate_or_a_token() {
        let mut c = credentials();
        let a_cert = dcs_daemon::tls::cert_sha256(b"cert of a");
        let e = c.insert(terminal("c"), token_digest("token-c"), Some(a_cert)).unwrap_err();
        assert!(e.to_string().contains("terminals a and c have the same cert_sha256"), "{e}");
        let e = c.insert(terminal("d"), token_digest("token-b"), None).unwrap_err();
        assert!(e.to_string().contains("same token_sha256"), "{e}");
    }
}
