//! Atomic file replacement: write a temporary file next to the target, flush it to disk, then
//! rename it over the target (and, on unix, flush the folder so the rename itself is durable).
//!
//! A crash, a full disk or any error part-way leaves the previous file untouched and removes
//! the temporary file, so a checkpoint path always holds either the old or the new file whole.

use kensho_core::{Error, Result};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The temporary file used while writing `path`: hidden, in the same folder (so that the
/// rename never crosses file systems), unique per process and call.
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}.{unique}.tmp", std::process::id()))
}

/// Writes `bytes` to `path` atomically.
///
/// # Errors
/// [`Error::Io`] naming `path` if the folder is missing or not writable, the disk is full, or
/// the rename fails; the temporary file is removed in every case.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if path.file_name().is_none() {
        let err = std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file");
        return Err(Error::io(path, err));
    }
    let tmp = temp_path(path);
    let written = write_and_sync(&tmp, bytes).and_then(|()| fs::rename(&tmp, path));
    if let Err(err) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, err));
    }
    sync_parent(path);
    Ok(())
}

fn write_and_sync(tmp: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(tmp)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Flushes the folder entry of `path` after the rename (unix; a no-op elsewhere). Best effort:
/// the new file is complete either way, this only makes the rename survive a power cut.
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if let Ok(dir) = fs::File::open(parent) {
            let _ = dir.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}
