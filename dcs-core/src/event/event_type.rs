//! Every event type of the reference architecture, grouped by flow.

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::CoreError;

/// The business flow an event type belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventFlow {
    /// Sales and their refunds.
    Sales,
    /// Stock movements.
    Inventory,
    /// Card and cash payments.
    Payments,
    /// Ledger and period closing.
    Accounting,
    /// Distributed transactions (sagas).
    Saga,
    /// Decisions and actions of autonomous agents.
    Agent,
    /// POS cashier sessions.
    PosSession,
}

macro_rules! event_types {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $name:literal, $flow:ident; )*) => {
        /// The type of a financial event. Its numeric code is stable and part of the canonical bytes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        pub enum EventType {
            $( $(#[$doc])* $variant = $code, )*
        }

        impl EventType {
            /// Every event type, in code order.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant),*];

            /// The stable numeric code (also the protobuf enum value).
            pub const fn code(self) -> u16 {
                self as u16
            }

            /// Looks up a type by its numeric code.
            pub fn from_code(code: u16) -> Result<Self, CoreError> {
                match code {
                    $( $code => Ok(EventType::$variant), )*
                    other => Err(CoreError::InvalidField {
                        field: "event_type",
                        reason: alloc::format!("unknown event type code {other}"),
                    }),
                }
            }

            /// The SCREAMING_SNAKE_CASE name used by the reference architecture.
            pub const fn name(self) -> &'static str {
                match self { $( EventType::$variant => $name, )* }
            }

            /// Looks up a type by its name (e.g. `"SALE_COMPLETED"`).
            pub fn from_name(name: &str) -> Result<Self, CoreError> {
                match name {
                    $( $name => Ok(EventType::$variant), )*
                    other => Err(CoreError::InvalidField {
                        field: "event_type",
                        reason: alloc::format!("unknown event type name {other:?}"),
                    }),
                }
            }

            /// The flow the type belongs to.
            pub const fn flow(self) -> EventFlow {
                match self { $( EventType::$variant => EventFlow::$flow, )* }
            }
        }
    };
}

event_types! {
    /// A sale was started at a POS.
    SaleInitiated = 1, "SALE_INITIATED", Sales;
    /// A sale was paid and completed.
    SaleCompleted = 2, "SALE_COMPLETED", Sales;
    /// A whole sale was reversed.
    SaleReversed = 3, "SALE_REVERSED", Sales;
    /// Part of a sale was refunded.
    SalePartiallyRefunded = 4, "SALE_PARTIALLY_REFUNDED", Sales;
    /// Stock arrived at a branch.
    InventoryReceived = 10, "INVENTORY_RECEIVED", Inventory;
    /// Stock left a branch by a sale.
    InventorySold = 11, "INVENTORY_SOLD", Inventory;
    /// Stock left a branch for another branch.
    InventoryTransferredOut = 12, "INVENTORY_TRANSFERRED_OUT", Inventory;
    /// Stock arrived from another branch.
    InventoryTransferredIn = 13, "INVENTORY_TRANSFERRED_IN", Inventory;
    /// Stock was corrected after a count, damage or loss.
    InventoryAdjusted = 14, "INVENTORY_ADJUSTED", Inventory;
    /// Stock of a SKU fell below its threshold.
    LowStockAlert = 15, "LOW_STOCK_ALERT", Inventory;
    /// A payment was authorized.
    PaymentAuthorized = 20, "PAYMENT_AUTHORIZED", Payments;
    /// An authorized payment was captured.
    PaymentCaptured = 21, "PAYMENT_CAPTURED", Payments;
    /// A captured payment was (partly) refunded.
    PaymentRefunded = 22, "PAYMENT_REFUNDED", Payments;
    /// A payment attempt failed.
    PaymentFailed = 23, "PAYMENT_FAILED", Payments;
    /// A ledger entry was posted.
    LedgerEntryPosted = 30, "LEDGER_ENTRY_POSTED", Accounting;
    /// A branch reconciled its day.
    EndOfDayReconciliation = 31, "END_OF_DAY_RECONCILIATION", Accounting;
    /// An accounting period was closed.
    PeriodClosed = 32, "PERIOD_CLOSED", Accounting;
    /// A saga started.
    SagaInitiated = 40, "SAGA_INITIATED", Saga;
    /// A saga step completed.
    SagaStepCompleted = 41, "SAGA_STEP_COMPLETED", Saga;
    /// A saga started compensating.
    SagaCompensationTriggered = 42, "SAGA_COMPENSATION_TRIGGERED", Saga;
    /// A saga completed.
    SagaCompleted = 43, "SAGA_COMPLETED", Saga;
    /// A saga failed after compensation.
    SagaFailed = 44, "SAGA_FAILED", Saga;
    /// An agent made a decision.
    AgentDecisionMade = 50, "AGENT_DECISION_MADE", Agent;
    /// An agent executed an action.
    AgentActionExecuted = 51, "AGENT_ACTION_EXECUTED", Agent;
    /// An agent updated what it learned.
    AgentLearningUpdated = 52, "AGENT_LEARNING_UPDATED", Agent;
    /// A cashier opened a POS session.
    SessionOpened = 60, "SESSION_OPENED", PosSession;
    /// A cashier closed a POS session.
    SessionClosed = 61, "SESSION_CLOSED", PosSession;
}

impl EventType {
    /// Whether every fact of this type carries money (sales, payments, ledger, end of day,
    /// sessions). Inventory, saga and period facts never do; agent notes may.
    pub const fn always_has_amount(self) -> bool {
        matches!(self.flow(), EventFlow::Sales | EventFlow::Payments | EventFlow::PosSession)
            || matches!(self, EventType::LedgerEntryPosted | EventType::EndOfDayReconciliation)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.code().serialize(s)
    }
}
impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        EventType::from_code(u16::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        assert_eq!(EventType::ALL.len(), 27);
        for t in EventType::ALL {
            assert_eq!(EventType::from_code(t.code()).unwrap(), *t);
            assert_eq!(EventType::from_name(t.name()).unwrap(), *t);
        }
        assert!(EventType::from_code(0).is_err());
        assert_eq!(EventType::SessionOpened.flow(), EventFlow::PosSession);
    }
}
