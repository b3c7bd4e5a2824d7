//! The primitives exactly as the crate calls them: AES-256-GCM with a 96-bit nonce and a
//! 128-bit tag, HKDF-SHA256, HKDF-SHA512 and HMAC-SHA512.
//!
//! Everything else in the crate goes through these functions, and the Wycheproof test runs
//! its vectors through them, so the vectors test what the envelope really does.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use alloc::vec::Vec;
use hkdf::hmac::digest::OutputSizeUser;
use hkdf::{Hkdf, HmacImpl};
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};
use zeroize::Zeroizing;

use crate::error::{CryptoError, Result};

/// AES-256 key length in bytes.
pub const AES_KEY_LEN: usize = 32;
/// AES-GCM nonce length in bytes (96 bits).
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length in bytes (128 bits).
pub const TAG_LEN: usize = 16;
/// HMAC-SHA512 output length in bytes.
pub const MAC_LEN: usize = 64;

fn cipher(key: &[u8]) -> Result<Aes256Gcm> {
    Aes256Gcm::new_from_slice(key)
        .map_err(|_| CryptoError::InvalidKey { what: "AES-256 key", reason: "must be 32 bytes" })
}

fn nonce(nonce: &[u8]) -> Result<&Nonce<aes_gcm::aead::consts::U12>> {
    if nonce.len() != NONCE_LEN {
        return Err(CryptoError::InvalidKey { what: "AES-GCM nonce", reason: "must be 12 bytes" });
    }
    Ok(Nonce::from_slice(nonce))
}

/// AES-256-GCM encryption: returns `ciphertext ‖ tag`.
pub fn aes256gcm_seal(
    key: &[u8],
    nonce_bytes: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    cipher(key)?
        .encrypt(nonce(nonce_bytes)?, Payload { msg: plaintext, aad })
        // Only fails for inputs beyond GCM's 64 GiB limit.
        .map_err(|_| CryptoError::OversizedLength {
            field: "plaintext",
            len: plaintext.len(),
            max: crate::envelope::MAX_PLAINTEXT_LEN,
        })
}

/// AES-256-GCM decryption of `ciphertext ‖ tag`; [`CryptoError::BadTag`] if it does not
/// authenticate.
pub fn aes256gcm_open(
    key: &[u8],
    nonce_bytes: &[u8],
    aad: &[u8],
    ciphertext_and_tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    if ciphertext_and_tag.len() < TAG_LEN {
        return Err(CryptoError::TruncatedEnvelope {
            field: "ciphertext tag",
            needed: TAG_LEN,
            available: ciphertext_and_tag.len(),
        });
    }
    cipher(key)?
        .decrypt(nonce(nonce_bytes)?, Payload { msg: ciphertext_and_tag, aad })
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::BadTag)
}

/// HKDF-SHA256 (RFC 5869) extract-and-expand into `out`.
pub fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) -> Result<()> {
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, out)
        .map_err(|_| CryptoError::KdfOutputTooLong { len: out.len() })
}

/// HKDF-SHA512 (RFC 5869) extract-and-expand into `out`.
pub fn hkdf_sha512(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) -> Result<()> {
    Hkdf::<Sha512>::new(Some(salt), ikm)
        .expand(info, out)
        .map_err(|_| CryptoError::KdfOutputTooLong { len: out.len() })
}

/// HKDF-SHA256 with one extract and several expands: each `(info, out)` pair is filled.
pub fn hkdf_sha256_multi(
    salt: &[u8],
    ikm: &[u8],
    outputs: &mut [(&[u8], &mut [u8])],
) -> Result<()> {
    hkdf_multi::<Sha256, Hmac<Sha256>>(salt, ikm, outputs)
}

/// HKDF-SHA512 with one extract and several expands: each `(info, out)` pair is filled.
pub fn hkdf_sha512_multi(
    salt: &[u8],
    ikm: &[u8],
    outputs: &mut [(&[u8], &mut [u8])],
) -> Result<()> {
    hkdf_multi::<Sha512, Hmac<Sha512>>(salt, ikm, outputs)
}

fn hkdf_multi<H: OutputSizeUser, I: HmacImpl<H>>(
    salt: &[u8],
    ikm: &[u8],
    outputs: &mut [(&[u8], &mut [u8])],
) -> Result<()> {
    let h = Hkdf::<H, I>::new(Some(salt), ikm);
    for (info, out) in outputs.iter_mut() {
        h.expand(info, out).map_err(|_| CryptoError::KdfOutputTooLong { len: out.len() })?;
    }
    Ok(())
}

/// HMAC-SHA512 over the concatenation of `parts`.
pub fn hmac_sha512(key: &[u8], parts: &[&[u8]]) -> [u8; MAC_LEN] {
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha512> as Mac>::new(&Default::default()));
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Compares an HMAC-SHA512 over `parts` with `tag` in constant time (full 64-byte tags only).
pub fn hmac_sha512_verify(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> Result<()> {
    let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(key)
        .map_err(|_| CryptoError::InvalidKey { what: "MAC key", reason: "rejected by HMAC" })?;
    for p in parts {
        mac.update(p);
    }
    // `verify_slice` compares in constant time and rejects tags that are not 64 bytes.
    mac.verify_slice(tag).map_err(|_| CryptoError::BadMac)
}
