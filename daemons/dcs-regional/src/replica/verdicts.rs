//! The leader's verification of a message's events before it proposes them, and the verifier
//! every replica's machine uses to read those verdicts back.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use dcs_core::commerce::EventBody;
use dcs_core::{EventId, SovereignFinancialEvent};
use dcs_sync::{Item, Message, Verifier, VerifyError};

use super::proposal::{Judged, Verdict};

/// Judges every event of a push with `verifier` (the leader's real one: signatures, MACs).
/// Other messages carry no events and get no verdicts.
pub fn judge(message: &Message, verifier: &dyn Verifier) -> Vec<Verdict> {
    let Message::Push(push) = message else { return Vec::new() };
    let events: Vec<&SovereignFinancialEvent> = push
        .items
        .iter()
        .filter_map(|p| match &p.item {
            Item::Event(e) => Some(e.as_ref()),
            Item::Summary(_) => None,
        })
        .collect();
    // One call for the whole push: the verifier checks the signatures in one batch.
    let results = verifier.verify_batch(&events);
    events
        .into_iter()
        .zip(results)
        .map(|(e, r)| {
            let outcome = match r {
                Ok(()) => Judged::Authentic(verifier.open(e)),
                Err(VerifyError::BadMac) => Judged::BadMac,
                Err(VerifyError::BadSignature) => Judged::BadSignature,
                Err(VerifyError::Other(r)) => Judged::Refused(r),
            };
            Verdict { event_id: e.event_id(), outcome }
        })
        .collect()
}

/// The verdicts of the entry being applied, shared between the replica and its machine's
/// verifier.
#[derive(Clone, Default)]
pub struct Verdicts(Arc<Mutex<BTreeMap<EventId, Judged>>>);

impl Verdicts {
    /// Replaces the verdicts with those of the next entry.
    pub fn set(&self, verdicts: &[Verdict]) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.clear();
        map.extend(verdicts.iter().map(|v| (v.event_id, v.outcome.clone())));
    }

    fn get(&self, id: &EventId) -> Option<Judged> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).get(id).cloned()
    }
}

/// The machine's verifier on every replica: answers from the entry's verdicts; an event the
/// leader did not judge is refused (deterministically, on every replica).
pub struct FromVerdicts(pub Verdicts);

impl Verifier for FromVerdicts {
    fn verify(&self, event: &SovereignFinancialEvent) -> Result<(), VerifyError> {
        match self.0.get(&event.event_id()) {
            Some(j) => j.result(),
            None => {
                Err(VerifyError::Other("the leader proposed this event without judging it".into()))
            }
        }
    }

    fn open(&self, event: &SovereignFinancialEvent) -> Option<EventBody> {
        match self.0.get(&event.event_id()) {
            Some(Judged::Authentic(body)) => body,
            _ => None,
        }
    }
}
