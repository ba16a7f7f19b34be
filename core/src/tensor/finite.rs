//! Finding non-finite values (NaN, ±infinity): the check a model runs on its data before any
//! work, fast enough to run on every call.

use super::Tensor;
use rayon::prelude::*;

/// Values scanned per test: small enough to stay in the first-level cache when one holds a
/// bad value and is searched again element by element.
const BLOCK: usize = 4096;

/// Buffers at least this long are scanned on all kernel threads.
const PARALLEL_LEN: usize = 1 << 18;

impl Tensor {
    /// The row-major index of the first element that is NaN or infinite, or `None` if every
    /// element is finite.
    ///
    /// ```
    /// use kensho_core::Tensor;
    /// let t = Tensor::from_vec(vec![1.0, 2.0, f32::NAN, f32::INFINITY], &[2, 2])?;
    /// assert_eq!(t.first_non_finite(), Some(2));
    /// assert_eq!(Tensor::ones(&[3]).first_non_finite(), None);
    /// # Ok::<(), kensho_core::Error>(())
    /// ```
    pub fn first_non_finite(&self) -> Option<usize> {
        match self.as_slice() {
            Some(values) if values.len() >= PARALLEL_LEN && crate::threads::num_threads() > 1 => {
                let per = values.len().div_ceil(crate::threads::num_threads()).next_multiple_of(BLOCK);
                crate::threads::pool().install(|| {
                    values.par_chunks(per).enumerate().find_map_first(|(i, piece)| first_in(piece).map(|j| i * per + j))
                })
            }
            Some(values) => first_in(values),
            None => self.0.iter().position(|v| !v.is_finite()),
        }
    }
}

/// The index of the first non-finite value of `values`.
fn first_in(values: &[f32]) -> Option<usize> {
    values
        .chunks(BLOCK)
        .enumerate()
        .find(|(_, block)| !all_finite(block))
        .and_then(|(b, block)| block.iter().position(|v| !v.is_finite()).map(|j| b * BLOCK + j))
}

/// Whether every value is finite: `v * 0` is ±0 for a finite `v` and NaN otherwise, so the
/// sum of those products is zero exactly when all are finite. The sixteen independent sums
/// let the compiler use vector instructions (an early exit per element would not).
fn all_finite(values: &[f32]) -> bool {
    let mut sums = [0.0f32; 16];
    let mut lanes = values.chunks_exact(16);
    for lane in &mut lanes {
        for (s, &v) in sums.iter_mut().zip(lane) {
            *s += v * 0.0;
        }
    }
    let rest: f32 = lanes.remainder().iter().map(|&v| v * 0.0).sum();
    sums.iter().sum::<f32>() + rest == 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_nan_or_infinity_wherever_it_is() {
        // Long enough for the parallel path and several blocks; each bad value placed alone at
        // the start, inside a block, at a block's end and at the very end.
        let len = PARALLEL_LEN + 3 * BLOCK + 5;
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for at in [0, 17, BLOCK - 1, BLOCK, PARALLEL_LEN / 2 + 3, len - 1] {
                let mut values: Vec<f32> = (0..len).map(|i| (i % 97) as f32 - 48.0).collect();
                values[at] = bad;
                let t = Tensor::from_vec(values, &[len]).unwrap();
                assert_eq!(t.first_non_finite(), Some(at), "{bad} at {at}");
                crate::set_num_threads(1);
                assert_eq!(t.first_non_finite(), Some(at), "{bad} at {at}, one thread");
                crate::set_num_threads(2);
            }
        }
        // Two bad values: the first one is reported, even when a later piece is scanned first.
        let mut values = vec![1.0f32; len];
        values[len - 2] = f32::NAN;
        values[10] = f32::INFINITY;
        assert_eq!(Tensor::from_vec(values, &[len]).unwrap().first_non_finite(), Some(10));
    }

    #[test]
    fn finite_extremes_are_finite() {
        let t = Tensor::from_vec(vec![f32::MAX, f32::MIN, f32::MIN_POSITIVE, -0.0, 1e-45], &[5]).unwrap();
        assert_eq!(t.first_non_finite(), None);
    }

    #[test]
    fn a_strided_view_is_scanned_in_logical_order() {
        let t = Tensor::from_vec(vec![1.0, f32::NAN, 2.0, 3.0, 4.0, f32::INFINITY], &[2, 3]).unwrap();
        // Transposed: [[1, 3], [NaN, 4], [2, inf]]: the NaN is at logical index 2.
        assert_eq!(t.transpose().first_non_finite(), Some(2));
    }
}
