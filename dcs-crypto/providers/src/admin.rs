//! [`KekAdmin`]: the key-management operations every provider of this crate offers.

use dcs_crypto::KekRef;
use rand_core::CryptoRngCore;

use crate::error::Result;

/// Creates, rotates, retires and crypto-shreds KEKs; implemented by every provider here.
///
/// KEK ids are unique across tenants: a KEK belongs to the tenant that created it.
pub trait KekAdmin {
    /// Creates KEK `kek_id` for `tenant` at version 1 (fails if the id exists).
    fn create_kek(&self, tenant: &str, kek_id: &str, rng: &mut dyn CryptoRngCore)
    -> Result<KekRef>;

    /// Adds a new version of `kek_id`; new data keys are wrapped under it from now on.
    fn rotate(&self, kek_id: &str, rng: &mut dyn CryptoRngCore) -> Result<KekRef>;

    /// Retires `kek`: it no longer wraps or unwraps (rewrap its envelopes first).
    fn retire(&self, kek: &KekRef) -> Result<()>;

    /// Destroys every KEK of `tenant` (crypto-shredding); returns how many versions went.
    fn destroy_tenant(&self, tenant: &str) -> Result<usize>;
}
