//! Indexing kernels: contiguous slices along an axis (views), gathers of chosen indices, and the
//! scatter-add that is the gather's adjoint.

use super::Tensor;
use ndarray::{Axis, Slice};
use rayon::prelude::*;

/// Gathers of fewer elements than this stay on the calling thread.
const PARALLEL_GATHER_MIN: usize = 1 << 16;

impl Tensor {
    /// The elements with index in `start..end` along `axis`, as a view (no copy).
    ///
    /// # Panics
    /// If the axis or the range is out of bounds.
    #[track_caller]
    pub fn slice_axis(&self, axis: usize, start: usize, end: usize) -> Tensor {
        assert!(
            axis < self.ndim() && start <= end && end <= self.shape()[axis],
            "slice_axis: range {start}..{end} on axis {axis} out of bounds for shape {:?}",
            self.shape()
        );
        let mut out = self.0.clone();
        out.slice_axis_inplace(Axis(axis), Slice::from(start..end));
        Tensor(out)
    }

    /// The sub-tensors at `indices` along `axis`, in that order (repeats allowed); a copy.
    ///
    /// ```
    /// let x = kensho_core::Tensor::arange(6).reshape_to(&[3, 2]);
    /// assert_eq!(x.index_select(0, &[2, 0]).to_vec(), vec![4.0, 5.0, 0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    /// If the axis or an index is out of bounds.
    #[track_caller]
    pub fn index_select(&self, axis: usize, indices: &[usize]) -> Tensor {
        assert!(axis < self.ndim(), "index_select: axis {axis} out of range for shape {:?}", self.shape());
        let n = self.shape()[axis];
        if let Some(&bad) = indices.iter().find(|&&i| i >= n) {
            panic!("index_select: index {bad} out of bounds for axis {axis} of shape {:?}", self.shape());
        }
        if axis == 0
            && let Some(data) = self.as_slice()
        {
            let row = self.len() / n.max(1);
            let mut out = vec![0.0f32; row * indices.len()];
            let copy = |(dst, &i): (&mut [f32], &usize)| dst.copy_from_slice(&data[i * row..(i + 1) * row]);
            // Large gathers (a batch of rows from a big data set) wait on memory: split them
            // across the kernel threads, unless already inside a parallel region.
            if out.len() >= PARALLEL_GATHER_MIN && rayon::current_thread_index().is_none() && crate::num_threads() > 1 {
                crate::threads::pool().install(|| out.par_chunks_mut(row.max(1)).zip(indices).for_each(copy));
            } else {
                out.chunks_mut(row.max(1)).zip(indices).for_each(copy);
            }
            let mut shape = self.shape().to_vec();
            shape[0] = indices.len();
            return Tensor::from_vec(out, &shape).expect("sizes match");
        }
        Tensor::from_array(self.0.select(Axis(axis), indices))
    }

    /// The adjoint of [`Tensor::index_select`]: a tensor with `len` entries along `axis`, zero
    /// except that slice `k` of `self` is added at position `indices[k]` (repeats accumulate).
    ///
    /// # Panics
    /// If `self.shape()[axis] != indices.len()` or an index is `>= len`.
    #[track_caller]
    pub fn index_add(&self, axis: usize, indices: &[usize], len: usize) -> Tensor {
        assert!(
            axis < self.ndim() && self.shape()[axis] == indices.len(),
            "index_add: {} indices for axis {axis} of shape {:?}",
            indices.len(),
            self.shape()
        );
        let mut shape = self.shape().to_vec();
        shape[axis] = len;
        if let Some(&bad) = indices.iter().find(|&&i| i >= len) {
            panic!("index_add: index {bad} out of bounds for length {len}");
        }
        if let (0, Some(data)) = (axis, self.as_slice()) {
            // Rows of a contiguous tensor (an embedding's gradient): added slice by slice, in
            // the same order as the general path, without its per-index views.
            let row = shape[1..].iter().product::<usize>();
            let mut out = vec![0.0f32; len * row];
            for (src, &i) in data.chunks_exact(row.max(1)).zip(indices) {
                out[i * row..(i + 1) * row].iter_mut().zip(src).for_each(|(o, &s)| *o += s);
            }
            return Tensor::from_vec(out, &shape).expect("sizes match");
        }
        let mut out = Tensor::zeros(&shape);
        {
            let target = out.as_array_mut();
            for (k, &i) in indices.iter().enumerate() {
                let mut dst = target.index_axis_mut(Axis(axis), i);
                dst += &self.0.index_axis(Axis(axis), k);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_and_gathers() {
        let x = Tensor::arange(12).reshape_to(&[3, 4]);
        assert_eq!(x.slice_axis(1, 1, 3).to_vec(), vec![1., 2., 5., 6., 9., 10.]);
        assert_eq!(x.index_select(1, &[3, 3]).to_vec(), vec![3., 3., 7., 7., 11., 11.]);
        assert_eq!(x.transpose().index_select(0, &[1]).to_vec(), vec![1., 5., 9.]);
    }

    #[test]
    fn large_gathers_split_across_threads_copy_the_right_rows() {
        let x = Tensor::arange(1000 * 100).reshape_to(&[1000, 100]);
        let indices: Vec<usize> = (0..800).map(|i| (i * 7919) % 1000).collect();
        let out = x.index_select(0, &indices);
        assert_eq!(out.shape(), &[800, 100]);
        for (k, &i) in indices.iter().enumerate().step_by(37) {
            assert_eq!(out.slice_axis(0, k, k + 1).to_vec(), x.slice_axis(0, i, i + 1).to_vec());
        }
        assert_eq!(out, x.transpose().index_select(1, &indices).transpose().to_contiguous());
    }

    #[test]
    fn index_add_accumulates_repeats() {
        let src = Tensor::ones(&[3, 2]);
        let out = src.index_add(0, &[1, 1, 0], 3);
        assert_eq!(out.to_vec(), vec![1., 1., 2., 2., 0., 0.]);
    }
}
