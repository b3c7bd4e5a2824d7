//! How a region checks events: a [`Verifier`] it is given (dcs-crypto's in production).

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

    /// The decrypted body, when this node may read it (default: it may not).
    fn open(&self, _event: &SovereignFinancialEvent) -> Option<EventBody> {
        None
    }
}
