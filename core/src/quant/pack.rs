//! [`PackedI8Matrix`]: an int8 weight matrix `B` laid out once for the int8 kernels.
//!
//! The layout is the one `vpdpbusd` reads: panels of [`NR`] = 16 columns; inside a panel, one
//! 64-byte [`Block`] per group of 4 rows of `B`, holding for each of the 16 columns its 4
//! consecutive values. Rows are padded to a multiple of 4 and columns to a multiple of 16 with
//! zeros, so the kernels never need a tail case for `B`.

use crate::{Error, Result};

/// The columns of one panel (one 512-bit vector of 16 i32 accumulators).
pub(crate) const NR: usize = 16;

/// The rows of `B` one block holds (the 4 products `vpdpbusd` sums into each i32 lane).
pub(crate) const KR: usize = 4;

/// One group of [`KR`] rows of one panel: byte `KR * c + t` is `B[KR * g + t, NR * panel + c]`.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C, align(64))]
pub(crate) struct Block(pub(crate) [i8; NR * KR]);

/// An int8 weight matrix `B` of shape `[k, n]`, packed once for the kernel, with its column sums.
///
/// ```
/// use kensho_core::quant::PackedI8Matrix;
/// let b = PackedI8Matrix::pack(&[1, -2, 3, 4, 5, -6], 2, 3)?;
/// assert_eq!((b.k(), b.n()), (2, 3));
/// assert_eq!(b.column_sums(), &[5, 3, -3]);
/// assert_eq!(b.to_row_major(), vec![1, -2, 3, 4, 5, -6]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PackedI8Matrix {
    k: usize,
    n: usize,
    /// Panel `p`, group `g` is block `p * groups + g`.
    blocks: Vec<Block>,
    column_sums: Vec<i32>,
}

impl std::fmt::Debug for PackedI8Matrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackedI8Matrix").field("k", &self.k).field("n", &self.n).finish_non_exhaustive()
    }
}

impl PackedI8Matrix {
    /// Packs the row-major `values` of a `[k, n]` matrix.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `k` or `n` is 0, or if `values.len() != k * n`.
    pub fn pack(values: &[i8], k: usize, n: usize) -> Result<PackedI8Matrix> {
        if k == 0 {
            return Err(Error::invalid("PackedI8Matrix::pack: k", k, "at least 1 row"));
        }
        if n == 0 {
            return Err(Error::invalid("PackedI8Matrix::pack: n", n, "at least 1 column"));
        }
        if values.len() != k * n {
            return Err(Error::invalid(
                "PackedI8Matrix::pack: values.len()",
                values.len(),
                format!("k * n = {k} * {n} = {} values, row-major", k * n),
            ));
        }
        let groups = k.div_ceil(KR);
        let panels = n.div_ceil(NR);
        let mut blocks = vec![Block([0; NR * KR]); panels * groups];
        for (p, panel) in blocks.chunks_exact_mut(groups).enumerate() {
            for (g, block) in panel.iter_mut().enumerate() {
                for t in 0..KR.min(k - KR * g) {
                    let row = &values[(KR * g + t) * n..][..n];
                    for (c, &v) in row.iter().skip(NR * p).take(NR).enumerate() {
                        block.0[KR * c + t] = v;
                    }
                }
            }
        }
        let mut column_sums = vec![0i32; n];
        for row in values.chunks_exact(n) {
            for (sum, &v) in column_sums.iter_mut().zip(row) {
                *sum += i32::from(v);
            }
        }
        Ok(PackedI8Matrix { k, n, blocks, column_sums })
    }

    /// The number of rows of `B` (the inner dimension of the product).
    pub fn k(&self) -> usize {
        self.k
    }

    /// The number of columns of `B` (the output columns).
    pub fn n(&self) -> usize {
        self.n
    }

    /// `sum over p of B[p, j]` for each column `j` (what the input zero point multiplies).
    pub fn column_sums(&self) -> &[i32] {
        &self.column_sums
    }

    /// The original row-major values back (for saving).
    pub fn to_row_major(&self) -> Vec<i8> {
        let groups = self.groups();
        let mut values = vec![0i8; self.k * self.n];
        for (p, row) in values.chunks_exact_mut(self.n).enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = self.blocks[(j / NR) * groups + p / KR].0[KR * (j % NR) + p % KR];
            }
        }
        values
    }

    /// The groups of [`KR`] rows (`k` rounded up), i.e. the blocks per panel.
    pub(crate) fn groups(&self) -> usize {
        self.k.div_ceil(KR)
    }

    /// The panels of [`NR`] columns (`n` rounded up).
    pub(crate) fn panels(&self) -> usize {
        self.n.div_ceil(NR)
    }

    /// The blocks of panel `p` on: `groups()` blocks per panel.
    pub(crate) fn panel(&self, p: usize) -> &[Block] {
        &self.blocks[p * self.groups()..]
    }
}
