//! [`FileKeyring`]: the local keyring persisted to a file only its owner can read.
//!
//! The file holds [`Keyring::to_bytes`] (keyring format version 1). It is created with mode
//! 0600, refused if its group or others can access it, and replaced atomically on every
//! change: a temporary file in the same directory is written and fsynced, renamed over the
//! keyring, then the directory is fsynced. A crash leaves the old or the new keyring, never a
//! mix; a failed change leaves file and memory as they were.
//!
//! Processes that share a keyring file (a store's daemon and the operator's `keys rotate`, or
//! a region opening a tenant's events) see each other's changes with
//! [`FileKeyring::with_reload_every`]: the file is looked at (one `stat`) at most that often
//! and reread when it was replaced, and at once when an envelope names a KEK version this copy
//! does not hold yet.

use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use dcs_crypto::provider::DATA_KEY_ID_LEN;
use dcs_crypto::{DataKey, KekMaterial, KekRef, KeyProvider, Keyring, SealingKey, WrappedKey};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::admin::KekAdmin;
use crate::error::{KeysError, Result};

/// Permission bits a keyring file may not have: any access by group or others.
const FORBIDDEN_MODE: u32 = 0o077;

/// A [`Keyring`] kept in a file readable only by its owner; implements [`KeyProvider`].
pub struct FileKeyring {
    path: PathBuf,
    keyring: RwLock<Keyring>,
    /// How often the file is looked at for changes made by other processes (None: never).
    reload_every: Option<Duration>,
    /// When the file was last looked at, and what it was then.
    seen: Mutex<(Instant, Option<Stamp>)>,
}

/// What tells one version of the keyring file from the next (it is replaced by a rename, so
/// a change gives a new inode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    inode: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp { inode: meta.ino(), len: meta.len(), modified: meta.modified().ok() })
}

impl fmt::Debug for FileKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keyring's Debug shows ids, versions and states, never secrets.
        f.debug_struct("FileKeyring")
            .field("path", &self.path)
            .field("keyring", &*self.read())
            .finish()
    }
}

impl FileKeyring {
    /// Creates a new, empty keyring file at `path` with mode 0600; fails if the file exists.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let keyring = Keyring::new();
        write_atomically(&path, &keyring, false)?;
        Ok(Self::from_parts(path, keyring))
    }

    /// Opens an existing keyring file, refusing one that group or others can access.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let keyring = load(&path)?;
        Ok(Self::from_parts(path, keyring))
    }

    fn from_parts(path: PathBuf, keyring: Keyring) -> Self {
        let seen = Mutex::new((Instant::now(), stamp(&path)));
        Self { path, keyring: RwLock::new(keyring), reload_every: None, seen }
    }

    /// Looks at the file at most every `interval` (one `stat`) and rereads it when another
    /// process replaced it: a rotation made by `keys rotate`, or a copy of the tenant's keys
    /// put in place, is then used within `interval`. An envelope under a KEK version this copy
    /// does not hold makes it look at once.
    #[must_use]
    pub fn with_reload_every(mut self, interval: Duration) -> Self {
        self.reload_every = Some(interval);
        self
    }

    /// Rereads the file if it changed since it was last read and, unless `now_please`, the
    /// interval has passed. A file that cannot be read now keeps the keyring as it was (the
    /// next look tries again).
    fn refresh(&self, now_please: bool) {
        let Some(every) = self.reload_every else { return };
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if !now_please && seen.0.elapsed() < every {
            return;
        }
        seen.0 = Instant::now();
        let current = stamp(&self.path);
        if current == seen.1 {
            return;
        }
        if let Ok(fresh) = load(&self.path) {
            *self.keyring.write().unwrap_or_else(|p| p.into_inner()) = fresh;
            seen.1 = current;
        }
    }

    /// Opens the keyring file at `path`, creating an empty one (mode 0600) if there is none.
    pub fn open_or_create(path: impl AsRef<Path>) -> Result<Self> {
        match Self::create(&path) {
            Err(KeysError::AlreadyExists { .. }) => Self::open(path),
            other => other,
        }
    }

    /// The keyring file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies `change` to the keyring as it is on disk, saves it atomically, then keeps it.
    ///
    /// Holds an exclusive lock on `<path>.lock` meanwhile, so processes sharing the file do not
    /// lose each other's changes. If `change` or the save fails, neither the file nor this
    /// keyring changes.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut Keyring) -> dcs_crypto::Result<T>,
    ) -> Result<T> {
        let mut guard = self.keyring.write().unwrap_or_else(|p| p.into_inner());
        let _lock = lock(&self.path)?;
        let mut next = load(&self.path)?;
        let out = change(&mut next)?;
        write_atomically(&self.path, &next, true)?;
        *guard = next;
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).1 = stamp(&self.path);
        Ok(out)
    }

    /// Rereads the file (to see changes another process made since it was opened).
    pub fn reload(&self) -> Result<()> {
        let current = stamp(&self.path);
        let fresh = load(&self.path)?;
        *self.keyring.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).1 = current;
        Ok(())
    }

    /// Runs `look` on the current keyring (e.g. to read a KEK's state).
    pub fn read_with<T>(&self, look: impl FnOnce(&Keyring) -> T) -> T {
        look(&self.read())
    }

    fn read(&self) -> RwLockReadGuard<'_, Keyring> {
        // Changes are made on a copy and swapped in whole, so a poisoned lock holds a
        // consistent keyring.
        self.keyring.read().unwrap_or_else(|p| p.into_inner())
    }
}

/// Reads and checks the keyring file at `path` (owner-only mode, keyring format).
fn load(path: &Path) -> Result<Keyring> {
    let io = |action| move |source| KeysError::Io { path: path.to_path_buf(), action, source };
    let mut file = File::open(path).map_err(io("open"))?;
    let meta = file.metadata().map_err(io("stat"))?;
    let mode = meta.permissions().mode();
    if mode & FORBIDDEN_MODE != 0 {
        return Err(KeysError::PermissionsTooOpen { path: path.into(), mode: mode & 0o7777 });
    }
    if !meta.is_file() {
        return Err(KeysError::Corrupt {
            path: path.into(),
            source: dcs_crypto::CryptoError::KeyringFormat("not a regular file"),
        });
    }
    let mut bytes = Zeroizing::new(Vec::new());
    file.read_to_end(&mut bytes).map_err(io("read"))?;
    Keyring::from_bytes(&bytes).map_err(|source| KeysError::Corrupt { path: path.into(), source })
}

/// Takes the exclusive change lock of the keyring at `path` (released when dropped).
fn lock(path: &Path) -> Result<File> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let io = |action| {
        let path = lock_path.clone();
        move |source| KeysError::Io { path, action, source }
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock_path)
        .map_err(io("open lock file"))?;
    file.lock().map_err(io("lock"))?;
    Ok(file)
}

/// Writes `keyring` to `path` via a 0600 temporary file, fsync, rename and directory fsync.
fn write_atomically(path: &Path, keyring: &Keyring, replace: bool) -> Result<()> {
    let io = |action| move |source| KeysError::Io { path: path.to_path_buf(), action, source };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".dcs-keyring-")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(io("create temporary file"))?;
    tmp.write_all(&keyring.to_bytes()).map_err(io("write temporary file"))?;
    tmp.as_file().sync_all().map_err(io("fsync temporary file"))?;
    if replace {
        tmp.persist(path).map_err(|e| io("rename temporary file")(e.error))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                KeysError::AlreadyExists { path: path.to_path_buf() }
            } else {
                io("create")(e.error)
            }
        })?;
    }
    File::open(dir).and_then(|d| d.sync_all()).map_err(io("fsync directory"))?;
    Ok(())
}

impl KeyProvider for FileKeyring {
    fn current_kek(&self, tenant: &str) -> dcs_crypto::Result<KekRef> {
        self.refresh(false);
        self.read().current_kek(tenant)
    }

    fn wrap(
        &self,
        tenant: &str,
        kek: &KekRef,
        data_key_id: &[u8; DATA_KEY_ID_LEN],
        key: &DataKey,
        rng: &mut dyn CryptoRngCore,
    ) -> dcs_crypto::Result<Vec<u8>> {
        self.read().wrap(tenant, kek, data_key_id, key, rng)
    }

    fn unwrap(
        &self,
        tenant: &str,
        kek: &KekRef,
        data_key_id: &[u8; DATA_KEY_ID_LEN],
        wrapped: &[u8],
    ) -> dcs_crypto::Result<DataKey> {
        match self.read().unwrap(tenant, kek, data_key_id, wrapped) {
            Err(
                dcs_crypto::CryptoError::UnknownKek { .. }
                | dcs_crypto::CryptoError::UnknownKekVersion { .. },
            ) if self.reload_every.is_some() => {}
            other => return other,
        }
        // Sealed under a KEK (version) made elsewhere after this copy was read: look now.
        self.refresh(true);
        self.read().unwrap(tenant, kek, data_key_id, wrapped)
    }

    fn generate_data_key(
        &self,
        tenant: &str,
        rng: &mut dyn CryptoRngCore,
    ) -> dcs_crypto::Result<SealingKey> {
        self.read().generate_data_key(tenant, rng)
    }

    fn rewrap(
        &self,
        tenant: &str,
        data_key_id: &[u8; DATA_KEY_ID_LEN],
        wrapped: &WrappedKey,
        rng: &mut dyn CryptoRngCore,
    ) -> dcs_crypto::Result<WrappedKey> {
        self.read().rewrap(tenant, data_key_id, wrapped, rng)
    }
}

impl KekAdmin for FileKeyring {
    fn create_kek(
        &self,
        tenant: &str,
        kek_id: &str,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<KekRef> {
        self.update(|k| k.create_kek(tenant, kek_id, KekMaterial::Random(rng)))
    }

    fn rotate(&self, kek_id: &str, rng: &mut dyn CryptoRngCore) -> Result<KekRef> {
        self.update(|k| k.rotate(kek_id, KekMaterial::Random(rng)))
    }

    fn retire(&self, kek: &KekRef) -> Result<()> {
        self.update(|k| k.retire(kek))
    }

    fn destroy_tenant(&self, tenant: &str) -> Result<usize> {
        self.update(|k| Ok(k.destroy_tenant(tenant)))
    }
}
