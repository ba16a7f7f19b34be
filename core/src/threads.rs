//! The thread count used by the kernels.
//!
//! The default is `RAYON_NUM_THREADS` if set, else every core; [`set_num_threads`] changes it for
//! the whole process. Large matrix products are split across this many threads; small ones (where
//! a thread hand-off would cost more than it saves) always run on the calling thread.
//!
//! It also owns the deterministic switch ([`set_deterministic`]): whether results may depend on
//! the thread count.

use rayon::ThreadPool;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

static POOL: RwLock<Option<Arc<ThreadPool>>> = RwLock::new(None);

static DETERMINISTIC: AtomicBool = AtomicBool::new(false);

fn default_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn build(threads: usize) -> Arc<ThreadPool> {
    Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("kensho-{i}"))
            .build()
            .expect("kensho could not start its worker threads"),
    )
}

/// Sets the number of threads the kernels use from now on (at least 1).
///
/// ```
/// kensho_core::set_num_threads(1);
/// assert_eq!(kensho_core::num_threads(), 1);
/// ```
pub fn set_num_threads(threads: usize) {
    *POOL.write().unwrap_or_else(|e| e.into_inner()) = Some(build(threads.max(1)));
}

/// The number of threads the kernels use.
pub fn num_threads() -> usize {
    pool().current_num_threads()
}

/// The kernels' thread pool, created on first use.
pub fn pool() -> Arc<ThreadPool> {
    if let Some(pool) = POOL.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        return Arc::clone(pool);
    }
    let mut slot = POOL.write().unwrap_or_else(|e| e.into_inner());
    Arc::clone(slot.get_or_insert_with(|| build(default_threads())))
}

/// Chooses whether training gives bit-identical weights whatever the thread count (`true`) or
/// may split work by the thread count for speed (`false`, the default).
///
/// Every kernel gives the same bits on any number of threads; what the switch governs is how
/// a train step splits its batch. Deterministic, a batch of 64 rows or more is split into two
/// shards whatever the thread count and their gradients are added in a fixed order, so a run on
/// 1, 2 or 32 threads ends with the same weights. By default it is split into one shard per
/// thread (none on one thread), which rounds the gradient sums differently for each thread
/// count; each run with the same thread count is still repeatable bit for bit.
///
/// The cost falls on one thread, which then trains two half batches one after the other: the
/// W2 benchmark (a 784-256-128-10 MLP, batch 128) trains about 14 % slower on one thread and
/// as fast on two (BENCHMARKS.md has the figures).
///
/// ```
/// assert!(!kensho_core::deterministic());
/// kensho_core::set_deterministic(true);
/// assert!(kensho_core::deterministic());
/// # kensho_core::set_deterministic(false);
/// ```
pub fn set_deterministic(deterministic: bool) {
    DETERMINISTIC.store(deterministic, Ordering::Relaxed);
}

/// Whether training results are independent of the thread count (see [`set_deterministic`]).
pub fn deterministic() -> bool {
    DETERMINISTIC.load(Ordering::Relaxed)
}
