//! The SQLite backend of the Local Agent: WAL, `synchronous=FULL`, hash-chained rows.

mod anchor;
mod append;
mod checkpoint_log;
mod keyed;
mod leases;
mod lookup;
mod master_store;
mod price_arrival;
mod projections;
mod read;
mod region_raft;
mod region_replica;
mod schema;
mod state;
mod store_impl;
mod sync_store;
mod verified;
mod verify;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use crate::chain::Chain;
use crate::error::{Result, StoreError};
use crate::projection::Projector;

pub use anchor::ChainAnchor;
pub use append::{AppendRequest, MAX_BATCH};
pub use checkpoint_log::CHECKPOINT_EVERY;
pub use leases::TillLease;
pub use master_store::{BranchRow, MasterStore, RegionRow, SalesRow, StockRow};
pub use price_arrival::{MAX_PRICE_CHANGES, MAX_REACH_STORES, PriceChange, StoreArrival};
pub use read::MAX_READ;
pub use region_raft::{MAX_RAFT_MEMBERS, RaftMember, RaftReport, SinkBacklog, SinkSample};
pub use region_replica::{Accepted, RegionReplicaStore, ReplicaTxn};
pub use state::{SagaRecord, SagaStep};
pub use verified::{Verification, verify_batch};
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
    /// Opens the file read-only (`SQLITE_OPEN_READ_ONLY`): reads and `verify_chain` work,
    /// even on a read-only file or directory; every write is refused with
    /// [`StoreError::ReadOnly`]. The file must exist and hold a current-schema store.
    pub read_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            durability: Durability::Full,
            busy_timeout: Duration::from_secs(5),
            max_size_bytes: None,
            read_only: false,
        }
    }
}

/// The Local Agent's event store in one SQLite file.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    projector: Projector,
    read_only: bool,
    chain: Chain,
    /// The database file, probed when SQLite reports an I/O error.
    path: std::path::PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";
/// Linux's "read-only file system" error number.
const EROFS: i32 = 30;
/// Linux's "no space left on device" error number.
const ENOSPC: i32 = 28;

impl SqliteStore {
    /// Opens (or creates) the store at `path` with the default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, Options::default())
    }

    /// Opens (or creates) the store at `path`.
    ///
    /// A file that is not an SQLite database, or an SQLite database that is not a DCS
    /// store, is refused with [`StoreError::NotAStore`] and left untouched; so is anything
    /// that is not a regular file (a FIFO, a device, a directory), before SQLite touches
    /// it. An empty path is refused (SQLite would open a temporary database that vanishes
    /// on close).
    ///
    /// Several processes may open one store and append at once: every write transaction
    /// starts with `BEGIN IMMEDIATE`, so a writer waits up to `busy_timeout` for another
    /// process's write lock, and positions, the chain and stream versions are read inside
    /// that lock (no head is cached between transactions). A new file's schema is created
    /// inside the same kind of transaction, so concurrent first opens agree.
    ///
    /// The chain is unkeyed (SHA-256): it finds damage and naive edits, not an editor who
    /// knows the format. A keyed store is refused here: open it with
    /// [`open_keyed`](Self::open_keyed).
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Self> {
        Self::open_chained(path.as_ref(), options, None)
    }

    /// Opens (or creates) the store at `path` with its chain keyed by the tenant's MAC key
    /// (HMAC-SHA256 under `mac_key.derive_chain_key(store id)`, a key the file does not hold).
    ///
    /// An unkeyed store (schema 2 or one made by [`open_with`](Self::open_with)) is
    /// upgraded: its unkeyed chain is verified, then every row is re-chained under the key
    /// in one transaction. That is trust on upgrade: an edit made before the upgrade by
    /// someone who recomputed the unkeyed chain is not found (anchors from the region are).
    /// A key that does not verify the chain's last row is refused.
    pub fn open_keyed(
        path: impl AsRef<Path>,
        options: Options,
        mac_key: &dcs_crypto::MacKey,
    ) -> Result<Self> {
        Self::open_chained(path.as_ref(), options, Some(mac_key))
    }

    fn open_chained(
        path: &Path,
        options: Options,
        mac_key: Option<&dcs_crypto::MacKey>,
    ) -> Result<Self> {
        let shown = path.display().to_string();
        check_path(path, &shown, options.read_only)?;
        check_header(path, &shown)?;
        let access = if options.read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
        };
        let mut conn = Connection::open_with_flags(path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(map_err)?;
        conn.busy_timeout(options.busy_timeout).map_err(map_err)?;
        conn.set_prepared_statement_cache_capacity(64);
        // Writes take the write lock when they begin, so the busy timeout applies to them
        // (a deferred transaction that upgrades to a write fails at once when busy).
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        // Reading the schema is the first access to the file's pages: a foreign or
        // corrupt file fails here, before anything is written. While another process
        // switches a new file to WAL, SQLite answers "busy" without calling the busy
        // handler, so these first steps are retried until the busy timeout.
        let started = std::time::Instant::now();
        loop {
            let step = schema::ensure(&mut conn, &shown, options.read_only).and_then(|()| {
                if options.read_only {
                    return Ok(());
                }
                conn.execute_batch("PRAGMA journal_mode = WAL;").map_err(map_err)
            });
            match step {
                Err(StoreError::Locked) if started.elapsed() < options.busy_timeout => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                other => break other?,
            }
        }
        let sync = match options.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384;"
        ))
        .map_err(map_err)?;
        if let Some(max) = options.max_size_bytes {
            let page: u64 =
                conn.query_row("PRAGMA page_size", [], |r| r.get(0)).map_err(map_err)?;
            conn.execute_batch(&format!("PRAGMA max_page_count = {}", (max / page.max(1)).max(1)))
                .map_err(map_err)?;
        }
        let chain = keyed::chain_for(&mut conn, &shown, mac_key, options.read_only)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            projector: Projector::default(),
            read_only: options.read_only,
            chain,
            path: path.to_path_buf(),
        })
    }

    /// True when the store was opened with [`Options::read_only`].
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Refuses a write on a read-only store, naming `what` was attempted.
    pub(crate) fn writable(&self, what: &'static str) -> Result<()> {
        if self.read_only {
            return Err(StoreError::ReadOnly { operation: what });
        }
        Ok(())
    }

    /// Says what an I/O error of SQLite was, from the file itself: a filesystem that turned
    /// read-only (the kernel remounts one so after a disk error) or one with no space left;
    /// any other error as it is.
    pub(crate) fn explain(&self, e: StoreError) -> StoreError {
        let StoreError::Io(detail) = e else { return e };
        if self.path.as_os_str().is_empty() {
            return StoreError::Io(detail);
        }
        match std::fs::OpenOptions::new().append(true).open(&self.path) {
            Err(probe) if probe.raw_os_error() == Some(EROFS) => {
                StoreError::ReadOnlyFilesystem { path: self.path.display().to_string() }
            }
            Err(probe) if probe.raw_os_error() == Some(ENOSPC) => StoreError::DiskFull,
            _ => StoreError::Io(detail),
        }
    }

    /// An in-memory store (for tests and the simulator).
    pub fn open_in_memory() -> Result<Self> {
        let mut conn = Connection::open_in_memory().map_err(map_err)?;
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        schema::ensure(&mut conn, ":memory:", false)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            projector: Projector::default(),
            read_only: false,
            chain: Chain::Unkeyed,
            path: std::path::PathBuf::new(),
        })
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

/// Refuses an empty path, and anything at `path` that is not a regular file (a FIFO would
/// block SQLite's open for ever). A read-only store must exist.
fn check_path(path: &Path, shown: &str, read_only: bool) -> Result<()> {
    if path.as_os_str().is_empty() {
        return Err(StoreError::Invalid {
            field: "path",
            reason: "is empty: give the store file's path (SQLite would open a temporary database that vanishes when it is closed)".into(),
        });
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(meta) => Err(StoreError::NotAStore {
            path: shown.to_string(),
            reason: format!(
                "it is not a regular file ({}); give the path of a store file or of one to create",
                if meta.is_dir() { "a directory" } else { "a FIFO, socket or device" }
            ),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !read_only => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NotAStore {
            path: shown.to_string(),
            reason: "it does not exist, and a read-only open does not create a store".into(),
        }),
        Err(e) => Err(StoreError::Database(format!("cannot inspect {shown}: {e}"))),
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
            ErrorCode::ReadOnly => StoreError::ReadOnly { operation: "this write" },
            ErrorCode::SystemIoFailure => StoreError::Io(detail),
            _ => StoreError::Database(detail),
        };
    }
    StoreError::Database(e.to_string())
}

/// Runs one statement through the connection's prepared-statement cache: the hot paths
/// (every accepted item, every checkpoint change) would otherwise parse their SQL each time.
pub(crate) fn exec(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
    conn.prepare_cached(sql).and_then(|mut s| s.execute(params)).map_err(map_err)
}
