//! The AVX2 int8 kernel, for CPUs without VNNI.
//!
//! (Not written yet: reports itself unsupported, so the scalar kernel runs instead.)

use super::{Output, PackedI8Matrix};

/// Whether this CPU can run the AVX2 kernel.
pub(super) fn supported() -> bool {
    false
}

/// Writes rows `0..rows` of `A × B` into `out`.
///
/// # Safety
/// As the scalar kernel's.
pub(super) unsafe fn gemm(rows: usize, a: &[u8], lda: usize, b: &PackedI8Matrix, out: Output) {
    // SAFETY: the caller's contract.
    unsafe { super::scalar::gemm(rows, a, lda, b, out) }
}
