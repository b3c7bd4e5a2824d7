//! # dcs-keys: key providers for dcs-crypto that need I/O
//!
//! [`dcs_crypto`] is sans-IO: its [`KeyProvider`](dcs_crypto::KeyProvider) trait wraps and
//! unwraps data keys under tenants' key-encryption keys (KEKs), and its in-memory
//! [`Keyring`](dcs_crypto::Keyring) is the default provider. This crate adds the providers
//! that touch files, tokens or the network:
//!
//! - [`FileKeyring`]: the local keyring persisted to a file only its owner can read (mode
//!   0600), replaced atomically on every change.
//! - `Pkcs11Provider` (feature `pkcs11`): KEKs as non-extractable AES-256 keys on a PKCS#11
//!   token (an HSM, or SoftHSM2); data keys are wrapped with AES-GCM on the token.
//! - `VaultTransitProvider` (feature `vault`): KEKs in HashiCorp Vault / OpenBao Transit over
//!   HTTP(S); data keys come from Transit's `datakey` endpoint and `rewrap` stays in Vault.
//!
//! Every provider also implements [`KekAdmin`] (create, rotate, retire, crypto-shred), so
//! operators and tests drive all of them the same way.
//!
//! ```
//! use dcs_crypto::KeyProvider;
//! use dcs_keys::{FileKeyring, KekAdmin};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let mut rng = rand_core::OsRng;
//! let path = dir.path().join("keyring.dcsk");
//! let keys = FileKeyring::create(&path)?; // mode 0600
//! keys.create_kek("acme", "acme/kek", &mut rng)?;
//! let data_key = keys.generate_data_key("acme", &mut rng)?;
//! let reopened = FileKeyring::open(&path)?;
//! let k = reopened.unwrap("acme", &data_key.wrapped.kek, &data_key.id, &data_key.wrapped.bytes)?;
//! assert_eq!(k.expose_secret(), data_key.key.expose_secret());
//! # Ok(()) }
//! ```

mod admin;
mod error;
mod file;
mod state;

#[cfg(feature = "pkcs11")]
pub mod pkcs11;
#[cfg(feature = "vault")]
pub mod vault;

pub use admin::KekAdmin;
pub use error::{KeysError, Result};
pub use file::FileKeyring;
#[cfg(feature = "pkcs11")]
pub use pkcs11::Pkcs11Provider;
#[cfg(feature = "vault")]
pub use vault::VaultTransitProvider;
