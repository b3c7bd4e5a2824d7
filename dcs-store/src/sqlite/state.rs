//! Everything beside the log: sync cursor, catch-up cursors, snapshots, CRDT states, sagas.

use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, map_err};
use crate::api::{Snapshot, StoredEvent, StreamId};
use crate::error::{Result, StoreError};

/// A saga instance as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SagaRecord {
    /// The saga's id.
    pub saga_id: String,
    /// Its type (e.g. `inter-store-transfer`).
    pub saga_type: String,
    /// Its status (e.g. `running`, `compensating`, `completed`).
    pub status: String,
    /// Its state, in the saga's own encoding.
    pub data: Vec<u8>,
}

/// One recorded step of a saga.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SagaStep {
    /// Its number within the saga (from 1).
    pub step_no: u32,
    /// Its name (e.g. `reserve-stock`).
    pub name: String,
    /// Its status (e.g. `done`, `pending`, `compensated`).
    pub status: String,
    /// Its data, in the saga's own encoding.
    pub data: Vec<u8>,
}

impl SqliteStore {
    /// The highest position the region has acknowledged as durable.
    pub fn acked_position(&self) -> Result<u64> {
        let conn = self.lock();
        conn.query_row("SELECT acked_position FROM sync_state WHERE id = 1", [], |r| r.get(0))
            .map_err(map_err)
    }

    /// Records that the region holds every event up to `position`. Never moves backwards;
    /// acknowledging past the head is refused.
    pub fn ack(&self, position: u64) -> Result<()> {
        self.writable("ack")?;
        let conn = self.lock();
        let head: u64 = conn
            .query_row("SELECT position FROM chain_head WHERE id = 1", [], |r| r.get(0))
            .map_err(map_err)?;
        if position > head {
            return Err(StoreError::Invalid {
                field: "position",
                reason: format!("cannot acknowledge {position}: the log ends at {head}"),
            });
        }
        conn.execute(
            "UPDATE sync_state SET acked_position = max(acked_position, ?1) WHERE id = 1",
            [position],
        )
        .map_err(map_err)?;
        Ok(())
    }

    /// Up to `limit` events the region has not acknowledged yet, oldest first.
    pub fn unacked(&self, limit: usize) -> Result<Vec<StoredEvent>> {
        let from = self.acked_position()? + 1;
        self.read_all_sync(from, limit)
    }

    /// Saves a named catch-up cursor (a reader's last processed position).
    pub fn save_cursor(&self, name: &str, position: u64) -> Result<()> {
        self.writable("save_cursor")?;
        let conn = self.lock();
        conn.execute(
            "INSERT INTO cursors (name, position) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            params![name, position],
        )
        .map_err(map_err)?;
        Ok(())
    }

    /// Loads a named catch-up cursor (0 when never saved).
    pub fn load_cursor(&self, name: &str) -> Result<u64> {
        let conn = self.lock();
        conn.query_row("SELECT position FROM cursors WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(map_err)
            .map(|p| p.unwrap_or(0))
    }

    /// Saves (replaces) a stream's snapshot.
    pub fn save_snapshot_sync(&self, snapshot: &Snapshot) -> Result<()> {
        self.writable("save_snapshot")?;
        let conn = self.lock();
        write_snapshot(&conn, &snapshot.stream_id, snapshot.stream_version, &snapshot.state)
    }

    /// Loads a stream's snapshot.
    pub fn load_snapshot_sync(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        let conn = self.lock();
        conn.query_row(
            "SELECT stream_version, state FROM snapshots WHERE stream_id = ?1",
            [stream.as_str()],
            |r| {
                Ok(Snapshot {
                    stream_id: stream.clone(),
                    stream_version: r.get(0)?,
                    state: r.get(1)?,
                })
            },
        )
        .optional()
        .map_err(map_err)
    }

    /// Saves the encoded state of a named CRDT of a replica.
    pub fn save_crdt(&self, replica_id: &str, name: &str, state: &[u8]) -> Result<()> {
        self.writable("save_crdt")?;
        let conn = self.lock();
        conn.execute(
            "INSERT INTO crdt_state (replica_id, name, state) VALUES (?1, ?2, ?3)
             ON CONFLICT (replica_id, name) DO UPDATE SET state = excluded.state",
            params![replica_id, name, state],
        )
        .map_err(map_err)?;
        Ok(())
    }

    /// Loads the encoded state of a named CRDT of a replica.
    pub fn load_crdt(&self, replica_id: &str, name: &str) -> Result<Option<Vec<u8>>> {
        let conn = self.lock();
        conn.query_row(
            "SELECT state FROM crdt_state WHERE replica_id = ?1 AND name = ?2",
            params![replica_id, name],
            |r| r.get(0),
        )
        .optional()
        .map_err(map_err)
    }

    /// Saves (replaces) a saga instance.
    pub fn save_saga(&self, saga: &SagaRecord) -> Result<()> {
        self.writable("save_saga")?;
        let conn = self.lock();
        conn.execute(
            "INSERT INTO saga_instances (saga_id, saga_type, status, data) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (saga_id) DO UPDATE SET saga_type = excluded.saga_type, status = excluded.status, data = excluded.data",
            params![saga.saga_id, saga.saga_type, saga.status, saga.data],
        )
        .map_err(map_err)?;
        Ok(())
    }

    /// Loads a saga instance.
    pub fn load_saga(&self, saga_id: &str) -> Result<Option<SagaRecord>> {
        let conn = self.lock();
        conn.query_row(
            "SELECT saga_type, status, data FROM saga_instances WHERE saga_id = ?1",
            [saga_id],
            |r| {
                Ok(SagaRecord {
                    saga_id: saga_id.to_string(),
                    saga_type: r.get(0)?,
                    status: r.get(1)?,
                    data: r.get(2)?,
                })
            },
        )
        .optional()
        .map_err(map_err)
    }

    /// Records (or updates) step `step_no` of a saga.
    pub fn save_saga_step(
        &self,
        saga_id: &str,
        step_no: u32,
        name: &str,
        status: &str,
        data: &[u8],
    ) -> Result<()> {
        self.writable("save_saga_step")?;
        let conn = self.lock();
        conn.execute(
            "INSERT INTO saga_steps (saga_id, step_no, name, status, data) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (saga_id, step_no) DO UPDATE SET name = excluded.name, status = excluded.status, data = excluded.data",
            params![saga_id, step_no, name, status, data],
        )
        .map_err(map_err)?;
        Ok(())
    }

    /// The steps of a saga, in order.
    pub fn saga_steps(&self, saga_id: &str) -> Result<Vec<SagaStep>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached("SELECT step_no, name, status, data FROM saga_steps WHERE saga_id = ?1 ORDER BY step_no")
            .map_err(map_err)?;
        let rows = stmt
            .query_map([saga_id], |r| {
                Ok(SagaStep {
                    step_no: r.get(0)?,
                    name: r.get(1)?,
                    status: r.get(2)?,
                    data: r.get(3)?,
                })
            })
            .map_err(map_err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
    }
}

/// Writes (or replaces) the snapshot of `stream` in `conn`'s transaction.
pub(super) fn write_snapshot(
    conn: &rusqlite::Connection,
    stream: &StreamId,
    version: u64,
    state: &[u8],
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO snapshots (stream_id, stream_version, state) VALUES (?1, ?2, ?3)
         ON CONFLICT (stream_id) DO UPDATE SET stream_version = excluded.stream_version, state = excluded.state",
    )
    .and_then(|mut q| q.execute(params![stream.as_str(), version, state]))
    .map_err(map_err)?;
    Ok(())
}
