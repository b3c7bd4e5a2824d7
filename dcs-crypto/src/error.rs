//! The one error type of the crate: each distinct failure is its own variant, and each
//! message says what went wrong and what to check.

use alloc::string::String;

/// Everything that can go wrong while sealing, opening, MACing, signing or verifying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The envelope ends before a field it declares.
    #[error(
        "truncated envelope: field `{field}` needs {needed} bytes but only {available} remain \
         (the envelope was cut short in storage or transit)"
    )]
    TruncatedEnvelope {
        /// The field being read.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the input.
        available: usize,
    },
    /// A length prefix declares more than the format allows.
    #[error("oversized length: field `{field}` declares {len} bytes, more than the maximum {max}")]
    OversizedLength {
        /// The field whose length is too large.
        field: &'static str,
        /// The declared length.
        len: usize,
        /// The largest accepted length.
        max: usize,
    },
    /// Bytes follow the last field of the envelope.
    #[error("{extra} unexpected bytes after the end of the envelope (two envelopes concatenated?)")]
    TrailingBytes {
        /// How many bytes follow the end.
        extra: usize,
    },
    /// The input does not start with the envelope magic `DCSE`.
    #[error("not a DCS envelope: the first four bytes are not `DCSE`")]
    BadMagic,
    /// The envelope format version is not one this build reads.
    #[error("unknown envelope format version {0}; this build reads version 1 (upgrade DCS)")]
    UnknownVersion(u8),
    /// The algorithm suite byte names no suite this build knows.
    #[error("unknown algorithm suite {0}; this build knows suite 1 (AES-256-GCM, HKDF commitment)")]
    UnknownAlgorithm(u8),
    /// The signature algorithm tag is not usable with the key it names.
    #[error(
        "signature algorithm mismatch: the signer's registered key is {registered} but the event \
         is tagged {found}"
    )]
    AlgorithmMismatch {
        /// The algorithm of the registered key.
        registered: &'static str,
        /// The algorithm the event names.
        found: &'static str,
    },
    /// The key commitment in the envelope does not match the data key that opened it.
    #[error(
        "key commitment mismatch: the envelope does not commit to this data key (the envelope's \
         key fields or commitment were altered, or the wrong key was supplied)"
    )]
    CommitmentMismatch,
    /// The AES-GCM tag did not authenticate the ciphertext and associated data.
    #[error(
        "bad AEAD tag: the ciphertext, nonce or associated data differ from what was sealed \
         (tampered payload, or the envelope was moved to another event)"
    )]
    BadTag,
    /// The wrapped data key did not authenticate under the named KEK.
    #[error(
        "cannot unwrap the data key under KEK `{kek_id}` v{version}: the wrapped key or its \
         context was altered, or it was wrapped by a different key"
    )]
    UnwrapFailed {
        /// The KEK id named in the envelope.
        kek_id: String,
        /// The KEK version named in the envelope.
        version: u32,
    },
    /// The KEK named belongs to another tenant than the one opening.
    #[error(
        "wrong tenant's KEK: `{kek_id}` belongs to tenant `{owner}`, not `{requested}` (open the \
         envelope with its own tenant's keys)"
    )]
    WrongTenant {
        /// The KEK id named in the envelope.
        kek_id: String,
        /// The tenant that owns that KEK.
        owner: String,
        /// The tenant that asked.
        requested: String,
    },
    /// The provider has no KEK with this id.
    #[error("unknown KEK `{kek_id}`: the key provider has no key with this id")]
    UnknownKek {
        /// The KEK id that was looked up.
        kek_id: String,
    },
    /// The provider knows the KEK but not this version.
    #[error("unknown version {version} of KEK `{kek_id}` (never created here)")]
    UnknownKekVersion {
        /// The KEK id.
        kek_id: String,
        /// The version that was asked for.
        version: u32,
    },
    /// The KEK version was retired: it no longer opens data keys.
    #[error(
        "KEK `{kek_id}` v{version} is retired and no longer opens data keys (rewrap stored \
         envelopes to the current version before retiring it)"
    )]
    RetiredKek {
        /// The KEK id.
        kek_id: String,
        /// The retired version.
        version: u32,
    },
    /// Sealing was asked for under a KEK version that is no longer the tenant's current one
    /// (rotated, retired, or no longer in the provider).
    #[error(
        "KEK `{kek_id}` v{version} is not the current KEK of tenant `{tenant}` (the current one \
         is {current}): new events must be sealed under the current version; reseal under it"
    )]
    KekNotCurrent {
        /// The tenant sealing.
        tenant: String,
        /// The KEK id asked for.
        kek_id: String,
        /// The version asked for.
        version: u32,
        /// The tenant's current KEK (id and version).
        current: String,
    },
    /// The tenant's KEK was destroyed (crypto-shredded): its payloads cannot be recovered.
    #[error(
        "KEK `{kek_id}` of tenant `{tenant}` was destroyed (crypto-shredded): its payloads are \
         unrecoverable by design; metadata MACs and signatures still verify"
    )]
    KekDestroyed {
        /// The tenant whose key was shredded.
        tenant: String,
        /// The KEK id.
        kek_id: String,
    },
    /// The event's metadata names another KEK than its envelope.
    #[error(
        "the event names KEK `{event_kek}` but its envelope was wrapped by `{envelope_kek}` \
         (envelope attached to the wrong event)"
    )]
    KekMismatch {
        /// The KEK id and version in the event metadata.
        event_kek: String,
        /// The KEK id and version in the envelope.
        envelope_kek: String,
    },
    /// The HMAC-SHA512 over the metadata did not match.
    #[error(
        "bad MAC: the event's metadata differs from what was MACed, or the MAC key is not the \
         tenant's"
    )]
    BadMac,
    /// The event carries no MAC.
    #[error("the event carries no MAC (seal the event first)")]
    MissingMac,
    /// The signature did not verify.
    #[error(
        "bad signature: the signed bytes differ from what the creator signed, or the key in the \
         registry is not the creator's"
    )]
    BadSignature,
    /// The event carries no signature.
    #[error("the event carries no creator signature (seal the event first)")]
    MissingSignature,
    /// The signature bytes are not a well-formed signature of their algorithm.
    #[error("malformed {algorithm} signature: expected {expected} bytes, got {len}")]
    MalformedSignature {
        /// The algorithm.
        algorithm: &'static str,
        /// Its expected length.
        expected: usize,
        /// The length found.
        len: usize,
    },
    /// The signer is not in the public-key registry.
    #[error(
        "unknown signer `{agent}`: register the agent's public key before verifying its events"
    )]
    UnknownSigner {
        /// The agent id.
        agent: String,
    },
    /// Key bytes of the wrong size or encoding.
    #[error("invalid {what}: {reason}")]
    InvalidKey {
        /// Which key.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A requested output length is beyond what the KDF can produce.
    #[error("HKDF cannot produce {len} bytes (the maximum is 255 × hash length)")]
    KdfOutputTooLong {
        /// The requested length.
        len: usize,
    },
    /// A persisted keyring could not be decoded.
    #[error("keyring bytes are not a valid keyring of format version 1: {0}")]
    KeyringFormat(&'static str),
    /// The event model refused a value (e.g. the envelope is larger than it allows).
    #[error("event rejected the value: {0}")]
    Event(#[from] dcs_core::CoreError),
    /// A terminal that holds no KEK has no leased data key left that is fresh.
    #[error(
        "no data key lease left for tenant `{tenant}`: connect the till to its store to lease one"
    )]
    NoLease {
        /// The tenant.
        tenant: String,
    },
    /// A cashier list is malformed or out of bounds.
    #[error("cashier list: {0}")]
    CashierList(&'static str),
    /// A till enrollment code is malformed.
    #[error("enrollment code: {0}")]
    Enrollment(&'static str),
    /// An external key provider (PKCS#11 token, Vault) failed.
    #[error("key provider `{provider}` failed: {reason}")]
    Provider {
        /// Which provider.
        provider: &'static str,
        /// What it reported.
        reason: String,
    },
}

/// `Result` with [`CryptoError`].
pub type Result<T, E = CryptoError> = core::result::Result<T, E>;
