//! The event model: event types, the sovereign financial event, its builder and canonical bytes.

mod builder;
mod canonical;
mod event_type;
mod sovereign;

pub use builder::EventBuilder;
pub use canonical::{CANONICAL_VERSION, MAX_ENVELOPE_LEN};
pub use event_type::{EventFlow, EventType};
pub use sovereign::{
    Audit, EventSignature, MAX_EVENT_BYTES, SealedPayload, SignatureAlgorithm,
    SovereignFinancialEvent,
};
