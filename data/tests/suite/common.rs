//! Helpers shared by the robustness tests of the loaders (`fuzz_*.rs`, `allocation_bounds.rs`):
//! small valid files in each format, gzip, and the one property every loader must keep on
//! hostile input: no panic, and an error (if any) that names the file.

#![allow(dead_code)] // each test binary uses its own subset

use std::io::Write;
use std::path::{Path, PathBuf};

use proptest::test_runner::Config;

/// Proptest settings of these tests: `cases` per property, no regression files written into
/// the source tree (a failure prints the shrunk input instead).
pub fn config(cases: u32) -> Config {
    Config { cases, failure_persistence: None, ..Config::default() }
}

/// Writes `bytes` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `bytes` gzip'd.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// An IDX file of unsigned bytes with these dimensions and values.
pub fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    dims.iter().for_each(|d| out.extend_from_slice(&d.to_be_bytes()));
    out.extend_from_slice(data);
    out
}

/// A small valid IDX image file: 2 images of 3x4 pixels.
pub fn small_idx_images() -> Vec<u8> {
    idx_bytes(&[2, 3, 4], &(0..24).collect::<Vec<u8>>())
}

/// CIFAR-10 records with these labels and pixel bytes `(label + position) % 256`.
pub fn cifar_records(labels: &[u8]) -> Vec<u8> {
    labels
        .iter()
        .flat_map(|&l| std::iter::once(l).chain((0..3072u32).map(move |p| ((p + u32::from(l)) % 256) as u8)))
        .collect()
}

/// A small valid CSV table for `CsvOptions::new("target").categorical(&["city"])`.
pub const SMALL_CSV: &str = "size,city,rooms,target\n50,paris,2,1.5\n120,\"lyon, east\",5,3\n80,paris,3,-2e3\n";

/// A small valid labelled-text CSV for `load_labelled_texts(path, "text", "label")`.
pub const SMALL_TEXTS: &str = "label,text\n1,\"Funny, warm and wise.\"\n0,A mess.\n1,\"Two\nlines\"\n";

/// Asserts the loader result is `Ok`, or an `Err` whose message names `path`.
#[track_caller]
pub fn ok_or_names_file<T>(result: kensho_data::Result<T>, path: &Path) {
    if let Err(e) = result {
        let message = e.to_string();
        assert!(message.contains(&path.display().to_string()), "the error does not name {}: {message}", path.display());
    }
}

/// Flips bit `bit % 8` of byte `at % len` of `bytes` (unchanged if empty).
pub fn flip(bytes: &mut [u8], at: usize, bit: u8) {
    if !bytes.is_empty() {
        let i = at % bytes.len();
        bytes[i] ^= 1 << (bit % 8);
    }
}

/// Calls `check(path, len)` with `dir/name` holding the first `len` bytes of `full`, for every
/// `len` from `full.len() - 1` down to 0. The file is written once and then shortened in place
/// (rewriting a file thousands of times is slow on ext4, which flushes a truncated rewrite).
pub fn for_each_truncation(dir: &Path, name: &str, full: &[u8], mut check: impl FnMut(&Path, usize)) {
    let path = write(dir, name, full);
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    for len in (0..full.len()).rev() {
        file.set_len(len as u64).unwrap();
        check(&path, len);
    }
}
