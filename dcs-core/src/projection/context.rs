//! Where and when an event counts: tenant, branch and business day.

use serde::{Deserialize, Serialize};

use crate::commerce::BusinessDay;
use crate::error::Result;
use crate::event::SovereignFinancialEvent;
use crate::ids::{BranchId, TenantId};

/// The visible metadata a projection needs besides the body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProjectionContext {
    /// The tenant that owns the event.
    pub tenant: TenantId,
    /// The branch that recorded it.
    pub branch: BranchId,
    /// The business day it counts on.
    pub day: BusinessDay,
}

impl ProjectionContext {
    /// A context from its parts (e.g. a day taken from a stored column).
    pub fn new(tenant: TenantId, branch: BranchId, day: BusinessDay) -> Self {
        ProjectionContext { tenant, branch, day }
    }

    /// The context of `event`: its tenant and branch, and the local date of its HLC time
    /// in a store whose local time is UTC plus `utc_offset_minutes`.
    pub fn of_event(event: &SovereignFinancialEvent, utc_offset_minutes: i32) -> Result<Self> {
        let day = BusinessDay::from_unix_ms(event.causality().hlc.unix_ms(), utc_offset_minutes)?;
        Ok(ProjectionContext {
            tenant: event.tenant_id().clone(),
            branch: event.branch_id().clone(),
            day,
        })
    }
}
