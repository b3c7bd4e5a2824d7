//! The domain event: what the commerce domain produces, before it becomes a sealed event.

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::EventBody;
use crate::error::Result;
use crate::event::{EventBuilder, EventType};
use crate::money::{Currency, Money};

/// A business fact produced by the domain: its type, visible amount and plaintext body.
///
/// The hand-off to a [`SovereignFinancialEvent`](crate::SovereignFinancialEvent) is done by
/// the application, which owns ids, time and keys:
///
/// ```
/// # use dcs_core::commerce::*;
/// # use dcs_core::*;
/// # fn seal(plain: &[u8]) -> Vec<u8> { plain.to_vec() }
/// # fn demo(event: DomainEvent) -> Result<()> {
/// let plaintext = event.body.to_bytes()?;           // 1. encode the body
/// let builder = event.fill(EventBuilder::new(), Currency::USD) // 2. type + visible amount
///     .event_id(EventId::new_v7(1_767_225_600_000, [7; 10]));  //    + ids, clock, keys...
/// let envelope = seal(&plaintext);                   // 3. encrypt with dcs-crypto
/// # let _ = (builder, envelope);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainEvent {
    /// The event type (always `body.event_type()`).
    pub event_type: EventType,
    /// The visible amount (`body.amount()`), `None` for non-monetary facts.
    pub amount: Option<Money>,
    /// The plaintext business fact.
    pub body: EventBody,
}

impl DomainEvent {
    /// Wraps a body, taking its type and amount from it.
    pub fn new(body: EventBody) -> Self {
        DomainEvent { event_type: body.event_type(), amount: body.amount(), body }
    }

    /// The visible amount, or zero in `currency` for non-monetary facts (the event needs one).
    pub fn visible_amount(&self, currency: Currency) -> Money {
        self.amount.unwrap_or(Money::zero(currency))
    }

    /// The plaintext to seal into the envelope ([`EventBody::to_bytes`]).
    pub fn plaintext(&self) -> Result<Vec<u8>> {
        self.body.to_bytes()
    }

    /// Sets the event type and visible amount on `builder` (zero in `currency` when the
    /// fact is non-monetary); the caller adds ids, causality, keys and the envelope.
    pub fn fill(&self, builder: EventBuilder, currency: Currency) -> EventBuilder {
        builder.event_type(self.event_type).amount(self.visible_amount(currency))
    }
}

impl From<EventBody> for DomainEvent {
    fn from(body: EventBody) -> Self {
        DomainEvent::new(body)
    }
}
