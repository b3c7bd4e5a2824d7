//! # dcs-crypto: envelope encryption, metadata MACs and signatures for DCS events
//!
//! Every [`SovereignFinancialEvent`](dcs_core::SovereignFinancialEvent) is sealed before it is
//! stored or sent. This crate is sans-IO: it reads no clock, does no I/O and draws no OS
//! randomness. Random bytes come in as an `R: RngCore + CryptoRng` argument and time (for the
//! data-key cache) as `now_ms`. Key stores that need I/O implement [`KeyProvider`] outside
//! the core (crate `dcs-keys` in `dcs-crypto/providers`: keyring file, PKCS#11, Vault Transit).
//!
//! ## Entry points
//!
//! - Events ([`event`]): [`seal_event`], [`open_event`], [`verify_event`],
//!   [`verify_and_open_event`] and [`verify_event_signatures`] (Ed25519 batch).
//! - Bytes ([`envelope`]): [`seal`](envelope::seal), [`open`](envelope::open),
//!   [`rewrap`](envelope::rewrap) and [`Envelope::parse`].
//! - Keys: the [`KeyProvider`] trait, the in-memory [`Keyring`] (the default provider), the
//!   [`DataKeyCache`], [`MacKey`] (HMAC-SHA512), [`Signer`] / [`Verifier`] (ECDSA P-256 and
//!   Ed25519) and the [`KeyRegistry`] of agents' public keys.
//! - A POS: [`Terminal`] builds and seals domain facts with restart-safe idempotency keys,
//!   follows KEK rotations and saves its clocks as a [`TerminalState`] ([`terminal`]).
//! - [`primitive`]: AES-256-GCM, HKDF and HMAC exactly as the rest of the crate calls them.
//!
//! ## What the data-key cache may skip
//! The [`DataKeyCache`] skips the provider's wrap call for a cached data key, never the check
//! that the key's KEK is still the tenant's current, live KEK: after a rotation, a retirement
//! or a crypto-shred, the next seal moves on or fails, and the old data keys are zeroized
//! ([`dek_cache`]). Keyring bytes end with a digest (corruption, truncation) and can be
//! sealed under an outside key against an attacker who can write them
//! ([`Keyring::to_sealed_bytes`]).
//!
//! ```
//! use dcs_crypto::{DataKeyCache, KekMaterial, KeyProvider, KeyRegistry, Keyring, MacKey, Signer};
//! use dcs_core::event::SignatureAlgorithm;
//! # use dcs_core::{causality::HlcTimestamp, *};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
//! # use rand_chacha::rand_core::SeedableRng;
//! let mut keyring = Keyring::new();
//! keyring.create_kek("acme", "acme/kek", KekMaterial::Random(&mut rng))?;
//! let mac_key = MacKey::random(&mut rng);
//! let signer = Signer::generate(SignatureAlgorithm::Ed25519, &mut rng);
//! let cashier = AgentId::new("cashier-17")?;
//! let mut registry = KeyRegistry::new();
//! registry.register(&cashier, signer.verifier());
//!
//! let kek = keyring.current_kek("acme")?; // new events name the newest KEK version
//! # let agent = AgentId::new("pos-01")?;
//! let mut event = EventBuilder::new()
//!     .kek(kek.id.clone(), kek.version)
//!     .created_by(cashier)
//! #   .event_id(EventId::new_v7(1_767_225_600_000, [7; 10]))
//! #   .idempotency_key(IdempotencyKey::new("sale-1")?)
//! #   .tenant_id(TenantId::new("acme")?).branch_id(BranchId::new("store-1")?)
//! #   .agent_id(agent.clone()).event_type(EventType::SaleCompleted)
//! #   .amount(Money::from_minor(1099, Currency::USD))
//! #   .causality(CausalContext { hlc: HlcTimestamp { time: 1, node: [1; 16] },
//! #       vector_clock: [(agent, 1)].into_iter().collect() })
//!     // ... the other fields ...
//!     .build()?;
//!
//! let mut cache = DataKeyCache::default();
//! let key = cache.sealing_key_for_event(&keyring, &event, 1_000, &mut rng)?;
//! dcs_crypto::seal_event(&mut event, b"basket", key, &mac_key, &signer, &mut rng)?;
//!
//! dcs_crypto::verify_event(&event, &mac_key, &registry)?;
//! assert_eq!(&dcs_crypto::open_event(&event, &keyring)?[..], b"basket");
//! # Ok(()) }
//! ```
//!
//! ## Key hierarchy
//!
//! ```text
//! KEK (per tenant, id + version; in the Keyring, a PKCS#11 token or Vault)
//!  └─ wraps → data key (random 256-bit, id = 16 random bytes; cached ≤ N events / T ms)
//!      └─ HKDF-SHA256(salt = data-key id, info = "dcs/dek/v1" ‖ event id) → DEK (per event)
//!          └─ HKDF-SHA256(salt = message id) → AES-256-GCM key + 32-byte key commitment
//! ```
//!
//! - **Per-event DEK without a KMS round trip.** The [`DataKeyCache`] holds a data key per
//!   (tenant, KEK version), made by one provider call and reused for at most
//!   [`CachePolicy::max_uses`] events and [`CachePolicy::max_age_ms`]; evicted keys are
//!   zeroized. Each event's DEK is derived from it with HKDF over the event id.
//! - **Key commitment.** The commitment is derived from the per-event DEK (as the AWS
//!   Encryption SDK's committing suite does from its data key), so it commits to the key that
//!   actually encrypts. Opening derives the DEK from the unwrapped data key, the data-key id
//!   and the context stored in the envelope, and compares the commitment in constant time
//!   before AES-GCM runs. A different data key, id, context or message id gives a different
//!   commitment: one envelope decrypts under one key only.
//! - **Rotation.** New events name the newest KEK version ([`KeyProvider::current_kek`]); the
//!   cache is keyed by KEK version, so a rotation starts a new data key at once. Old versions
//!   keep opening until [`Keyring::retire`]. [`envelope::rewrap`] moves an envelope's data key
//!   to the newest version and copies header, commitment, nonce and ciphertext byte for byte:
//!   the DEK and commitment depend on the data key, not on the KEK, so they stay valid.
//! - **Crypto-shredding.** [`Keyring::destroy_tenant`] erases a tenant's KEKs: every data
//!   key wrapped under them, hence every DEK, is gone, and [`open_event`] reports
//!   [`CryptoError::KekDestroyed`]. MACs and signatures cover the metadata and the envelope
//!   bytes, not the plaintext, so [`verify_event`] still passes. Also call
//!   [`DataKeyCache::evict_tenant`] so no cached data key outlives its KEK.
//!
//! ## Envelope byte format, version 1
//!
//! All integers big-endian. The fixed header (bytes 0..114) is prefixed to the caller's
//! associated data (the event's `aad_bytes()`) as AES-GCM associated data. The KEK section is
//! authenticated by the wrapping itself (the keyring's wrap binds tenant, KEK id, version and
//! data-key id as associated data), which is what lets [`envelope::rewrap`] replace it alone.
//!
//! | Offset | Size | Field | Notes |
//! |-------:|-----:|-------|-------|
//! | 0 | 4 | magic | `DCSE` |
//! | 4 | 1 | format version | `1` |
//! | 5 | 1 | suite | `2` = HKDF-SHA256 DEK and commitment, AES-256-GCM; `1` (read only): commitment by HKDF-SHA512 |
//! | 6 | 16 | context | event id; DEK derivation info |
//! | 22 | 16 | data-key id | DEK derivation salt; bound into the wrapping |
//! | 38 | 32 | message id | random; commitment derivation salt |
//! | 70 | 32 | commitment | HKDF(salt = message id, DEK, "COMMITKEY"), the suite's hash |
//! | 102 | 12 | nonce | random 96-bit AES-GCM nonce |
//! | 114 | 1 | KEK id length `L` | 1..=128 |
//! | 115 | L | KEK id | UTF-8 |
//! | 115+L | 4 | KEK version | |
//! | 119+L | 2 | wrapped key length `W` | 1..=1024 |
//! | 121+L | W | wrapped data key | provider-specific |
//! | 121+L+W | 4 | ciphertext length `C` | 16..=16 MiB − 4080 (includes the tag) |
//! | 125+L+W | C | ciphertext ‖ tag | AES-256-GCM, 16-byte tag |
//!
//! Suites 1 and 2 differ only in the commitment's hash. Suite 2 is written since the seal's
//! cost was measured against an Ed25519 signature: HKDF-SHA512 (12 SHA-512 compressions in
//! software, about 2.9 µs) was the largest non-signature cost, and HKDF-SHA256 runs on the
//! CPU's SHA extensions where they exist. The commitment stays 256 bits, so finding two keys
//! that share one costs 2^128 either way. The suite byte is part of the AES-GCM associated
//! data and of the key derivation (`DERIVEKEY` info), so relabelling an envelope's suite fails
//! the commitment check.
//!
//! Nothing may follow. A reader rejects another magic ([`CryptoError::BadMagic`]), version
//! ([`CryptoError::UnknownVersion`]) or suite ([`CryptoError::UnknownAlgorithm`]), a length
//! beyond its maximum ([`CryptoError::OversizedLength`]), a field cut short
//! ([`CryptoError::TruncatedEnvelope`]) and trailing bytes ([`CryptoError::TrailingBytes`]).
//!
//! ## Integrity and non-repudiation
//!
//! [`MacKey`] computes HMAC-SHA512 over the event's `canonical_bytes()` (which hash the
//! envelope) and verifies in constant time. [`Signer`] signs the same bytes with ECDSA P-256
//! (SHA-256, deterministic RFC 6979 nonces, fixed 64-byte `r ‖ s`) or Ed25519, tagged with
//! `SignatureAlgorithm`. The [`KeyRegistry`] maps agent ids to [`Verifier`]s and
//! [`KeyRegistry::verify_batch`] checks Ed25519 signatures with one batch equation.
//!
//! ## Wycheproof decisions
//!
//! `tests/wycheproof.rs` runs every AES-GCM, ECDSA P-256/SHA-256, Ed25519, HMAC-SHA512 and
//! HKDF-SHA256 vector of the `wycheproof` 0.6 crate through [`primitive`], [`Verifier`],
//! [`KeyRegistry::verify_batch`] and [`MacKey`], and prints per family how many ran (valid,
//! invalid, acceptable) and how many were skipped and why. This release of the vectors marks
//! none of these families' vectors "acceptable"; the decisions below say what the crate does
//! with the cases such vectors are about, and the `*_decision` tests assert them.
//!
//! - **AES-GCM**: the crate only ever uses 256-bit keys, 96-bit nonces and 128-bit tags, and
//!   all 66 vectors of that shape must match (open, and seal to the same bytes). Vectors with
//!   other key or nonce sizes are skipped as *out of profile*, and the test asserts the
//!   primitive refuses them ([`CryptoError::InvalidKey`]).
//! - **ECDSA P-256/SHA-256**: the IEEE P1363 `r ‖ s` vectors (and the WebCrypto ones, same
//!   encoding) run through [`Verifier::verify`]; the DER-encoded set is skipped because events
//!   carry the fixed 64-byte form only. **High-`s` signatures are accepted**: Wycheproof marks
//!   them valid, ECDSA is malleable by design, and events are identified by their event id,
//!   never by signature bytes, so swapping `s` for `n − s` gains an attacker nothing (the
//!   signed bytes are unchanged). `r` or `s` of 0 or ≥ `n` is refused.
//! - **Ed25519**: strict verification (RFC 8032 with canonical `s < L`; a non-canonical
//!   `s + L` is refused, so signatures are not malleable). Small-order (weak) public keys are
//!   refused at registration ([`Verifier::from_bytes`]), and a vector whose key is refused
//!   counts as rejected. Every vector gives the same verdict through the batch path. Batch
//!   verification uses the cofactored equation and could accept a signature whose `R` has a
//!   small-order component that strict single verification refuses; only the holder of the
//!   private key can make such a signature, so it is no forgery, and no Wycheproof vector
//!   differs between the two paths.
//! - **HMAC-SHA512**: [`MacKey`] verifies full 64-byte tags only and refuses truncated tags;
//!   truncated-tag vectors are checked against the prefix of the full MAC the crate computes,
//!   and full-tag vectors through both [`MacKey::verify`] and
//!   [`primitive::hmac_sha512_verify`] (constant-time comparison).
//! - **HKDF-SHA256**: output longer than 255 × 32 bytes is refused
//!   ([`CryptoError::KdfOutputTooLong`]), as the invalid vectors expect.
#![no_std]

extern crate alloc;

pub mod commitment;
pub mod dek_cache;
pub mod enrollment;
pub mod envelope;
pub mod error;
pub mod event;
pub mod keyring;
pub mod lease;
pub mod mac;
pub mod primitive;
pub mod provider;
pub mod registry;
pub mod roster;
pub mod signature;
pub mod terminal;

pub use dek_cache::{CachePolicy, DataKeyCache};
pub use enrollment::TillEnrollment;
pub use envelope::Envelope;
pub use error::{CryptoError, Result};
pub use event::{
    open_event, seal_event, sign_event, verify_and_open_event, verify_event,
    verify_event_signatures,
};
pub use keyring::{KekMaterial, KekState, Keyring};
pub use mac::MacKey;
pub use provider::{DataKey, KekRef, KeyProvider, SealingKey, WrappedKey};
pub use registry::{KeyRegistry, SignedMessage};
pub use roster::{Cashier, CashierList};
pub use signature::{Signer, Verifier};
pub use terminal::{Terminal, TerminalConfig, TerminalState};
