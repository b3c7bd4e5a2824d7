//! The central key registry: each agent's (terminal's, cashier's) public key, its rotations and
//! its revocation, written by the master and replicated down to every region and store with
//! the prices (a last-writer-wins register per agent, in [`ReplicatedState::keys`]).
//!
//! A revocation is the part every tier enforces: an event an agent made at or after the
//! revocation's `from_ms` is refused (by the region when it is pushed, by the store when it
//! is submitted), so a stolen till stops counting everywhere the revocation has reached. A
//! revoked agent stays revoked: the registry refuses to register it again (enroll a new id).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use dcs_core::SovereignFinancialEvent;
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
fn name(tenant: &str, agent: &str) -> KeyName {
    KeyName::from(format!("{tenant}/{agent}").as_str())
}

fn domain(why: String) -> SyncError {
    SyncError::Domain(why)
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
        let before = self.agent_key(tenant, agent).cloned();
        if let Some(r) = before.as_ref().and_then(|b| b.revoked.as_ref()) {
            return Err(domain(format!(
                "agent {agent} of tenant {tenant} was revoked ({}): enroll the terminal under a new id",
                r.reason
            )));
        }
        let key = Some((algorithm.to_string(), public_key.to_vec()));
        let rotations = match &before {
            Some(b) if b.key.is_some() && b.key != key => b.rotations.saturating_add(1),
            Some(b) => b.rotations,
            None => 0,
        };
        self.write_key(replica, hlc_time, tenant, agent, AgentKey { key, rotations, revoked: None })
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
}
