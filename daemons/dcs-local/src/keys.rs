//! The key provider from `[keys]`: a keyring file in the data directory (the default), Vault
//! or OpenBao Transit, or a PKCS#11 token. Secrets (the Vault token, the token PIN) are read
//! from files only their owner can read, never from the config itself.

use std::path::{Path, PathBuf};

use dcs_crypto::KeyProvider;
use dcs_keys::KekAdmin;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::config::DataDir;
use crate::error::{LocalError, Result};

/// A provider the daemon can seal with and administer.
pub trait Provider: KeyProvider + KekAdmin + Send + Sync {}
impl<T: KeyProvider + KekAdmin + Send + Sync> Provider for T {}

/// Which key provider holds the tenant's KEKs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// `keys/keyring.dcsk` in the data directory (mode 0600).
    #[default]
    File,
    /// HashiCorp Vault or OpenBao Transit: KEKs never leave the server.
    Vault,
    /// A PKCS#11 token (an HSM, SoftHSM2): KEKs never leave the token.
    Pkcs11,
}

/// `[keys]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysSection {
    /// `file`, `vault` or `pkcs11`.
    pub provider: ProviderKind,
    /// Vault: the server, e.g. `https://vault.internal:8200`.
    pub vault_addr: String,
    /// Vault: a file holding the token (0600).
    pub vault_token_file: Option<PathBuf>,
    /// Vault: the Transit mount (default `transit`).
    pub vault_mount: Option<String>,
    /// Vault: how long (ms) the tenant's current KEK is trusted before asking Vault again;
    /// 0 (the default) asks before every seal. A rotation, retirement or shred made elsewhere
    /// is then seen within this time (events sealed meanwhile use the previous version).
    pub vault_current_kek_ttl_ms: u64,
    /// File: how often (ms) the keyring file is looked at for a rotation made by another
    /// process (`dcs-local keys rotate`, or a new copy of the tenant's keys); 0: read once at
    /// start. An event under a KEK version not yet seen rereads it at once.
    pub file_reload_ms: u64,
    /// PKCS#11: the module (e.g. `/usr/lib/softhsm/libsofthsm2.so`).
    pub pkcs11_module: Option<PathBuf>,
    /// PKCS#11: the token label.
    pub pkcs11_token_label: String,
    /// PKCS#11: a file holding the user PIN (0600).
    pub pkcs11_pin_file: Option<PathBuf>,
}

impl Default for KeysSection {
    fn default() -> Self {
        Self {
            provider: ProviderKind::File,
            vault_addr: String::new(),
            vault_token_file: None,
            vault_mount: None,
            vault_current_kek_ttl_ms: 0,
            file_reload_ms: 1_000,
            pkcs11_module: None,
            pkcs11_token_label: String::new(),
            pkcs11_pin_file: None,
        }
    }
}

fn secret_file(what: &str, path: Option<&Path>, dir: &DataDir) -> Result<Zeroizing<String>> {
    let path = path
        .ok_or_else(|| LocalError::Setup(format!("[keys] {what} is required for this provider")))?;
    let path = dir.root.join(path);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(&path).map_err(|e| LocalError::file(&path, &e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(LocalError::Setup(format!(
                "{}: a secret file readable by group or others is refused: chmod 600 it",
                path.display()
            )));
        }
    }
    let text = std::fs::read_to_string(&path).map_err(|e| LocalError::file(&path, &e))?;
    Ok(Zeroizing::new(text.trim().to_string()))
}

/// Opens the configured provider.
pub fn open(dir: &DataDir, keys: &KeysSection) -> Result<Box<dyn Provider>> {
    let setup = |e: dcs_keys::KeysError| LocalError::Setup(format!("[keys] {e}"));
    Ok(match keys.provider {
        ProviderKind::File => {
            let file = dcs_keys::FileKeyring::open(dir.keyring())
                .map_err(|e| LocalError::Setup(format!("{}: {e}", dir.keyring().display())))?;
            Box::new(match keys.file_reload_ms {
                0 => file,
                ms => file.with_reload_every(std::time::Duration::from_millis(ms)),
            })
        }
        ProviderKind::Vault => {
            let token = secret_file("vault_token_file", keys.vault_token_file.as_deref(), dir)?;
            let p = dcs_keys::VaultTransitProvider::new(&keys.vault_addr, &token)
                .map_err(setup)?
                .with_current_kek_ttl(std::time::Duration::from_millis(
                    keys.vault_current_kek_ttl_ms,
                ));
            Box::new(match &keys.vault_mount {
                Some(m) => p.with_mount(m),
                None => p,
            })
        }
        ProviderKind::Pkcs11 => {
            let module = keys.pkcs11_module.as_ref().ok_or_else(|| {
                LocalError::Setup("[keys] pkcs11_module is required for the pkcs11 provider".into())
            })?;
            let pin = secret_file("pkcs11_pin_file", keys.pkcs11_pin_file.as_deref(), dir)?;
            Box::new(
                dcs_keys::Pkcs11Provider::open(module, &keys.pkcs11_token_label, &pin)
                    .map_err(setup)?,
            )
        }
    })
}

/// Makes sure `tenant` has a current KEK, creating `TENANT/kek` when it has none; returns it.
///
/// Several stores of one tenant may share a provider (one Vault Transit mount, one HSM
/// token) and start at once: when the creation fails because another store created the KEK
/// in between, that store's KEK is the answer.
pub fn ensure_kek(provider: &dyn Provider, tenant: &str) -> Result<dcs_crypto::KekRef> {
    match provider.current_kek(tenant) {
        Ok(kek) => Ok(kek),
        Err(dcs_crypto::CryptoError::UnknownKek { .. }) => {
            match provider.create_kek(tenant, &format!("{tenant}/kek"), &mut rand_core::OsRng) {
                Ok(kek) => Ok(kek),
                Err(e) => provider.current_kek(tenant).map_err(|_| {
                    LocalError::Setup(format!("[keys] cannot create the tenant's KEK: {e}"))
                }),
            }
        }
        Err(e) => Err(LocalError::Setup(format!("[keys] the tenant's KEK is unusable: {e}"))),
    }
}

/// What `dcs-local keys rotate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    /// The tenant whose KEK turned.
    pub tenant: String,
    /// The version new events were sealed under before.
    pub from: dcs_crypto::KekRef,
    /// The version they are sealed under from now on.
    pub to: dcs_crypto::KekRef,
}

/// Rotates the tenant's current KEK in the provider `dir`'s config names: new data keys are
/// wrapped under the new version (a running daemon sees it within `file_reload_ms` for the
/// file provider, `vault_current_kek_ttl_ms` for Vault); envelopes under earlier versions
/// still open. Other copies of a file keyring must be given the new file.
///
/// # Errors
/// [`LocalError::Setup`] if the config or the provider cannot be read, or the tenant has no
/// current KEK to rotate.
pub fn rotate(dir: &DataDir) -> Result<Rotated> {
    let config: crate::config::LocalConfig = dcs_daemon::config::load(Some(&dir.config()))?;
    let tenant = config.store.tenant.clone();
    let provider = open(dir, &config.keys)?;
    let from = provider.current_kek(&tenant).map_err(|e| {
        LocalError::Setup(format!("[keys] tenant {tenant} has no current KEK to rotate: {e}"))
    })?;
    let to = provider
        .rotate(&from.id, &mut rand_core::OsRng)
        .map_err(|e| LocalError::Setup(format!("[keys] cannot rotate {}: {e}", from.id)))?;
    Ok(Rotated { tenant, from, to })
}
