//! The POS cashier session: a drawer opened with a float, cash movements, and a close
//! with counted cash that reports the variance.

use serde::{Deserialize, Serialize};

use super::body::{LedgerEntry, SessionOpening, SessionReport};
use super::code::check_positive;
use super::{DomainEvent, EventBody, SessionId, Tender};
use crate::error::{CoreError, Result};
use crate::ids::AgentId;
use crate::money::{Currency, Money};

/// The ledger account that cash payouts are debited to.
pub const PAYOUT_DEBIT_ACCOUNT: &str = "petty-cash-expense";
/// The ledger account of the drawer, credited by payouts.
pub const DRAWER_ACCOUNT: &str = "cash-drawer";

/// An open or closed cashier session over one cash drawer in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PosSession {
    session_id: SessionId,
    cashier: AgentId,
    float: Money,
    cash_sales: Money,
    cash_refunds: Money,
    payouts: Money,
    closed: bool,
}

impl PosSession {
    /// Opens a session with a cash `float` of zero or more; returns SESSION_OPENED.
    pub fn open(
        session_id: SessionId,
        cashier: AgentId,
        float: Money,
    ) -> Result<(PosSession, DomainEvent)> {
        if float.is_negative() {
            return Err(CoreError::InvalidField {
                field: "session.float",
                reason: alloc::format!("{float} is negative; the opening float is zero or more"),
            });
        }
        let zero = Money::zero(float.currency());
        let session = PosSession {
            session_id,
            cashier,
            float,
            cash_sales: zero,
            cash_refunds: zero,
            payouts: zero,
            closed: false,
        };
        let event = EventBody::SessionOpened(SessionOpening {
            session_id: session.session_id.clone(),
            cashier: session.cashier.clone(),
            float,
        })
        .into();
        Ok((session, event))
    }

    /// The cashier who opened it.
    pub fn cashier(&self) -> &AgentId {
        &self.cashier
    }

    /// The session id.
    pub fn session_id(&self) -> &SessionId {
        &self.session_id
    }

    /// The drawer's currency.
    pub fn currency(&self) -> Currency {
        self.float.currency()
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    fn check(&self, amount: Money, what: &'static str) -> Result<()> {
        if self.closed {
            return Err(CoreError::Rule(alloc::format!(
                "session {} is closed: open a new session",
                self.session_id
            )));
        }
        check_positive(amount, self.currency(), what)
    }

    /// Records cash taken for a sale.
    pub fn record_cash_sale(&mut self, amount: Money) -> Result<()> {
        self.check(amount, "session.cash_sale")?;
        self.cash_sales = self.cash_sales.checked_add(amount)?;
        Ok(())
    }

    /// Records cash given back for a refund.
    pub fn record_cash_refund(&mut self, amount: Money) -> Result<()> {
        self.check(amount, "session.cash_refund")?;
        self.cash_refunds = self.cash_refunds.checked_add(amount)?;
        Ok(())
    }

    /// Pays `amount` out of the drawer; returns the LEDGER_ENTRY_POSTED that books it.
    pub fn payout(&mut self, entry_id: &str, amount: Money, memo: &str) -> Result<DomainEvent> {
        self.check(amount, "session.payout")?;
        self.payouts = self.payouts.checked_add(amount)?;
        Ok(EventBody::LedgerEntryPosted(LedgerEntry {
            entry_id: entry_id.into(),
            debit_account: PAYOUT_DEBIT_ACCOUNT.into(),
            credit_account: DRAWER_ACCOUNT.into(),
            amount,
            memo: memo.into(),
        })
        .into())
    }

    /// Records the cash effect of a sale event: a cash PAYMENT_CAPTURED is a cash sale, a
    /// cash PAYMENT_REFUNDED a cash refund; every other event is ignored.
    pub fn observe(&mut self, event: &DomainEvent) -> Result<()> {
        match &event.body {
            EventBody::PaymentCaptured(p) if p.tender == Tender::Cash => {
                self.record_cash_sale(p.amount)
            }
            EventBody::PaymentRefunded(p) if p.tender == Tender::Cash => {
                self.record_cash_refund(p.amount)
            }
            _ => Ok(()),
        }
    }

    /// Cash that should be in the drawer: float + cash sales − cash refunds − payouts.
    pub fn expected_cash(&self) -> Result<Money> {
        self.float
            .checked_add(self.cash_sales)?
            .checked_sub(self.cash_refunds)?
            .checked_sub(self.payouts)
    }

    /// Closes the session with the `counted` cash; returns SESSION_CLOSED with the variance
    /// `counted − expected` (negative when cash is short).
    pub fn close(&mut self, counted: Money) -> Result<DomainEvent> {
        if self.closed {
            return Err(CoreError::Rule(alloc::format!(
                "session {} is already closed",
                self.session_id
            )));
        }
        if counted.is_negative() {
            return Err(CoreError::InvalidField {
                field: "session.counted",
                reason: alloc::format!("{counted} is negative; count the cash in the drawer"),
            });
        }
        let expected = self.expected_cash()?;
        let variance = counted.checked_sub(expected)?;
        self.closed = true;
        Ok(EventBody::SessionClosed(SessionReport {
            session_id: self.session_id.clone(),
            cashier: self.cashier.clone(),
            float: self.float,
            cash_sales: self.cash_sales,
            cash_refunds: self.cash_refunds,
            payouts: self.payouts,
            expected,
            counted,
            variance,
        })
        .into())
    }
}
