//! How a region checks events: a [`Verifier`] it is given (dcs-crypto's in production).

use alloc::vec::Vec;

use dcs_core::SovereignFinancialEvent;
use dcs_core::commerce::EventBody;

use crate::VerifyError;

/// Checks an event's MAC and signature before a region accepts it, and optionally opens its
/// body so the summary sent to the master carries the stock movement. `Send + Sync`, so a
/// daemon can move its machine between threads.
pub trait Verifier: Send + Sync {
    /// Ok if the event is authentic.
    ///
    /// # Errors
    /// A [`VerifyError`] saying why the event is refused.
    fn verify(&self, event: &SovereignFinancialEvent) -> Result<(), VerifyError>;

    /// One result per event, in order: a verifier that can check many signatures at once
    /// (Ed25519 batch verification) overrides it; by default each event is verified alone.
    fn verify_batch(&self, events: &[&SovereignFinancialEvent]) -> Vec<Result<(), VerifyError>> {
        events.iter().map(|e| self.verify(e)).collect()
    }

    /// The decrypted body, when this node may read it (default: it may not).
    fn open(&self, _event: &SovereignFinancialEvent) -> Option<EventBody> {
        None
    }
}
