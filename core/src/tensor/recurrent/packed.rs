//! The products of a recurrent sequence, `C (+)= A B`, on an AVX-512 kernel with `B` packed
//! once. The recurrent kernel (or its transpose) is the same at every step, and a general GEMM
//! would repack it at each step, which for a batch of 32 rows costs about as much as the
//! product; packed once into panels of 32 columns, it serves every step. The same kernel does
//! the pass's large products (input projection, input, kernel and recurrent-kernel gradients):
//! `A` is read in place with any strides, never packed, and the gradient of the gates, the
//! right operand of both weight gradients, is packed once for the two. Each 8 x 32 tile stays
//! in registers over a block of 256 values of `k`. Without AVX-512 the general GEMM is used.

use super::{gemm, run_shards, View};
use crate::gemm::gemm_threads;
use std::mem::MaybeUninit;

/// Columns per panel (two AVX-512 registers).
const NR: usize = 32;
/// Rows per tile (16 accumulator registers).
const MR: usize = 8;
/// Rows of `B` per block: a panel's block (32 KB) stays in the L1 cache while every row tile
/// of `A` passes over it.
const KC: usize = 256;

/// A right operand `B` (`k x n`) prepared for many products.
pub(super) struct PackedRight<'a> {
    b: View<'a>,
    k: usize,
    n: usize,
    /// `ceil(n / NR)` panels of `k x NR` values (zero beyond column `n`); empty without AVX-512.
    panels: Vec<f32>,
}

impl<'a> PackedRight<'a> {
    /// Packs `b` (`k x n`) if the processor has AVX-512, on the kernel threads if it is large.
    pub(super) fn new(b: View<'a>, k: usize, n: usize) -> PackedRight<'a> {
        b.check(k, n);
        if !avx512() {
            return PackedRight { b, k, n, panels: Vec::new() };
        }
        let len = n.div_ceil(NR) * k * NR;
        let mut panels = Vec::with_capacity(len);
        let threads = gemm_threads(k, NR, n).min(n.div_ceil(NR));
        let per = (n.div_ceil(NR).div_ceil(threads) * k * NR).max(1);
        let shards: Vec<(usize, &mut [MaybeUninit<f32>])> =
            panels.spare_capacity_mut()[..len].chunks_mut(per).enumerate().collect();
        run_shards(shards, |(s, panels)| pack(b, k, n, s * per / (k * NR), panels));
        // SAFETY: the shards cover the `len` values, and `pack` writes every one.
        unsafe { panels.set_len(len) };
        PackedRight { b, k, n, panels }
    }

    /// `C = A B + beta C` for `A` (`m x k`, any strides) and `C` (`m x n`, rows `rsc` apart);
    /// `beta` is 0 or 1. On the calling thread.
    pub(super) fn mul(&self, m: usize, a: View, beta: f32, c: &mut [f32], rsc: usize) {
        let (k, n) = (self.k, self.n);
        if self.panels.is_empty() {
            return gemm(m, k, n, a, self.b, beta, c, rsc);
        }
        a.check(m, k);
        View::rows(c, rsc).check(m, n);
        for k0 in (0..k).step_by(KC) {
            let kc = KC.min(k - k0);
            let beta = if k0 == 0 { beta } else { 1.0 };
            for (p, panel) in self.panels.chunks_exact(k * NR).enumerate() {
                let panel = &panel[k0 * NR..(k0 + kc) * NR];
                let (col, cols) = (p * NR, NR.min(n - p * NR));
                for row in (0..m).step_by(MR) {
                    let rows = MR.min(m - row);
                    let a_block = &a.data[row * a.rs + k0 * a.cs..];
                    let c_block = &mut c[row * rsc + col..];
                    // SAFETY: `avx512()` held when the panels were packed; `a_block` holds
                    // `rows` x `kc` values at these strides (A was checked), the panel block
                    // `kc x NR` values, `c_block` `rows` rows of `cols` values `rsc` apart
                    // (C was checked).
                    unsafe { x86::tile(rows, kc, a_block, (a.rs, a.cs), panel, (c_block, rsc, cols), beta != 0.0) };
                }
            }
        }
    }

    /// [`PackedRight::mul`] with the rows of a large product shared among the kernel threads.
    pub(super) fn mul_threads(&self, m: usize, a: View, beta: f32, c: &mut [f32], rsc: usize) {
        let threads = gemm_threads(m, self.k, self.n).min(m.div_ceil(MR));
        if threads <= 1 || self.panels.is_empty() {
            return self.mul(m, a, beta, c, rsc);
        }
        let per = m.div_ceil(MR).div_ceil(threads) * MR;
        let shards: Vec<(usize, &mut [f32])> = c.chunks_mut(per * rsc).enumerate().collect();
        run_shards(shards, |(s, c)| {
            let rows = per.min(m - s * per);
            let a = View { data: &a.data[s * per * a.rs..], ..a };
            self.mul(rows, a, beta, c, rsc);
        });
    }
}

/// Whether the AVX-512 kernel can run.
fn avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Writes every value of `out`, the panels from panel `first` on: `B` in panels of `NR`
/// columns, each `k` rows of `NR` values, zeros beyond column `n`.
fn pack(b: View, k: usize, n: usize, first: usize, out: &mut [MaybeUninit<f32>]) {
    for (p, panel) in out.chunks_exact_mut(k * NR).enumerate() {
        let col = (first + p) * NR;
        let cols = n.saturating_sub(col).min(NR);
        for (row, out) in panel.chunks_exact_mut(NR).enumerate() {
            let (values, padding) = out.split_at_mut(cols);
            for (j, o) in values.iter_mut().enumerate() {
                o.write(b.data[row * b.rs + (col + j) * b.cs]);
            }
            padding.iter_mut().for_each(|o| _ = o.write(0.0));
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{MR, NR};
    use std::arch::x86_64::*;

    /// `C[i][..cols] (+)= Σ_p a[i * rs + p * cs] panel[p][..cols]` for the first `rows` rows
    /// (at most `MR`) of `C` (rows `rsc` apart, `cols` at most `NR`): added to `C` if `add`,
    /// else written over it.
    ///
    /// # Safety
    /// AVX-512F must be available; `a` must hold `rows` rows of `k` values at the strides
    /// `(rs, cs)`, `panel` `k * NR` values and `c` `rows` rows of `cols` values.
    pub(super) unsafe fn tile(
        rows: usize,
        k: usize,
        a: &[f32],
        (rs, cs): (usize, usize),
        panel: &[f32],
        (c, rsc, cols): (&mut [f32], usize, usize),
        add: bool,
    ) {
        debug_assert!(rows <= MR && cols <= NR && panel.len() >= k * NR);
        debug_assert!(rows == 0 || k == 0 || a.len() > (rows - 1) * rs + (k - 1) * cs);
        debug_assert!(rows == 0 || cols == 0 || c.len() >= (rows - 1) * rsc + cols);
        let (a, panel, out) = (a.as_ptr(), panel.as_ptr(), (c.as_mut_ptr(), rsc, cols));
        // SAFETY: as the caller guarantees.
        unsafe {
            match rows {
                8 => kernel::<8>(k, a, (rs, cs), panel, out, add),
                7 => kernel::<7>(k, a, (rs, cs), panel, out, add),
                6 => kernel::<6>(k, a, (rs, cs), panel, out, add),
                5 => kernel::<5>(k, a, (rs, cs), panel, out, add),
                4 => kernel::<4>(k, a, (rs, cs), panel, out, add),
                3 => kernel::<3>(k, a, (rs, cs), panel, out, add),
                2 => kernel::<2>(k, a, (rs, cs), panel, out, add),
                1 => kernel::<1>(k, a, (rs, cs), panel, out, add),
                _ => {}
            }
        }
    }

    /// The `R x NR` tile in registers: per `p`, two panel loads and `2 R` fused multiply-adds;
    /// then stored into `C` (added to it if `add`) through masks keeping to its `cols` columns.
    #[target_feature(enable = "avx512f")]
    unsafe fn kernel<const R: usize>(
        k: usize,
        a: *const f32,
        (rs, cs): (usize, usize),
        panel: *const f32,
        (c, rsc, cols): (*mut f32, usize, usize),
        add: bool,
    ) {
        let mut acc = [[_mm512_setzero_ps(); 2]; R];
        for p in 0..k {
            // SAFETY: p < k, so the loads stay in the panel and in each of the R rows of `a`.
            unsafe {
                let b0 = _mm512_loadu_ps(panel.add(p * NR));
                let b1 = _mm512_loadu_ps(panel.add(p * NR + 16));
                for (i, acc) in acc.iter_mut().enumerate() {
                    let ai = _mm512_set1_ps(*a.add(i * rs + p * cs));
                    acc[0] = _mm512_fmadd_ps(ai, b0, acc[0]);
                    acc[1] = _mm512_fmadd_ps(ai, b1, acc[1]);
                }
            }
        }
        let half = |from: usize| match cols.saturating_sub(from) {
            0 => 0,
            n if n >= 16 => 0xFFFF,
            n => (1u16 << n) - 1,
        };
        let masks = [half(0), half(16)];
        for (i, acc) in acc.iter().enumerate() {
            for (h, (&acc, &mask)) in acc.iter().zip(&masks).enumerate() {
                if mask == 0 {
                    continue;
                }
                // SAFETY: the masked lanes are the row's first `cols` values, inside `c`.
                unsafe {
                    let at = c.add(i * rsc + 16 * h);
                    let sum = if add { _mm512_add_ps(_mm512_maskz_loadu_ps(mask, at), acc) } else { acc };
                    _mm512_mask_storeu_ps(at, mask, sum);
                }
            }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod x86 {
    /// Never called: without x86-64 nothing is packed.
    pub(super) unsafe fn tile(
        _: usize,
        _: usize,
        _: &[f32],
        _: (usize, usize),
        _: &[f32],
        _: (&mut [f32], usize, usize),
        _: bool,
    ) {
        unreachable!("no AVX-512 kernel on this architecture")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_products_match_the_general_gemm_on_odd_sizes() {
        let mut rng = crate::seeded_rng(4);
        for (m, k, n) in [(1, 1, 1), (3, 5, 7), (9, 4, 33), (17, 12, 64), (8, 3, 31), (32, 7, 70), (70, 600, 40)] {
            let a = crate::Tensor::rand_uniform(&[m, k + 2], -1.0, 1.0, &mut rng).to_vec();
            let a_t = crate::Tensor::rand_uniform(&[k, m], -1.0, 1.0, &mut rng).to_vec();
            let b = crate::Tensor::rand_uniform(&[n, k], -1.0, 1.0, &mut rng).to_vec();
            let c0 = crate::Tensor::rand_uniform(&[m, n + 1], -1.0, 1.0, &mut rng).to_vec();
            // A with rows k + 2 apart; B given transposed (strided), C with rows n + 1 apart.
            let (av, bv) = (View::rows(&a, k + 2), View::rows(&b, k).t());
            for beta in [0.0, 1.0] {
                let (mut want, mut got) = (c0.clone(), c0.clone());
                gemm(m, k, n, av, bv, beta, &mut want, n + 1);
                PackedRight::new(bv, k, n).mul(m, av, beta, &mut got, n + 1);
                let close = |got: &[f32], want: &[f32]| {
                    got.iter().zip(want).all(|(g, w)| (g - w).abs() <= 1e-4 * (1.0 + w.abs()))
                };
                assert!(close(&got, &want), "{m}x{k}x{n} beta {beta}");
                // A transposed (columns apart), on the kernel threads.
                let at = View::rows(&a_t, m).t();
                let (mut want, mut got) = (c0.clone(), c0.clone());
                gemm(m, k, n, at, bv, beta, &mut want, n + 1);
                PackedRight::new(bv, k, n).mul_threads(m, at, beta, &mut got, n + 1);
                assert!(close(&got, &want), "{m}x{k}x{n} beta {beta}, transposed A");
            }
        }
    }
}
