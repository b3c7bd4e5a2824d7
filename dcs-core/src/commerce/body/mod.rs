//! Event bodies: the plaintext business fact of each event type, sealed into the event's
//! envelope.
//!
//! The visible metadata of a [`SovereignFinancialEvent`](crate::SovereignFinancialEvent)
//! says who, where, which type and how much; the [`EventBody`] says what exactly (lines,
//! SKUs, customer). It is encoded with [`EventBody::to_bytes`] (one format-version byte,
//! then postcard), encrypted by dcs-crypto into the envelope, and decoded after
//! decryption with [`EventBody::from_bytes`].

mod inventory;
mod other;
mod payment;
mod sales;
mod session;

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

pub use inventory::{LowStock, StockAdjustment, StockMovement, StockTransfer};
pub use other::{AgentNote, DayReconciliation, LedgerEntry, PeriodClose, SagaNote};
pub use payment::{Payment, PaymentFailure, Tender};
pub use sales::{RefundLine, SaleRecord, SaleRefund};
pub use session::{SessionOpening, SessionReport};

use crate::error::{CoreError, Result};
use crate::event::EventType;
use crate::money::Money;

/// The format version written as the first byte of [`EventBody::to_bytes`].
pub const BODY_FORMAT_VERSION: u8 = 1;

macro_rules! event_bodies {
    ($( $(#[$doc:meta])* $variant:ident($ty:ty), )*) => {
        /// The plaintext business fact of an event; one variant per [`EventType`], named alike.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub enum EventBody {
            $( $(#[$doc])* $variant($ty), )*
        }

        impl EventBody {
            /// The event type this body belongs to.
            pub fn event_type(&self) -> EventType {
                match self { $( EventBody::$variant(_) => EventType::$variant, )* }
            }
        }
    };
}

event_bodies! {
    /// SALE_INITIATED: the priced sale before payment.
    SaleInitiated(SaleRecord),
    /// SALE_COMPLETED: the paid sale.
    SaleCompleted(SaleRecord),
    /// SALE_REVERSED: the whole (remaining) sale was given back or voided.
    SaleReversed(SaleRefund),
    /// SALE_PARTIALLY_REFUNDED: some lines or units were given back.
    SalePartiallyRefunded(SaleRefund),
    /// INVENTORY_RECEIVED: stock arrived.
    InventoryReceived(StockMovement),
    /// INVENTORY_SOLD: stock left by a sale.
    InventorySold(StockMovement),
    /// INVENTORY_TRANSFERRED_OUT: stock left for another branch.
    InventoryTransferredOut(StockTransfer),
    /// INVENTORY_TRANSFERRED_IN: stock arrived from another branch.
    InventoryTransferredIn(StockTransfer),
    /// INVENTORY_ADJUSTED: stock was corrected.
    InventoryAdjusted(StockAdjustment),
    /// LOW_STOCK_ALERT: stock fell below a threshold.
    LowStockAlert(LowStock),
    /// PAYMENT_AUTHORIZED: a payment was authorized.
    PaymentAuthorized(Payment),
    /// PAYMENT_CAPTURED: a payment was taken.
    PaymentCaptured(Payment),
    /// PAYMENT_REFUNDED: money was paid back.
    PaymentRefunded(Payment),
    /// PAYMENT_FAILED: a payment attempt failed.
    PaymentFailed(PaymentFailure),
    /// LEDGER_ENTRY_POSTED: a ledger posting.
    LedgerEntryPosted(LedgerEntry),
    /// END_OF_DAY_RECONCILIATION: a branch reconciled its day.
    EndOfDayReconciliation(DayReconciliation),
    /// PERIOD_CLOSED: an accounting period was closed.
    PeriodClosed(PeriodClose),
    /// SAGA_INITIATED.
    SagaInitiated(SagaNote),
    /// SAGA_STEP_COMPLETED.
    SagaStepCompleted(SagaNote),
    /// SAGA_COMPENSATION_TRIGGERED.
    SagaCompensationTriggered(SagaNote),
    /// SAGA_COMPLETED.
    SagaCompleted(SagaNote),
    /// SAGA_FAILED.
    SagaFailed(SagaNote),
    /// AGENT_DECISION_MADE.
    AgentDecisionMade(AgentNote),
    /// AGENT_ACTION_EXECUTED.
    AgentActionExecuted(AgentNote),
    /// AGENT_LEARNING_UPDATED.
    AgentLearningUpdated(AgentNote),
    /// SESSION_OPENED: a drawer was opened with a float.
    SessionOpened(SessionOpening),
    /// SESSION_CLOSED: a drawer was closed with counted cash.
    SessionClosed(SessionReport),
}

impl EventBody {
    /// The amount shown in the event's visible metadata, or `None` for non-monetary facts
    /// (stock movements, period closing, sagas, agent notes without an amount).
    ///
    /// Sales show their total, refunds what is given back, payments their amount, an
    /// opened session its float, a closed session and a reconciliation the counted cash.
    pub fn amount(&self) -> Option<Money> {
        use EventBody::*;
        match self {
            SaleInitiated(s) | SaleCompleted(s) => Some(s.totals.total),
            SaleReversed(r) | SalePartiallyRefunded(r) => Some(r.total),
            PaymentAuthorized(p) | PaymentCaptured(p) | PaymentRefunded(p) => Some(p.amount),
            PaymentFailed(p) => Some(p.amount),
            LedgerEntryPosted(l) => Some(l.amount),
            EndOfDayReconciliation(d) => Some(d.counted),
            SessionOpened(s) => Some(s.float),
            SessionClosed(s) => Some(s.counted),
            AgentDecisionMade(a) | AgentActionExecuted(a) | AgentLearningUpdated(a) => a.amount,
            InventoryReceived(_)
            | InventorySold(_)
            | InventoryTransferredOut(_)
            | InventoryTransferredIn(_)
            | InventoryAdjusted(_)
            | LowStockAlert(_)
            | PeriodClosed(_)
            | SagaInitiated(_)
            | SagaStepCompleted(_)
            | SagaCompensationTriggered(_)
            | SagaCompleted(_)
            | SagaFailed(_) => None,
        }
    }

    /// Encodes the body: [`BODY_FORMAT_VERSION`], then postcard. This is the plaintext to seal.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = alloc::vec![BODY_FORMAT_VERSION];
        let encoded = postcard::to_allocvec(self).map_err(|e| CoreError::Decode {
            what: "event body",
            reason: alloc::format!("cannot encode: {e}"),
        })?;
        out.extend_from_slice(&encoded);
        Ok(out)
    }

    /// Decodes bytes made by [`to_bytes`](Self::to_bytes); any other input is a
    /// [`CoreError::Decode`] (never a panic). Ids, SKUs and currencies are validated again.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let decode_error =
            |reason: alloc::string::String| CoreError::Decode { what: "event body", reason };
        let (version, rest) = bytes
            .split_first()
            .ok_or_else(|| decode_error("empty input; expected a format version byte".into()))?;
        if *version != BODY_FORMAT_VERSION {
            return Err(decode_error(alloc::format!(
                "format version {version} is not supported; this build reads version {BODY_FORMAT_VERSION}"
            )));
        }
        let (body, tail) = postcard::take_from_bytes::<EventBody>(rest)
            .map_err(|e| decode_error(alloc::format!("{e}")))?;
        if !tail.is_empty() {
            return Err(decode_error(alloc::format!(
                "{} unexpected bytes after the body",
                tail.len()
            )));
        }
        Ok(body)
    }
}
