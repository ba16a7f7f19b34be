//! Keeps freed tensor buffers in the process heap for reuse (glibc only).
//!
//! A training step allocates and frees the same large buffers every step (activations of a few
//! MB, their gradients, GEMM outputs). glibc's malloc serves buffers of 128 KiB or more with a
//! fresh `mmap` (then raises that threshold to the largest size freed so far), and gives the
//! top of its heap back to the kernel whenever more than twice that threshold is free. Both
//! return the step's buffers to the kernel at the end of the step, so the next step page-faults
//! (and the kernel zeroes) every page again: on W3 (the small convnet of WORKLOADS.md) 1,600 to
//! 4,700 page faults a step depending on the order of the allocations, 20-35% of the 1-thread
//! step time in the kernel; with the settings below, about 50 a step.
//!
//! [`keep_freed_buffers`] sets, once, a fixed mmap threshold of 32 MiB (glibc's largest; bigger
//! buffers are still mapped and unmapped) and a trim threshold of 1 GiB, so freed buffers stay
//! in the heap and the next step reuses pages already mapped. The cost: up to the peak heap use
//! of a step (and at most 1 GiB beyond it) stays resident after training, as with PyTorch's
//! caching allocators. Training calls it before its first step; a program that only runs
//! inference keeps glibc's defaults, which hand `predict`'s buffers back to the kernel (on the
//! W2 model, predicting 10,000 rows then peaks about 0.8 MiB lower).
//!
//! Nothing is changed if the user tunes malloc already (`GLIBC_TUNABLES` naming `malloc`, or a
//! `MALLOC_*_` variable: that is how to keep glibc's defaults or choose other values), nor on
//! other C libraries, or when the program installs another global allocator (glibc's settings
//! then govern nothing).

use std::sync::Once;

/// Tunes glibc's malloc to keep freed buffers for reuse, once (see the module docs); cheap
/// after the first call. Training loops call it before their first step.
#[inline]
pub fn keep_freed_buffers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(tune);
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune() {
    use std::os::raw::c_int;
    unsafe extern "C" {
        fn mallopt(param: c_int, value: c_int) -> c_int;
    }
    const M_TRIM_THRESHOLD: c_int = -1;
    const M_MMAP_THRESHOLD: c_int = -3;
    let tuned_by_user = std::env::vars_os().any(|(k, v)| {
        let (k, v) = (k.to_string_lossy(), v.to_string_lossy());
        (k.starts_with("MALLOC_") && k.ends_with('_')) || (k == "GLIBC_TUNABLES" && v.contains("malloc"))
    });
    if tuned_by_user {
        return;
    }
    // SAFETY: `mallopt` only changes malloc's parameters; both values are in glibc's ranges.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune() {}
