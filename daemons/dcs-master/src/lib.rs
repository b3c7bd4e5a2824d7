//! The Master Agent of DCS: the parent of the regions.
//!
//! A region's Raft leader opens one `RegionalMasterSync/Exchange` stream to the master
//! (mutual TLS; its certificate is named `region-N`) and pushes the summaries of the events
//! its stores sold (never the payloads) with its CRDT deltas. The master drives dcs-sync's
//! [`MasterMachine`](dcs_sync::MasterMachine) over them: each summary is stored once in the
//! master's SQLite store ([`MasterStore`](dcs_store::sqlite::MasterStore)) with the sales
//! and stock aggregates it moves, in one transaction, before the master acknowledges the
//! push; its acks carry the central prices, the catalog and the key registry (each agent's
//! public key, rotations and revocation) down to the regions, which send them on to every
//! store; a region and a store refuse the events of an agent revoked here.
//!
//! The crate is thin: [`driver`] owns the machine and the store on one thread (and samples
//! each region's lag and health), [`sync_service`] moves bytes between the regions' streams
//! and the driver, [`api`] answers operators from what is persisted (JSON over HTTP, OpenAPI
//! in `api/openapi.json`). Operators sign in with [`accounts`] (argon2id passwords, expiring
//! sessions, API tokens), [`access`] decides what their grants allow, and [`audit`] keeps
//! every change in a signed hash chain. The dashboard (`web/`, React) is served from the
//! admin port. Config, logs, metrics, the admin port, TLS and shutdown are dcs-daemon's.

pub mod access;
pub mod accounts;
pub mod api;
pub mod audit;
pub mod config;
pub mod driver;
pub mod sync_service;
pub mod throttle;
