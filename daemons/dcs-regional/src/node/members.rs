//! Membership changes by an operator: add a node (as a learner that catches up, then a
//! voter) and remove one. A removed node's id is retired for ever (the state machine records
//! it when it applies the membership entry, on every replica), so it is never reused.

use std::collections::{BTreeMap, BTreeSet};

use openraft::ChangeMembers;
use openraft::async_runtime::WatchReceiver;
use serde::{Deserialize, Serialize};

use crate::raft::{NodeAddr, Raft, RegionStateMachine};

/// Why a membership change was refused (it also travels from the leader to a follower that
/// forwarded the change).
#[derive(Debug, thiserror::Error, Serialize, Deserialize)]
pub enum MemberError {
    /// Only the leader changes the membership.
    #[error("node {this} does not lead the region; the leader is {}: run it against the leader's admin port", leader.map_or("not known yet".to_string(), |l| format!("node {l}")))]
    NotLeader {
        /// This node.
        this: u64,
        /// The leader, if known.
        leader: Option<u64>,
    },
    /// The id was used by a node that was removed.
    #[error("node id {0} belonged to a removed node and is never reused: pick a new id")]
    Retired(u64),
    /// The node is already a member (or is not one, for a removal).
    #[error("{0}")]
    Membership(String),
    /// Raft refused or failed.
    #[error("raft: {0}")]
    Raft(String),
}

/// The region's membership as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Members {
    /// The leader, if known.
    pub leader: Option<u64>,
    /// Voters.
    pub voters: BTreeSet<u64>,
    /// Every member (voters and learners) with its addresses.
    pub nodes: BTreeMap<u64, NodeAddr>,
    /// Ids of removed nodes (never reused).
    pub retired: BTreeSet<u64>,
}

/// A membership change an operator asked of a node; a follower forwards it to the leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemberChange {
    /// Add node `id` (see [`add`]).
    Add {
        /// Its Raft id.
        id: u64,
        /// Its addresses.
        addr: NodeAddr,
    },
    /// Remove node `id` (see [`remove`]).
    Remove {
        /// Its Raft id.
        id: u64,
    },
}

/// Makes `change` here (this node must lead).
///
/// # Errors
/// See [`add`] and [`remove`].
pub async fn apply(
    raft: &Raft,
    sm: &RegionStateMachine,
    change: MemberChange,
) -> Result<Members, MemberError> {
    match change {
        MemberChange::Add { id, addr } => add(raft, sm, id, addr).await,
        MemberChange::Remove { id } => remove(raft, sm, id).await,
    }
}

/// Makes `change` on the region: here when this node leads, else forwarded to the leader over
/// the nodes' mutually authenticated Raft channel (`network`), so an operator may run
/// `members` against any node.
///
/// # Errors
/// [`MemberError::NotLeader`] when no leader is known (or it moved meanwhile), and the
/// leader's own refusals.
pub async fn change(
    raft: &Raft,
    sm: &RegionStateMachine,
    network: &crate::raft::Network,
    change: MemberChange,
) -> Result<Members, MemberError> {
    match leader_check(raft) {
        Ok(()) => apply(raft, sm, change).await,
        Err(MemberError::NotLeader { this, leader: Some(l) }) => {
            let known = list(raft, sm)?;
            let Some(addr) = known.nodes.get(&l) else {
                return Err(MemberError::NotLeader { this, leader: Some(l) });
            };
            network.change_members(l, addr, &change).await
        }
        Err(e) => Err(e),
    }
}

/// The membership this node knows.
///
/// # Errors
/// [`MemberError::Raft`] when the replica file cannot be read.
pub fn list(raft: &Raft, sm: &RegionStateMachine) -> Result<Members, MemberError> {
    let m = raft.metrics().borrow_watched().clone();
    let membership = m.membership_config.membership();
    Ok(Members {
        leader: m.current_leader,
        voters: membership.voter_ids().collect(),
        nodes: membership.nodes().map(|(id, n)| (*id, n.clone())).collect(),
        retired: sm.retired().map_err(|e| MemberError::Raft(e.to_string()))?,
    })
}

fn leader_check(raft: &Raft) -> Result<(), MemberError> {
    let m = raft.metrics().borrow_watched().clone();
    if m.current_leader == Some(m.id) {
        Ok(())
    } else {
        Err(MemberError::NotLeader { this: m.id, leader: m.current_leader })
    }
}

fn raft_err(raft: &Raft, e: impl std::fmt::Display + HasLeader) -> MemberError {
    match e.leader() {
        Some(leader) => MemberError::NotLeader { this: raft_id(raft), leader },
        None => MemberError::Raft(e.to_string()),
    }
}

fn raft_id(raft: &Raft) -> u64 {
    raft.metrics().borrow_watched().id
}

/// Raft errors that may say who leads.
trait HasLeader {
    fn leader(&self) -> Option<Option<u64>>;
}

impl HasLeader
    for openraft::error::RaftError<
        crate::raft::TypeConfig,
        openraft::error::ClientWriteError<crate::raft::TypeConfig>,
    >
{
    fn leader(&self) -> Option<Option<u64>> {
        self.forward_to_leader().map(|f| f.leader_id)
    }
}

/// Adds node `id` at `addr`: a learner first (this returns once it has caught up), then a
/// voter.
///
/// # Errors
/// [`MemberError`]: not the leader, a retired id, already a member, or Raft's error.
pub async fn add(
    raft: &Raft,
    sm: &RegionStateMachine,
    id: u64,
    addr: NodeAddr,
) -> Result<Members, MemberError> {
    leader_check(raft)?;
    let now = list(raft, sm)?;
    if now.retired.contains(&id) {
        return Err(MemberError::Retired(id));
    }
    if now.voters.contains(&id) {
        return Err(MemberError::Membership(format!("node {id} is already a voter")));
    }
    raft.add_learner(id, addr, true).await.map_err(|e| raft_err(raft, e))?;
    raft.change_membership(ChangeMembers::AddVoterIds([id].into()), false)
        .await
        .map_err(|e| raft_err(raft, e))?;
    list(raft, sm)
}

/// Removes node `id` from the region (voter and learner); its id is retired.
///
/// # Errors
/// [`MemberError`]: not the leader, not a member, the last voter, or Raft's error.
pub async fn remove(raft: &Raft, sm: &RegionStateMachine, id: u64) -> Result<Members, MemberError> {
    leader_check(raft)?;
    let now = list(raft, sm)?;
    if !now.nodes.contains_key(&id) {
        return Err(MemberError::Membership(format!("node {id} is not a member")));
    }
    if now.voters.len() == 1 && now.voters.contains(&id) {
        return Err(MemberError::Membership(format!("node {id} is the region's last voter")));
    }
    if now.voters.contains(&id) {
        raft.change_membership(ChangeMembers::RemoveVoters([id].into()), false)
            .await
            .map_err(|e| raft_err(raft, e))?;
    } else {
        raft.change_membership(ChangeMembers::RemoveNodes([id].into()), false)
            .await
            .map_err(|e| raft_err(raft, e))?;
    }
    list(raft, sm)
}
