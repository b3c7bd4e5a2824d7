//! The deterministic fault simulator (feature `sim`).

pub mod mac;
