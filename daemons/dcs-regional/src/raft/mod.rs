//! Everything that knows openraft (pinned to one exact version in Cargo.toml): the type
//! configuration, the durable log store and the state machine over the [`crate::replica`].
//! The rest of the daemon sees only these types.

mod log_store;
mod network;
mod recent;
mod service;
mod state_machine;
pub(crate) mod writer;

use serde::{Deserialize, Serialize};

pub use crate::replica::{Applied, Proposal};
pub use log_store::{LogStoreConfig, SqliteLogReader, SqliteLogStore};
pub use network::{Network, NetworkConfig};
pub use service::RaftService;
pub use state_machine::{RegionStateMachine, SnapshotFile};
pub use writer::LogStats;

/// A node's addresses: for its peers (Raft) and for the stores (the URL a follower names when
/// it redirects a store to its leader).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAddr {
    /// `host:port` of the node's Raft service.
    pub raft: String,
    /// `https://host:port` of its `LocalRegionalSync` service.
    pub sync: String,
}

openraft::declare_raft_types!(
    /// The region's Raft types: node ids are `u64`, entries carry [`Proposal`]s.
    pub TypeConfig:
        D = Proposal,
        R = Applied,
        Node = NodeAddr,
);

/// A Raft log entry of the region.
pub type Entry = openraft::alias::EntryOf<TypeConfig>;
/// A Raft log id (term, leader node, index).
pub type LogId = openraft::alias::LogIdOf<TypeConfig>;
/// A Raft vote.
pub type Vote = openraft::alias::VoteOf<TypeConfig>;

/// A node's Raft handle.
pub type Raft = openraft::Raft<TypeConfig, RegionStateMachine>;
