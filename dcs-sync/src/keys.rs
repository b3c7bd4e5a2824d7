//! The central key registry: each agent's (terminal's, cashier's) public key, its rotations and
//! its revocation, written by the master and replicated down to every region and store with
//! the prices (a last-writer-wins register per agent, in [`ReplicatedState::keys`]).
//!
//! A revocation is the part every tier enforces: an event an agent made at or after the
//! revocation's `from_ms` is refused (by the region when it is pushed, by the store when it
//! is submitted), so a stolen till stops counting everywhere the revocation has reached. A
//! revoked agent stays revoked: the registry refuses to register it again (enroll a new id).
//!
//! A registered key is the one an agent's events must be signed with: a region checks each
//! event against [`AgentKey::key_at`] the time it was made. A rotation keeps the key it
//! replaces as [`AgentKey::previous`], trusted for events made before the rotation, so a till
//! that sealed sales offline before its key was rotated still has them accepted.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use dcs_core::SovereignFinancialEvent;
use dcs_core::causality::HlcTimestamp;
use dcs_crdt::{Hlc, ReplicaId};
use serde::{Deserialize, Serialize};

use crate::SyncError;
use crate::state::{KeyName, ReplicatedState, StateDelta};

/// Longest revocation reason kept (bytes).
pub const MAX_REASON: usize = 200;
/// Longest public key accepted (bytes; an uncompressed P-256 point is 65).
pub const MAX_PUBLIC_KEY: usize = 65;

/// An agent's entry in the registry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AgentKey {
    /// The public key it signs with now: (algorithm `ed25519` or `ecdsa-p256`, key bytes).
    /// None for an agent the master revoked without ever registering its key (a till known
    /// only to its store's `terminals.toml`).
    pub key: Option<(String, Vec<u8>)>,
    /// How many times its key was replaced.
    pub rotations: u32,
    /// Set once it is revoked.
    pub revoked: Option<Revocation>,
    /// The key it signed with before its last rotation, and until when.
    pub previous: Option<PreviousKey>,
}

/// The key an agent signed with before its last rotation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PreviousKey {
    /// (algorithm, key bytes), as [`AgentKey::key`].
    pub key: (String, Vec<u8>),
    /// Events made before this Unix millisecond (the rotation) may carry its signature.
    pub until_ms: u64,
}

impl AgentKey {
    /// The key that must have signed an event this agent made at Unix ms `made_ms`: the
    /// previous one before the last rotation, the current one from then on. None when the
    /// registry holds no key for it (its store's `terminals.toml` decides then).
    pub fn key_at(&self, made_ms: u64) -> Option<&(String, Vec<u8>)> {
        match &self.previous {
            Some(p) if made_ms < p.until_ms => Some(&p.key),
            _ => self.key.as_ref(),
        }
    }
}

/// Why and from when an agent is no longer trusted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Revocation {
    /// Events the agent made at or after this Unix millisecond are refused (the time a key
    /// may have been compromised; events before it stand).
    pub from_ms: u64,
    /// What the operator gave as the reason.
    pub reason: String,
}

/// The registry's name of an agent: `tenant/agent` (neither id may contain `/`).
pub(crate) fn name(tenant: &str, agent: &str) -> KeyName {
    KeyName::from(format!("{tenant}/{agent}").as_str())
}

pub(crate) fn domain(why: String) -> SyncError {
    SyncError::Domain(why)
}

/// Checks a public key as the registry takes it: a known algorithm, 1 to
/// [`MAX_PUBLIC_KEY`] bytes.
pub(crate) fn check_public_key(algorithm: &str, public_key: &[u8]) -> Result<(), SyncError> {
    if !matches!(algorithm, "ed25519" | "ecdsa-p256") {
        return Err(domain(format!(
            "algorithm: {algorithm:?} is not a signature algorithm: use ed25519 or ecdsa-p256"
        )));
    }
    if public_key.is_empty() || public_key.len() > MAX_PUBLIC_KEY {
        return Err(domain(format!(
            "public_key: {} bytes; a public key is 1 to {MAX_PUBLIC_KEY} bytes",
            public_key.len()
        )));
    }
    Ok(())
}

impl ReplicatedState {
    /// The registry's entry for `agent` of `tenant`, if the master wrote one.
    pub fn agent_key(&self, tenant: &str, agent: &str) -> Option<&AgentKey> {
        self.keys.get(&name(tenant, agent)).and_then(|r| r.get())
    }

    /// Every entry of `tenant`'s agents, ordered by agent id.
    pub fn agent_keys<'a>(
        &'a self,
        tenant: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a AgentKey)> + 'a {
        self.keys.iter().filter_map(move |(k, r)| {
            let agent = k.as_str().strip_prefix(tenant)?.strip_prefix('/')?;
            Some((agent, r.get()?))
        })
    }

    fn write_key(
        &mut self,
        replica: ReplicaId,
        hlc_time: u64,
        tenant: &str,
        agent: &str,
        entry: AgentKey,
    ) -> Result<StateDelta, SyncError> {
        let keys = self
            .keys
            .update(replica, name(tenant, agent), |r| Ok(r.set(entry, Hlc::new(hlc_time, replica))))
            .map_err(|e| domain(e.to_string()))?;
        Ok(StateDelta { keys, ..StateDelta::default() })
    }

    /// Registers `agent`'s public key, or rotates it when another key was registered (the
    /// count of rotations goes up). The write is stamped `hlc_time` by `replica`.
    ///
    /// # Errors
    /// [`SyncError::Domain`] naming what to fix: an unknown algorithm, an empty or oversized
    /// key, or an agent that is revoked (a revoked agent is never trusted again).
    pub fn register_key(
        &mut self,
        replica: ReplicaId,
        hlc_time: u64,
        tenant: &str,
        agent: &str,
        algorithm: &str,
        public_key: &[u8],
    ) -> Result<StateDelta, SyncError> {
        check_public_key(algorithm, public_key)?;
        let before = self.agent_key(tenant, agent).cloned();
        if let Some(r) = before.as_ref().and_then(|b| b.revoked.as_ref()) {
            return Err(domain(format!(
                "agent {agent} of tenant {tenant} was revoked ({}): enroll the terminal under a new id",
                r.reason
            )));
        }
        let key = Some((algorithm.to_string(), public_key.to_vec()));
        let (rotations, previous) = match before {
            Some(AgentKey { key: Some(old), rotations, .. }) if key.as_ref() != Some(&old) => {
                let until_ms = HlcTimestamp { time: hlc_time, node: [0; 16] }.unix_ms();
                (rotations.saturating_add(1), Some(PreviousKey { key: old, until_ms }))
            }
            Some(b) => (b.rotations, b.previous),
            None => (0, None),
        };
        let entry = AgentKey { key, rotations, revoked: None, previous };
        self.write_key(replica, hlc_time, tenant, agent, entry)
    }

    /// Revokes `agent` of `tenant`: its events made at or after `from_ms` are refused from
    /// then on wherever the revocation has arrived. Revoking again only moves `from_ms`
    /// earlier. Registered or not, any agent id can be revoked.
    ///
    /// # Errors
    /// [`SyncError::Domain`] for an empty or oversized reason, or a revocation that changes
    /// nothing (already revoked from that time or earlier).
    pub fn revoke_key(
        &mut self,
        replica: ReplicaId,
        hlc_time: u64,
        tenant: &str,
        agent: &str,
        from_ms: u64,
        reason: &str,
    ) -> Result<StateDelta, SyncError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > MAX_REASON {
            return Err(domain(format!(
                "reason: say why the agent is revoked, in 1 to {MAX_REASON} bytes"
            )));
        }
        let mut entry = self.agent_key(tenant, agent).cloned().unwrap_or(AgentKey {
            key: None,
            rotations: 0,
            revoked: None,
            previous: None,
        });
        if let Some(r) = &entry.revoked
            && r.from_ms <= from_ms
        {
            return Err(domain(format!(
                "from_ms: agent {agent} of tenant {tenant} is already revoked from {} ({})",
                r.from_ms, r.reason
            )));
        }
        entry.revoked = Some(Revocation { from_ms, reason: reason.to_string() });
        self.write_key(replica, hlc_time, tenant, agent, entry)
    }

    /// The registered key `event` must be signed with (see [`AgentKey::key_at`]); None when
    /// the registry holds no key for its creator.
    pub fn registered_key_of(&self, event: &SovereignFinancialEvent) -> Option<&(String, Vec<u8>)> {
        let agent = event.audit().created_by.as_str();
        let entry = self.agent_key(event.tenant_id().as_str(), agent)?;
        entry.key_at(event.causality().hlc.unix_ms())
    }

    /// Why `event` is refused by the registry: its creator is revoked from a time at or before
    /// the event's. None when the registry does not object.
    pub fn revocation_of(&self, event: &SovereignFinancialEvent) -> Option<String> {
        let agent = event.audit().created_by.as_str();
        let tenant = event.tenant_id().as_str();
        let r = self.agent_key(tenant, agent)?.revoked.as_ref()?;
        let made_ms = event.causality().hlc.unix_ms();
        (made_ms >= r.from_ms).then(|| {
            format!(
                "agent {agent} of tenant {tenant} is revoked from Unix ms {} ({}); this event \
                 was made at {made_ms}",
                r.from_ms, r.reason
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcs_crdt::Crdt;

    const MASTER: ReplicaId = ReplicaId(1);

    #[test]
    fn registering_rotating_and_revoking_replicate_as_one_register_per_agent() {
        let mut master = ReplicatedState::default();
        let mut store = ReplicatedState::default();
        let d1 = master.register_key(MASTER, 10, "acme", "till-1", "ed25519", &[1; 32]).unwrap();
        let d2 = master.register_key(MASTER, 20, "acme", "till-1", "ed25519", &[2; 32]).unwrap();
        let d3 = master.register_key(MASTER, 30, "acme", "till-2", "ecdsa-p256", &[3; 33]).unwrap();
        let d4 = master.revoke_key(MASTER, 40, "acme", "till-2", 1_000, "stolen").unwrap();
        // Out of order and twice: the registers converge on the master's last writes.
        for d in [&d4, &d2, &d1, &d3, &d2] {
            store.apply_delta(d);
        }
        assert_eq!(store, master);
        let t1 = store.agent_key("acme", "till-1").unwrap();
        assert_eq!(t1.key, Some(("ed25519".into(), [2; 32].to_vec())));
        assert_eq!((t1.rotations, t1.revoked.is_none()), (1, true));
        let t2 = store.agent_key("acme", "till-2").unwrap();
        assert_eq!(t2.revoked.as_ref().map(|r| r.from_ms), Some(1_000));
        let agents: Vec<&str> = store.agent_keys("acme").map(|(a, _)| a).collect();
        assert_eq!(agents, ["till-1", "till-2"]);
        assert_eq!(store.agent_keys("acm").count(), 0, "a tenant is matched whole");
    }

    #[test]
    fn a_revoked_agent_stays_revoked_and_bad_requests_name_the_field() {
        let mut s = ReplicatedState::default();
        s.revoke_key(MASTER, 1, "acme", "till-9", 500, " lost ").unwrap();
        assert_eq!(s.agent_key("acme", "till-9").unwrap().revoked.as_ref().unwrap().reason, "lost");
        let again = s.register_key(MASTER, 2, "acme", "till-9", "ed25519", &[1; 32]);
        assert!(matches!(again, Err(SyncError::Domain(m)) if m.contains("new id")));
        let later = s.revoke_key(MASTER, 3, "acme", "till-9", 600, "lost");
        assert!(matches!(later, Err(SyncError::Domain(m)) if m.starts_with("from_ms")));
        s.revoke_key(MASTER, 4, "acme", "till-9", 100, "lost earlier").unwrap();
        assert_eq!(s.agent_key("acme", "till-9").unwrap().revoked.as_ref().unwrap().from_ms, 100);
        for (alg, key, field) in [
            ("rsa", &[1u8; 32][..], "algorithm"),
            ("ed25519", &[][..], "public_key"),
            ("ed25519", &[0u8; 66][..], "public_key"),
        ] {
            let r = s.register_key(MASTER, 5, "acme", "till-1", alg, key);
            assert!(matches!(r, Err(SyncError::Domain(m)) if m.starts_with(field)), "{alg}");
        }
        let r = s.revoke_key(MASTER, 6, "acme", "till-1", 0, "  ");
        assert!(matches!(r, Err(SyncError::Domain(m)) if m.starts_with("reason")));
        assert!(s.agent_key("acme", "till-1").is_none(), "a refused request writes nothing");
    }

    #[test]
    fn a_rotation_keeps_the_old_key_for_events_made_before_it() {
        use dcs_core::causality::unix_ms_to_ntp64;
        let mut s = ReplicatedState::default();
        let at = |ms| unix_ms_to_ntp64(ms);
        s.register_key(MASTER, at(1_000), "acme", "till-1", "ed25519", &[1; 32]).unwrap();
        let first = s.agent_key("acme", "till-1").unwrap().clone();
        assert_eq!((first.previous.as_ref(), first.key_at(0)), (None, first.key.as_ref()));
        // The same key again is no rotation.
        s.register_key(MASTER, at(1_500), "acme", "till-1", "ed25519", &[1; 32]).unwrap();
        assert_eq!(s.agent_key("acme", "till-1").unwrap().previous, None);
        s.register_key(MASTER, at(2_000), "acme", "till-1", "ed25519", &[2; 32]).unwrap();
        let k = s.agent_key("acme", "till-1").unwrap();
        let old = ("ed25519".to_string(), [1u8; 32].to_vec());
        let new = ("ed25519".to_string(), [2u8; 32].to_vec());
        assert_eq!(k.previous, Some(PreviousKey { key: old.clone(), until_ms: 2_000 }));
        assert_eq!(
            (k.key_at(1_999), k.key_at(2_000), k.key_at(9_999)),
            (Some(&old), Some(&new), Some(&new))
        );
        // A second rotation keeps only the key it replaces (one previous key, bounded).
        s.register_key(MASTER, at(3_000), "acme", "till-1", "ed25519", &[3; 32]).unwrap();
        let k = s.agent_key("acme", "till-1").unwrap();
        assert_eq!(
            (k.rotations, k.previous.as_ref().map(|p| (&p.key, p.until_ms))),
            (2, Some((&new, 3_000)))
        );
        assert_eq!(k.key_at(1_000), Some(&new), "before the last rotation the previous key holds");
    }
}
