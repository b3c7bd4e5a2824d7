//! # dcs-keys: key providers for dcs-crypto that need I/O
//!
//! See the crate README for the providers and how to run their tests.
