//! [`EventWriter`]: one TensorBoard event file, written as TFRecord records.
//!
//! A record is the payload's length (u64, little-endian), the masked CRC-32C of those 8 bytes,
//! the payload (a serialized [`Event`]), and the masked CRC-32C of the payload. The file is
//! named as TensorFlow 2 names its own (`events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2`) and
//! starts with an event holding `file_version = "brain.Event:2"`.

use super::proto::{Event, Summary, What};
use crate::{Error, Result};
use prost::Message;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Numbers the files this process creates, so two writers started in the same second of the
/// same process get different names.
static FILE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The masked CRC-32C TFRecord stores: a rotation plus a constant, so that a CRC of data that
/// itself holds CRCs is not trivially zero.
pub(crate) fn masked_crc(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Frames `payload` as one TFRecord record.
pub(crate) fn record(payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(payload.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&masked_crc(payload).to_le_bytes());
    out
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// The host name for the file name (TensorFlow puts it there too), without characters that
/// would make a path; `localhost` when it cannot be found.
fn hostname() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let clean: String = raw.trim().chars().filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c)).collect();
    if clean.is_empty() {
        "localhost".to_string()
    } else {
        clean
    }
}

/// Writes the events of one run folder (such as `logs/train`) to a new event file in it.
pub(crate) struct EventWriter {
    path: PathBuf,
    file: BufWriter<File>,
}

impl EventWriter {
    /// Creates `dir` (and its parents) and a new event file in it, and writes the file-version
    /// event.
    pub(crate) fn create(dir: &Path) -> Result<EventWriter> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let wall_time = now();
        let name = format!(
            "events.out.tfevents.{:010}.{}.{}.{}.v2",
            wall_time as u64,
            hostname(),
            std::process::id(),
            FILE_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = dir.join(name);
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut writer = EventWriter { path, file: BufWriter::new(file) };
        let version = Event { wall_time, step: 0, what: Some(What::FileVersion("brain.Event:2".to_string())) };
        writer.write_event(&version)?;
        Ok(writer)
    }

    /// Writes one summary at `step`.
    pub(crate) fn write_summary(&mut self, step: i64, summary: Summary) -> Result<()> {
        if summary.value.is_empty() {
            return Ok(());
        }
        self.write_event(&Event { wall_time: now(), step, what: Some(What::Summary(summary)) })
    }

    fn write_event(&mut self, event: &Event) -> Result<()> {
        let bytes = record(&event.encode_to_vec());
        self.file.write_all(&bytes).map_err(|e| Error::io(&self.path, e))
    }

    /// Pushes buffered records to the file, so TensorBoard sees them.
    pub(crate) fn flush(&mut self) -> Result<()> {
        self.file.flush().map_err(|e| Error::io(&self.path, e))
    }
}
