//! The SQLite Raft log and the region's state machine pass openraft's own storage test suite
//! (`Suite::test_all`: log, vote, purge, truncate, membership and snapshot cases).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::sync::{Arc, Mutex};

use dcs_regional::raft::{LogStoreConfig, RegionStateMachine, SqliteLogStore, TypeConfig};
use dcs_regional::replica::Replica;
use openraft::testing::log::{StoreBuilder, Suite};
use openraft::{ErrorSubject, ErrorVerb, StorageError};

struct Builder;

impl StoreBuilder<TypeConfig, SqliteLogStore, RegionStateMachine, tempfile::TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, SqliteLogStore, RegionStateMachine), StorageError<TypeConfig>>
    {
        let io = |e: std::io::Error| {
            StorageError::from_io_error(ErrorSubject::Store, ErrorVerb::Write, e)
        };
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteLogStore::open(&dir.path().join("raft.db"), LogStoreConfig::default())
            .map_err(io)?;
        let replica =
            Replica::open(&dir.path().join("replica.db"), common::replica_config()).unwrap();
        let sm =
            RegionStateMachine::new(Arc::new(Mutex::new(replica)), &dir.path().join("snapshots"))
                .map_err(io)?;
        Ok((dir, store, sm))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_log_and_the_region_state_machine_pass_openrafts_storage_suite() {
    Suite::test_all(Builder).await.unwrap();
}
