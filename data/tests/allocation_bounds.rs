//! Memory bounds of the file loaders on hostile files, measured by a counting global allocator:
//! a gzip bomb (a small file inflating to far more than its header announces) and headers that
//! lie about their sizes must fail after allocating little, never after filling the memory.
//!
//! The allocator counts the bytes live in this whole test binary; each measurement holds a lock
//! so that the tests of this file run one at a time and only the loader under test allocates.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use flate2::write::GzEncoder;
use kensho_data::idx;

/// The system allocator, counting the bytes live and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::SeqCst) + by;
    PEAK.fetch_max(now, Ordering::SeqCst);
}

// SAFETY: every call is forwarded unchanged to `System`; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            // Counted as if the old and new blocks coexisted for a moment, as a moving realloc does.
            grew(new_size);
            LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `f` alone and returns its result with the peak of bytes it had allocated at once.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let out = f();
    (out, PEAK.load(Ordering::SeqCst).saturating_sub(base))
}

/// 1 MiB: what a loader may allocate beyond the values a header validly announces (read
/// buffers, the inflate state and window, the error message). The largest seen is about 150 KiB.
const SLACK: usize = 1 << 20;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The IDX header of unsigned bytes with these dimensions.
fn idx_header(dims: &[u32]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    dims.iter().for_each(|d| out.extend_from_slice(&d.to_be_bytes()));
    out
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
/// Bound: 1 MiB ([`SLACK`]) in all.
#[test]
fn a_gzip_bomb_fails_after_reading_one_value_past_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = gzip_bomb(&idx_header(&[10]), 64 << 20);
    assert!(bomb.len() < 128 << 10, "the bomb should be small: {} bytes", bomb.len());
    let path = write(dir.path(), "train-labels-idx1-ubyte.gz", &bomb);
    for load in [|p: &Path| idx::read_idx(p).map(drop), |p: &Path| idx::load_labels(p).map(drop)] {
        let (result, peak) = peak_of(|| load(&path));
        assert!(peak < SLACK, "peak allocation {peak} bytes, bound {SLACK}");
        let err = result.unwrap_err().to_string();
        assert!(err.contains("train-labels-idx1-ubyte.gz") && err.contains("longer than its header"), "{err}");
    }
}

/// The same with a header announcing 60,000 labels (as MNIST's): at most the 60,001 bytes
/// needed to see that the file is longer, plus [`SLACK`].
#[test]
fn a_gzip_bomb_with_a_plausible_header_reads_only_the_announced_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "labels.gz", &gzip_bomb(&idx_header(&[60_000]), 64 << 20));
    let (result, peak) = peak_of(|| idx::read_idx(&path));
    assert!(peak < 60_001 + SLACK, "peak allocation {peak} bytes, bound {}", 60_001 + SLACK);
    let err = result.unwrap_err().to_string();
    assert!(err.contains("labels.gz") && err.contains("more than 60000 data bytes"), "{err}");
}

/// A gzip'd file whose header announces more than its compressed size can inflate to (x1032)
/// is refused before any value is read; a plain file announcing more than its length too.
#[test]
fn headers_announcing_more_than_the_file_can_hold_allocate_nothing_for_values() {
    let dir = tempfile::tempdir().unwrap();
    let header = idx_header(&[60_000, 4096, 4096]); // 1e12 bytes
    let gz = write(dir.path(), "images.gz", &gzip_bomb(&header, 1000));
    let (result, peak) = peak_of(|| idx::read_idx(&gz));
    let err = result.unwrap_err().to_string();
    assert!(err.contains("images.gz") && err.contains("inflates to at most"), "{err}");
    assert!(peak < SLACK, "peak allocation {peak} bytes, bound {SLACK}");

    let plain = write(dir.path(), "images", &[&header[..], &[0u8; 1000]].concat());
    let (result, peak) = peak_of(|| idx::read_idx(&plain));
    let err = result.unwrap_err().to_string();
    assert!(err.contains("images") && err.contains("truncated: 1000 data bytes"), "{err}");
    assert!(peak < SLACK, "peak allocation {peak} bytes, bound {SLACK}");
}

/// A valid gzip'd file loads with one copy of its values plus [`SLACK`]: the bounded reading
/// costs no extra copy (the values vector grows to exactly the announced size).
#[test]
fn a_valid_gzip_file_costs_its_values_once() {
    let dir = tempfile::tempdir().unwrap();
    let n = 3 << 20; // 3 MiB of values
    let path = write(dir.path(), "images.gz", &gzip_bomb(&idx_header(&[3, 1024, 1024]), n));
    let (result, peak) = peak_of(|| idx::read_idx(&path));
    let idx = result.unwrap();
    assert_eq!((idx.dims, idx.data.len()), (vec![3, 1024, 1024], n));
    // Growing by doubling moves the values at most a few times: old and new block at once.
    assert!(peak < 2 * n + SLACK, "peak allocation {peak} bytes, bound {}", 2 * n + SLACK);
}
