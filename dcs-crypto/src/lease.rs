//! Sealing without the KEK: a till seals with data keys its store leased to it.
//!
//! The store's key provider (a keyring file, Vault Transit, an HSM) makes a data key and wraps
//! it under the tenant's current KEK; the store hands the till the plain data key together
//! with its wrapped copy (a lease, bounded in uses and time). The till puts the wrapped copy in
//! every envelope it seals, so the store and the region open its events with the KEK as usual,
//! while the KEK itself never reaches the browser. A stolen till exposes only what it sealed
//! with its own leases.
//!
//! [`LeasedKeys`] is the [`KeyProvider`] such a terminal seals through: it names the leased
//! KEK version and refuses to wrap or unwrap anything, so once every lease is used up or
//! expired, sealing fails with [`CryptoError::NoLease`] instead of inventing a key.
//!
//! ```
//! use dcs_core::commerce::{DomainEvent, EventBody};
//! use dcs_core::event::SignatureAlgorithm;
//! use dcs_core::*;
//! use dcs_crypto::lease::LeasedKeys;
//! use dcs_crypto::terminal::{Terminal, TerminalConfig};
//! use dcs_crypto::{KekMaterial, KeyProvider, Keyring, MacKey, Signer};
//! # use rand_chacha::rand_core::SeedableRng;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
//! // The store: its keyring makes the lease.
//! let mut store_keys = Keyring::new();
//! store_keys.create_kek("acme", "acme/kek", KekMaterial::Random(&mut rng))?;
//! let lease = store_keys.generate_data_key("acme", &mut rng)?;
//! // The till: no keyring, only the lease.
//! let config = TerminalConfig::new("acme", "store-042", "till-1", Currency::USD)?;
//! let mut till = Terminal::new(config, [3; 16])?;
//! let now_ms = 1_767_225_600_000;
//! let provider = LeasedKeys::new(lease.wrapped.kek.clone());
//! till.lease(lease, now_ms, 1, now_ms + 60_000);
//! let (mac, signer) = (MacKey::random(&mut rng), Signer::generate(SignatureAlgorithm::Ed25519, &mut rng));
//! let fact = DomainEvent::new(EventBody::AgentDecisionMade(commerce::body::AgentNote {
//!     subject: "x".into(), detail: "y".into(), amount: None }));
//! let cashier = AgentId::new("cashier-1")?;
//! let event = till.seal(&fact, &cashier, None, now_ms, &mut rng, &provider, &mac, &signer)?;
//! // The store opens it with its KEK.
//! assert_eq!(dcs_crypto::open_event(&event, &store_keys)?.as_slice(), fact.plaintext()?.as_slice());
//! // The lease allowed one event.
//! assert!(till.seal(&fact, &cashier, None, now_ms, &mut rng, &provider, &mac, &signer).is_err());
//! # Ok(()) }
//! ```

use alloc::string::ToString;
use alloc::vec::Vec;

use rand_core::CryptoRngCore;

use crate::error::{CryptoError, Result};
use crate::provider::{DATA_KEY_ID_LEN, DataKey, KekRef, KeyProvider};

/// The provider of a terminal that holds only leased data keys: it knows which KEK version the
/// leases are under, and wraps nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeasedKeys {
    kek: KekRef,
}

impl LeasedKeys {
    /// Leases under `kek` (the `wrapped.kek` of the leased keys).
    pub fn new(kek: KekRef) -> Self {
        Self { kek }
    }

    /// The KEK version the leases are under.
    pub fn kek(&self) -> &KekRef {
        &self.kek
    }
}

impl KeyProvider for LeasedKeys {
    fn current_kek(&self, _tenant: &str) -> Result<KekRef> {
        Ok(self.kek.clone())
    }

    fn wrap(
        &self,
        tenant: &str,
        _kek: &KekRef,
        _data_key_id: &[u8; DATA_KEY_ID_LEN],
        _key: &DataKey,
        _rng: &mut dyn CryptoRngCore,
    ) -> Result<Vec<u8>> {
        Err(CryptoError::NoLease { tenant: tenant.to_string() })
    }

    fn unwrap(
        &self,
        tenant: &str,
        _kek: &KekRef,
        _data_key_id: &[u8; DATA_KEY_ID_LEN],
        _wrapped: &[u8],
    ) -> Result<DataKey> {
        Err(CryptoError::NoLease { tenant: tenant.to_string() })
    }
}
