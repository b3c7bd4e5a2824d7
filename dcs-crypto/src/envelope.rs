//! The envelope: a versioned byte format holding one AES-256-GCM payload, its key
//! commitment and its wrapped data key.
//!
//! See the [crate documentation](crate#envelope-byte-format-version-1) for the byte table.

use alloc::string::String;
use alloc::vec::Vec;

use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::commitment::{self, COMMITMENT_LEN, CONTEXT_LEN, MESSAGE_ID_LEN};
use crate::error::{CryptoError, Result};
use crate::primitive::{NONCE_LEN, TAG_LEN, aes256gcm_open, aes256gcm_seal};
use crate::provider::{DATA_KEY_ID_LEN, DataKey, KekRef, KeyProvider, SealingKey, WrappedKey};

/// The four bytes every envelope starts with.
pub const MAGIC: &[u8; 4] = b"DCSE";
/// The envelope format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// Suite 1 (read, no longer written): HKDF-SHA256 DEK, HKDF-SHA512 commitment, AES-256-GCM.
pub const SUITE_AES256GCM_HKDF_COMMIT: u8 = 1;
/// Suite 2 (written): HKDF-SHA256 DEK, HKDF-SHA256 commitment, AES-256-GCM.
pub const SUITE_AES256GCM_HKDF256_COMMIT: u8 = 2;
/// The suite [`seal`] writes.
pub const SEAL_SUITE: u8 = SUITE_AES256GCM_HKDF256_COMMIT;
/// Length of the fixed header (magic to nonce), which is bound as AEAD associated data.
pub const FIXED_HEADER_LEN: usize =
    4 + 1 + 1 + CONTEXT_LEN + DATA_KEY_ID_LEN + MESSAGE_ID_LEN + COMMITMENT_LEN + NONCE_LEN;
/// Longest KEK id, in bytes (as dcs-core allows).
pub const MAX_KEK_ID_LEN: usize = 128;
/// Longest wrapped data key, in bytes (room for PKCS#11 and Vault ciphertexts).
pub const MAX_WRAPPED_LEN: usize = 1024;
/// Largest payload an envelope carries (so the envelope fits dcs-core's 16 MiB limit).
pub const MAX_PLAINTEXT_LEN: usize = dcs_core::event::MAX_ENVELOPE_LEN - 4096;

/// A parsed envelope, borrowing its input; every field of the byte format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// Format version (1).
    pub version: u8,
    /// Algorithm suite (1 or 2).
    pub suite: u8,
    /// DEK derivation context (the event id).
    pub context: [u8; CONTEXT_LEN],
    /// Id of the data key the DEK is derived from.
    pub data_key_id: [u8; DATA_KEY_ID_LEN],
    /// Salt of the commitment derivation.
    pub message_id: [u8; MESSAGE_ID_LEN],
    /// Key commitment.
    pub commitment: [u8; COMMITMENT_LEN],
    /// AES-GCM nonce.
    pub nonce: [u8; NONCE_LEN],
    /// The KEK version that wraps the data key.
    pub kek: KekRef,
    /// The wrapped data key.
    pub wrapped_key: &'a [u8],
    /// Ciphertext followed by the 16-byte tag.
    pub ciphertext: &'a [u8],
    fixed_header: &'a [u8],
    payload_offset: usize,
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8]> {
        let available = self.bytes.len() - self.pos;
        if n > available {
            return Err(CryptoError::TruncatedEnvelope { field, needed: n, available });
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N]> {
        let s = self.take(field, N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    fn u8(&mut self, field: &'static str) -> Result<u8> {
        Ok(self.array::<1>(field)?[0])
    }
    fn len_prefixed(
        &mut self,
        field: &'static str,
        width: usize,
        min: usize,
        max: usize,
    ) -> Result<&'a [u8]> {
        let len = match width {
            1 => usize::from(self.u8(field)?),
            2 => usize::from(u16::from_be_bytes(self.array(field)?)),
            _ => usize::try_from(u32::from_be_bytes(self.array(field)?)).unwrap_or(usize::MAX),
        };
        if len > max {
            return Err(CryptoError::OversizedLength { field, len, max });
        }
        if len < min {
            return Err(CryptoError::TruncatedEnvelope { field, needed: min, available: len });
        }
        self.take(field, len)
    }
}

impl<'a> Envelope<'a> {
    /// Parses and checks every length of an envelope; no key is needed.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take("magic", 4)? != MAGIC {
            return Err(CryptoError::BadMagic);
        }
        let version = r.u8("version")?;
        if version != FORMAT_VERSION {
            return Err(CryptoError::UnknownVersion(version));
        }
        let suite = r.u8("suite")?;
        if suite != SUITE_AES256GCM_HKDF_COMMIT && suite != SUITE_AES256GCM_HKDF256_COMMIT {
            return Err(CryptoError::UnknownAlgorithm(suite));
        }
        let context = r.array("context")?;
        let data_key_id = r.array("data key id")?;
        let message_id = r.array("message id")?;
        let commitment = r.array("commitment")?;
        let nonce = r.array("nonce")?;
        let fixed_header = &bytes[..FIXED_HEADER_LEN];
        let kek_id = r.len_prefixed("kek id", 1, 1, MAX_KEK_ID_LEN)?;
        let kek_id = core::str::from_utf8(kek_id)
            .map_err(|_| CryptoError::UnknownKek { kek_id: String::from("<not UTF-8>") })?;
        let kek_version = u32::from_be_bytes(r.array("kek version")?);
        let wrapped_key = r.len_prefixed("wrapped key", 2, 1, MAX_WRAPPED_LEN)?;
        let payload_offset = r.pos;
        let ciphertext = r.len_prefixed("ciphertext", 4, TAG_LEN, MAX_PLAINTEXT_LEN + TAG_LEN)?;
        if r.pos != bytes.len() {
            return Err(CryptoError::TrailingBytes { extra: bytes.len() - r.pos });
        }
        Ok(Self {
            version,
            suite,
            context,
            data_key_id,
            message_id,
            commitment,
            nonce,
            kek: KekRef::new(kek_id, kek_version),
            wrapped_key,
            ciphertext,
            fixed_header,
            payload_offset,
        })
    }

    /// Decrypts with an already unwrapped data key: checks the commitment, then the tag.
    pub fn open_with_data_key(&self, data_key: &DataKey, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let dek = commitment::derive_dek(data_key, &self.data_key_id, &self.context)?;
        let aes = commitment::check(&dek, self.suite, &self.message_id, &self.commitment)?;
        let full_aad = payload_aad(self.fixed_header, aad);
        aes256gcm_open(aes.expose_secret(), &self.nonce, &full_aad, self.ciphertext)
    }

    /// Unwraps the data key through `provider` for `tenant`, then opens.
    pub fn open(
        &self,
        provider: &(impl KeyProvider + ?Sized),
        tenant: &str,
        aad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let data_key = provider.unwrap(tenant, &self.kek, &self.data_key_id, self.wrapped_key)?;
        self.open_with_data_key(&data_key, aad)
    }
}

fn payload_aad(fixed_header: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(fixed_header.len() + aad.len());
    v.extend_from_slice(fixed_header);
    v.extend_from_slice(aad);
    v
}

fn write_kek_section(out: &mut Vec<u8>, wrapped: &WrappedKey) -> Result<()> {
    let id = wrapped.kek.id.as_bytes();
    if id.is_empty() || id.len() > MAX_KEK_ID_LEN {
        return Err(CryptoError::OversizedLength {
            field: "kek id",
            len: id.len(),
            max: MAX_KEK_ID_LEN,
        });
    }
    if wrapped.bytes.is_empty() || wrapped.bytes.len() > MAX_WRAPPED_LEN {
        return Err(CryptoError::OversizedLength {
            field: "wrapped key",
            len: wrapped.bytes.len(),
            max: MAX_WRAPPED_LEN,
        });
    }
    out.push(id.len() as u8); // checked above: 1..=128
    out.extend_from_slice(id);
    out.extend_from_slice(&wrapped.kek.version.to_be_bytes());
    out.extend_from_slice(&(wrapped.bytes.len() as u16).to_be_bytes()); // checked: <= 1024
    out.extend_from_slice(&wrapped.bytes);
    Ok(())
}

/// Seals `plaintext` under a DEK derived from `key` and `context` (the event id), binding `aad`.
///
/// Draws the message id and the nonce from `rng`; returns the envelope bytes.
pub fn seal<R: RngCore + CryptoRng>(
    key: &SealingKey,
    context: &[u8; CONTEXT_LEN],
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>> {
    if plaintext.len() > MAX_PLAINTEXT_LEN {
        return Err(CryptoError::OversizedLength {
            field: "plaintext",
            len: plaintext.len(),
            max: MAX_PLAINTEXT_LEN,
        });
    }
    let mut message_id = [0u8; MESSAGE_ID_LEN];
    rng.fill_bytes(&mut message_id);
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let dek = commitment::derive_dek(&key.key, &key.id, context)?;
    let committed = commitment::commit(&dek, SEAL_SUITE, &message_id)?;

    let mut out = Vec::with_capacity(FIXED_HEADER_LEN + 160 + plaintext.len() + TAG_LEN);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_VERSION);
    out.push(SEAL_SUITE);
    out.extend_from_slice(context);
    out.extend_from_slice(&key.id);
    out.extend_from_slice(&message_id);
    out.extend_from_slice(&committed.commitment);
    out.extend_from_slice(&nonce);
    let full_aad = payload_aad(&out, aad);
    let ct = aes256gcm_seal(committed.aes_key.expose_secret(), &nonce, &full_aad, plaintext)?;
    write_kek_section(&mut out, &key.wrapped)?;
    out.extend_from_slice(&(ct.len() as u32).to_be_bytes()); // <= MAX_PLAINTEXT_LEN + 16
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Opens envelope bytes: parse, unwrap the data key for `tenant`, check the commitment, decrypt.
pub fn open(
    provider: &(impl KeyProvider + ?Sized),
    tenant: &str,
    aad: &[u8],
    envelope: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    Envelope::parse(envelope)?.open(provider, tenant, aad)
}

/// Moves an envelope's data key to the tenant's current KEK version.
///
/// Only the KEK section (KEK id, version, wrapped key) changes; the header, commitment, nonce
/// and ciphertext are copied byte for byte, so the payload is never decrypted.
pub fn rewrap<R: RngCore + CryptoRng>(
    provider: &(impl KeyProvider + ?Sized),
    tenant: &str,
    envelope: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>> {
    let env = Envelope::parse(envelope)?;
    let old = WrappedKey { kek: env.kek.clone(), bytes: env.wrapped_key.to_vec() };
    let new = provider.rewrap(tenant, &env.data_key_id, &old, rng)?;
    let mut out = Vec::with_capacity(envelope.len() + 64);
    out.extend_from_slice(env.fixed_header);
    write_kek_section(&mut out, &new)?;
    out.extend_from_slice(&envelope[env.payload_offset..]);
    Ok(out)
}
