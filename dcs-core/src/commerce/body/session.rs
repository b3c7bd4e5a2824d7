//! POS session bodies: opening with a float and closing with counted cash.

use serde::{Deserialize, Serialize};

use crate::commerce::SessionId;
use crate::ids::AgentId;
use crate::money::Money;

/// A cashier opened a drawer with a cash float (SESSION_OPENED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionOpening {
    /// The session.
    pub session_id: SessionId,
    /// The cashier.
    pub cashier: AgentId,
    /// Cash in the drawer at opening.
    pub float: Money,
}

/// A cashier closed a drawer (SESSION_CLOSED): `expected = float + cash_sales −
/// cash_refunds − payouts` and `variance = counted − expected` (negative when cash is short).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionReport {
    /// The session.
    pub session_id: SessionId,
    /// The cashier.
    pub cashier: AgentId,
    /// Cash in the drawer at opening.
    pub float: Money,
    /// Cash taken for sales.
    pub cash_sales: Money,
    /// Cash given back for refunds.
    pub cash_refunds: Money,
    /// Cash paid out of the drawer (petty cash, supplier payments).
    pub payouts: Money,
    /// Cash that should be in the drawer.
    pub expected: Money,
    /// Cash counted at closing.
    pub counted: Money,
    /// `counted − expected`.
    pub variance: Money,
}
