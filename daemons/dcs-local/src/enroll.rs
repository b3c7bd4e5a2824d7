//! Operator commands that register who may use the store: `till add` (a self-sealing browser
//! till and its enrollment code), `terminal cert` (a terminal's client certificate, by its
//! SHA-256) and `cashier add` (a cashier and the argon2id hash of their PIN). Each edits files
//! in the data directory; a running daemon reads them at its next start.

use argon2::password_hash::{PasswordHasher, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use dcs_core::AgentId;
use dcs_core::event::SignatureAlgorithm;
use dcs_crypto::{Signer, TillEnrollment};
use dcs_daemon::files::{self, Access};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::config::DataDir;
use crate::error::{LocalError, Result};
use crate::identity::{TerminalEntry, TerminalsFile, hex, token_digest};

/// Shortest PIN accepted.
const MIN_PIN_LEN: usize = 4;

/// One entry of `cashiers.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CashierEntry {
    /// The cashier's agent id.
    pub id: String,
    /// The name tills show.
    pub name: String,
    /// argon2id PHC string of the PIN.
    pub pin_argon2: String,
}

/// `cashiers.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CashiersFile {
    /// The cashiers.
    #[serde(default, rename = "cashier")]
    pub cashiers: Vec<CashierEntry>,
}

impl CashiersFile {
    /// Reads the file of `dir`; none is an empty list.
    pub fn read(dir: &DataDir) -> Result<Self> {
        let path = dir.cashiers();
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .map_err(|e| LocalError::Setup(format!("{}: {}", path.display(), e.message()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(LocalError::file(&path, &e)),
        }
    }
}

/// The store's signing key, made on first use.
pub fn store_signer(dir: &DataDir) -> Result<Signer> {
    let path = dir.store_key();
    if !path.exists() {
        let signer = Signer::generate(SignatureAlgorithm::Ed25519, &mut OsRng);
        files::write_new(&path, &signer.to_key_bytes(), Access::Private)?;
    }
    let bytes = crate::identity::read_secret(&path)?;
    Signer::from_key_bytes(&bytes)
        .map_err(|e| LocalError::Setup(format!("{}: {e}", path.display())))
}

fn read_terminals(dir: &DataDir) -> Result<TerminalsFile> {
    let path = dir.terminals();
    let text = std::fs::read_to_string(&path).map_err(|e| LocalError::file(&path, &e))?;
    toml::from_str(&text)
        .map_err(|e| LocalError::Setup(format!("{}: {}", path.display(), e.message())))
}

fn write_toml<T: Serialize>(path: &std::path::Path, header: &str, value: &T) -> Result<()> {
    let text = toml::to_string(value)
        .map_err(|e| LocalError::Setup(format!("cannot write {}: {e}", path.display())))?;
    Ok(files::write(path, format!("{header}\n{text}").as_bytes(), Access::Shared)?)
}

/// Registers self-sealing till `id` in `terminals.toml` and returns its enrollment code: the
/// till's token and signing key and the store's public key. Shown once; never stored.
pub fn add_till(dir: &DataDir, id: &str) -> Result<Zeroizing<String>> {
    let agent = AgentId::new(id).map_err(|e| LocalError::Invalid(format!("--id: {e}")))?;
    let mut terminals = read_terminals(dir)?;
    if terminals.terminals.iter().any(|t| t.id == id) {
        return Err(LocalError::Invalid(format!(
            "--id: terminal {id} exists already; choose another id"
        )));
    }
    let store = store_signer(dir)?;
    let signer = Signer::generate(SignatureAlgorithm::Ed25519, &mut OsRng);
    let token = crate::init::token();
    terminals.terminals.push(TerminalEntry {
        id: id.into(),
        token_sha256: hex(&token_digest(&token)),
        algorithm: "ed25519".into(),
        public_key: B64.encode(signer.verifier().to_bytes()),
        self_sealing: true,
        cert_sha256: None,
    });
    let enrollment = TillEnrollment {
        agent,
        token,
        signing_key: signer.to_key_bytes().to_vec(),
        store_key: store.verifier().to_bytes(),
    };
    let code = enrollment.to_code().map_err(|e| LocalError::Setup(e.to_string()))?;
    write_toml(
        &dir.terminals(),
        "# Terminals of this store. Tokens are stored as SHA-256 only.",
        &terminals,
    )?;
    Ok(code)
}

/// Where `terminal cert` takes the terminal's certificate from.
#[derive(Debug, Clone, Copy)]
pub enum CertSource<'a> {
    /// Issued now by the development CA in this directory (made if missing).
    DevCa(&'a std::path::Path),
    /// A PEM certificate the deployment's CA issued (its first certificate is the leaf).
    Pem(&'a std::path::Path),
}

/// What `terminal cert` registered.
#[derive(Debug)]
pub struct TerminalCert {
    /// The certificate registered.
    pub cert: std::path::PathBuf,
    /// Its private key, when it was issued here (0600).
    pub key: Option<std::path::PathBuf>,
    /// Hex SHA-256 of its DER, now the terminal's `cert_sha256`.
    pub sha256: String,
    /// Whether it replaced an earlier certificate of the terminal (no longer accepted).
    pub replaced: bool,
}

/// Registers a client certificate for terminal `id` (already in terminals.toml): issued by
/// the development CA into `tls/terminal-ID.crt` and `tls/terminal-ID.key` (0600), or an
/// existing PEM certificate; its SHA-256 becomes the terminal's `cert_sha256`, replacing any
/// earlier one.
pub fn terminal_cert(dir: &DataDir, id: &str, source: CertSource<'_>) -> Result<TerminalCert> {
    AgentId::new(id).map_err(|e| LocalError::Invalid(format!("--id: {e}")))?;
    let mut terminals = read_terminals(dir)?;
    if !terminals.terminals.iter().any(|t| t.id == id) {
        return Err(LocalError::Invalid(format!(
            "--id: no terminal {id} in {}: register it first (`dcs-local init` makes one, \
             `dcs-local till add` adds a till)",
            dir.terminals().display()
        )));
    }
    let (cert, key) = match source {
        CertSource::DevCa(ca_dir) => {
            let ca = dcs_daemon::tls::DevCa::open_or_create(ca_dir)?;
            let (cert_pem, key_pem) = ca.issue_client(id)?;
            files::create_dir(&dir.tls(), Access::Shared)?;
            let cert = dir.tls().join(format!("terminal-{id}.crt"));
            let key = dir.tls().join(format!("terminal-{id}.key"));
            files::write(&key, key_pem.as_bytes(), Access::Private)?;
            files::write(&cert, cert_pem.as_bytes(), Access::Shared)?;
            (cert, Some(key))
        }
        CertSource::Pem(path) => (path.to_path_buf(), None),
    };
    let sha256 = hex(&dcs_daemon::tls::pem_cert_sha256(&cert)?);
    if let Some(other) =
        terminals.terminals.iter().find(|t| t.id != id && t.cert_sha256.as_ref() == Some(&sha256))
    {
        return Err(LocalError::Invalid(format!(
            "{}: this certificate is terminal {}'s already; every terminal needs its own",
            cert.display(),
            other.id
        )));
    }
    let Some(entry) = terminals.terminals.iter_mut().find(|t| t.id == id) else {
        return Err(LocalError::Invalid(format!("--id: no terminal {id}")));
    };
    let replaced = entry.cert_sha256.as_ref().is_some_and(|old| *old != sha256);
    entry.cert_sha256 = Some(sha256.clone());
    write_toml(
        &dir.terminals(),
        "# Terminals of this store. Tokens are stored as SHA-256 only.",
        &terminals,
    )?;
    Ok(TerminalCert { cert, key, sha256, replaced })
}

/// Adds cashier `id` named `name` with `pin` (hashed with argon2id) to `cashiers.toml`.
pub fn add_cashier(dir: &DataDir, id: &str, name: &str, pin: &str) -> Result<()> {
    AgentId::new(id).map_err(|e| LocalError::Invalid(format!("--id: {e}")))?;
    if name.is_empty() || name.len() > dcs_crypto::roster::MAX_FIELD_LEN {
        return Err(LocalError::Invalid("--name: 1 to 256 bytes".into()));
    }
    if pin.len() < MIN_PIN_LEN || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LocalError::Invalid(format!("--pin: at least {MIN_PIN_LEN} digits")));
    }
    let mut file = CashiersFile::read(dir)?;
    if file.cashiers.iter().any(|c| c.id == id) {
        return Err(LocalError::Invalid(format!("--id: cashier {id} exists already")));
    }
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2::Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map_err(|e| LocalError::Setup(format!("cannot hash the PIN: {e}")))?
        .to_string();
    file.cashiers.push(CashierEntry { id: id.into(), name: name.into(), pin_argon2: hash });
    write_toml(
        &dir.cashiers(),
        "# Cashiers of this store; PINs are stored as argon2id hashes only.",
        &file,
    )
}
