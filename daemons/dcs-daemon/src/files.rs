//! Files a daemon writes once and must find again after a power cut or a kernel that turned
//! the filesystem read-only: config, keys, terminal registries, certificates. Each is written
//! to a temporary file in the same directory, fsynced, renamed into place and the directory
//! fsynced, so a reader sees the old file or the whole new one, never a part.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{DaemonError, Result};

/// Who may read a written file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The owner only (0600): keys, tokens.
    Private,
    /// Anyone who may read the directory (0644): config, certificates.
    Shared,
}

/// Replaces (or creates) `path` with `bytes`, durably and atomically.
///
/// # Errors
/// [`DaemonError::File`] naming the path and the step that failed.
pub fn write(path: &Path, bytes: &[u8], access: Access) -> Result<()> {
    let tmp = temporary(path, bytes, access)?;
    tmp.persist(path).map_err(|e| DaemonError::file(path, &e.error))?;
    sync_parent(path)
}

/// Creates `path` with `bytes`, durably; refuses when `path` exists (keys are never
/// overwritten by accident).
///
/// # Errors
/// [`DaemonError::File`], also when the file exists.
pub fn write_new(path: &Path, bytes: &[u8], access: Access) -> Result<()> {
    let tmp = temporary(path, bytes, access)?;
    tmp.persist_noclobber(path).map_err(|e| DaemonError::file(path, &e.error))?;
    sync_parent(path)
}

/// Creates directory `path` (and its parents) and makes the new entry durable; `Private`
/// makes it 0700.
///
/// # Errors
/// [`DaemonError::File`] naming the directory.
pub fn create_dir(path: &Path, access: Access) -> Result<()> {
    fs::create_dir_all(path).map_err(|e| DaemonError::file(path, &e))?;
    #[cfg(unix)]
    if access == Access::Private {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o700))
            .map_err(|e| DaemonError::file(path, &e))?;
    }
    sync_parent(path)
}

fn temporary(path: &Path, bytes: &[u8], access: Access) -> Result<tempfile::NamedTempFile> {
    let dir = parent(path);
    // tempfile creates the file 0600; a shared file is widened before it is renamed.
    let mut tmp = tempfile::Builder::new()
        .prefix(".dcs-tmp")
        .tempfile_in(dir)
        .map_err(|e| DaemonError::file(dir, &e))?;
    #[cfg(unix)]
    if access == Access::Shared {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o644))
            .map_err(|e| DaemonError::file(path, &e))?;
    }
    #[cfg(not(unix))]
    let _ = access;
    tmp.write_all(bytes).map_err(|e| DaemonError::file(path, &e))?;
    tmp.as_file().sync_all().map_err(|e| DaemonError::file(path, &e))?;
    Ok(tmp)
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Fsyncs the directory holding `path`, so its new entry survives a crash.
fn sync_parent(path: &Path) -> Result<()> {
    let dir = parent(path);
    #[cfg(unix)]
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| DaemonError::file(dir, &e))?;
    Ok(())
}

/// `path` as written in a config file in `dir`: relative paths are relative to `dir`.
pub fn relative_to(dir: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() { path.to_path_buf() } else { dir.join(path) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn write_replaces_and_write_new_refuses_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.toml");
        write(&path, b"one", Access::Shared).unwrap();
        write(&path, b"two", Access::Shared).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let err = write_new(&path, b"three", Access::Private).unwrap_err();
        assert!(err.to_string().contains("a.toml"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"two");
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn private_files_and_directories_are_the_owners_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        create_dir(&keys, Access::Private).unwrap();
        let key = keys.join("k");
        write_new(&key, b"secret", Access::Private).unwrap();
        let shared = dir.path().join("c.pem");
        write(&shared, b"cert", Access::Shared).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&keys), 0o700);
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&shared), 0o644);
    }
}
