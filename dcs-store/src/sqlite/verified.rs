//! The verifying append: every event from outside the process is checked (MAC with the
//! tenant's key, creator's signature in the registry) before anything is written, and its
//! projected fact is derived from the event itself, never given beside it.

use dcs_core::SovereignFinancialEvent;
use dcs_core::commerce::EventBody;
use dcs_crypto::{KeyProvider, KeyRegistry, MacKey};

use super::SqliteStore;
use super::append::Facts;
use crate::api::{AppendResult, ExpectedVersion, StreamId};
use crate::error::{Result, StoreError};
use crate::projection::{Opened, open_fact};

/// What a verifying append checks events with, and opens them with for the projections.
#[derive(Clone, Copy)]
pub struct Verification<'a> {
    /// The tenant's MAC key (the events' metadata MAC).
    pub mac_key: &'a MacKey,
    /// The agents' public keys (the events' creator signatures).
    pub registry: &'a KeyRegistry,
    /// The tenant keys to open each event's body for the projections; `None` projects
    /// nothing (a relay that holds no tenant keys).
    pub keys: Option<&'a (dyn KeyProvider + Sync)>,
}

impl std::fmt::Debug for Verification<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verification").field("projects", &self.keys.is_some()).finish()
    }
}

/// Checks every event's MAC and signature; the first that fails names its index.
pub fn verify_batch(events: &[SovereignFinancialEvent], v: &Verification<'_>) -> Result<()> {
    for (index, event) in events.iter().enumerate() {
        dcs_crypto::verify_event(event, v.mac_key, v.registry).map_err(|source| {
            StoreError::Unverified { index, event_id: event.event_id().to_string(), source }
        })?;
    }
    Ok(())
}

impl SqliteStore {
    /// Appends events that come from outside this process (a terminal, a peer, a Python
    /// caller): verifies each one first, then derives the projected facts by opening the
    /// events with `v.keys` (so projections can only come from the events they count).
    ///
    /// An event that fails verification is [`StoreError::Unverified`] and nothing is
    /// written. An event of a crypto-shredded tenant is stored and counts in no projection.
    /// [`append_sync`](Self::append_sync) and [`append_with_bodies`](Self::append_with_bodies)
    /// skip verification: they are for events this process has just sealed itself.
    pub fn append_verified(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[SovereignFinancialEvent],
        v: &Verification<'_>,
    ) -> Result<AppendResult> {
        self.writable("append")?;
        verify_batch(events, v)?;
        let Some(keys) = v.keys else {
            return self.append_with_bodies(stream, expected, events, &[]);
        };
        let mut bodies: Vec<Option<EventBody>> = Vec::with_capacity(events.len());
        for event in events {
            bodies.push(match open_fact(event, keys)? {
                Opened::Body(body) => Some(body),
                Opened::NoFact | Opened::Shredded => None,
            });
        }
        self.append_facts(stream, expected, events, Facts::Opened(&bodies))
    }
}
