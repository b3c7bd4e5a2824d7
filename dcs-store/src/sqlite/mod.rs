//! The SQLite backend of the Local Agent: WAL, `synchronous=FULL`, hash-chained rows.

mod append;
mod lookup;
mod projections;
mod read;
mod schema;
mod state;
mod store_impl;
mod verify;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::error::{Result, StoreError};
use crate::projection::Projector;

pub use append::{AppendRequest, MAX_BATCH};
pub use read::MAX_READ;
pub use state::{SagaRecord, SagaStep};
pub use verify::ChainReport;

/// How hard an append works to survive a power cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: an acknowledged append survives power loss (the default).
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a process crash; the last appends may be lost on
    /// power loss. Only for tests and throwaway stores.
    Normal,
}

/// Options for opening a store.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Durability of each commit.
    pub durability: Durability,
    /// How long to wait for another process's lock before failing with `Locked`.
    pub busy_timeout: Duration,
    /// A cap on the database size; an append past it fails with `DiskFull` exactly as a
    /// full disk does, and writes nothing.
    pub max_size_bytes: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            durability: Durability::Full,
            busy_timeout: Duration::from_secs(5),
            max_size_bytes: None,
        }
    }
}

/// The Local Agent's event store in one SQLite file.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    projector: Projector,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

impl SqliteStore {
    /// Opens (or creates) the store at `path` with the default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, Options::default())
    }

    /// Opens (or creates) the store at `path`.
    ///
    /// A file that is not an SQLite database, or an SQLite database that is not a DCS
    /// store, is refused with [`StoreError::NotAStore`] and left untouched.
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Self> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        check_header(path, &shown)?;
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(map_err)?;
        conn.busy_timeout(options.busy_timeout).map_err(map_err)?;
        // Reading the schema is the first access to the file's pages: a foreign or
        // corrupt file fails here, before anything is written.
        schema::ensure(&mut conn, &shown)?;
        let sync = match options.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON;
             PRAGMA cache_size = -16384;"
        ))
        .map_err(map_err)?;
        if let Some(max) = options.max_size_bytes {
            let page: u64 =
                conn.query_row("PRAGMA page_size", [], |r| r.get(0)).map_err(map_err)?;
            conn.execute_batch(&format!("PRAGMA max_page_count = {}", (max / page.max(1)).max(1)))
                .map_err(map_err)?;
        }
        Ok(SqliteStore { conn: Mutex::new(conn), projector: Projector::default() })
    }

    /// An in-memory store (for tests and the simulator).
    pub fn open_in_memory() -> Result<Self> {
        let mut conn = Connection::open_in_memory().map_err(map_err)?;
        schema::ensure(&mut conn, ":memory:")?;
        Ok(SqliteStore { conn: Mutex::new(conn), projector: Projector::default() })
    }

    /// Sets how appended bodies count in the projections (time zone, loyalty program).
    pub fn with_projector(mut self, projector: Projector) -> Self {
        self.projector = projector;
        self
    }

    /// How appended bodies count in the projections.
    pub fn projector(&self) -> &Projector {
        &self.projector
    }

    /// Runs SQLite's full `integrity_check` over the file.
    pub fn integrity_check(&self) -> Result<()> {
        let conn = self.lock();
        let verdict: String =
            conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(map_err)?;
        if verdict != "ok" {
            return Err(StoreError::Corrupt(verdict));
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half transaction behind (SQLite
        // rolls it back), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn check_header(path: &Path, shown: &str) -> Result<()> {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(path) else {
        return Ok(()); // Does not exist yet (or unreadable: SQLite reports it next).
    };
    let mut header = [0u8; 16];
    let mut read = 0;
    while read < header.len() {
        match file.read(&mut header[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) => return Err(StoreError::Database(format!("cannot read {shown}: {e}"))),
        }
    }
    if read == 0 {
        return Ok(()); // An empty file: SQLite initialises it.
    }
    if read < header.len() || &header != SQLITE_HEADER {
        return Err(StoreError::NotAStore {
            path: shown.to_string(),
            reason: "it does not start with the SQLite header".into(),
        });
    }
    Ok(())
}

/// Maps a rusqlite error to the store error a caller can act on.
pub(crate) fn map_err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(err, msg) = &e {
        let detail = msg.clone().unwrap_or_else(|| err.to_string());
        return match err.code {
            ErrorCode::DiskFull => StoreError::DiskFull,
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Locked,
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => StoreError::Corrupt(detail),
            _ => StoreError::Database(detail),
        };
    }
    StoreError::Database(e.to_string())
}
