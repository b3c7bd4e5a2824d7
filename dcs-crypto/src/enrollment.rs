//! A till's enrollment code: what an operator hands a self-sealing till once.
//!
//! `dcs-local till add` registers the till's public key with the store and prints the code;
//! the till keeps it in its own storage. It carries the till's agent id, its bearer token for
//! the store's API, its signing key (the self-describing key-file form of [`Signer`]) and the
//! store's public key (the trust anchor for the signed cashier list). The code is a secret:
//! show it once, never log it.
//!
//! Form: `dcs-till-1.` followed by base64url (no padding) of the postcard encoding.

use alloc::string::String;
use alloc::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dcs_core::AgentId;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{CryptoError, Result};
use crate::signature::{Signer, Verifier};

/// The prefix naming the code's format.
const PREFIX: &str = "dcs-till-1.";
/// Longest code accepted, in bytes.
const MAX_CODE_LEN: usize = 2_048;

/// What a till needs to start: who it is, how it authenticates, what it trusts.
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct TillEnrollment {
    /// The till's agent id.
    #[zeroize(skip)]
    pub agent: AgentId,
    /// Its bearer token for the store's API.
    pub token: String,
    /// Its signing key, in [`Signer::to_key_bytes`] form.
    pub signing_key: Vec<u8>,
    /// The store's public key (Ed25519, 32 bytes), which signs the cashier list.
    pub store_key: Vec<u8>,
}

impl core::fmt::Debug for TillEnrollment {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TillEnrollment").field("agent", &self.agent).finish_non_exhaustive()
    }
}

fn invalid(reason: &'static str) -> CryptoError {
    CryptoError::Enrollment(reason)
}

impl TillEnrollment {
    /// The code to show the operator once.
    pub fn to_code(&self) -> Result<Zeroizing<String>> {
        let bytes =
            Zeroizing::new(postcard::to_allocvec(self).map_err(|_| invalid("cannot encode"))?);
        let mut code = Zeroizing::new(String::from(PREFIX));
        URL_SAFE_NO_PAD.encode_string(bytes.as_slice(), &mut code);
        Ok(code)
    }

    /// Reads a code (surrounding whitespace ignored) and checks both keys decode.
    pub fn from_code(code: &str) -> Result<Self> {
        let code = code.trim();
        if code.len() > MAX_CODE_LEN {
            return Err(invalid("longer than 2048 characters"));
        }
        let body = code
            .strip_prefix(PREFIX)
            .ok_or(invalid("it does not start with dcs-till-1. (copy the whole code)"))?;
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD.decode(body).map_err(|_| invalid("it is not base64url"))?,
        );
        let e: Self = postcard::from_bytes(&bytes).map_err(|_| invalid("it does not decode"))?;
        e.signer()?;
        e.store_verifier()?;
        Ok(e)
    }

    /// The till's signing key.
    pub fn signer(&self) -> Result<Signer> {
        Signer::from_key_bytes(&self.signing_key)
    }

    /// The store's public key.
    pub fn store_verifier(&self) -> Result<Verifier> {
        Verifier::from_bytes(dcs_core::event::SignatureAlgorithm::Ed25519, &self.store_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcs_core::event::SignatureAlgorithm;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn a_code_round_trips_and_garbage_is_refused() {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([2; 32]);
        let till = Signer::generate(SignatureAlgorithm::Ed25519, &mut rng);
        let store = Signer::generate(SignatureAlgorithm::Ed25519, &mut rng);
        let e = TillEnrollment {
            agent: AgentId::new("till-1").unwrap(),
            token: "tok".into(),
            signing_key: till.to_key_bytes().to_vec(),
            store_key: store.verifier().to_bytes(),
        };
        let code = e.to_code().unwrap();
        let back = TillEnrollment::from_code(&alloc::format!("  {}\n", code.as_str())).unwrap();
        assert_eq!(back.agent.as_str(), "till-1");
        assert_eq!(back.signer().unwrap().verifier(), till.verifier());
        assert!(TillEnrollment::from_code("dcs-till-1.AAAA").is_err());
        assert!(TillEnrollment::from_code("hello").is_err());
        let mut cut = alloc::string::String::from(code.as_str());
        cut.truncate(cut.len() - 4);
        assert!(TillEnrollment::from_code(&cut).is_err());
    }
}
