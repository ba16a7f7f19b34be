//! After the first step (which creates the state slots), a step allocates nothing: on one
//! thread not at all, and on the multi-thread path (a parameter large enough to be split across
//! the kernel threads) no job boxes, no chunk lists, no buffers.
//!
//! The counting allocator counts on every thread (the caller and the pool's workers). One test
//! in this binary runs both checks in turn, so no other test thread allocates while it counts,
//! and the thread count is process-wide anyway.
//!
//! On the multi-thread path, what is counted, and why one thing is tolerated:
//! - every allocation of at least [`LARGE`] bytes must be absent: a copy of a parameter,
//!   gradient or slot chunk (at least 64 Ki floats here) is far above it;
//! - every allocation, of any size, on any thread is counted too, and may happen at most once
//!   per [`AMORTIZED`] steps, plus [`ONE_TIME`] in all. The step hands its work to the pool
//!   through rayon's global job queue (the caller is not a pool thread), and that queue
//!   (crossbeam's `Injector`) allocates one block of 63 job slots (about 1.5 KiB) every 63 jobs
//!   it receives and frees it once they are taken. And a worker thread sets itself up once,
//!   lazily (its registration with crossbeam's epoch collector, about 2.3 KiB, and its
//!   thread-local destructors): the warm-up makes every worker run a job first, but on a loaded
//!   machine a late one may still do it in the counted window. Both are rayon's own
//!   bookkeeping, not the update's: a step that boxed a job, collected its chunks into a `Vec`
//!   or copied anything would allocate at least once per step and fail here.

use kensho_autograd::{Grads, Param};
use kensho_core::Tensor;
use kensho_optim::{Adagrad, Adam, AdamW, Optimizer, RmsProp, Sgd};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Allocations at least this large are never tolerated.
const LARGE: usize = 4096;
/// The fewest steps per tolerated small allocation (rayon's queue needs one per 63 jobs).
const AMORTIZED: usize = 30;
/// Small allocations tolerated once per optimizer: a late worker thread's one-time setup.
const ONE_TIME: usize = 4;
/// Steps counted per optimizer.
const STEPS: usize = 200;

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static LARGE_ALLOCS: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        if layout.size() >= LARGE {
            LARGE_ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The counters now: (all allocations, large allocations).
fn counts() -> (usize, usize) {
    (ALLOCS.load(Ordering::SeqCst), LARGE_ALLOCS.load(Ordering::SeqCst))
}

/// Every optimizer, with the options that add work to a step.
fn optimizers() -> Vec<Box<dyn Optimizer>> {
    vec![
        Box::new(Sgd::new(0.1).momentum(0.9).weight_decay(0.01)),
        Box::new(Adam::new(1e-3).amsgrad(true).clipnorm(1.0)),
        Box::new(AdamW::new(1e-3).global_clipnorm(1.0)),
        Box::new(RmsProp::new(1e-3).momentum(0.9).centered(true).clipvalue(0.1)),
        Box::new(Adagrad::new(1e-2)),
        Box::new(Sgd::new(0.1)),
    ]
}

/// A kernel of `shape` and a bias, with constant gradients.
fn problem(shape: &[usize]) -> (Param, Param, Grads) {
    let w = Param::new("w", Tensor::ones(shape));
    let b = Param::new("b", Tensor::ones(&[32]));
    let mut grads = Grads::new();
    grads.insert(w.id(), Tensor::full(shape, 0.5));
    grads.insert(b.id(), Tensor::full(&[32], -0.5));
    (w, b, grads)
}

/// A small parameter, below the split threshold, so the step stays on the calling thread: not
/// a single allocation after the first step. Runs before anything starts the thread pool,
/// whose workers would otherwise allocate on their own while this counts.
fn single_thread_steps_do_not_allocate() {
    for mut opt in optimizers() {
        let (mut w, mut b, grads) = problem(&[64, 32]);
        let first = counts();
        opt.step(&mut [&mut w, &mut b], &grads);
        assert!(counts().0 > first.0, "the first step creates the slots (the counter works)");
        let before = counts();
        for _ in 0..10 {
            opt.step(&mut [&mut w, &mut b], &grads);
        }
        assert_eq!(counts().0 - before.0, 0, "{} allocated during steps", opt.name());
        assert!(w.value.to_vec()[0] < 1.0);
    }
}

/// Two threads, a parameter split across them: no large allocation, and small ones only as
/// rayon's own bookkeeping explains (see the module documentation).
fn multi_thread_steps_do_not_allocate() {
    kensho_core::set_num_threads(2);
    assert_eq!(kensho_core::num_threads(), 2);
    // Every worker thread starts and runs a job before anything is counted.
    kensho_core::threads::pool().broadcast(|_| ());
    // 256 × 512 = 128 Ki elements: above the 64 Ki split threshold, so two chunks of 64 Ki.
    for mut opt in optimizers() {
        let (mut w, mut b, grads) = problem(&[256, 512]);
        let first = counts();
        opt.step(&mut [&mut w, &mut b], &grads);
        assert!(counts().0 > first.0, "the first step creates the state entry (the counter works)");
        // Warm-up: the workers' thread-locals and queues settle on the first hand-offs.
        for _ in 0..20 {
            opt.step(&mut [&mut w, &mut b], &grads);
        }
        LARGEST.store(0, Ordering::SeqCst);
        let before = counts();
        for _ in 0..STEPS {
            opt.step(&mut [&mut w, &mut b], &grads);
        }
        let after = counts();
        let (all, large) = (after.0 - before.0, after.1 - before.1);
        let largest = LARGEST.load(Ordering::SeqCst);
        assert_eq!(large, 0, "{}: {large} allocations of >= {LARGE} bytes in {STEPS} steps", opt.name());
        let tolerated = STEPS / AMORTIZED + ONE_TIME;
        assert!(
            all <= tolerated,
            "{}: {all} allocations in {STEPS} steps (largest {largest} bytes); rayon's bookkeeping explains {tolerated}",
            opt.name(),
        );
        assert!(w.value.to_vec()[0] < 1.0, "the parameter moved");
    }
}

#[test]
fn steps_after_the_first_do_not_allocate_on_one_thread_or_two() {
    single_thread_steps_do_not_allocate();
    multi_thread_steps_do_not_allocate();
}
