//! Projections: pure, deterministic folds of event bodies into read models.
//!
//! Each projection implements [`Projection::apply`] over a [`ProjectionContext`] (tenant,
//! branch and business day of the event) and an [`EventBody`] (the decrypted payload).
//! State is kept in `BTreeMap`s, so iteration order is deterministic and a SQL store can
//! hold the same rows and compare a rebuild from scratch with the incremental state.
//!
//! Projections do not deduplicate: the event store delivers each event once (by event
//! id), and sums make the result independent of the order of delivery.
//!
//! - [`SalesSummary`]: gross, tax, discounts, refunds, net and counts per branch, day and currency.
//! - [`InventoryLevels`]: stock per branch and SKU.
//! - [`LoyaltyLedger`]: points and tiers per customer.

mod context;
mod inventory;
mod loyalty;
mod sales_summary;

pub use context::ProjectionContext;
pub use inventory::{InventoryLevels, StockKey, StockLevel};
pub use loyalty::{CustomerLoyalty, LoyaltyLedger, LoyaltyProgram, LoyaltyTier};
pub use sales_summary::{DailySales, SalesSummary, SummaryKey};

use crate::commerce::EventBody;
use crate::error::Result;

/// A read model built by folding event bodies.
pub trait Projection {
    /// Folds one event into the state; events that do not concern the projection are ignored.
    fn apply(&mut self, ctx: &ProjectionContext, body: &EventBody) -> Result<()>;

    /// Folds events in order, stopping at the first error.
    fn apply_all<'a>(
        &mut self,
        events: impl IntoIterator<Item = (&'a ProjectionContext, &'a EventBody)>,
    ) -> Result<()> {
        events.into_iter().try_for_each(|(ctx, body)| self.apply(ctx, body))
    }
}
