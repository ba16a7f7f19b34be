//! The AVX-512 VNNI int8 kernel: `vpdpbusd` multiplies 64 u8 × i8 pairs and adds each group of 4
//! products into one of 16 i32 lanes, without saturation.
//!
//! A tile of `R` rows × `P` panels (16 columns each) lives in `R · P` zmm accumulators. Per group
//! of 4 values of `k` it loads `P` packed blocks of `B`, broadcasts 4 bytes of each of the `R`
//! rows of `A`, and issues `R · P` `vpdpbusd`. The last group of a `k` that is not a multiple of 4
//! is read as one 4-byte word (the bytes past `k` meet zeros in the packed `B`), byte by byte only
//! where that word would pass the end of `A`. The epilogue converts, scales, adds the bias,
//! applies ReLU and stores through masks for the last panel's columns.
//!
//! There is no cache blocking beyond the panel blocks: 4 panels of `B` are `64 · k` bytes (100 KiB
//! at `k` = 1600) and stay in L2 while every row passes. Splitting `k` into L1-sized blocks, with
//! partial sums between them, was measured on the model shapes and on 1024³ and gained nothing:
//! every shape with `k` ≥ 256 runs at about 520 GMAC/s on one Zen core, close to two `vpdpbusd`
//! per cycle.

use super::{Output, PackedI8Matrix};

/// The tile of wide products (3 panels or more): 6 rows × 4 panels, 24 zmm accumulators.
const WIDE: (usize, usize) = (6, 4);
/// The tile of narrow products (1 or 2 panels, `n` ≤ 32): 8 rows × 2 panels. Measured against
/// 6 rows, it runs 9 % faster on the W3 convnet's first layer (676 × 9 × 32 per image) and 22 %
/// on the W2 MLP's last (128 × 128 × 10); 12 rows spill and run at half the speed.
const NARROW: (usize, usize) = (8, 2);

/// Whether this CPU has AVX-512 F, BW and VNNI.
pub(super) fn supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vnni");
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
    unreachable!("the AVX-512 VNNI kernel exists only on x86_64 ({rows}, {a:p}, {lda}, {b:?}, {:p})", &out)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::super::pack::{Block, KR, NR};
    use super::super::{tail_word, Output, PackedI8Matrix};
    use super::{NARROW, WIDE};
    use std::arch::x86_64::*;

    /// Chooses the tile shape by the width of `B` (see [`WIDE`] and [`NARROW`]).
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn gemm(rows: usize, a: &[u8], lda: usize, b: &PackedI8Matrix, out: Output) {
        // SAFETY: the caller's contract.
        unsafe {
            if b.panels() <= NARROW.1 {
                tiles::<{ NARROW.0 }, { NARROW.1 }>(rows, a, lda, b, out)
            } else {
                tiles::<{ WIDE.0 }, { WIDE.1 }>(rows, a, lda, b, out)
            }
        }
    }

    /// The tile loop: panels in blocks of `NP` (kept in cache), rows in blocks of `MR`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn tiles<const MR: usize, const NP: usize>(
        rows: usize,
        a: &[u8],
        lda: usize,
        b: &PackedI8Matrix,
        out: Output,
    ) {
        let panels = b.panels();
        for p0 in (0..panels).step_by(NP) {
            let np = NP.min(panels - p0);
            for i0 in (0..rows).step_by(MR) {
                let mr = MR.min(rows - i0);
                let t = Tile { a: &a[i0 * lda..], lda, b, p0, out, row: i0 };
                // SAFETY: mr rows from i0 and np panels from p0 are inside `a`, `b` and `out`.
                unsafe {
                    // Narrow tiles have up to 8 rows of 1 or 2 panels, wide ones 6 rows of 3 or 4.
                    macro_rules! dispatch {
                        ($($r:literal),*; $($w:literal),*) => {
                            match (mr, np) {
                                $( ($r, 1) => t.run::<$r, 1>(), ($r, 2) => t.run::<$r, 2>(), )*
                                $( ($w, 3) => t.run::<$w, 3>(), ($w, 4) => t.run::<$w, 4>(), )*
                                _ => unreachable!("tile {mr} x {np}"),
                            }
                        };
                    }
                    dispatch!(1, 2, 3, 4, 5, 6, 7, 8; 1, 2, 3, 4, 5, 6)
                }
            }
        }
    }

    /// One tile: rows `row..` of the output, panels `p0..` of `B`.
    #[derive(Clone, Copy)]
    struct Tile<'t> {
        /// `A` from the tile's first row.
        a: &'t [u8],
        lda: usize,
        b: &'t PackedI8Matrix,
        p0: usize,
        out: Output<'t>,
        row: usize,
    }

    impl Tile<'_> {
        /// Computes and stores the `R x 16 P` tile.
        ///
        /// # Safety
        /// AVX-512 F/BW/VNNI; `R` rows in `a` and `out`, `P` panels from `p0` in `b`.
        #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
        unsafe fn run<const R: usize, const P: usize>(self) {
            let (k, groups) = (self.b.k(), self.b.groups());
            let b: *const Block = self.b.panel(self.p0).as_ptr();
            let a = self.a.as_ptr();
            let lda = self.lda;
            let mut acc = [[_mm512_setzero_si512(); P]; R];
            let full = k / KR;
            for g in 0..full {
                // SAFETY: g < groups, panel p0 + q < panels; 4 g + 3 < k <= lda in rows < R.
                unsafe {
                    let bv: [__m512i; P] = std::array::from_fn(|q| _mm512_load_si512(b.add(q * groups + g).cast()));
                    for (r, acc) in acc.iter_mut().enumerate() {
                        let av = _mm512_set1_epi32(a.add(r * lda + KR * g).cast::<i32>().read_unaligned());
                        for (acc, &bv) in acc.iter_mut().zip(&bv) {
                            *acc = _mm512_dpbusd_epi32(*acc, av, bv);
                        }
                    }
                }
            }
            if full < groups {
                // SAFETY: the last group of each panel is in `b`.
                let bv: [__m512i; P] =
                    std::array::from_fn(|q| unsafe { _mm512_load_si512(b.add(q * groups + full).cast()) });
                // One bounds check for the tile: the rows' 4-byte reads end in order.
                let in_bounds = (R - 1) * lda + KR * full + KR <= self.a.len();
                for (r, acc) in acc.iter_mut().enumerate() {
                    let at = r * lda + KR * full;
                    let word = if in_bounds {
                        // SAFETY: the 4 bytes from `at` end before the last row's (checked above).
                        unsafe { a.add(at).cast::<u32>().read_unaligned() }
                    } else {
                        tail_word(self.a, at, k - KR * full)
                    };
                    let av = _mm512_set1_epi32(word as i32);
                    for (acc, &bv) in acc.iter_mut().zip(&bv) {
                        *acc = _mm512_dpbusd_epi32(*acc, av, bv);
                    }
                }
            }
            // SAFETY: the caller's contract.
            unsafe { self.store(acc) }
        }

        /// Stores the finished accumulators: columns past `n` are masked off.
        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
        unsafe fn store<const R: usize, const P: usize>(self, acc: [[__m512i; P]; R]) {
            let n = self.b.n();
            let col0 = self.p0 * NR;
            let masks: [__mmask16; P] = std::array::from_fn(|q| match n - col0 - q * NR {
                c if c >= NR => 0xFFFF,
                c => (1u16 << c) - 1,
            });
            match self.out {
                Output::I32 { ptr, ldc } => {
                    let row = self.row;
                    for (r, acc) in acc.iter().enumerate() {
                        for (q, (&acc, &mask)) in acc.iter().zip(&masks).enumerate() {
                            // SAFETY: the masked lanes are columns < n of a row < R of the tile.
                            unsafe {
                                _mm512_mask_storeu_epi32(ptr.add((row + r) * ldc + col0 + q * NR).cast(), mask, acc)
                            }
                        }
                    }
                }
                Output::F32 { ptr, ldc, dq, column_sums } => {
                    let zp = _mm512_set1_epi32(dq.input_zero_point);
                    // Read once: the stores through `ptr` could alias `dq` as far as the compiler knows.
                    let (relu, row) = (dq.relu, self.row);
                    for (q, &mask) in masks.iter().enumerate() {
                        let col = col0 + q * NR;
                        // SAFETY: the masked lanes are columns < n, and each slice has n values.
                        let (offset, scale, bias) = unsafe {
                            let sums = _mm512_maskz_loadu_epi32(mask, column_sums.as_ptr().add(col).cast());
                            let scale = _mm512_maskz_loadu_ps(mask, dq.scales.as_ptr().add(col));
                            let bias = dq
                                .bias
                                .map_or(_mm512_setzero_ps(), |b| _mm512_maskz_loadu_ps(mask, b.as_ptr().add(col)));
                            (_mm512_mullo_epi32(zp, sums), scale, bias)
                        };
                        for (r, acc) in acc.iter().enumerate() {
                            let x = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[q], offset));
                            let mut y = _mm512_add_ps(_mm512_mul_ps(x, scale), bias);
                            if relu {
                                y = _mm512_max_ps(y, _mm512_setzero_ps());
                            }
                            // SAFETY: the masked lanes are columns < n of a row < R of the tile.
                            unsafe { _mm512_mask_storeu_ps(ptr.add((row + r) * ldc + col), mask, y) }
                        }
                    }
                }
            }
        }
    }
}
