//! `EventStore` for `SqliteStore`: the synchronous methods, completed immediately.

use std::future::{Future, ready};

use dcs_core::SovereignFinancialEvent;

use super::SqliteStore;
use crate::api::{AppendResult, EventStore, ExpectedVersion, Snapshot, StoredEvent, StreamId};
use crate::error::Result;

impl EventStore for SqliteStore {
    fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[SovereignFinancialEvent],
    ) -> impl Future<Output = Result<AppendResult>> + Send {
        ready(self.append_sync(stream, expected, events))
    }

    fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>>> + Send {
        ready(self.read_stream_sync(stream, from_version, limit))
    }

    fn read_all(
        &self,
        from_position: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>>> + Send {
        ready(self.read_all_sync(from_position, limit))
    }

    fn stream_version(&self, stream: &StreamId) -> impl Future<Output = Result<u64>> + Send {
        ready(self.stream_version_sync(stream))
    }

    fn head_position(&self) -> impl Future<Output = Result<u64>> + Send {
        ready(self.head_position_sync())
    }

    fn save_snapshot(&self, snapshot: &Snapshot) -> impl Future<Output = Result<()>> + Send {
        ready(self.save_snapshot_sync(snapshot))
    }

    fn load_snapshot(
        &self,
        stream: &StreamId,
    ) -> impl Future<Output = Result<Option<Snapshot>>> + Send {
        ready(self.load_snapshot_sync(stream))
    }
}
