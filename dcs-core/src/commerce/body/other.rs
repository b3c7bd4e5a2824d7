//! Simple bodies of the accounting, saga and agent flows.

use alloc::string::String;

use serde::{Deserialize, Serialize};

use crate::commerce::BusinessDay;
use crate::money::Money;

/// A double-entry ledger posting (LEDGER_ENTRY_POSTED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The entry id, chosen by the caller.
    pub entry_id: String,
    /// The account debited.
    pub debit_account: String,
    /// The account credited.
    pub credit_account: String,
    /// The amount posted.
    pub amount: Money,
    /// A free-text memo.
    pub memo: String,
}

/// A branch reconciled its day (END_OF_DAY_RECONCILIATION): `variance = counted − expected`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayReconciliation {
    /// The business day reconciled.
    pub day: BusinessDay,
    /// What the books say.
    pub expected: Money,
    /// What was counted.
    pub counted: Money,
    /// `counted − expected`.
    pub variance: Money,
}

/// An accounting period was closed (PERIOD_CLOSED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodClose {
    /// The period's name (e.g. `"2026-11"`).
    pub period: String,
    /// The last business day of the period.
    pub through: BusinessDay,
}

/// A step of a distributed transaction (all SAGA_* types).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SagaNote {
    /// The saga.
    pub saga_id: String,
    /// The step concerned (empty for the saga as a whole).
    pub step: String,
    /// Free-text detail (e.g. the failure reason).
    pub detail: String,
}

/// A decision, action or learning update of an autonomous agent (all AGENT_* types).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentNote {
    /// What the note is about (a decision id, an action, a model name).
    pub subject: String,
    /// Free-text detail.
    pub detail: String,
    /// The amount at stake, if any.
    pub amount: Option<Money>,
}
