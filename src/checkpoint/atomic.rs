//! Atomic file replacement: write a temporary file next to the target, flush it to disk, then
//! rename it over the target (and, on unix, flush the folder so the rename itself is durable).
//!
//! A crash, a full disk or any error part-way leaves the previous file untouched and removes
//! the temporary file, so a checkpoint path always holds either the old or the new file whole.
//!
//! A process killed mid-write (`kill -9`, a power cut) cannot remove its temporary file, so each
//! successful write to a path also removes the stale temporary files of that same path:
//! `.{name}.{pid}.{n}.tmp` whose writer is gone. On Linux a writer is gone when `/proc/{pid}`
//! does not exist; where there is no `/proc`, a file of another process counts as stale once it
//! is [`STALE_AGE`] old (no save takes that long to write one file). Files of this process
//! (another thread may be writing one), of live processes, of other targets and anything not
//! named exactly so are left alone. So no temporary file outlives the next successful save to
//! the same path.

use kensho_core::{Error, Result};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Where liveness cannot be asked, the age after which another process's temporary file is
/// taken as left behind by a crash.
const STALE_AGE: Duration = Duration::from_secs(10 * 60);

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
    remove_stale_temps(path);
    Ok(())
}

/// The folder holding `path` (`.` for a bare file name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The writer's pid if `file_name` is a temporary file of `target_name`: `.{target}.{pid}.{n}.tmp`.
fn temp_owner(file_name: &str, target_name: &str) -> Option<u32> {
    let middle = file_name.strip_prefix('.')?.strip_prefix(target_name)?.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (pid, n) = middle.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(pid) && digits(n)).then(|| pid.parse().ok()).flatten()
}

/// Whether process `pid` is running, if this system can tell (Linux's `/proc`).
fn is_alive(pid: u32) -> Option<bool> {
    let proc = Path::new("/proc");
    proc.join("self").exists().then(|| proc.join(pid.to_string()).exists())
}

/// Removes the temporary files of `path` left by writers that are gone (see the module docs).
/// Best effort: a file that cannot be read or removed is left.
fn remove_stale_temps(path: &Path) {
    let Some(target) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { return };
    let Ok(entries) = fs::read_dir(parent_of(path)) else { return };
    let me = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = temp_owner(&name.to_string_lossy(), &target) else { continue };
        let stale = pid != me
            && match is_alive(pid) {
                Some(alive) => !alive,
                None => entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STALE_AGE)),
            };
        if stale && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = fs::remove_file(entry.path());
        }
    }
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
        if let Ok(dir) = fs::File::open(parent_of(path)) {
            let _ = dir.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_recognised_only_for_their_own_target() {
        assert_eq!(temp_owner(".m.safetensors.123.4.tmp", "m.safetensors"), Some(123));
        assert_eq!(temp_owner(".m.safetensors.123.4.tmp", "m"), None); // "safetensors.123.4"
        assert_eq!(temp_owner(".m.safetensors.x.4.tmp", "m.safetensors"), None);
        assert_eq!(temp_owner(".m.safetensors.123.tmp", "m.safetensors"), None);
        assert_eq!(temp_owner("m.safetensors.123.4.tmp", "m.safetensors"), None);
        assert_eq!(temp_owner(".m.safetensors.99999999999.4.tmp", "m.safetensors"), None); // no u32
        let own = temp_path(Path::new("dir/m.safetensors"));
        let own = own.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(temp_owner(&own, "m.safetensors"), Some(std::process::id()));
    }
}
