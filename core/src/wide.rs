//! Running a loop in a copy compiled for the widest vectors the processor has (AVX-512, else
//! AVX2), for crates that may not use `unsafe` themselves: the closure is inlined into each copy,
//! so the compiler vectorizes its loops for that instruction set.

/// Runs `f` compiled for AVX-512 or AVX2 when the processor has it, else as it is.
///
/// The result is the same in every copy for IEEE operations (Rust never fuses a multiply and an
/// add by itself, and square roots and divisions are exact in every width); only the speed
/// differs. Mark the closure and the functions it calls `#[inline(always)]`, so that their loops
/// are compiled inside each copy (the compiler otherwise may leave a large closure as a call).
///
/// ```
/// let mut v = vec![4.0f32; 100];
/// kensho_core::with_wide_vectors(#[inline(always)] || v.iter_mut().for_each(|x| *x = x.sqrt()));
/// assert!(v.iter().all(|&x| x == 2.0));
/// ```
#[inline(always)]
pub fn with_wide_vectors<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor has the feature `run_avx512` is compiled for.
            return unsafe { run_avx512(f) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { run_avx2(f) };
        }
    }
    f()
}

/// `f` compiled for AVX-512.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn run_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// `f` compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}
