//! The plain-Rust int8 kernel: runs on any CPU, and is the reference the SIMD kernels are
//! tested against. It reads the same packed `B` as they do, one 16-column panel at a time.

use super::pack::{KR, NR};
use super::{Output, PackedI8Matrix};

/// Writes rows `0..rows` of `A × B` into `out`.
///
/// # Safety
/// `out` must hold `rows` rows of `b.n()` columns; `a` must hold `rows` rows of stride `lda >= k`.
pub(super) unsafe fn gemm(rows: usize, a: &[u8], lda: usize, b: &PackedI8Matrix, out: Output) {
    let (k, n) = (b.k(), b.n());
    for i in 0..rows {
        let row = &a[i * lda..][..k];
        for p in 0..b.panels() {
            let mut acc = [0i32; NR];
            for (block, values) in b.panel(p).iter().zip(row.chunks(KR)) {
                for (t, &v) in values.iter().enumerate() {
                    for (c, acc) in acc.iter_mut().enumerate() {
                        *acc = acc.wrapping_add(i32::from(v) * i32::from(block.0[KR * c + t]));
                    }
                }
            }
            let col = p * NR;
            // SAFETY: row `i` < rows and columns `col..min(col + NR, n)` are inside `out`.
            unsafe { out.store(i, col, &acc[..NR.min(n - col)]) };
        }
    }
}
