//! Memory bounds of the file loaders on hostile files, measured by a counting global allocator:
//! a gzip bomb (a small file inflating to far more than its header announces) and headers that
//! lie about their sizes must fail after allocating little, never after filling the memory.
//!
//! The allocator counts the bytes allocated and freed by the thread that measures (the loaders
//! under test run on the calling thread), so that another test's setup running at the same
//! moment (a proptest strategy compiling its regex, the harness starting a thread) never counts;
//! each measurement also holds a lock, so the tests of this file run one at a time.

use std::alloc::{GlobalAlloc, Layout, System};
#[path = "suite/common.rs"]
mod common;

use std::cell::Cell;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use common::{cifar_records, config, gzip, idx_bytes, ok_or_names_file, write};
use flate2::write::GzEncoder;
use kensho_data::{cifar, idx, load_csv, read_csv, CsvOptions, Missing, StandardScaler, Tokenizer};
use proptest::collection::vec;
use proptest::prelude::*;

/// The system allocator, counting the bytes live and their peak.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Whether this thread's allocations are counted (the thread inside `peak_of`).
    static MEASURED: Cell<bool> = const { Cell::new(false) };
}

fn measured() -> bool {
    MEASURED.try_with(Cell::get).unwrap_or(false)
}

fn grew(by: usize) {
    if measured() {
        let now = LIVE.fetch_add(by as isize, Ordering::SeqCst) + by as isize;
        PEAK.fetch_max(now, Ordering::SeqCst);
    }
}

fn shrank(by: usize) {
    if measured() {
        LIVE.fetch_sub(by as isize, Ordering::SeqCst);
    }
}

// SAFETY: every call is forwarded unchanged to `System`; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout contract passes through unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, that is from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as in `dealloc`; `new_size` is the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Counted as if the old and new blocks coexisted for a moment, as a moving realloc does.
            grew(new_size);
            shrank(layout.size());
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Proof that the caller runs alone: every test (and every proptest case) takes it first, so
/// that no other test's setup (building a gzip bomb) counts in its measurements.
type Alone = MutexGuard<'static, ()>;

fn alone() -> Alone {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` and returns its result with the peak of bytes it had allocated at once.
fn peak_of<T>(_alone: &Alone, f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    MEASURED.with(|m| m.set(true));
    let out = f();
    MEASURED.with(|m| m.set(false));
    (out, (PEAK.load(Ordering::SeqCst) - base).max(0) as usize)
}

/// 256 KiB: what a loader may allocate beyond the values a header validly announces or in
/// proportion to the file (read buffers, the inflate state and window, the error message).
/// The largest seen is about 85 KiB (a gzip'd IDX file: the inflate state and its window).
const SLACK: usize = 256 << 10;

/// The IDX header of unsigned bytes with these dimensions.
fn idx_header(dims: &[u32]) -> Vec<u8> {
    idx_bytes(dims, &[])
}

/// `header` followed by `zeros` zero bytes, gzip'd at the best compression (about 1000:1),
/// written in 1 MiB pieces so that the test never holds the inflated bytes.
fn gzip_bomb(header: &[u8], zeros: usize) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(header).unwrap();
    let piece = vec![0u8; 1 << 20];
    let mut left = zeros;
    while left > 0 {
        let n = left.min(piece.len());
        enc.write_all(&piece[..n]).unwrap();
        left -= n;
    }
    enc.finish().unwrap()
}

/// A 64 KiB gzip'd IDX file whose header announces 10 labels but which inflates to 64 MiB:
/// the loader reads 11 values, sees more than announced, and stops. Before the fix it inflated
/// the whole 64 MiB (and reserved capacity from the gzip trailer's size field) before erroring.
/// Bound: 256 KiB ([`SLACK`]) in all.
#[test]
fn a_gzip_bomb_fails_after_reading_one_value_past_the_header() {
    let alone = alone();
    let dir = tempfile::tempdir().unwrap();
    let bomb = gzip_bomb(&idx_header(&[10]), 64 << 20);
    assert!(bomb.len() < 128 << 10, "the bomb should be small: {} bytes", bomb.len());
    let path = write(dir.path(), "train-labels-idx1-ubyte.gz", &bomb);
    for load in [|p: &Path| idx::read_idx(p).map(drop), |p: &Path| idx::load_labels(p).map(drop)] {
        let (result, peak) = peak_of(&alone, || load(&path));
        assert!(peak < SLACK, "peak allocation {peak} bytes, bound {SLACK}");
        let err = result.unwrap_err().to_string();
        assert!(err.contains("train-labels-idx1-ubyte.gz") && err.contains("longer than its header"), "{err}");
    }
}

/// The same with a header announcing 60,000 labels (as MNIST's): at most the 60,001 bytes
/// needed to see that the file is longer, plus [`SLACK`].
#[test]
fn a_gzip_bomb_with_a_plausible_header_reads_only_the_announced_size() {
    let alone = alone();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "labels.gz", &gzip_bomb(&idx_header(&[60_000]), 64 << 20));
    let (result, peak) = peak_of(&alone, || idx::read_idx(&path));
    assert!(peak < 60_001 + SLACK, "peak allocation {peak} bytes, bound {}", 60_001 + SLACK);
    let err = result.unwrap_err().to_string();
    assert!(err.contains("labels.gz") && err.contains("more than 60000 data bytes"), "{err}");
}

/// A gzip'd file whose header announces more than its compressed size can inflate to (x1032)
/// is refused before any value is read; a plain file announcing more than its length too.
#[test]
fn headers_announcing_more_than_the_file_can_hold_allocate_nothing_for_values() {
    let alone = alone();
    let dir = tempfile::tempdir().unwrap();
    let header = idx_header(&[60_000, 4096, 4096]); // 1e12 bytes
    let gz = write(dir.path(), "images.gz", &gzip_bomb(&header, 1000));
    let (result, peak) = peak_of(&alone, || idx::read_idx(&gz));
    let err = result.unwrap_err().to_string();
    assert!(err.contains("images.gz") && err.contains("inflates to at most"), "{err}");
    assert!(peak < SLACK, "peak allocation {peak} bytes, bound {SLACK}");

    let plain = write(dir.path(), "images", &[&header[..], &[0u8; 1000]].concat());
    let (result, peak) = peak_of(&alone, || idx::read_idx(&plain));
    let err = result.unwrap_err().to_string();
    assert!(err.contains("images") && err.contains("truncated: 1000 data bytes"), "{err}");
    assert!(peak < SLACK, "peak allocation {peak} bytes, bound {SLACK}");
}

/// A valid gzip'd file loads with one copy of its values plus [`SLACK`]: the bounded reading
/// costs no extra copy (the values vector grows to exactly the announced size).
#[test]
fn a_valid_gzip_file_costs_its_values_once() {
    let alone = alone();
    let dir = tempfile::tempdir().unwrap();
    let n = 3 << 20; // 3 MiB of values
    let path = write(dir.path(), "images.gz", &gzip_bomb(&idx_header(&[3, 1024, 1024]), n));
    let (result, peak) = peak_of(&alone, || idx::read_idx(&path));
    let idx = result.unwrap();
    assert_eq!((idx.dims, idx.data.len()), (vec![3, 1024, 1024], n));
    // Growing by doubling moves the values at most a few times: old and new block at once.
    assert!(peak < 2 * n + SLACK, "peak allocation {peak} bytes, bound {}", 2 * n + SLACK);
}

// ---------- lying sizes and hostile bytes, with the memory measured ----------

/// Sizes a header may lie with: zero, off by one either way, and large to the top of `u32`.
fn lies(real: u32) -> [u32; 8] {
    [0, real.saturating_sub(1), real + 1, 1 << 16, 1 << 24, 1 << 31, u32::MAX - 1, u32::MAX]
}

/// A small valid IDX file (2 images of 3x4) with every size of its header replaced, one at a
/// time, by each of [`lies`], and its dimension count by 0, 1, 2, 4 and 255; plain and gzip'd
/// (a plain loop: 3 x 8 + 5 = 29 headers, 58 files). Each load is `Ok` only for the true
/// header, otherwise an error naming the file, and allocates at most [`SLACK`] (256 KiB).
#[test]
fn idx_headers_lying_about_sizes_are_errors_within_the_bound() {
    let alone = alone();
    let dir = tempfile::tempdir().unwrap();
    let real = [2u32, 3, 4];
    let values: Vec<u8> = (0..24).collect();
    let mut headers: Vec<Vec<u8>> = Vec::new();
    for at in 0..real.len() {
        for lie in lies(real[at]) {
            let mut dims = real;
            dims[at] = lie;
            headers.push(idx_bytes(&dims, &values));
        }
    }
    for ndims in [0u8, 1, 2, 4, 255] {
        let mut bytes = idx_bytes(&real, &values);
        bytes[3] = ndims;
        headers.push(bytes);
    }
    for (i, bytes) in headers.iter().enumerate() {
        let truthful = bytes[..16] == idx_bytes(&real, &[])[..];
        for (name, file) in [(format!("lie-{i}"), bytes.clone()), (format!("lie-{i}.gz"), gzip(bytes))] {
            let path = write(dir.path(), &name, &file);
            let (result, peak) = peak_of(&alone, || idx::load_images(&path));
            assert!(peak < SLACK, "{name}: peak allocation {peak} bytes, bound {SLACK}");
            assert_eq!(result.is_ok(), truthful, "{name}");
            ok_or_names_file(result, &path);
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// 256 cases: an unsigned-byte IDX magic, 1 to 4 random sizes, then 0 to 64 values;
    /// plain and gzip'd. Bound: [`SLACK`] (256 KiB) whatever the sizes claim.
    #[test]
    fn idx_random_sizes_allocate_at_most_the_bound(
        dims in vec(any::<u32>(), 1..=4),
        values in vec(any::<u8>(), 0..64),
    ) {
        let alone = alone();
        let dir = tempfile::tempdir().unwrap();
        let bytes = idx_bytes(&dims, &values);
        for (name, file) in [("random", bytes.clone()), ("random.gz", gzip(&bytes))] {
            let path = write(dir.path(), name, &file);
            let (result, peak) = peak_of(&alone, || idx::read_idx(&path));
            prop_assert!(peak < SLACK, "{}: peak allocation {} bytes, bound {}", name, peak, SLACK);
            ok_or_names_file(result, &path);
        }
    }

    /// 256 cases: 0 to 3 CIFAR-10 records of arbitrary bytes, give or take a few bytes.
    /// Bound: 6 x the file size + [`SLACK`] (the file, then 4-byte floats for every byte).
    #[test]
    fn cifar_allocates_in_proportion_to_the_file(n in 0usize..=3, extra in -2isize..=2, seed in any::<u8>()) {
        let alone = alone();
        let dir = tempfile::tempdir().unwrap();
        let labels: Vec<u8> = (0..n as u8).map(|i| (seed.wrapping_add(i)) % 12).collect();
        let mut bytes = cifar_records(&labels);
        bytes.resize((bytes.len() as isize + extra).max(0) as usize, seed);
        let path = write(dir.path(), "batch.bin", &bytes);
        let (result, peak) = peak_of(&alone, || cifar::load_batch(&path));
        let bound = 6 * bytes.len() + SLACK;
        prop_assert!(peak < bound, "peak allocation {} bytes, bound {}", peak, bound);
        ok_or_names_file(result, &path);
    }

    /// 256 cases: CSV-like text of up to 2,000 bytes after a plausible header, each missing-value
    /// policy. Bound: 64 x the file size + [`SLACK`] (cells of 32 bytes grow by doubling).
    #[test]
    fn csv_allocates_in_proportion_to_the_file(
        body in proptest::string::string_regex("[0-9a-z,.\"\n -]{0,2000}").unwrap(),
        policy in 0usize..4,
    ) {
        let alone = alone();
        let dir = tempfile::tempdir().unwrap();
        let text = format!("a,b,target\n{body}");
        let missing = [Missing::Error, Missing::Mean, Missing::Constant(0.0), Missing::DropRow][policy];
        let options = CsvOptions::new("target").categorical(&["b"]).missing(missing);
        let path = write(dir.path(), "table.csv", text.as_bytes());
        let bound = 64 * text.len() + SLACK;
        let (result, peak) = peak_of(&alone, || load_csv(&path, &options));
        prop_assert!(peak < bound, "peak allocation {} bytes, bound {}", peak, bound);
        ok_or_names_file(result, &path);
        let (result, peak) = peak_of(&alone, || read_csv(text.as_bytes(), &path, &options));
        prop_assert!(peak < bound, "peak allocation {} bytes, bound {}", peak, bound);
        ok_or_names_file(result, &path);
    }

    /// 256 cases: preprocessing files whose lists are long or whose numbers are huge (a count
    /// of `usize::MAX`, `num_words` of 2^63). Bound: 64 x the file size + [`SLACK`]: `load`
    /// builds no JSON tree, and no size in the file reserves memory.
    #[test]
    fn preprocessing_files_allocate_in_proportion_to_the_file(
        n in 0usize..300,
        big in prop_oneof![Just(u64::MAX), Just(1u64 << 63), any::<u64>()],
    ) {
        let alone = alone();
        let dir = tempfile::tempdir().unwrap();
        let list = vec!["1.5"; n].join(",");
        let scaler = format!(r#"{{"kensho": "StandardScaler", "version": 1, "state": {{"state": [[{list}], [{list}]]}}}}"#);
        let counts: Vec<String> = (0..n).map(|i| format!(r#"["w{i}", {big}]"#)).collect();
        let tokenizer = format!(
            r#"{{"kensho": "Tokenizer", "version": 1, "state": {{"num_words": {big}, "oov_token": null, "lower": true, "filters": "", "counts": [{}], "word_index": {{}}}}}}"#,
            counts.join(",")
        );
        let scaler_path = write(dir.path(), "scaler.json", scaler.as_bytes());
        let (result, peak) = peak_of(&alone, || StandardScaler::load(&scaler_path));
        let bound = 64 * scaler.len() + SLACK;
        prop_assert!(peak < bound, "peak allocation {} bytes, bound {}", peak, bound);
        ok_or_names_file(result, &scaler_path);
        let tokenizer_path = write(dir.path(), "tokenizer.json", tokenizer.as_bytes());
        let (result, peak) = peak_of(&alone, || Tokenizer::load(&tokenizer_path));
        let bound = 64 * tokenizer.len() + SLACK;
        prop_assert!(peak < bound, "peak allocation {} bytes, bound {}", peak, bound);
        ok_or_names_file(result, &tokenizer_path);
    }
}
