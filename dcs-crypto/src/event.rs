//! Sealing, opening and verifying [`SovereignFinancialEvent`]s: the functions the quickstart
//! and the regional verifier call.
//!
//! - [`seal_event`]: encrypts the payload with the event's [`aad_bytes`] as associated data,
//!   attaches the envelope, then MACs and signs the event's [`canonical_bytes`].
//! - [`open_event`]: decrypts the payload (the AEAD checks the metadata it is bound to).
//! - [`verify_event`]: checks the MAC and the creator's signature; needs no KEK, so it still
//!   works after the tenant's keys are shredded.
//! - [`verify_event_signatures`]: signatures of many events at once (Ed25519 in one batch).
//!
//! [`aad_bytes`]: SovereignFinancialEvent::aad_bytes
//! [`canonical_bytes`]: SovereignFinancialEvent::canonical_bytes

use alloc::vec::Vec;

use dcs_core::SovereignFinancialEvent;
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::envelope::{self, Envelope};
use crate::error::{CryptoError, Result};
use crate::mac::MacKey;
use crate::provider::{KeyProvider, SealingKey};
use crate::registry::{KeyRegistry, SignedMessage};
use crate::signature::Signer;

/// Encrypts `plaintext` into `event`'s envelope, then sets its MAC and the signer's signature.
///
/// `key` must be a data key wrapped under the KEK the event names (get it from
/// [`DataKeyCache::sealing_key_for_event`](crate::DataKeyCache::sealing_key_for_event) or
/// [`KeyProvider::generate_data_key`]); otherwise [`CryptoError::KekMismatch`].
pub fn seal_event<R: RngCore + CryptoRng>(
    event: &mut SovereignFinancialEvent,
    plaintext: &[u8],
    key: &SealingKey,
    mac_key: &MacKey,
    signer: &Signer,
    rng: &mut R,
) -> Result<()> {
    let p = event.payload();
    if key.wrapped.kek.id != p.kek_id || key.wrapped.kek.version != p.kek_version {
        return Err(CryptoError::KekMismatch {
            event_kek: alloc::format!("{} v{}", p.kek_id, p.kek_version),
            envelope_kek: alloc::format!("{}", key.wrapped.kek),
        });
    }
    let env = envelope::seal(key, event.event_id().as_bytes(), &event.aad_bytes(), plaintext, rng)?;
    event.set_envelope(env)?;
    sign_event(event, mac_key, signer);
    Ok(())
}

/// Recomputes the MAC and the signature over `event`'s canonical bytes (after sealing).
pub fn sign_event(event: &mut SovereignFinancialEvent, mac_key: &MacKey, signer: &Signer) {
    let canonical = event.canonical_bytes();
    event.set_mac(mac_key.compute(&canonical).to_vec());
    event.set_signature(signer.sign(&canonical));
}

/// Decrypts `event`'s payload with keys from `provider`, for the event's own tenant.
///
/// Fails if any bound metadata field, or any envelope byte, differs from what was sealed.
pub fn open_event(
    event: &SovereignFinancialEvent,
    provider: &(impl KeyProvider + ?Sized),
) -> Result<Zeroizing<Vec<u8>>> {
    let p = event.payload();
    let env = Envelope::parse(&p.envelope)?;
    // A rewrapped envelope names a newer version of the same KEK than the event does.
    if env.kek.id != p.kek_id || env.kek.version < p.kek_version {
        return Err(CryptoError::KekMismatch {
            event_kek: alloc::format!("{} v{}", p.kek_id, p.kek_version),
            envelope_kek: alloc::format!("{}", env.kek),
        });
    }
    env.open(provider, event.tenant_id().as_str(), &event.aad_bytes())
}

/// Checks `event`'s MAC with the tenant's key and its creator's signature with `registry`.
pub fn verify_event(
    event: &SovereignFinancialEvent,
    mac_key: &MacKey,
    registry: &KeyRegistry,
) -> Result<()> {
    let canonical = event.canonical_bytes();
    let audit = event.audit();
    if audit.mac.is_empty() {
        return Err(CryptoError::MissingMac);
    }
    mac_key.verify(&canonical, &audit.mac)?;
    let sig = audit.signature.as_ref().ok_or(CryptoError::MissingSignature)?;
    registry.verify(&audit.created_by, &canonical, sig)
}

/// Verifies then opens: [`verify_event`] followed by [`open_event`].
pub fn verify_and_open_event(
    event: &SovereignFinancialEvent,
    mac_key: &MacKey,
    registry: &KeyRegistry,
    provider: &(impl KeyProvider + ?Sized),
) -> Result<Zeroizing<Vec<u8>>> {
    verify_event(event, mac_key, registry)?;
    open_event(event, provider)
}

/// Checks the creators' signatures of many events (Ed25519 ones in one batch); one result
/// per event, in order. MACs are not checked (the regional verifier may hold no MAC key).
pub fn verify_event_signatures(
    events: &[SovereignFinancialEvent],
    registry: &KeyRegistry,
) -> Vec<Result<()>> {
    let canon: Vec<Vec<u8>> = events.iter().map(SovereignFinancialEvent::canonical_bytes).collect();
    let mut out: Vec<Result<()>> = Vec::with_capacity(events.len());
    let mut items = Vec::with_capacity(events.len());
    let mut idx = Vec::with_capacity(events.len());
    for (i, (e, c)) in events.iter().zip(&canon).enumerate() {
        match &e.audit().signature {
            Some(s) => {
                items.push(SignedMessage {
                    signer: &e.audit().created_by,
                    message: c,
                    signature: s,
                });
                idx.push(i);
                out.push(Ok(()));
            }
            None => out.push(Err(CryptoError::MissingSignature)),
        }
    }
    for (r, i) in registry.verify_batch(&items).into_iter().zip(idx) {
        out[i] = r;
    }
    out
}
