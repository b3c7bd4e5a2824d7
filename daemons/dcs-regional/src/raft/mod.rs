//! Everything that knows openraft (pinned to one exact version in Cargo.toml): the type
//! configuration and the durable log store. The rest of the daemon sees only these types.

mod log_store;
mod writer;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use log_store::{LogStoreConfig, SqliteLogReader, SqliteLogStore};

/// One input of the regional machine, as the leader proposes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// The encoded input (a store's sync message or a timer tick, with the leader's clock).
    pub input: Vec<u8>,
}

impl fmt::Display for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "proposal of {} bytes", self.input.len())
    }
}

/// What applying a [`Proposal`] answers the proposer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The log index the proposal was applied at.
    pub index: u64,
}

/// A node's address for its peers (the Raft gRPC endpoint).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAddr {
    /// `host:port` of the node's Raft service.
    pub raft: String,
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
