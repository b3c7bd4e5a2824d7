//! # dcs-core: the DCS event model and commerce domain
//!
//! The sans-IO heart of DCS: it reads no clock, draws no randomness and does no I/O. Time and
//! random bytes are arguments, so the same code runs in a POS terminal, a regional daemon, the
//! deterministic simulator, WASM and Python.
//!
//! Entry points:
//! - [`ids`]: [`EventId`] (UUIDv7 from a caller-given time and random bytes), tenant, branch,
//!   agent and correlation ids, [`IdempotencyKey`].
//! - [`money`]: [`Money`] in integer minor units with an ISO-4217 [`Currency`], checked
//!   arithmetic, exact [allocation](Money::allocate) and named [`RoundingMode`]s.
//! - [`causality`]: the sans-IO [`HybridClock`], [`VectorClock`] and [`CausalContext`].
//! - [`event`]: [`EventType`], the [`SovereignFinancialEvent`], its [`EventBuilder`] and the
//!   canonical bytes that get MACed and signed.
//! - [`commerce`]: catalog [`Product`]s, the [`Cart`] with discounts, the [`TaxEngine`]
//!   (exclusive or inclusive, per-line or per-invoice rounding), the [`Sale`] lifecycle, the
//!   [`PosSession`] and the [`EventBody`] of every event type.
//! - [`projection`]: pure folds of event bodies: the daily [`SalesSummary`], [`InventoryLevels`]
//!   and the [`LoyaltyLedger`].
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod causality;
pub mod commerce;
pub mod error;
pub mod event;
pub mod ids;
pub mod money;
pub mod projection;

pub use causality::{CausalContext, ClockOrdering, HybridClock, VectorClock};
pub use commerce::{
    BusinessDay, Cart, CartTotals, Discount, DomainEvent, EventBody, PosSession, Product, Sale,
    TaxEngine, TaxPolicy, TaxRate, TaxTable, Tender,
};
pub use error::{CoreError, Result};
pub use event::{EventBuilder, EventFlow, EventType, SovereignFinancialEvent};
pub use ids::{AgentId, BranchId, CorrelationId, EventId, IdempotencyKey, TenantId};
pub use money::{Currency, Money, RoundingMode};
pub use projection::{
    InventoryLevels, LoyaltyLedger, LoyaltyProgram, Projection, ProjectionContext, SalesSummary,
};
