//! Shape kernels: reshape, transpose and permute (views), broadcast and its adjoint `sum_to`,
//! squeeze / unsqueeze, concat and stack.

use super::Tensor;
use crate::{Error, Result};
use ndarray::{Axis, IxDyn};

impl Tensor {
    /// The same elements with a new shape; one dimension may be `-1` and is then inferred.
    ///
    /// # Errors
    /// [`Error::Shape`] if the element count does not match, more than one `-1` is given, or a
    /// dimension is negative.
    ///
    /// ```
    /// let t = kensho_core::Tensor::arange(6);
    /// assert_eq!(t.reshape(&[-1, 3])?.shape(), &[2, 3]);
    /// assert!(t.reshape(&[4, -1]).is_err());
    /// # Ok::<(), kensho_core::Error>(())
    /// ```
    pub fn reshape(&self, dims: &[isize]) -> Result<Tensor> {
        let shape = Tensor::reshape_dims(self.len(), dims)
            .map_err(|why| Error::shape(format!("reshape to {dims:?}"), why, self.shape()))?;
        Ok(self.reshape_to(&shape))
    }

    /// The shape [`Tensor::reshape`] gives `len` elements for `dims` (one of which may be `-1`),
    /// worked out without a tensor; the error says what `dims` must be.
    ///
    /// ```
    /// use kensho_core::Tensor;
    /// assert_eq!(Tensor::reshape_dims(12, &[3, -1]), Ok(vec![3, 4]));
    /// assert!(Tensor::reshape_dims(12, &[5, -1]).is_err());
    /// ```
    pub fn reshape_dims(len: usize, dims: &[isize]) -> std::result::Result<Vec<usize>, String> {
        let inferred: Vec<usize> = dims.iter().enumerate().filter(|&(_, &d)| d == -1).map(|(i, _)| i).collect();
        if inferred.len() > 1 || dims.iter().any(|&d| d < -1) {
            return Err("at most one -1 and otherwise non-negative dimensions".to_string());
        }
        let mut shape: Vec<usize> = dims.iter().map(|&d| d.max(0) as usize).collect();
        let known = dims.iter().filter(|&&d| d >= 0).try_fold(1usize, |n, &d| n.checked_mul(d as usize));
        let Some(known) = known else {
            return Err(format!("dimensions whose product fits in memory, for {len} elements in total"));
        };
        if let Some(&i) = inferred.first() {
            if known == 0 || !len.is_multiple_of(known) {
                return Err(format!("a size that divides {len} elements"));
            }
            shape[i] = len / known;
        }
        if known != len && inferred.is_empty() {
            return Err(format!("{len} elements in total"));
        }
        Ok(shape)
    }

    /// The same elements with a new shape of the same size (no copy if contiguous).
    ///
    /// # Panics
    /// If the sizes differ. Use [`Tensor::reshape`] for user-given dimensions.
    #[track_caller]
    pub fn reshape_to(&self, shape: &[usize]) -> Tensor {
        assert_eq!(
            shape.iter().product::<usize>(),
            self.len(),
            "reshape_to: cannot view shape {:?} as {:?}",
            self.shape(),
            shape
        );
        let c = self.to_contiguous();
        Tensor(c.0.into_shape_with_order(IxDyn(shape)).expect("contiguous and same size"))
    }

    /// A view with the axes reordered: output axis `i` is input axis `axes[i]`. No copy.
    ///
    /// # Panics
    /// If `axes` is not a permutation of `0..ndim`.
    #[track_caller]
    pub fn permute(&self, axes: &[usize]) -> Tensor {
        let mut seen = vec![false; self.ndim()];
        let valid =
            axes.len() == self.ndim() && axes.iter().all(|&a| a < seen.len() && !std::mem::replace(&mut seen[a], true));
        assert!(valid, "permute: {axes:?} is not a permutation of the axes of shape {:?}", self.shape());
        Tensor(self.0.clone().permuted_axes(IxDyn(axes)))
    }

    /// A view with the last two axes swapped (the matrix transpose). No copy.
    ///
    /// # Panics
    /// If the tensor has fewer than two dimensions.
    #[track_caller]
    pub fn transpose(&self) -> Tensor {
        let n = self.ndim();
        assert!(n >= 2, "transpose: needs at least 2 dimensions, got shape {:?}", self.shape());
        let mut axes: Vec<usize> = (0..n).collect();
        axes.swap(n - 2, n - 1);
        self.permute(&axes)
    }

    /// The tensor repeated along new leading axes and axes of size 1 to reach `shape`.
    ///
    /// # Errors
    /// [`Error::Shape`] if `self` cannot be broadcast to `shape`.
    pub fn try_broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        match self.0.broadcast(IxDyn(shape)) {
            Some(view) => Ok(Tensor::from_array(view.to_owned())),
            None => Err(Error::shape("broadcast_to", format!("a shape broadcastable to {shape:?}"), self.shape())),
        }
    }

    /// The tensor repeated along new leading axes and axes of size 1 to reach `shape`.
    ///
    /// # Panics
    /// If `self` cannot be broadcast to `shape`.
    #[track_caller]
    pub fn broadcast_to(&self, shape: &[usize]) -> Tensor {
        self.try_broadcast_to(shape).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Sums over the axes that broadcasting to `self.shape()` from `shape` would have created:
    /// the adjoint of [`Tensor::broadcast_to`].
    ///
    /// # Panics
    /// If `shape` does not broadcast to `self.shape()`.
    #[track_caller]
    pub fn sum_to(&self, shape: &[usize]) -> Tensor {
        if self.shape() == shape {
            return self.clone();
        }
        let n = self.ndim();
        assert!(
            shape.len() <= n && crate::broadcast_shape(shape, self.shape()).as_deref() == Some(self.shape()),
            "sum_to: shape {shape:?} does not broadcast to {:?}",
            self.shape()
        );
        let lead = n - shape.len();
        let axes: Vec<usize> = (0..n).filter(|&i| i < lead || (shape[i - lead] == 1 && self.shape()[i] != 1)).collect();
        self.sum_axes(&axes, true).reshape_to(shape)
    }

    /// Removes the axis `axis`, which must have size 1.
    ///
    /// # Panics
    /// If the axis does not exist or its size is not 1.
    #[track_caller]
    pub fn squeeze(&self, axis: usize) -> Tensor {
        assert!(
            axis < self.ndim() && self.shape()[axis] == 1,
            "squeeze: axis {axis} of shape {:?} is not of size 1",
            self.shape()
        );
        Tensor(self.0.clone().remove_axis(Axis(axis)))
    }

    /// Inserts an axis of size 1 at position `axis`.
    ///
    /// # Panics
    /// If `axis > ndim`.
    #[track_caller]
    pub fn unsqueeze(&self, axis: usize) -> Tensor {
        assert!(axis <= self.ndim(), "unsqueeze: axis {axis} out of range for shape {:?}", self.shape());
        Tensor(self.0.clone().insert_axis(Axis(axis)))
    }

    /// Joins tensors along an existing axis.
    ///
    /// # Errors
    /// [`Error::Shape`] if the list is empty or the shapes differ outside `axis`.
    pub fn try_concat(tensors: &[Tensor], axis: usize) -> Result<Tensor> {
        let first = tensors.first().ok_or_else(|| Error::shape("concat", "at least one tensor", &[]))?;
        for t in tensors {
            let same_rank = t.ndim() == first.ndim() && axis < t.ndim();
            if !same_rank || (0..t.ndim()).any(|i| i != axis && t.shape()[i] != first.shape()[i]) {
                return Err(Error::shape(
                    format!("concat along axis {axis}"),
                    format!("shapes equal to {:?} except along axis {axis}", first.shape()),
                    t.shape(),
                ));
            }
        }
        let views: Vec<_> = tensors.iter().map(|t| t.0.view()).collect();
        Ok(Tensor::from_array(ndarray::concatenate(Axis(axis), &views).expect("shapes checked")))
    }

    /// Joins tensors along an existing axis.
    ///
    /// # Panics
    /// If the list is empty or the shapes differ outside `axis`.
    #[track_caller]
    pub fn concat(tensors: &[Tensor], axis: usize) -> Tensor {
        Tensor::try_concat(tensors, axis).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Joins tensors of equal shape along a new axis at position `axis`.
    ///
    /// # Panics
    /// If the list is empty or the shapes differ.
    #[track_caller]
    pub fn stack(tensors: &[Tensor], axis: usize) -> Tensor {
        let expanded: Vec<Tensor> = tensors.iter().map(|t| t.unsqueeze(axis)).collect();
        Tensor::concat(&expanded, axis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_infers_one_dimension_and_rejects_bad_sizes() {
        let t = Tensor::arange(12);
        assert_eq!(t.reshape(&[3, -1]).unwrap().shape(), &[3, 4]);
        assert!(t.reshape(&[-1, -1]).is_err());
        assert!(t.reshape(&[5, -1]).is_err());
        assert!(t.reshape(&[2, 2]).is_err());
        let tt = t.reshape(&[3, 4]).unwrap().transpose();
        assert_eq!(tt.reshape(&[-1]).unwrap().to_vec()[..4], [0., 4., 8., 1.]);
    }

    #[test]
    fn permute_transpose_and_squeeze() {
        let t = Tensor::arange(24).reshape_to(&[2, 3, 4]);
        let p = t.permute(&[2, 0, 1]);
        assert_eq!(p.shape(), &[4, 2, 3]);
        assert_eq!(p.to_vec()[..3], [0., 4., 8.]);
        assert_eq!(t.transpose().shape(), &[2, 4, 3]);
        assert_eq!(t.unsqueeze(1).shape(), &[2, 1, 3, 4]);
        assert_eq!(t.unsqueeze(1).squeeze(1), t);
    }

    #[test]
    fn broadcast_and_sum_to_are_adjoint_in_shape() {
        let b = Tensor::from_vec(vec![1., 2., 3.], &[3]).unwrap();
        let big = b.broadcast_to(&[2, 3]);
        assert_eq!(big.to_vec(), vec![1., 2., 3., 1., 2., 3.]);
        assert_eq!(big.sum_to(&[3]).to_vec(), vec![2., 4., 6.]);
        assert_eq!(big.sum_to(&[2, 1]).to_vec(), vec![6., 6.]);
        assert!(b.try_broadcast_to(&[2, 4]).is_err());
    }

    #[test]
    fn concat_and_stack() {
        let a = Tensor::ones(&[2, 2]);
        let b = Tensor::zeros(&[1, 2]);
        assert_eq!(Tensor::concat(&[a.clone(), b.clone()], 0).to_vec(), vec![1., 1., 1., 1., 0., 0.]);
        assert!(Tensor::try_concat(&[a.clone(), b], 1).is_err());
        assert_eq!(Tensor::stack(&[a.clone(), a], 0).shape(), &[2, 2, 2]);
    }
}
