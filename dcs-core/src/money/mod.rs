//! Money: integer minor units with an ISO-4217 currency; never floats.

mod amount;
mod currency;
mod rounding;

pub use amount::Money;
pub use currency::Currency;
pub use rounding::{RoundingMode, div_round};
