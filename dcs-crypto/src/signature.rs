//! Creator signatures: ECDSA P-256 with SHA-256 (fixed 64-byte `r ‖ s`) and Ed25519, tagged
//! with dcs-core's [`SignatureAlgorithm`].

use alloc::vec::Vec;
use core::fmt;

use dcs_core::event::{EventSignature, SignatureAlgorithm};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use rand_core::CryptoRngCore;

use crate::error::{CryptoError, Result};

/// Ed25519 signature length.
pub const ED25519_SIGNATURE_LEN: usize = 64;
/// ECDSA P-256 signature length (`r ‖ s`).
pub const P256_SIGNATURE_LEN: usize = 64;

/// Display name of an algorithm, for error messages.
pub fn algorithm_name(a: SignatureAlgorithm) -> &'static str {
    match a {
        SignatureAlgorithm::EcdsaP256Sha256 => "ECDSA P-256/SHA-256",
        SignatureAlgorithm::Ed25519 => "Ed25519",
    }
}

/// A creator's private signing key; zeroized on drop, never printed.
#[derive(Clone)]
pub enum Signer {
    /// ECDSA over P-256 with SHA-256 (deterministic nonces, RFC 6979).
    EcdsaP256(p256::ecdsa::SigningKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::SigningKey),
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer({}, <secret redacted>)", algorithm_name(self.algorithm()))
    }
}

impl Signer {
    /// Generates a fresh key of `algorithm` from `rng`.
    pub fn generate(algorithm: SignatureAlgorithm, rng: &mut dyn CryptoRngCore) -> Self {
        match algorithm {
            SignatureAlgorithm::EcdsaP256Sha256 => {
                Self::EcdsaP256(p256::ecdsa::SigningKey::random(&mut &mut *rng))
            }
            SignatureAlgorithm::Ed25519 => {
                Self::Ed25519(ed25519_dalek::SigningKey::generate(&mut &mut *rng))
            }
        }
    }

    /// Loads a 32-byte secret (P-256 scalar or Ed25519 seed).
    pub fn from_bytes(algorithm: SignatureAlgorithm, secret: &[u8]) -> Result<Self> {
        match algorithm {
            SignatureAlgorithm::EcdsaP256Sha256 => p256::ecdsa::SigningKey::from_slice(secret)
                .map(Self::EcdsaP256)
                .map_err(|_| CryptoError::InvalidKey {
                    what: "P-256 secret key",
                    reason: "must be a 32-byte scalar in 1..n",
                }),
            SignatureAlgorithm::Ed25519 => {
                let seed: [u8; 32] = secret.try_into().map_err(|_| CryptoError::InvalidKey {
                    what: "Ed25519 seed",
                    reason: "must be 32 bytes",
                })?;
                Ok(Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed)))
            }
        }
    }

    /// The algorithm of this key.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        match self {
            Self::EcdsaP256(_) => SignatureAlgorithm::EcdsaP256Sha256,
            Self::Ed25519(_) => SignatureAlgorithm::Ed25519,
        }
    }

    /// The matching public key, to put in a [`KeyRegistry`](crate::KeyRegistry).
    pub fn verifier(&self) -> Verifier {
        match self {
            Self::EcdsaP256(k) => Verifier::EcdsaP256(*k.verifying_key()),
            Self::Ed25519(k) => Verifier::Ed25519(k.verifying_key()),
        }
    }

    /// Signs `message`, tagged with the algorithm.
    pub fn sign(&self, message: &[u8]) -> EventSignature {
        let bytes = match self {
            Self::EcdsaP256(k) => {
                let s: p256::ecdsa::Signature = k.sign(message);
                s.to_bytes().to_vec()
            }
            Self::Ed25519(k) => k.sign(message).to_bytes().to_vec(),
        };
        EventSignature { algorithm: self.algorithm(), bytes }
    }
}

/// A public verification key.
#[derive(Clone, PartialEq, Eq)]
pub enum Verifier {
    /// ECDSA P-256 public key.
    EcdsaP256(p256::ecdsa::VerifyingKey),
    /// Ed25519 public key.
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Verifier({}, ", algorithm_name(self.algorithm()))?;
        for b in self.to_bytes() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

impl Verifier {
    /// Reads a public key under the algorithm's name in the key registry (`ed25519`,
    /// `ecdsa-p256`), as [`Verifier::from_bytes`] reads it.
    ///
    /// # Errors
    /// [`CryptoError::InvalidKey`] for another name or key bytes that do not parse.
    pub fn from_registry(algorithm: &str, bytes: &[u8]) -> Result<Self> {
        let algorithm = match algorithm {
            "ed25519" => SignatureAlgorithm::Ed25519,
            "ecdsa-p256" => SignatureAlgorithm::EcdsaP256Sha256,
            _ => {
                return Err(CryptoError::InvalidKey {
                    what: "registry key",
                    reason: "its algorithm is neither ed25519 nor ecdsa-p256",
                });
            }
        };
        Self::from_bytes(algorithm, bytes)
    }

    /// The name of its algorithm in the key registry (`ed25519`, `ecdsa-p256`): what
    /// [`Verifier::from_registry`] reads.
    pub fn registry_algorithm(&self) -> &'static str {
        match self.algorithm() {
            SignatureAlgorithm::Ed25519 => "ed25519",
            SignatureAlgorithm::EcdsaP256Sha256 => "ecdsa-p256",
        }
    }

    /// Reads a public key: SEC1 (compressed or uncompressed) for P-256, 32 bytes for Ed25519.
    ///
    /// Ed25519 keys of small order are refused (they would let one signature fit many messages).
    pub fn from_bytes(algorithm: SignatureAlgorithm, bytes: &[u8]) -> Result<Self> {
        match algorithm {
            SignatureAlgorithm::EcdsaP256Sha256 => {
                p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes).map(Self::EcdsaP256).map_err(
                    |_| CryptoError::InvalidKey {
                        what: "P-256 public key",
                        reason: "not a valid SEC1 point on the curve",
                    },
                )
            }
            SignatureAlgorithm::Ed25519 => {
                let arr: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::InvalidKey {
                    what: "Ed25519 public key",
                    reason: "must be 32 bytes",
                })?;
                let k = ed25519_dalek::VerifyingKey::from_bytes(&arr).map_err(|_| {
                    CryptoError::InvalidKey {
                        what: "Ed25519 public key",
                        reason: "not a valid curve point",
                    }
                })?;
                if k.is_weak() {
                    return Err(CryptoError::InvalidKey {
                        what: "Ed25519 public key",
                        reason: "small-order (weak) key",
                    });
                }
                Ok(Self::Ed25519(k))
            }
        }
    }

    /// The encoded key (compressed SEC1 for P-256, 32 bytes for Ed25519).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Self::EcdsaP256(k) => k.to_encoded_point(true).as_bytes().to_vec(),
            Self::Ed25519(k) => k.to_bytes().to_vec(),
        }
    }

    /// The algorithm of this key.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        match self {
            Self::EcdsaP256(_) => SignatureAlgorithm::EcdsaP256Sha256,
            Self::Ed25519(_) => SignatureAlgorithm::Ed25519,
        }
    }

    /// Verifies a tagged signature over `message`.
    ///
    /// ECDSA: `r ‖ s` with both in `1..n`; high-`s` is accepted (see the crate doc). Ed25519:
    /// strict verification (canonical `s`, no small-order `R` or key).
    pub fn verify(&self, message: &[u8], signature: &EventSignature) -> Result<()> {
        if signature.algorithm != self.algorithm() {
            return Err(CryptoError::AlgorithmMismatch {
                registered: algorithm_name(self.algorithm()),
                found: algorithm_name(signature.algorithm),
            });
        }
        self.verify_raw(message, &signature.bytes)
    }

    /// Verifies raw signature bytes over `message` with this key's algorithm.
    pub fn verify_raw(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        match self {
            Self::EcdsaP256(k) => {
                if signature.len() != P256_SIGNATURE_LEN {
                    return Err(CryptoError::MalformedSignature {
                        algorithm: "ECDSA P-256",
                        expected: P256_SIGNATURE_LEN,
                        len: signature.len(),
                    });
                }
                let sig = p256::ecdsa::Signature::from_slice(signature)
                    .map_err(|_| CryptoError::BadSignature)?;
                k.verify(message, &sig).map_err(|_| CryptoError::BadSignature)
            }
            Self::Ed25519(k) => {
                let sig = ed25519_signature(signature)?;
                k.verify_strict(message, &sig).map_err(|_| CryptoError::BadSignature)
            }
        }
    }
}

pub(crate) fn ed25519_signature(bytes: &[u8]) -> Result<ed25519_dalek::Signature> {
    let arr: [u8; ED25519_SIGNATURE_LEN] =
        bytes.try_into().map_err(|_| CryptoError::MalformedSignature {
            algorithm: "Ed25519",
            expected: ED25519_SIGNATURE_LEN,
            len: bytes.len(),
        })?;
    Ok(ed25519_dalek::Signature::from_bytes(&arr))
}

/// Leading bytes of a [`Signer::to_key_bytes`] key file.
const KEY_FILE_MAGIC: &[u8; 4] = b"DCSG";
/// Format version of a signer key file.
const KEY_FILE_VERSION: u8 = 1;
/// Length of a signer key file: magic, version, algorithm, secret, SHA-256 digest.
const KEY_FILE_LEN: usize = 4 + 1 + 1 + 32 + 32;

impl Signer {
    /// The 32-byte secret (P-256 scalar or Ed25519 seed) that [`Signer::from_bytes`] loads;
    /// zeroized on drop. Keep it in a file only its owner can read, or in a key provider.
    pub fn to_secret_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        let mut out = zeroize::Zeroizing::new([0u8; 32]);
        match self {
            Self::EcdsaP256(k) => out.copy_from_slice(&k.to_bytes()),
            Self::Ed25519(k) => out.copy_from_slice(&k.to_bytes()),
        }
        out
    }

    /// A self-describing key file: `DCSG ‖ version ‖ algorithm ‖ secret ‖ SHA-256`, so a
    /// terminal keeps its identity across restarts; the digest catches a damaged file.
    pub fn to_key_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        use sha2::{Digest, Sha256};
        let mut out = zeroize::Zeroizing::new(Vec::with_capacity(KEY_FILE_LEN));
        out.extend_from_slice(KEY_FILE_MAGIC);
        out.push(KEY_FILE_VERSION);
        out.push(self.algorithm() as u8);
        out.extend_from_slice(self.to_secret_bytes().as_slice());
        let digest = Sha256::digest(out.as_slice());
        out.extend_from_slice(&digest);
        out
    }

    /// Loads a key file written by [`to_key_bytes`](Self::to_key_bytes).
    pub fn from_key_bytes(bytes: &[u8]) -> Result<Self> {
        use sha2::{Digest, Sha256};
        let bad = |reason| CryptoError::InvalidKey { what: "signer key file", reason };
        if bytes.len() != KEY_FILE_LEN || &bytes[..4] != KEY_FILE_MAGIC {
            return Err(bad("not a DCS signer key file (wrong length or magic)"));
        }
        if bytes[4] != KEY_FILE_VERSION {
            return Err(bad("unknown key file version (written by a newer DCS?)"));
        }
        if Sha256::digest(&bytes[..KEY_FILE_LEN - 32]).as_slice() != &bytes[KEY_FILE_LEN - 32..] {
            return Err(bad("digest mismatch: the key file is damaged or was edited"));
        }
        let algorithm = match bytes[5] {
            1 => SignatureAlgorithm::EcdsaP256Sha256,
            2 => SignatureAlgorithm::Ed25519,
            _ => return Err(bad("unknown signature algorithm")),
        };
        Self::from_bytes(algorithm, &bytes[6..38])
    }
}
