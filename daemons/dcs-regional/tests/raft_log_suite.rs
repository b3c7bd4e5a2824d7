//! The SQLite Raft log passes openraft's own storage test suite (`Suite::test_all`).
//!
//! The suite tests a log store together with a state machine; the regional state machine is
//! not built yet, so the state machine here is a small in-memory one written for this test
//! (membership, applied id, snapshots), and what this test proves is the log store's half.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{self, Cursor};
use std::sync::Arc;

use dcs_regional::raft::{Applied, LogStoreConfig, SqliteLogStore, TypeConfig};
use futures_util::TryStreamExt;
use openraft::alias::{LogIdOf, SnapshotMetaOf, SnapshotOf, StoredMembershipOf};
use openraft::entry::RaftEntry;
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::testing::log::{StoreBuilder, Suite};
use openraft::{
    EntryPayload, ErrorSubject, ErrorVerb, OptionalSend, RaftSnapshotBuilder, StorageError,
};
use tokio::sync::Mutex;

#[derive(Default)]
struct Inner {
    applied: Option<LogIdOf<TypeConfig>>,
    membership: StoredMembershipOf<TypeConfig>,
    snapshot: Option<(SnapshotMetaOf<TypeConfig>, Vec<u8>)>,
}

/// Test-only state machine: what the suite checks of a state machine, in memory.
#[derive(Clone, Default)]
struct TestMachine(Arc<Mutex<Inner>>);

impl RaftSnapshotBuilder<TypeConfig> for TestMachine {
    type SnapshotData = Cursor<Vec<u8>>;

    async fn build_snapshot(
        &mut self,
    ) -> Result<SnapshotOf<TypeConfig, Cursor<Vec<u8>>>, io::Error> {
        let mut inner = self.0.lock().await;
        let meta = SnapshotMetaOf::<TypeConfig> {
            last_log_id: inner.applied,
            last_membership: inner.membership.clone(),
        };
        let data = postcard::to_allocvec(&inner.applied).unwrap();
        inner.snapshot = Some((meta.clone(), data.clone()));
        Ok(SnapshotOf::<TypeConfig, _> { meta, snapshot: Cursor::new(data) })
    }
}

impl RaftStateMachine<TypeConfig> for TestMachine {
    type SnapshotData = Cursor<Vec<u8>>;
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogIdOf<TypeConfig>>, StoredMembershipOf<TypeConfig>), io::Error> {
        let inner = self.0.lock().await;
        Ok((inner.applied, inner.membership.clone()))
    }

    async fn apply<S>(&mut self, mut entries: S) -> Result<(), io::Error>
    where
        S: futures_util::Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>>
            + Unpin
            + OptionalSend,
    {
        let mut inner = self.0.lock().await;
        while let Some((entry, responder)) = entries.try_next().await? {
            let id = entry.log_id();
            if let EntryPayload::Membership(m) = &entry.payload {
                inner.membership = StoredMembershipOf::<TypeConfig>::new(Some(id), m.clone());
            }
            inner.applied = Some(id);
            if let Some(r) = responder {
                r.send(Applied { index: id.index });
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMetaOf<TypeConfig>,
        snapshot: Self::SnapshotData,
    ) -> Result<(), io::Error> {
        let mut inner = self.0.lock().await;
        inner.applied = meta.last_log_id;
        inner.membership = meta.last_membership.clone();
        inner.snapshot = Some((meta.clone(), snapshot.into_inner()));
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<SnapshotOf<TypeConfig, Self::SnapshotData>>, io::Error> {
        let inner = self.0.lock().await;
        Ok(inner.snapshot.as_ref().map(|(meta, data)| SnapshotOf::<TypeConfig, _> {
            meta: meta.clone(),
            snapshot: Cursor::new(data.clone()),
        }))
    }
}

struct Builder;

impl StoreBuilder<TypeConfig, SqliteLogStore, TestMachine, tempfile::TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, SqliteLogStore, TestMachine), StorageError<TypeConfig>> {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteLogStore::open(&dir.path().join("raft.db"), LogStoreConfig::default())
            .map_err(|e| StorageError::from_io_error(ErrorSubject::Store, ErrorVerb::Write, e))?;
        Ok((dir, store, TestMachine::default()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_log_passes_openrafts_storage_suite() {
    Suite::test_all(Builder).await.unwrap();
}
