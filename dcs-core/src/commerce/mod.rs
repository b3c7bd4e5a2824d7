//! The commerce domain: catalog, cart, tax, sale lifecycle and POS sessions (sans-IO).
//!
//! Everything here is a pure computation over values: ids and times are arguments, and no
//! clock, randomness or I/O is used. All money is [`Money`](crate::Money) in integer minor
//! units; rates are integers (tax in parts per million, discounts in basis points).
//!
//! - [`Product`]: a catalog entry with a [`Sku`], a unit price and a [`TaxCategory`].
//! - [`Cart`]: lines, [`Discount`]s per line and per cart, priced into [`CartTotals`].
//! - [`TaxEngine`]: a [`TaxTable`] of [`TaxRate`]s per category under a [`TaxPolicy`]
//!   (exclusive or inclusive prices, per-line or per-invoice rounding).
//! - [`Sale`]: the lifecycle initiate → authorize/capture → complete, refunds and reversal.
//! - [`PosSession`]: a cash drawer from float to counted cash and variance.
//! - [`EventBody`] and [`DomainEvent`]: what every step produces — the plaintext fact that
//!   the application seals into a [`SovereignFinancialEvent`](crate::SovereignFinancialEvent)
//!   built with the [`EventBuilder`](crate::EventBuilder) (see [`DomainEvent`]).
//! - [`BusinessDay`]: the local calendar day an event counts on.
pub mod body;
mod cart;
mod code;
pub(crate) use code::check_text;
mod day;
mod discount;
mod domain_event;
mod product;
mod sale;
mod sale_line;
mod session;
mod tax;
mod tax_engine;

pub use body::{BODY_FORMAT_VERSION, EventBody, Tender};
pub use day::{BusinessDay, MAX_UTC_OFFSET_MINUTES};
pub use domain_event::DomainEvent;
pub use sale::{Sale, SaleState};
pub use session::{DRAWER_ACCOUNT, PAYOUT_DEBIT_ACCOUNT, PosSession};

pub use cart::{Cart, CartLine, CartTotals};
pub use code::{CustomerId, RefundId, SaleId, SessionId, Sku, TaxCategory};
pub use discount::{BPS, Discount};
pub use product::{MAX_PRODUCT_CATEGORY_LEN, MAX_PRODUCT_NAME_LEN, Product};
pub use sale_line::{SaleLine, SaleTotals};
pub use tax::{
    MAX_COMBINED_PPM, MAX_TAX_NAME_LEN, PPM, TaxPolicy, TaxPricing, TaxRate, TaxRounding, TaxTable,
};
pub use tax_engine::{LineTax, TaxComponentTotal, TaxEngine, TaxResult};
