//! [`Layout`]: how an ONNX value of the graph being imported is laid out relative to the
//! kensho value that holds it. kensho keeps every value channels_last; a channels_first ONNX
//! value (the input of a `Conv`, or a PyTorch model's image input) is the kensho value with
//! its axes permuted, and a channels_first value flattened is the kensho value flattened with
//! its features in another order (worked out when a Dense reads them).

use kensho_core::Tensor;

/// The layout of an ONNX value relative to its kensho value.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Layout {
    /// The kensho value with its axes (batch included) permuted: ONNX axis `i` is kensho axis
    /// `perm[i]`. The identity is kensho's own layout.
    Axes(Vec<usize>),
    /// A flat `[batch, n]` value: the view `Axes(perm)` of a kensho value of per-sample sizes
    /// `dims`, flattened in ONNX's (C) order, where kensho flattens the value in its own order
    /// (a channels_first tensor flattened C·H·W, where kensho flattens H·W·C).
    Flat {
        /// The view that was flattened.
        perm: Vec<usize>,
        /// The kensho value's per-sample sizes before flattening.
        dims: Vec<usize>,
    },
}

impl Layout {
    /// kensho's own layout for a value of rank `rank` (batch included).
    pub(super) fn natural(rank: usize) -> Layout {
        Layout::Axes((0..rank).collect())
    }

    /// The channels_first view `[batch, channels, spatial..]` of a channels_last kensho value
    /// of rank `rank` (batch included).
    pub(super) fn channels_first(rank: usize) -> Layout {
        Layout::Axes([0, rank - 1].into_iter().chain(1..rank - 1).collect())
    }

    /// Whether the ONNX value is the kensho value as it is.
    pub(super) fn is_natural(&self) -> bool {
        matches!(self, Layout::Axes(perm) if perm.iter().enumerate().all(|(i, &a)| i == a))
    }

    /// The layout after an ONNX `Transpose` with `perm` (output axis `i` is input axis
    /// `perm[i]`); `None` for a flat value or a `perm` of another rank.
    pub(super) fn transposed(&self, perm: &[usize]) -> Option<Layout> {
        match self {
            Layout::Axes(axes) if perm.len() == axes.len() => {
                perm.iter().map(|&a| axes.get(a).copied()).collect::<Option<Vec<usize>>>().map(Layout::Axes)
            }
            _ => None,
        }
    }

    /// The kensho axis (batch included) of ONNX axis `axis`, for a value whose axes are
    /// permuted (`None` for a flat value with reordered features, unless `axis` is the batch).
    pub(super) fn kensho_axis(&self, axis: usize) -> Option<usize> {
        match self {
            Layout::Axes(perm) => perm.get(axis).copied(),
            Layout::Flat { .. } => (axis == 0).then_some(0),
        }
    }

    /// The layout of the ONNX value flattened to `[batch, n]` (ONNX's C order), when the
    /// kensho value, of per-sample `dims`, is flattened in its own order.
    pub(super) fn flattened(&self, dims: &[usize]) -> Layout {
        match self {
            Layout::Axes(perm) if !self.is_natural() => Layout::Flat { perm: perm.clone(), dims: dims.to_vec() },
            Layout::Axes(_) => Layout::natural(2),
            flat => flat.clone(),
        }
    }

    /// For a flat value: the kensho feature that each ONNX feature is, in order (`None` for
    /// an unflattened value).
    fn rows(&self) -> Option<Vec<usize>> {
        let Layout::Flat { perm, dims } = self else { return None };
        // kensho's strides per sample, and the ONNX per-sample axes as kensho axes.
        let mut strides = vec![1; dims.len()];
        for k in (0..dims.len().saturating_sub(1)).rev() {
            strides[k] = strides[k + 1] * dims[k + 1];
        }
        let axes: Vec<usize> = perm[1..].iter().map(|&a| a - 1).collect();
        let mut rows = Vec::with_capacity(dims.iter().product());
        let mut index = vec![0; axes.len()];
        loop {
            rows.push(index.iter().zip(&axes).map(|(&i, &k)| i * strides[k]).sum());
            // The next ONNX multi-index, last axis fastest.
            let Some(pos) = (0..axes.len()).rev().find(|&p| index[p] + 1 < dims[axes[p]]) else { break };
            index[pos] += 1;
            index[pos + 1..].iter_mut().for_each(|i| *i = 0);
        }
        Some(rows)
    }

    /// A kernel `[n, units]` that reads this (flat) value's features, with its rows moved to
    /// read the kensho value's features instead (unchanged for kensho's own layout). The
    /// caller checks that `n` is the number of features.
    pub(super) fn kensho_rows(&self, kernel: &Tensor) -> Tensor {
        let Some(rows) = self.rows() else { return kernel.clone() };
        let mut source = vec![0; rows.len()];
        for (j, &k) in rows.iter().enumerate() {
            source[k] = j;
        }
        Tensor::from_fn(kernel.shape(), |i| kernel.get_flat(source[i[0]] * kernel.shape()[1] + i[1]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_first_then_back_is_natural() {
        let first = Layout::channels_first(4);
        assert_eq!(first, Layout::Axes(vec![0, 3, 1, 2]));
        assert!(first.transposed(&[0, 2, 3, 1]).unwrap().is_natural());
        assert_eq!(Layout::channels_first(3), Layout::Axes(vec![0, 2, 1]));
    }

    #[test]
    fn flattening_channels_first_lists_kensho_features_in_chw_order() {
        // kensho holds [h=2, w=3, c=2] (HWC): feature (h, w, c) at 6h + 2w + c.
        let rows = Layout::channels_first(4).flattened(&[2, 3, 2]).rows().unwrap();
        let expected: Vec<usize> =
            (0..2).flat_map(|c| (0..2).flat_map(move |h| (0..3).map(move |w| 6 * h + 2 * w + c))).collect();
        assert_eq!(rows, expected);
        assert_eq!(Layout::natural(4).flattened(&[2, 3, 2]), Layout::natural(2));
    }

    #[test]
    fn kernel_rows_follow_the_features() {
        // A [3 (w), 2 (c)] kensho value seen as [c, w] and flattened: ONNX feature j = 3c + w
        // is kensho feature 2w + c, so ONNX rows (c0w0, c0w1, c0w2, c1w0, ..) land at kensho
        // rows 0, 2, 4, 1, 3, 5.
        let layout = Layout::channels_first(3).flattened(&[3, 2]);
        let kernel = Tensor::from_vec((0..6).map(|v| v as f32).collect(), &[6, 1]).unwrap();
        assert_eq!(layout.kensho_rows(&kernel).to_vec(), [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    }
}
