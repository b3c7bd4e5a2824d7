//! The store's signed cashier list: cashiers sign in to a till offline against it.
//!
//! The store's daemon signs the list with the store's key; the till holds the store's public
//! key from its enrollment code (see [`crate::enrollment`]), so a list an attacker edited in the
//! browser's storage, or served in place of the store, fails [`CashierList::verify`]. Each
//! cashier carries an argon2id PHC string of their PIN, which the till checks locally.
//!
//! The signed bytes are `DOMAIN ‖ postcard(version, list)`: canonical, and never confusable
//! with an event's canonical bytes signed by the same kind of key.

use alloc::string::String;
use alloc::vec::Vec;

use dcs_core::{AgentId, BranchId, TenantId};
use serde::{Deserialize, Serialize};

use crate::error::{CryptoError, Result};
use crate::signature::{Signer, Verifier};

/// Domain separation of the list's signature.
const DOMAIN: &[u8] = b"dcs/cashier-list/v1\0";
/// Format version of [`CashierList::to_bytes`].
const VERSION: u8 = 1;
/// Most cashiers on one list.
pub const MAX_CASHIERS: usize = 1_000;
/// Longest name or PIN hash, in bytes.
pub const MAX_FIELD_LEN: usize = 256;

/// One cashier who may sign in at the store's tills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cashier {
    /// The cashier's agent id (the `created_by` of what they sell).
    pub id: AgentId,
    /// The name the till shows.
    pub name: String,
    /// An argon2id PHC string of the cashier's PIN.
    pub pin_hash: String,
}

/// The cashiers of one store, as its daemon issued them at `issued_unix_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashierList {
    /// The tenant.
    pub tenant: TenantId,
    /// The store.
    pub branch: BranchId,
    /// When the store issued this list (Unix ms): a till keeps the newest it verified.
    pub issued_unix_ms: u64,
    /// The cashiers.
    pub cashiers: Vec<Cashier>,
}

fn invalid(reason: &'static str) -> CryptoError {
    CryptoError::CashierList(reason)
}

impl CashierList {
    /// Checks the bounds: at most [`MAX_CASHIERS`], fields at most [`MAX_FIELD_LEN`] bytes,
    /// unique ids.
    pub fn check(&self) -> Result<()> {
        if self.cashiers.len() > MAX_CASHIERS {
            return Err(invalid("more than 1000 cashiers"));
        }
        for (i, c) in self.cashiers.iter().enumerate() {
            if c.name.len() > MAX_FIELD_LEN || c.pin_hash.len() > MAX_FIELD_LEN {
                return Err(invalid("a name or PIN hash longer than 256 bytes"));
            }
            if self.cashiers.iter().skip(i + 1).any(|o| o.id == c.id) {
                return Err(invalid("a cashier id listed twice"));
            }
        }
        Ok(())
    }

    /// The canonical bytes (what is signed, after the domain tag).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.check()?;
        postcard::to_allocvec(&(VERSION, self)).map_err(|_| invalid("cannot encode"))
    }

    /// The canonical bytes and the store's raw signature over them.
    pub fn sign(&self, store: &Signer) -> Result<(Vec<u8>, Vec<u8>)> {
        let bytes = self.to_bytes()?;
        let signature = store.sign(&signed_message(&bytes)).bytes;
        Ok((bytes, signature))
    }

    /// Verifies `signature` over `bytes` with the store's key, then decodes the list.
    pub fn verify(bytes: &[u8], signature: &[u8], store: &Verifier) -> Result<Self> {
        store.verify_raw(&signed_message(bytes), signature)?;
        let (version, list): (u8, CashierList) =
            postcard::from_bytes(bytes).map_err(|_| invalid("the signed bytes do not decode"))?;
        if version != VERSION {
            return Err(invalid("an unknown format version"));
        }
        list.check()?;
        Ok(list)
    }
}

fn signed_message(bytes: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(DOMAIN.len() + bytes.len());
    m.extend_from_slice(DOMAIN);
    m.extend_from_slice(bytes);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcs_core::event::SignatureAlgorithm;
    use rand_chacha::rand_core::SeedableRng;

    fn list() -> CashierList {
        CashierList {
            tenant: TenantId::new("acme").unwrap(),
            branch: BranchId::new("store-1").unwrap(),
            issued_unix_ms: 1,
            cashiers: alloc::vec![Cashier {
                id: AgentId::new("c-1").unwrap(),
                name: "Ana".into(),
                pin_hash: "$argon2id$v=19$m=19456,t=2,p=1$x$y".into(),
            }],
        }
    }

    #[test]
    fn a_signed_list_verifies_and_an_edited_one_does_not() {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([1; 32]);
        let store = Signer::generate(SignatureAlgorithm::Ed25519, &mut rng);
        let (bytes, sig) = list().sign(&store).unwrap();
        assert_eq!(CashierList::verify(&bytes, &sig, &store.verifier()).unwrap(), list());
        let mut edited = bytes.clone();
        let last = edited.len() - 1;
        edited[last] ^= 1;
        assert!(matches!(
            CashierList::verify(&edited, &sig, &store.verifier()),
            Err(CryptoError::BadSignature)
        ));
        let other = Signer::generate(SignatureAlgorithm::Ed25519, &mut rng);
        assert!(CashierList::verify(&bytes, &sig, &other.verifier()).is_err());
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let mut l = list();
        l.cashiers.push(l.cashiers[0].clone());
        assert!(matches!(l.to_bytes(), Err(CryptoError::CashierList(_))));
    }
}
