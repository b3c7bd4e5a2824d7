//! Terminals enrolled at stores, reported up to the master's key registry.
//!
//! A store enrolls its tills itself (its `terminals.toml`: each till's id and public key) and
//! may do so with no network at all. It writes each enrollment into the replicated state
//! ([`ReplicatedState::enrolled`], a last-writer-wins register per `tenant/agent`), so the
//! enrollment travels up with the store's other CRDT changes, through its region to the
//! master, whose registry then lists every terminal of every store beside the keys it set
//! itself, and whose operator can revoke a stolen till by the id its store gave it.
//!
//! An enrollment is a report, not a grant: it never changes the key registry
//! ([`ReplicatedState::keys`], which only the master writes and which a child's payload can
//! never change; see [`StateDelta::without_master_writes`]), so it cannot lift a revocation
//! or replace a key the master registered. The register's stamp names the replica that wrote
//! it, so the master knows which store reported each one.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use dcs_crdt::{Hlc, ReplicaId};
use serde::{Deserialize, Serialize};

use crate::SyncError;
use crate::keys::{check_public_key, domain, name};
use crate::state::{ReplicatedState, StateDelta};

/// A terminal as the store that enrolled it reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Enrollment {
    /// The branch of the store that enrolled it.
    pub branch: String,
    /// Its signature algorithm: `ed25519` or `ecdsa-p256`.
    pub algorithm: String,
    /// Its public key.
    pub public_key: Vec<u8>,
}

/// A store's report of one terminal, with the replica that wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enrolled<'a> {
    /// The terminal's agent id.
    pub agent: &'a str,
    /// What the store reported.
    pub enrollment: &'a Enrollment,
    /// The replica (store) that wrote the report last.
    pub by: ReplicaId,
}

/// Checks `id` by the rules of the id it is (dcs-core's: 1 to 64 bytes of letters, digits and
/// `-_.:`, so never a '/', which the `tenant/agent` name needs).
fn check_id<T>(
    field: &str,
    id: &str,
    parse: fn(&str) -> Result<T, dcs_core::CoreError>,
) -> Result<(), SyncError> {
    parse(id).map(drop).map_err(|e| domain(format!("{field}: {id:?}: {e}")))
}

impl ReplicatedState {
    /// What a store reported for `agent` of `tenant`, if any store did.
    pub fn enrollment(&self, tenant: &str, agent: &str) -> Option<&Enrollment> {
        self.enrolled.get(&name(tenant, agent)).and_then(|r| r.get())
    }

    /// Every terminal of `tenant` its stores reported, ordered by agent id.
    pub fn enrollments<'a>(&'a self, tenant: &'a str) -> impl Iterator<Item = Enrolled<'a>> + 'a {
        self.enrolled.iter().filter_map(move |(k, r)| {
            let agent = k.as_str().strip_prefix(tenant)?.strip_prefix('/')?;
            let enrollment = r.get()?;
            let by = r.stamp()?.replica;
            Some(Enrolled { agent, enrollment, by })
        })
    }

    /// Reports `agent` of `tenant`, enrolled at `branch` with `public_key`, stamped
    /// `hlc_time` by `replica` (the store). Returns the delta to ship, or None when the state
    /// already holds this very report (a store restarting reports nothing new).
    ///
    /// # Errors
    /// [`SyncError::Domain`] naming the field to fix: an id that is empty, too long or holds
    /// a '/', an unknown algorithm, an empty or oversized key. Nothing changes then.
    #[allow(clippy::too_many_arguments)]
    pub fn enroll(
        &mut self,
        replica: ReplicaId,
        hlc_time: u64,
        tenant: &str,
        branch: &str,
        agent: &str,
        algorithm: &str,
        public_key: &[u8],
    ) -> Result<Option<StateDelta>, SyncError> {
        check_id("tenant", tenant, |t| dcs_core::TenantId::new(t))?;
        check_id("branch", branch, |b| dcs_core::BranchId::new(b))?;
        check_id("agent", agent, |a| dcs_core::AgentId::new(a))?;
        check_public_key(algorithm, public_key)?;
        let entry = Enrollment {
            branch: branch.to_string(),
            algorithm: algorithm.to_string(),
            public_key: public_key.to_vec(),
        };
        if self.enrollment(tenant, agent) == Some(&entry) {
            return Ok(None);
        }
        let enrolled = self
            .enrolled
            .update(replica, name(tenant, agent), |r| Ok(r.set(entry, Hlc::new(hlc_time, replica))))
            .map_err(|e| domain(e.to_string()))?;
        Ok(Some(StateDelta { enrolled, ..StateDelta::default() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcs_crdt::Crdt;

    const STORE: ReplicaId = ReplicaId(7);

    #[test]
    fn an_enrollment_replicates_once_and_names_its_store() {
        let mut store = ReplicatedState::default();
        let mut master = ReplicatedState::default();
        let d = store.enroll(STORE, 10, "acme", "s1", "till-1", "ed25519", &[1; 32]).unwrap();
        let d = d.expect("a first report is a change");
        let again = store.enroll(STORE, 11, "acme", "s1", "till-1", "ed25519", &[1; 32]).unwrap();
        assert!(again.is_none(), "the same report again ships nothing");
        master.apply_delta(&d);
        master.apply_delta(&d);
        assert_eq!(master, store);
        let seen: Vec<_> = master.enrollments("acme").collect();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            (seen[0].agent, seen[0].by, seen[0].enrollment.branch.as_str()),
            ("till-1", STORE, "s1")
        );
        assert_eq!(master.enrollments("acm").count(), 0, "a tenant is matched whole");
        assert!(master.agent_key("acme", "till-1").is_none(), "a report registers no key");
        // A new key at the store replaces the report.
        let d = store.enroll(STORE, 12, "acme", "s1", "till-1", "ed25519", &[2; 32]).unwrap();
        master.apply_delta(&d.unwrap());
        assert_eq!(master.enrollment("acme", "till-1").unwrap().public_key, [2; 32]);
    }

    #[test]
    fn a_bad_enrollment_names_the_field_and_writes_nothing() {
        let mut s = ReplicatedState::default();
        let long = "x".repeat(dcs_core::ids::MAX_NAME_LEN + 1);
        for (tenant, branch, agent, alg, key, field) in [
            ("", "s1", "t", "ed25519", &[1u8; 32][..], "tenant"),
            ("acme", "a/b", "t", "ed25519", &[1u8; 32][..], "branch"),
            ("acme", "s1", long.as_str(), "ed25519", &[1u8; 32][..], "agent"),
            ("acme", "s1", "t", "rsa", &[1u8; 32][..], "algorithm"),
            ("acme", "s1", "t", "ed25519", &[][..], "public_key"),
            ("acme", "s1", "t", "ecdsa-p256", &[0u8; 66][..], "public_key"),
        ] {
            let r = s.enroll(STORE, 1, tenant, branch, agent, alg, key);
            assert!(matches!(r, Err(SyncError::Domain(m)) if m.starts_with(field)), "{field}");
        }
        assert_eq!(s, ReplicatedState::default());
    }
}
