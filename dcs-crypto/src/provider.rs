//! The key hierarchy's types and the [`KeyProvider`] trait that wraps and unwraps data keys.
//!
//! A provider holds key-encryption keys (KEKs), each named by an id and a version and owned
//! by one tenant. It never hands a KEK out: it only wraps a data key under a KEK and unwraps
//! it again. The local [`Keyring`](crate::Keyring) implements it in memory; the `dcs-keys`
//! crate (at `dcs-crypto/providers`) adds a file-backed keyring, PKCS#11 tokens and Vault
//! Transit.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use rand_core::CryptoRngCore;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::Result;

/// Data-key length in bytes (256 bits).
pub const DATA_KEY_LEN: usize = 32;
/// Data-key id length in bytes.
pub const DATA_KEY_ID_LEN: usize = 16;

/// Names one version of a key-encryption key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KekRef {
    /// The KEK id (e.g. `acme/kek`), as named on the event.
    pub id: String,
    /// The KEK version.
    pub version: u32,
}

impl KekRef {
    /// A reference to version `version` of KEK `id`.
    pub fn new(id: impl Into<String>, version: u32) -> Self {
        Self { id: id.into(), version }
    }

    /// A validated reference: the id is 1 to [`MAX_KEK_ID_LEN`](crate::envelope::MAX_KEK_ID_LEN)
    /// bytes without control characters and the version is at least 1 (what every envelope
    /// and event must name); use it for ids that come from outside.
    pub fn checked(id: impl Into<String>, version: u32) -> Result<Self> {
        let id = id.into();
        check_kek_id(&id)?;
        if version == 0 {
            return Err(crate::CryptoError::InvalidKey {
                what: "KEK version",
                reason: "must be at least 1 (versions count from 1)",
            });
        }
        Ok(Self { id, version })
    }
}

/// Checks a KEK id: 1 to [`MAX_KEK_ID_LEN`](crate::envelope::MAX_KEK_ID_LEN) bytes, no
/// control characters.
pub fn check_kek_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > crate::envelope::MAX_KEK_ID_LEN
        || id.chars().any(char::is_control)
    {
        return Err(crate::CryptoError::InvalidKey {
            what: "KEK id",
            reason: "must be 1 to 128 bytes without control characters (e.g. \"acme/kek\")",
        });
    }
    Ok(())
}

impl fmt::Display for KekRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} v{}", self.id, self.version)
    }
}

/// A 256-bit secret key (data key or derived DEK); zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; DATA_KEY_LEN]);

impl DataKey {
    /// Wraps raw key bytes (the caller's copy is not zeroized by this call).
    pub fn from_bytes(bytes: [u8; DATA_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Copies a 32-byte slice into a key.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; DATA_KEY_LEN] = bytes.try_into().map_err(|_| {
            crate::CryptoError::InvalidKey { what: "data key", reason: "must be 32 bytes" }
        })?;
        Ok(Self(arr))
    }

    /// Draws a fresh random key from `rng`.
    pub fn random(rng: &mut dyn CryptoRngCore) -> Self {
        let mut k = [0u8; DATA_KEY_LEN];
        rng.fill_bytes(&mut k);
        Self(k)
    }

    /// The key bytes (keep copies short-lived).
    pub fn expose_secret(&self) -> &[u8; DATA_KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// A data key wrapped by a KEK: safe to store and send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// The KEK version that wrapped it.
    pub kek: KekRef,
    /// The provider-specific wrapped bytes.
    pub bytes: Vec<u8>,
}

/// A data key ready to seal with: the key itself, its id and its wrapped form.
///
/// Each event's DEK is derived from it (see [`crate::commitment::derive_dek`]), so one
/// provider call serves many events.
#[derive(Clone)]
pub struct SealingKey {
    /// Random id of the data key; salts the DEK derivation and binds the wrapping.
    pub id: [u8; DATA_KEY_ID_LEN],
    /// The data key (secret).
    pub key: DataKey,
    /// The data key wrapped under a KEK.
    pub wrapped: WrappedKey,
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingKey")
            .field("id", &self.id)
            .field("key", &self.key)
            .field("wrapped", &self.wrapped)
            .finish()
    }
}

/// Wraps and unwraps data keys under tenants' KEKs; implemented by every key store.
///
/// `tenant` is the tenant asking; a provider must refuse a KEK owned by another tenant with
/// [`CryptoError::WrongTenant`](crate::CryptoError::WrongTenant). `data_key_id` must be bound
/// into the wrapping (as AEAD associated data or equivalent) so a wrapped key cannot be
/// moved to another envelope.
pub trait KeyProvider {
    /// The KEK version new data keys of `tenant` are wrapped under (the newest active one).
    fn current_kek(&self, tenant: &str) -> Result<KekRef>;

    /// Wraps `key` under `kek` for `tenant`.
    fn wrap(
        &self,
        tenant: &str,
        kek: &KekRef,
        data_key_id: &[u8; DATA_KEY_ID_LEN],
        key: &DataKey,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<Vec<u8>>;

    /// Unwraps `wrapped` under `kek` for `tenant`.
    fn unwrap(
        &self,
        tenant: &str,
        kek: &KekRef,
        data_key_id: &[u8; DATA_KEY_ID_LEN],
        wrapped: &[u8],
    ) -> Result<DataKey>;

    /// Makes a fresh data key wrapped under the tenant's current KEK (one provider call).
    fn generate_data_key(&self, tenant: &str, rng: &mut dyn CryptoRngCore) -> Result<SealingKey> {
        let kek = self.current_kek(tenant)?;
        let mut id = [0u8; DATA_KEY_ID_LEN];
        rng.fill_bytes(&mut id);
        let key = DataKey::random(rng);
        let bytes = self.wrap(tenant, &kek, &id, &key, rng)?;
        Ok(SealingKey { id, key, wrapped: WrappedKey { kek, bytes } })
    }

    /// Moves a wrapped data key to the tenant's current KEK version without revealing it.
    fn rewrap(
        &self,
        tenant: &str,
        data_key_id: &[u8; DATA_KEY_ID_LEN],
        wrapped: &WrappedKey,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<WrappedKey> {
        let key = self.unwrap(tenant, &wrapped.kek, data_key_id, &wrapped.bytes)?;
        let kek = self.current_kek(tenant)?;
        let bytes = self.wrap(tenant, &kek, data_key_id, &key, rng)?;
        Ok(WrappedKey { kek, bytes })
    }
}

impl<P: KeyProvider + ?Sized> KeyProvider for &P {
    fn current_kek(&self, tenant: &str) -> Result<KekRef> {
        (**self).current_kek(tenant)
    }
    fn wrap(
        &self,
        tenant: &str,
        kek: &KekRef,
        data_key_id: &[u8; DATA_KEY_ID_LEN],
        key: &DataKey,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<Vec<u8>> {
        (**self).wrap(tenant, kek, data_key_id, key, rng)
    }
    fn unwrap(
        &self,
        tenant: &str,
        kek: &KekRef,
        data_key_id: &[u8; DATA_KEY_ID_LEN],
        wrapped: &[u8],
    ) -> Result<DataKey> {
        (**self).unwrap(tenant, kek, data_key_id, wrapped)
    }
    fn generate_data_key(&self, tenant: &str, rng: &mut dyn CryptoRngCore) -> Result<SealingKey> {
        (**self).generate_data_key(tenant, rng)
    }
    fn rewrap(
        &self,
        tenant: &str,
        data_key_id: &[u8; DATA_KEY_ID_LEN],
        wrapped: &WrappedKey,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<WrappedKey> {
        (**self).rewrap(tenant, data_key_id, wrapped, rng)
    }
}
