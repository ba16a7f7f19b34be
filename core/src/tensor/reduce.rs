//! Reductions along any set of axes (sum, mean, max, min, var, argmax) and the numerically
//! stable softmax / log-softmax along one axis.

use super::Tensor;
use ndarray::{ArcArray, Axis, IxDyn};

impl Tensor {
    #[track_caller]
    fn check_axes(&self, op: &str, axes: &[usize]) {
        for &a in axes {
            assert!(a < self.ndim(), "{op}: axis {a} out of range for shape {:?}", self.shape());
        }
    }

    /// Folds away `axes` (outermost last so indices stay valid), keeping them as size 1 if asked.
    #[track_caller]
    fn reduce_axes(
        &self,
        op: &str,
        axes: &[usize],
        keepdims: bool,
        fold: impl Fn(&ArcArray<f32, IxDyn>, Axis) -> ArcArray<f32, IxDyn>,
    ) -> Tensor {
        self.check_axes(op, axes);
        let mut sorted = axes.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut out = self.0.clone();
        for &a in sorted.iter().rev() {
            out = fold(&out, Axis(a));
            if keepdims {
                out = out.insert_axis(Axis(a));
            }
        }
        Tensor(out)
    }

    /// Sum over `axes`; with `keepdims` the reduced axes stay as size 1.
    ///
    /// # Panics
    /// If an axis is out of range.
    #[track_caller]
    pub fn sum_axes(&self, axes: &[usize], keepdims: bool) -> Tensor {
        if let Some(sum) = self.sum_leading_axes(axes, keepdims) {
            return sum;
        }
        self.reduce_axes("sum", axes, keepdims, |a, ax| a.sum_axis(ax).into_shared())
    }

    /// The fast path of [`Tensor::sum_axes`] for a contiguous tensor summed over its leading axes
    /// (the bias gradient of a batch): a plain loop adding rows, no stride bookkeeping.
    fn sum_leading_axes(&self, axes: &[usize], keepdims: bool) -> Option<Tensor> {
        let data = self.as_slice()?;
        let lead = axes.len();
        if lead == 0 || lead >= self.ndim() || axes.iter().enumerate().any(|(i, &a)| a != i) {
            return None;
        }
        let inner: usize = self.shape()[lead..].iter().product();
        let mut out = vec![0.0f32; inner];
        for row in data.chunks_exact(inner.max(1)) {
            out.iter_mut().zip(row).for_each(|(o, &v)| *o += v);
        }
        let shape: Vec<usize> = if keepdims {
            std::iter::repeat_n(1, lead).chain(self.shape()[lead..].iter().copied()).collect()
        } else {
            self.shape()[lead..].to_vec()
        };
        Some(Tensor::from_vec(out, &shape).expect("sizes match"))
    }

    /// Mean over `axes`.
    ///
    /// # Panics
    /// If an axis is out of range.
    #[track_caller]
    pub fn mean_axes(&self, axes: &[usize], keepdims: bool) -> Tensor {
        self.check_axes("mean", axes);
        let mut unique = axes.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let count: usize = unique.iter().map(|&a| self.shape()[a]).product();
        self.sum_axes(axes, keepdims).mul_scalar(1.0 / count as f32)
    }

    /// Maximum over `axes`.
    ///
    /// # Panics
    /// If an axis is out of range.
    #[track_caller]
    pub fn max_axes(&self, axes: &[usize], keepdims: bool) -> Tensor {
        self.reduce_axes("max", axes, keepdims, |a, ax| {
            a.fold_axis(ax, f32::NEG_INFINITY, |&m, &v| m.max(v)).into_shared()
        })
    }

    /// Minimum over `axes`.
    ///
    /// # Panics
    /// If an axis is out of range.
    #[track_caller]
    pub fn min_axes(&self, axes: &[usize], keepdims: bool) -> Tensor {
        self.reduce_axes("min", axes, keepdims, |a, ax| a.fold_axis(ax, f32::INFINITY, |&m, &v| m.min(v)).into_shared())
    }

    /// Population variance (divided by N, as NumPy's default and Keras) over `axes`.
    ///
    /// # Panics
    /// If an axis is out of range.
    #[track_caller]
    pub fn var_axes(&self, axes: &[usize], keepdims: bool) -> Tensor {
        let mean = self.mean_axes(axes, true);
        let centered = self.sub(&mean);
        centered.mul(&centered).mean_axes(axes, keepdims)
    }

    /// The sum of all elements, accumulated in f64.
    pub fn sum_all(&self) -> f32 {
        self.0.iter().map(|&v| f64::from(v)).sum::<f64>() as f32
    }

    /// The mean of all elements, accumulated in f64 (NaN for an empty tensor).
    pub fn mean_all(&self) -> f32 {
        (self.0.iter().map(|&v| f64::from(v)).sum::<f64>() / self.len() as f64) as f32
    }

    /// Index of the maximum along `axis` (the first one on ties), as `f32` values; the axis is
    /// removed. For class ids as integers, use [`Tensor::argmax_indices`].
    ///
    /// # Panics
    /// If the axis is out of range or has size 0.
    #[track_caller]
    pub fn argmax(&self, axis: usize) -> Tensor {
        Tensor::from_array(self.argmax_lanes("argmax", axis).mapv(|i| i as f32))
    }

    /// Index of the maximum along `axis` (the first one on ties) as integers, in the row-major
    /// order of the other axes: the class ids of `[n, classes]` predictions with `axis = 1`.
    ///
    /// ```
    /// use kensho_core::Tensor;
    /// let probabilities = Tensor::from_vec(vec![0.1, 0.7, 0.2, 0.5, 0.3, 0.2], &[2, 3])?;
    /// let classes: Vec<usize> = probabilities.argmax_indices(1);
    /// assert_eq!(classes, vec![1, 0]);
    /// # Ok::<(), kensho_core::Error>(())
    /// ```
    ///
    /// # Panics
    /// If the axis is out of range or has size 0.
    #[track_caller]
    pub fn argmax_indices(&self, axis: usize) -> Vec<usize> {
        self.argmax_lanes("argmax_indices", axis).into_iter().collect()
    }

    /// The index of the maximum of every lane along `axis`; NaN loses to any number.
    #[track_caller]
    fn argmax_lanes(&self, op: &str, axis: usize) -> ndarray::ArrayD<usize> {
        self.check_axes(op, &[axis]);
        assert!(self.shape()[axis] > 0, "{op}: axis {axis} of shape {:?} is empty", self.shape());
        self.0.map_axis(Axis(axis), |lane| {
            let mut best = 0;
            for (i, &v) in lane.iter().enumerate() {
                if v > lane[best] || (lane[best].is_nan() && !v.is_nan()) {
                    best = i;
                }
            }
            best
        })
    }

    /// A contiguous copy with `f` applied to every lane (1-D slice) along `axis`.
    #[track_caller]
    fn map_lanes(&self, op: &str, axis: usize, f: impl Fn(&mut ndarray::ArrayViewMut1<f32>)) -> Tensor {
        self.check_axes(op, &[axis]);
        let mut out = self.0.as_standard_layout().into_owned();
        for mut lane in out.lanes_mut(Axis(axis)) {
            f(&mut lane);
        }
        Tensor::from_array(out)
    }

    /// `exp(x) / sum(exp(x))` along `axis`, computed after subtracting the maximum (no overflow).
    ///
    /// # Panics
    /// If the axis is out of range.
    #[track_caller]
    pub fn softmax(&self, axis: usize) -> Tensor {
        self.map_lanes("softmax", axis, |lane| {
            let max = lane.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            lane.mapv_inplace(|v| (v - max).exp());
            let sum: f32 = lane.sum();
            lane.mapv_inplace(|v| v / sum);
        })
    }

    /// `x - log(sum(exp(x)))` along `axis`, computed stably (finite for any finite input).
    ///
    /// # Panics
    /// If the axis is out of range.
    #[track_caller]
    pub fn log_softmax(&self, axis: usize) -> Tensor {
        self.map_lanes("log_softmax", axis, |lane| {
            let max = lane.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let log_sum = lane.fold(0.0f32, |s, &v| s + (v - max).exp()).ln() + max;
            lane.mapv_inplace(|v| v - log_sum);
        })
    }
}

#[cfg(test)]
#[allow(clippy::excessive_precision)] // reference values printed by Python
mod tests {
    use super::*;

    fn t(v: &[f32], s: &[usize]) -> Tensor {
        Tensor::from_vec(v.to_vec(), s).unwrap()
    }

    #[test]
    fn reductions_over_axes_with_and_without_keepdims() {
        let x = Tensor::arange(24).reshape_to(&[2, 3, 4]);
        assert_eq!(x.sum_axes(&[0, 2], false).to_vec(), vec![60., 92., 124.]);
        assert_eq!(x.sum_axes(&[0, 2], true).shape(), &[1, 3, 1]);
        assert_eq!(x.mean_axes(&[1], false).to_vec()[..2], [4., 5.]);
        assert_eq!(x.max_axes(&[2], false).to_vec(), vec![3., 7., 11., 15., 19., 23.]);
        assert_eq!(x.min_axes(&[0, 1, 2], false).item(), 0.0);
        assert!((t(&[1., 2., 3., 4.], &[4]).var_axes(&[0], false).item() - 1.25).abs() < 1e-6);
        assert_eq!(t(&[1., 9., 9., 2.], &[2, 2]).argmax(1).to_vec(), vec![1., 0.]);
        assert_eq!(t(&[1., 9., 9., 2.], &[2, 2]).argmax_indices(1), vec![1, 0]);
        // Row-major order of the remaining axes, also for a transposed view.
        let m = t(&[0., 5., 1., 3., 4., 2.], &[2, 3]);
        assert_eq!(m.argmax_indices(0), vec![1, 0, 1]);
        assert_eq!(m.transpose().argmax_indices(1), vec![1, 0, 1]);
        assert_eq!(m.transpose().argmax_indices(0), vec![1, 1]);
        assert_eq!(x.transpose().sum_axes(&[1], false).to_vec()[..2], [6., 22.]);
    }

    #[test]
    fn leading_axes_fast_path_agrees_with_the_general_path() {
        let x = Tensor::rand_uniform(&[3, 4, 5], -1.0, 1.0, &mut crate::seeded_rng(2));
        let general = x.sum_axes(&[1], false).sum_axes(&[0], false);
        assert!(x.sum_axes(&[0, 1], false).allclose(&general, 1e-6, 1e-6));
        assert_eq!(x.sum_axes(&[0, 1], true).shape(), &[1, 1, 5]);
        assert_eq!(x.sum_axes(&[0], false).to_vec()[0], x.to_vec()[0] + x.to_vec()[20] + x.to_vec()[40]);
        let t = x.permute(&[2, 1, 0]);
        assert!(t.sum_axes(&[0], false).allclose(&x.sum_axes(&[2], false).transpose(), 1e-6, 1e-6));
    }

    #[test]
    fn softmax_is_stable_and_normalised() {
        let x = t(&[1000., 1001., 1002., -5., 0., 5.], &[2, 3]);
        let s = x.softmax(1);
        assert!(s.all_finite());
        // Reference: scipy.special.softmax([0, 1, 2]).
        assert!(s.allclose(
            &t(&[0.09003057, 0.24472847, 0.66524096, 4.50940e-05, 6.69254e-03, 0.99326237], &[2, 3]),
            1e-4,
            1e-6
        ));
        let ls = x.log_softmax(1);
        assert!(ls.allclose(&s.log(), 1e-4, 1e-5));
        assert!(x.softmax(0).sum_axes(&[0], false).allclose(&Tensor::ones(&[3]), 1e-6, 1e-6));
    }
}
