//! The AVX2 int8 kernel, for x86 CPUs without AVX-512 VNNI.
//!
//! It reads the same packed `B` as the VNNI kernel: a 64-byte block holds 4 values of `k` for 16
//! columns; each 16-byte quarter (4 columns) is sign-extended to 16 i16 and multiplied by the 4
//! bytes of a row of `A` widened to i16 (`vpmaddwd`), which leaves per column two i32 sums of two
//! products: exact, unlike `vpmaddubsw`, which saturates at i16. A tile of up to 4 rows × 8 columns
//! keeps 8 ymm accumulators; at the end `vphaddd` adds the pairs and the scalar epilogue stores.

use super::{Output, PackedI8Matrix};

/// Whether this CPU has AVX2.
pub(super) fn supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Writes rows `0..rows` of `A × B` into `out`.
///
/// # Safety
/// [`supported`] must be true; `out` must hold `rows` rows of `b.n()` columns; `a` must hold
/// `rows` rows of stride `lda >= k`.
pub(super) unsafe fn gemm(rows: usize, a: &[u8], lda: usize, b: &PackedI8Matrix, out: Output) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the caller's contract.
    unsafe {
        x86::gemm(rows, a, lda, b, out)
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("the AVX2 kernel exists only on x86_64 ({rows}, {a:p}, {lda}, {b:?}, {:p})", &out)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::super::pack::{Block, KR, NR};
    use super::super::{tail_word, Output, PackedI8Matrix};
    use std::arch::x86_64::*;

    /// Rows of `A` per tile.
    const MR: usize = 4;
    /// Columns per tile (half a panel).
    const HALF: usize = NR / 2;

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn gemm(rows: usize, a: &[u8], lda: usize, b: &PackedI8Matrix, out: Output) {
        let n = b.n();
        for p in 0..b.panels() {
            let panel = b.panel(p);
            for half in 0..2 {
                let col = p * NR + half * HALF;
                if col >= n {
                    break;
                }
                for i0 in (0..rows).step_by(MR) {
                    let a = &a[i0 * lda..];
                    // SAFETY: the tile's rows are inside `a` and `out`, its columns inside `out`.
                    unsafe {
                        match MR.min(rows - i0) {
                            1 => tile::<1>(a, lda, b, panel, half, out, i0, col),
                            2 => tile::<2>(a, lda, b, panel, half, out, i0, col),
                            3 => tile::<3>(a, lda, b, panel, half, out, i0, col),
                            _ => tile::<4>(a, lda, b, panel, half, out, i0, col),
                        }
                    }
                }
            }
        }
    }

    /// Computes and stores rows `row..row + R`, columns `col..col + 8` (those below `n`).
    ///
    /// # Safety
    /// AVX2; `R` rows of stride `lda` in `a` and from `row` in `out`.
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile<const R: usize>(
        a: &[u8],
        lda: usize,
        b: &PackedI8Matrix,
        panel: &[Block],
        half: usize,
        out: Output,
        row: usize,
        col: usize,
    ) {
        let (k, n) = (b.k(), b.n());
        let full = k / KR;
        let mut acc = [[_mm256_setzero_si256(); 2]; R];
        let step = |acc: &mut [[__m256i; 2]; R], block: &Block, words: [u32; R]| {
            // SAFETY: 16-byte loads inside the 64-byte block.
            let (b0, b1) = unsafe {
                let quarter = block.0.as_ptr().add(HALF * KR * half);
                (_mm_loadu_si128(quarter.cast()), _mm_loadu_si128(quarter.add(16).cast()))
            };
            let (b0, b1) = (_mm256_cvtepi8_epi16(b0), _mm256_cvtepi8_epi16(b1));
            for (acc, &word) in acc.iter_mut().zip(&words) {
                let av = _mm256_cvtepu8_epi16(_mm_set1_epi32(word as i32));
                acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(av, b0));
                acc[1] = _mm256_add_epi32(acc[1], _mm256_madd_epi16(av, b1));
            }
        };
        for (g, block) in panel[..full].iter().enumerate() {
            // SAFETY: 4 g + 3 < k <= lda, in each of the R rows.
            let words =
                std::array::from_fn(|r| unsafe { a.as_ptr().add(r * lda + KR * g).cast::<u32>().read_unaligned() });
            step(&mut acc, block, words);
        }
        if full < b.groups() {
            let words = std::array::from_fn(|r| tail_word(a, r * lda + KR * full, k - KR * full));
            step(&mut acc, &panel[full], words);
        }
        for (r, acc) in acc.iter().enumerate() {
            // [c0 c1 c4 c5 | c2 c3 c6 c7], then the 64-bit pairs back in order.
            let sums = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_hadd_epi32(acc[0], acc[1]));
            if n - col >= HALF {
                // SAFETY: 8 columns below n of a row of the tile.
                unsafe { store8(out, row + r, col, sums) };
                continue;
            }
            let mut values = [0i32; HALF];
            // SAFETY: 8 i32 into an array of 8; then columns below n of a row of the tile.
            unsafe {
                _mm256_storeu_si256(values.as_mut_ptr().cast(), sums);
                out.store(row + r, col, &values[..n - col]);
            }
        }
    }

    /// Stores 8 finished sums at row `row`, columns `col..col + 8` (the epilogue of
    /// [`Output::store`] on 8 lanes: the same operations in the same order, so the same bits).
    ///
    /// # Safety
    /// AVX2; the 8 columns are below `n` in a row of the output.
    #[target_feature(enable = "avx2")]
    unsafe fn store8(out: Output, row: usize, col: usize, sums: __m256i) {
        match out {
            // SAFETY: the caller's contract.
            Output::I32 { ptr, ldc } => unsafe { _mm256_storeu_si256(ptr.add(row * ldc + col).cast(), sums) },
            Output::F32 { ptr, ldc, dq, column_sums } => {
                let columns = col..col + HALF;
                // SAFETY: 8 values of each slice (the ranges are bounds-checked).
                let (sums8, scale, bias) = unsafe {
                    (
                        _mm256_loadu_si256(column_sums[columns.clone()].as_ptr().cast()),
                        _mm256_loadu_ps(dq.scales[columns.clone()].as_ptr()),
                        dq.bias.map_or(_mm256_setzero_ps(), |b| _mm256_loadu_ps(b[columns].as_ptr())),
                    )
                };
                let offset = _mm256_mullo_epi32(_mm256_set1_epi32(dq.input_zero_point), sums8);
                let x = _mm256_cvtepi32_ps(_mm256_sub_epi32(sums, offset));
                let mut y = _mm256_add_ps(_mm256_mul_ps(x, scale), bias);
                if dq.relu {
                    y = _mm256_max_ps(y, _mm256_setzero_ps());
                }
                // SAFETY: the caller's contract.
                unsafe { _mm256_storeu_ps(ptr.add(row * ldc + col), y) }
            }
        }
    }
}
