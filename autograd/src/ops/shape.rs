//! Shape ops: reshape, permute / transpose, broadcast_to (backward: sum back to shape),
//! slice along an axis, concat, index_select (gather; backward: scatter-add), squeeze / unsqueeze.

use crate::{InputGrads, Var};
use kensho_core::Tensor;
use smallvec::smallvec;

impl<'t> Var<'t> {
    /// The same elements with a new shape of the same size.
    ///
    /// # Panics
    /// If the sizes differ.
    #[track_caller]
    pub fn reshape(self, shape: &[usize]) -> Var<'t> {
        let x = self.value();
        let old = x.shape().to_vec();
        self.tape().record(x.reshape_to(shape), &[self], move |dy, _| smallvec![Some(dy.reshape_to(&old))])
    }

    /// Reorders the axes: output axis `i` is input axis `axes[i]`.
    ///
    /// # Panics
    /// If `axes` is not a permutation of the axes.
    #[track_caller]
    pub fn permute(self, axes: &[usize]) -> Var<'t> {
        let mut inverse = vec![0; axes.len()];
        for (i, &a) in axes.iter().enumerate() {
            if a < inverse.len() {
                inverse[a] = i;
            }
        }
        self.tape().record(self.value().permute(axes), &[self], move |dy, _| smallvec![Some(dy.permute(&inverse))])
    }

    /// Swaps the last two axes.
    ///
    /// # Panics
    /// If there are fewer than two axes.
    #[track_caller]
    pub fn transpose(self) -> Var<'t> {
        let n = self.shape().len();
        assert!(n >= 2, "transpose: needs at least 2 dimensions, got shape {:?}", self.shape());
        let mut axes: Vec<usize> = (0..n).collect();
        axes.swap(n - 2, n - 1);
        self.permute(&axes)
    }

    /// Repeats the value along new leading axes and axes of size 1; the backward sums back.
    ///
    /// # Panics
    /// If the value cannot be broadcast to `shape`.
    #[track_caller]
    pub fn broadcast_to(self, shape: &[usize]) -> Var<'t> {
        let x = self.value();
        let old = x.shape().to_vec();
        self.tape().record(x.broadcast_to(shape), &[self], move |dy, _| smallvec![Some(dy.sum_to(&old))])
    }

    /// The entries `start..end` along `axis`.
    ///
    /// # Panics
    /// If the axis or range is out of bounds.
    #[track_caller]
    pub fn slice_axis(self, axis: usize, start: usize, end: usize) -> Var<'t> {
        let x = self.value();
        let len = x.shape()[axis.min(x.ndim().saturating_sub(1))];
        let indices: Vec<usize> = (start..end).collect();
        self.tape().record(x.slice_axis(axis, start, end), &[self], move |dy, _| {
            smallvec![Some(dy.index_add(axis, &indices, len))]
        })
    }

    /// The entries at `indices` along `axis` (repeats allowed; their gradients accumulate).
    ///
    /// # Panics
    /// If the axis or an index is out of bounds.
    #[track_caller]
    pub fn index_select(self, axis: usize, indices: &[usize]) -> Var<'t> {
        let x = self.value();
        let len = x.shape()[axis.min(x.ndim().saturating_sub(1))];
        let indices = indices.to_vec();
        let y = x.index_select(axis, &indices);
        self.tape().record(y, &[self], move |dy, _| smallvec![Some(dy.index_add(axis, &indices, len))])
    }

    /// Joins values along an existing axis.
    ///
    /// # Panics
    /// If `vars` is empty or the shapes differ outside `axis`.
    #[track_caller]
    pub fn concat(vars: &[Var<'t>], axis: usize) -> Var<'t> {
        assert!(!vars.is_empty(), "concat: needs at least one value");
        let values: Vec<Tensor> = vars.iter().map(|v| v.value()).collect();
        let sizes: Vec<usize> = values.iter().map(|v| v.shape().get(axis).copied().unwrap_or(0)).collect();
        let y = Tensor::concat(&values, axis);
        vars[0].tape().record(y, vars, move |dy, _| {
            let mut start = 0;
            let grads: InputGrads = sizes
                .iter()
                .map(|&n| {
                    start += n;
                    Some(dy.slice_axis(axis, start - n, start).to_contiguous())
                })
                .collect();
            grads
        })
    }

    /// Inserts an axis of size 1 at `axis`.
    ///
    /// # Panics
    /// If `axis` is greater than the number of axes.
    #[track_caller]
    pub fn unsqueeze(self, axis: usize) -> Var<'t> {
        let mut shape = self.shape();
        assert!(axis <= shape.len(), "unsqueeze: axis {axis} out of range for shape {shape:?}");
        shape.insert(axis, 1);
        self.reshape(&shape)
    }

    /// Removes the axis `axis`, which must have size 1.
    ///
    /// # Panics
    /// If the axis does not exist or its size is not 1.
    #[track_caller]
    pub fn squeeze(self, axis: usize) -> Var<'t> {
        let mut shape = self.shape();
        assert!(axis < shape.len() && shape[axis] == 1, "squeeze: axis {axis} of shape {shape:?} is not of size 1");
        shape.remove(axis);
        self.reshape(&shape)
    }
}
