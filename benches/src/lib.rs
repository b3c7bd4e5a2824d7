//! Shared helpers for the DCS criterion benchmarks.
