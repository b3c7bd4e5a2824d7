//! # dcs-daemon: the plumbing the DCS daemons share, written once
//!
//! `dcs-local`, `dcs-regional` and `dcs-master` are thin drivers of the sans-IO core. What
//! every one of them needs besides the core lives here, so that each is written (and tested)
//! once:
//!
//! - [`config`]: a daemon's settings from a commented TOML file, then `DCS_SECTION__KEY`
//!   environment overrides, refusing unknown keys with the key named; `--check-config`.
//! - [`telemetry`]: `tracing` logs as text or JSON with an env filter, and the Prometheus
//!   recorder behind the `metrics` facade.
//! - [`tls`]: mutual TLS between tiers (tonic on rustls) from PEM files, and a development CA
//!   that issues node and client certificates, so a newcomer needs no openssl; TLS for a port
//!   outside the deployment (the POS port: client certificates optional, verified when sent).
//! - [`peer`]: authorization of a mutual-TLS client by the names of its certificate.
//! - [`admin`]: the separate admin HTTP port with `/healthz`, `/readyz` and `/metrics`;
//!   [`admin_token`] guards its operator routes, [`admin_client`] is the CLIs' side.
//! - [`files`]: config, keys and certificates written durably and atomically (temporary
//!   file, fsync, rename, directory fsync).
//! - [`shutdown`]: SIGTERM/SIGINT to a cancellation token, readiness dropped first, in-flight
//!   work given a deadline.
//!
//! - [`terminals`]: `terminals.toml`, a store's terminals and their public keys, read by the
//!   store's daemon and by its region.
//!
//! Errors are [`DaemonError`]; each names the file, key or address to fix.

pub mod admin;
pub mod admin_client;
pub mod admin_token;
pub mod config;
pub mod error;
pub mod files;
pub mod peer;
pub mod shutdown;
pub mod telemetry;
pub mod terminals;
pub mod tls;

pub use error::{DaemonError, Result};
