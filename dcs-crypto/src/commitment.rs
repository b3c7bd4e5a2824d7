//! Per-event DEK derivation and key commitment.
//!
//! - **DEK**: `DEK = HKDF-SHA256(salt = data-key id, ikm = data key, info = "dcs/dek/v1" ‖
//!   context)` where the context is the event id. Every event gets its own 256-bit key even
//!   though one wrapped data key serves many events.
//! - **Commitment** (as in the AWS Encryption SDK's committing suite): from the DEK and a
//!   random 32-byte message id, one HKDF extract and two expands derive the AES key
//!   (`info = 0x00 ‖ suite ‖ "DERIVEKEY"`) and a 32-byte commitment (`info = "COMMITKEY"`).
//!   Suite 2 (written) uses HKDF-SHA256, suite 1 (still read) HKDF-SHA512. The commitment
//!   travels in the envelope and is compared in constant time before any decryption, so an
//!   envelope decrypts under exactly one DEK.

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::envelope::{SUITE_AES256GCM_HKDF_COMMIT, SUITE_AES256GCM_HKDF256_COMMIT};
use crate::error::{CryptoError, Result};
use crate::primitive::{hkdf_sha256, hkdf_sha256_multi, hkdf_sha512_multi};
use crate::provider::{DATA_KEY_ID_LEN, DATA_KEY_LEN, DataKey};

/// Length of the key commitment in bytes.
pub const COMMITMENT_LEN: usize = 32;
/// Length of the message id (the commitment's HKDF salt) in bytes.
pub const MESSAGE_ID_LEN: usize = 32;
/// Length of the DEK derivation context (an event id) in bytes.
pub const CONTEXT_LEN: usize = 16;

const DEK_INFO: &[u8] = b"dcs/dek/v1";

/// Derives the per-event DEK from a data key, its id and the event id.
pub fn derive_dek(
    data_key: &DataKey,
    data_key_id: &[u8; DATA_KEY_ID_LEN],
    context: &[u8; CONTEXT_LEN],
) -> Result<DataKey> {
    let mut info = [0u8; DEK_INFO.len() + CONTEXT_LEN];
    info[..DEK_INFO.len()].copy_from_slice(DEK_INFO);
    info[DEK_INFO.len()..].copy_from_slice(context);
    let mut out = Zeroizing::new([0u8; DATA_KEY_LEN]);
    hkdf_sha256(data_key_id, data_key.expose_secret(), &info, out.as_mut())?;
    Ok(DataKey::from_bytes(*out))
}

/// The AES key and the commitment that one DEK and message id determine.
pub struct CommittedKey {
    /// The AES-256-GCM key (secret).
    pub aes_key: DataKey,
    /// The commitment to store in, or compare with, the envelope.
    pub commitment: [u8; COMMITMENT_LEN],
}

/// Derives the AES key and the commitment from a DEK and a message id, as `suite` defines.
pub fn commit(dek: &DataKey, suite: u8, message_id: &[u8; MESSAGE_ID_LEN]) -> Result<CommittedKey> {
    let kdf = match suite {
        SUITE_AES256GCM_HKDF256_COMMIT => hkdf_sha256_multi,
        SUITE_AES256GCM_HKDF_COMMIT => hkdf_sha512_multi,
        other => return Err(CryptoError::UnknownAlgorithm(other)),
    };
    let mut derive_info = [0u8; 2 + 9];
    derive_info[1] = suite;
    derive_info[2..].copy_from_slice(b"DERIVEKEY");
    let mut aes = Zeroizing::new([0u8; DATA_KEY_LEN]);
    let mut commitment = [0u8; COMMITMENT_LEN];
    kdf(
        message_id,
        dek.expose_secret(),
        &mut [(&derive_info[..], &mut aes[..]), (&b"COMMITKEY"[..], &mut commitment[..])],
    )?;
    Ok(CommittedKey { aes_key: DataKey::from_bytes(*aes), commitment })
}

/// Checks, in constant time, that `expected` is the commitment of `dek`; returns the AES key.
pub fn check(
    dek: &DataKey,
    suite: u8,
    message_id: &[u8; MESSAGE_ID_LEN],
    expected: &[u8; COMMITMENT_LEN],
) -> Result<DataKey> {
    let k = commit(dek, suite, message_id)?;
    if bool::from(k.commitment.ct_eq(expected)) {
        Ok(k.aes_key)
    } else {
        Err(CryptoError::CommitmentMismatch)
    }
}
