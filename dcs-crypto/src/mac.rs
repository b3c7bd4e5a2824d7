//! Per-tenant HMAC-SHA512 over an event's canonical metadata bytes.

use alloc::vec::Vec;
use core::fmt;

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::error::{CryptoError, Result};
use crate::primitive::{MAC_LEN, hkdf_sha256, hmac_sha512, hmac_sha512_verify};

/// Shortest accepted MAC key, in bytes.
pub const MIN_MAC_KEY_LEN: usize = 32;
/// Longest accepted MAC key, in bytes (one SHA-512 block).
pub const MAX_MAC_KEY_LEN: usize = 128;

/// A tenant's HMAC-SHA512 key; zeroized on drop, never printed.
#[derive(Clone)]
pub struct MacKey(Zeroizing<Vec<u8>>);

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacKey(<redacted>)")
    }
}

impl MacKey {
    /// A key from 32 to 128 secret bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if !(MIN_MAC_KEY_LEN..=MAX_MAC_KEY_LEN).contains(&bytes.len()) {
            return Err(CryptoError::InvalidKey {
                what: "MAC key",
                reason: "must be 32 to 128 bytes",
            });
        }
        Ok(Self(Zeroizing::new(bytes.to_vec())))
    }

    /// A fresh random 64-byte key.
    pub fn random(rng: &mut dyn CryptoRngCore) -> Self {
        let mut k = Zeroizing::new(alloc::vec![0u8; 64]);
        rng.fill_bytes(&mut k);
        Self(k)
    }

    /// The tenant's key derived with HKDF-SHA256 from a root secret (at least 32 bytes).
    pub fn derive(root: &[u8], tenant: &str) -> Result<Self> {
        if root.len() < MIN_MAC_KEY_LEN {
            return Err(CryptoError::InvalidKey {
                what: "MAC root secret",
                reason: "must be at least 32 bytes",
            });
        }
        let mut k = Zeroizing::new(alloc::vec![0u8; 64]);
        hkdf_sha256(b"dcs/mac/v1", root, tenant.as_bytes(), &mut k)?;
        Ok(Self(k))
    }

    /// The 32-byte key of one event store's hash chain, derived from this tenant key with
    /// HKDF-SHA256 (salt `dcs/store-chain`, info `dcs/store-chain/v1` ‖ `store_id`): each store
    /// gets its own key, and the store file never holds it.
    pub fn derive_chain_key(&self, store_id: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        let mut info = Vec::with_capacity(18 + store_id.len());
        info.extend_from_slice(b"dcs/store-chain/v1");
        info.extend_from_slice(store_id);
        let mut k = Zeroizing::new([0u8; 32]);
        hkdf_sha256(b"dcs/store-chain", &self.0, &info, k.as_mut_slice())?;
        Ok(k)
    }

    /// HMAC-SHA512 of `message` (64 bytes).
    pub fn compute(&self, message: &[u8]) -> [u8; MAC_LEN] {
        hmac_sha512(&self.0, &[message])
    }

    /// Checks a 64-byte tag over `message` in constant time; [`CryptoError::BadMac`] if not.
    pub fn verify(&self, message: &[u8], tag: &[u8]) -> Result<()> {
        hmac_sha512_verify(&self.0, &[message], tag)
    }
}

impl MacKey {
    /// The key's secret bytes, for keeping it in a key file or a secret manager (zeroized on
    /// drop); [`MacKey::from_bytes`] loads them again.
    pub fn to_secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        self.0.clone()
    }
}
