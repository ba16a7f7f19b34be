//! int8 × int8 → int32 matrix products for post-training quantization.
//!
//! The weights `B` (`[k, n]`, i8, one scale per output column) are packed once into a
//! [`PackedI8Matrix`]; the inputs `A` (`[m, k]`, u8 with a zero point, from [`quantize_u8`]) are
//! read as they are. [`gemm_u8i8_f32`] multiplies them with exact i32 accumulation and turns the
//! accumulators into f32 outputs in the same pass ([`Dequantize`]: zero-point correction, per-column
//! scale, bias, ReLU); [`gemm_u8i8_i32`] gives the raw i32 product.
//!
//! The kernel is chosen once at run time ([`int8_kernel`]): AVX-512 VNNI (`vpdpbusd`, 64
//! u8 × i8 products per instruction), else AVX2 (`vpmaddwd` on values widened to i16), else plain
//! Rust. Every kernel gives the same integers, so results do not depend on the CPU or on the thread
//! count (large products are split by rows across [`crate::threads`]).
//!
//! ```
//! use kensho_core::quant::{gemm_u8i8_f32, quantize_u8, Dequantize, PackedI8Matrix};
//! // B = [[1, 2], [3, 4], [5, 6]] (k = 3, n = 2), weight scales 0.5 and 0.25.
//! let b = PackedI8Matrix::pack(&[1, 2, 3, 4, 5, 6], 3, 2)?;
//! // x = [1, 2, 3] quantized with scale 0.1 (inv_scale 10) and zero point 10: [20, 30, 40].
//! let mut a = [0u8; 3];
//! quantize_u8(&[1.0, 2.0, 3.0], 10.0, 10, &mut a);
//! assert_eq!(a, [20, 30, 40]);
//! let scales = [0.1 * 0.5, 0.1 * 0.25];
//! let dq = Dequantize { input_zero_point: 10, scales: &scales, bias: Some(&[1.0, -100.0]), relu: true };
//! let mut out = [0f32; 2];
//! gemm_u8i8_f32(1, &a, 3, &b, &mut out, 2, &dq);
//! // x · B = [22, 28]: 22 * 0.5 + 1 = 12 and max(0, 28 * 0.25 - 100) = 0.
//! assert!((out[0] - 12.0).abs() < 1e-4 && out[1] == 0.0);
//! # Ok::<(), kensho_core::Error>(())
//! ```

mod avx2;
mod pack;
mod quantize;
mod scalar;
#[cfg(test)]
mod tests;
mod vnni;

pub use pack::PackedI8Matrix;
pub use quantize::quantize_u8;

use std::sync::OnceLock;

/// What turns the int32 accumulators into f32 outputs.
#[derive(Clone, Copy, Debug)]
pub struct Dequantize<'a> {
    /// The zero point of the u8 input (`A`).
    pub input_zero_point: i32,
    /// Per output column `j`: input scale × weight scale of column `j` (length `n`).
    pub scales: &'a [f32],
    /// Per output column bias, added after scaling (length `n`), if any.
    pub bias: Option<&'a [f32]>,
    /// Whether `max(0, ·)` is applied last.
    pub relu: bool,
}

/// Which int8 kernel a CPU runs (see [`int8_kernel`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Int8Kernel {
    /// AVX-512 VNNI: `vpdpbusd` on 512-bit vectors.
    Avx512Vnni,
    /// AVX2: u8 and i8 widened to i16, `vpmaddwd` on 256-bit vectors.
    Avx2,
    /// Plain Rust loops (any CPU).
    Scalar,
}

impl Int8Kernel {
    /// Whether this CPU can run the kernel.
    pub fn is_supported(self) -> bool {
        match self {
            Int8Kernel::Avx512Vnni => vnni::supported(),
            Int8Kernel::Avx2 => avx2::supported(),
            Int8Kernel::Scalar => true,
        }
    }
}

/// The kernel this CPU runs: the fastest supported one, detected once and cached.
pub fn int8_kernel() -> Int8Kernel {
    static KERNEL: OnceLock<Int8Kernel> = OnceLock::new();
    *KERNEL.get_or_init(|| {
        [Int8Kernel::Avx512Vnni, Int8Kernel::Avx2].into_iter().find(|k| k.is_supported()).unwrap_or(Int8Kernel::Scalar)
    })
}

/// `out[i*ldc + j] = f((Σ_p a[i*lda + p] · B[p, j] − input_zero_point · column_sums[j]) as f32 ·
/// scales[j] + bias[j])`, with `f` ReLU if `dequantize.relu`, else the identity.
///
/// `a` is the u8 row-major `[m, k]` input with row stride `lda >= k`; `out` is `[m, n]` with row
/// stride `ldc >= n` (the values between `n` and `ldc` are left as they are). The sum is exact (i32,
/// wrapping only beyond `k` ≈ 65,000); the scaling is an f32 multiply then an f32 add, so every
/// kernel and thread count gives the same bits.
///
/// # Panics
/// If `lda < k`, `ldc < n`, `a` or `out` is too short for `m` rows, or `scales` or `bias` does not
/// have `n` values (callers check shapes at their boundary; these are programmer errors).
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub fn gemm_u8i8_f32(
    m: usize,
    a: &[u8],
    lda: usize,
    b: &PackedI8Matrix,
    out: &mut [f32],
    ldc: usize,
    dequantize: &Dequantize,
) {
    gemm_u8i8_f32_with(int8_kernel(), m, a, lda, b, out, ldc, dequantize);
}

/// The raw int32 product `C = A × B` (row-major `[m, n]` into `out[..m * n]`), with the kernels of
/// [`gemm_u8i8_f32`], for tests and for callers that requantize themselves.
///
/// # Panics
/// If `lda < k`, `a` is too short for `m` rows of stride `lda`, or `out` has fewer than `m * n` values.
#[track_caller]
pub fn gemm_u8i8_i32(m: usize, a: &[u8], lda: usize, b: &PackedI8Matrix, out: &mut [i32]) {
    gemm_u8i8_i32_with(int8_kernel(), m, a, lda, b, out);
}

/// [`gemm_u8i8_f32`] on a given kernel (for tests comparing the kernels).
///
/// # Panics
/// As [`gemm_u8i8_f32`], and if this CPU does not support `kernel`.
#[doc(hidden)]
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub fn gemm_u8i8_f32_with(
    kernel: Int8Kernel,
    m: usize,
    a: &[u8],
    lda: usize,
    b: &PackedI8Matrix,
    out: &mut [f32],
    ldc: usize,
    dequantize: &Dequantize,
) {
    let n = b.n();
    check_a(m, a, lda, b);
    assert!(ldc >= n, "gemm_u8i8_f32: ldc = {ldc} is less than n = {n}");
    assert!(
        m == 0 || out.len() >= (m - 1) * ldc + n,
        "gemm_u8i8_f32: out has {} values, {m} rows of stride {ldc} with {n} columns need {}",
        out.len(),
        (m - 1) * ldc + n
    );
    assert_eq!(dequantize.scales.len(), n, "gemm_u8i8_f32: scales must have n = {n} values");
    if let Some(bias) = dequantize.bias {
        assert_eq!(bias.len(), n, "gemm_u8i8_f32: bias must have n = {n} values");
    }
    let column_sums = b.column_sums();
    run(kernel, m, a, lda, b, Output::F32 { ptr: out.as_mut_ptr(), ldc, dq: dequantize, column_sums });
}

/// [`gemm_u8i8_i32`] on a given kernel (for tests comparing the kernels).
///
/// # Panics
/// As [`gemm_u8i8_i32`], and if this CPU does not support `kernel`.
#[doc(hidden)]
#[track_caller]
pub fn gemm_u8i8_i32_with(kernel: Int8Kernel, m: usize, a: &[u8], lda: usize, b: &PackedI8Matrix, out: &mut [i32]) {
    let n = b.n();
    check_a(m, a, lda, b);
    assert!(out.len() >= m * n, "gemm_u8i8_i32: out has {} values, m * n = {m} * {n} needed", out.len());
    run(kernel, m, a, lda, b, Output::I32 { ptr: out.as_mut_ptr(), ldc: n });
}

#[track_caller]
fn check_a(m: usize, a: &[u8], lda: usize, b: &PackedI8Matrix) {
    let k = b.k();
    assert!(lda >= k, "int8 gemm: lda = {lda} is less than k = {k}");
    assert!(
        m == 0 || a.len() >= (m - 1) * lda + k,
        "int8 gemm: a has {} values, {m} rows of stride {lda} with k = {k} need {}",
        a.len(),
        (m - 1) * lda + k
    );
}

/// Where a kernel writes its `[rows, n]` result: the raw i32 product, or dequantized f32 values.
#[derive(Clone, Copy)]
pub(crate) enum Output<'d> {
    I32 { ptr: *mut i32, ldc: usize },
    F32 { ptr: *mut f32, ldc: usize, dq: &'d Dequantize<'d>, column_sums: &'d [i32] },
}

// SAFETY: an `Output` is shared only between row shards that write disjoint rows (see `run`).
unsafe impl Send for Output<'_> {}
// SAFETY: as above.
unsafe impl Sync for Output<'_> {}

impl Output<'_> {
    /// The same output from row `rows` on.
    fn skip_rows(self, rows: usize) -> Self {
        match self {
            Output::I32 { ptr, ldc } => Output::I32 { ptr: ptr.wrapping_add(rows * ldc), ldc },
            Output::F32 { ptr, ldc, dq, column_sums } => {
                Output::F32 { ptr: ptr.wrapping_add(rows * ldc), ldc, dq, column_sums }
            }
        }
    }

    /// Writes the finished accumulators `acc` of row `row`, columns `col..col + acc.len()`.
    ///
    /// # Safety
    /// The row and columns must be inside the output.
    pub(crate) unsafe fn store(&self, row: usize, col: usize, acc: &[i32]) {
        match *self {
            Output::I32 { ptr, ldc } => {
                // SAFETY: the caller keeps the columns inside row `row` of the output.
                unsafe { std::ptr::copy_nonoverlapping(acc.as_ptr(), ptr.add(row * ldc + col), acc.len()) }
            }
            Output::F32 { ptr, ldc, dq, column_sums } => {
                for (c, &v) in acc.iter().enumerate() {
                    let j = col + c;
                    let x = v.wrapping_sub(dq.input_zero_point.wrapping_mul(column_sums[j]));
                    let y = x as f32 * dq.scales[j] + dq.bias.map_or(0.0, |b| b[j]);
                    // SAFETY: as above.
                    unsafe { *ptr.add(row * ldc + j) = if dq.relu { y.max(0.0) } else { y } }
                }
            }
        }
    }
}

/// The last, partial group of 4 values of a row of `A`, from `a[at]` on, as a little-endian
/// word: one 4-byte read when it stays inside `a`, else the `valid` (1 to 3) bytes left and zeros.
/// The bytes past `k` need no masking: the packed `B` is zero there, and so are their products.
#[inline(always)]
pub(crate) fn tail_word(a: &[u8], at: usize, valid: usize) -> u32 {
    match a.get(at..at + 4) {
        Some(bytes) => u32::from_le_bytes(bytes.try_into().expect("4 bytes")),
        None => {
            let mut bytes = [0u8; 4];
            bytes[..valid].copy_from_slice(&a[at..at + valid]);
            u32::from_le_bytes(bytes)
        }
    }
}

/// Rows per shard are a multiple of this (every kernel's row block divides it).
const SHARD_ROWS: usize = 24;

/// Runs `kernel` on the `m` rows, split by rows across the kernel threads when the product is
/// large (as the f32 GEMM decides, [`crate::gemm::gemm_threads`]).
#[track_caller]
fn run(kernel: Int8Kernel, m: usize, a: &[u8], lda: usize, b: &PackedI8Matrix, out: Output) {
    assert!(kernel.is_supported(), "int8 gemm: this CPU cannot run the {kernel:?} kernel");
    if m == 0 {
        return;
    }
    let threads = crate::gemm::gemm_threads(m, b.k(), b.n());
    let per = m.div_ceil(threads).next_multiple_of(SHARD_ROWS);
    let shard = |start: usize| {
        let rows = per.min(m - start);
        let (a, out) = (&a[start * lda..], out.skip_rows(start));
        // SAFETY: the kernels write rows `start..start + rows` of `out`, which the public
        // functions checked is long enough for `m` rows, and read `rows` rows of `a` (checked).
        unsafe {
            match kernel {
                Int8Kernel::Avx512Vnni => vnni::gemm(rows, a, lda, b, out),
                Int8Kernel::Avx2 => avx2::gemm(rows, a, lda, b, out),
                Int8Kernel::Scalar => scalar::gemm(rows, a, lda, b, out),
            }
        }
    };
    if per >= m {
        return shard(0);
    }
    let shard = &shard;
    crate::threads::pool().in_place_scope(|s| {
        for start in (per..m).step_by(per) {
            s.spawn(move |_| shard(start));
        }
        shard(0);
    });
}
