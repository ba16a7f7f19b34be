//! The [`Tensor`] type: its representation, accessors and formatting.
//!
//! The kernels are grouped by family in the sibling files: `create` (constructors), `elementwise`
//! (unary maps, broadcasting binary ops, comparisons), `reduce` (sums, means, softmax),
//! `shape` (reshape, permute, broadcast, concat), `index` (slices and row gathers), `matmul`,
//! `pool` (max and average pooling) and `spatial` (padding, cropping, upsampling).

mod conv;
mod create;
mod elementwise;
mod finite;
pub(crate) mod heap;
mod index;
mod matmul;
mod operators;
mod pool;
mod recurrent;
mod reduce;
mod shape;
mod spatial;

use ndarray::{ArcArray, ArrayD, IxDyn};
use std::fmt;

pub use conv::{
    conv_output_len, conv_transpose_crop, conv_transpose_output_len, Conv1dOptions, Conv2dOptions, Padding,
};
pub use elementwise::broadcast_shape;
pub use pool::{MaxPoolArgmax, Pool1dOptions, Pool2dOptions};
pub use recurrent::{
    CellActivation, RecurrentArgs, RecurrentCell, RecurrentGrads, RecurrentNeeds, RecurrentSpec, RecurrentTrace,
};

/// An n-dimensional array of `f32`, row-major, cheap to clone.
///
/// Cloning shares the buffer; writing (for example through [`Tensor::as_mut_slice`] or
/// [`Tensor::add_assign`]) copies it first if it is shared (copy on write). Views such as
/// [`Tensor::transpose`] share the buffer with new strides, so they cost nothing; kernels accept
/// such non-contiguous tensors. The ndarray representation stays inside kensho-core: read the
/// values with [`Tensor::iter`], [`Tensor::as_slice`] or [`Tensor::get_flat`].
#[derive(Clone, PartialEq)]
pub struct Tensor(ArcArray<f32, IxDyn>);

impl Tensor {
    /// Wraps an ndarray array.
    pub fn from_array(array: ArrayD<f32>) -> Tensor {
        Tensor(array.into_shared())
    }

    /// The underlying ndarray array; writing through it copies the buffer first if it is shared.
    pub(crate) fn as_array_mut(&mut self) -> &mut ArcArray<f32, IxDyn> {
        &mut self.0
    }

    /// The dimensions, outermost first.
    pub fn shape(&self) -> &[usize] {
        self.0.shape()
    }

    /// The number of dimensions (0 for a scalar).
    pub fn ndim(&self) -> usize {
        self.0.ndim()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The elements as one slice in row-major order, if the tensor is contiguous.
    pub fn as_slice(&self) -> Option<&[f32]> {
        self.0.as_slice()
    }

    /// The elements as a mutable row-major slice (copying the buffer first if it is shared or
    /// not contiguous).
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        if !self.0.is_standard_layout() {
            *self = self.to_contiguous();
        }
        self.0.as_slice_mut().expect("standard layout after to_contiguous")
    }

    /// The elements by value in logical row-major order (the last axis fastest), whatever the
    /// memory layout.
    ///
    /// ```
    /// let x = kensho_core::Tensor::arange(4).reshape_to(&[2, 2]).transpose();
    /// assert_eq!(x.iter().collect::<Vec<f32>>(), vec![0.0, 2.0, 1.0, 3.0]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = f32> + '_ {
        self.0.iter().copied()
    }

    /// The multi-index of the element at position `index` in logical row-major order.
    #[track_caller]
    fn unravel(&self, op: &str, index: usize) -> IxDyn {
        assert!(index < self.len(), "{op}: flat index {index} out of bounds for shape {:?}", self.shape());
        let mut multi = vec![0; self.ndim()];
        let mut rest = index;
        for (d, &n) in self.shape().iter().enumerate().rev() {
            multi[d] = rest % n;
            rest /= n;
        }
        IxDyn(&multi)
    }

    /// The element at position `index` in logical row-major order (as in [`Tensor::iter`]).
    ///
    /// # Panics
    /// If `index >= self.len()`.
    #[track_caller]
    pub fn get_flat(&self, index: usize) -> f32 {
        self.0[self.unravel("get_flat", index)]
    }

    /// Sets the element at position `index` in logical row-major order (copying the buffer first
    /// if it is shared).
    ///
    /// # Panics
    /// If `index >= self.len()`.
    #[track_caller]
    pub fn set_flat(&mut self, index: usize, value: f32) {
        let at = self.unravel("set_flat", index);
        self.0[at] = value;
    }

    /// Adds `delta` to the element at position `index` in logical row-major order (copying the
    /// buffer first if it is shared); the nudge of a finite-difference check.
    ///
    /// ```
    /// let mut x = kensho_core::Tensor::zeros(&[2, 2]);
    /// x.add_at(3, 0.5);
    /// assert_eq!(x.to_vec(), vec![0.0, 0.0, 0.0, 0.5]);
    /// ```
    ///
    /// # Panics
    /// If `index >= self.len()`.
    #[track_caller]
    pub fn add_at(&mut self, index: usize, delta: f32) {
        let at = self.unravel("add_at", index);
        self.0[at] += delta;
    }

    /// The elements in row-major order, as a new `Vec`.
    pub fn to_vec(&self) -> Vec<f32> {
        match self.0.as_slice() {
            Some(s) => s.to_vec(),
            None => self.0.iter().copied().collect(),
        }
    }

    /// The elements in row-major order, as a `Vec`: the tensor's own buffer, without a copy,
    /// when the tensor is contiguous and the only holder of its whole buffer; a copy otherwise.
    ///
    /// ```
    /// use kensho_core::Tensor;
    /// let t = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3])?;
    /// let pointer = t.as_slice().unwrap().as_ptr();
    /// let values = t.into_vec();
    /// assert_eq!((values.as_ptr(), values), (pointer, vec![1.0, 2.0, 3.0]));
    /// # Ok::<(), kensho_core::Error>(())
    /// ```
    pub fn into_vec(self) -> Vec<f32> {
        if !self.0.is_standard_layout() {
            return self.to_vec();
        }
        let len = self.len();
        match self.0.into_owned().into_raw_vec_and_offset() {
            (values, Some(0) | None) if values.len() == len => values,
            (values, offset) => {
                let start = offset.unwrap_or(0);
                values[start..start + len].to_vec()
            }
        }
    }

    /// Whether the elements are laid out contiguously in row-major order.
    pub fn is_contiguous(&self) -> bool {
        self.0.is_standard_layout()
    }

    /// The same values in a contiguous row-major buffer (a cheap clone if already contiguous).
    pub fn to_contiguous(&self) -> Tensor {
        if self.0.is_standard_layout() {
            self.clone()
        } else {
            Tensor(self.0.as_standard_layout().into_owned().into_shared())
        }
    }

    /// The single value of a tensor with exactly one element.
    ///
    /// # Panics
    /// If the tensor does not have exactly one element.
    #[track_caller]
    pub fn item(&self) -> f32 {
        assert_eq!(self.len(), 1, "item: expected a tensor with one element, got shape {:?}", self.shape());
        *self.0.iter().next().expect("one element")
    }

    /// Whether every element is finite (no NaN, no infinity).
    pub fn all_finite(&self) -> bool {
        self.0.iter().all(|v| v.is_finite())
    }

    /// Whether `self` and `other` have the same shape and every pair of elements differs by at
    /// most `atol + rtol * |other|`.
    pub fn allclose(&self, other: &Tensor, rtol: f32, atol: f32) -> bool {
        self.shape() == other.shape()
            && self.0.iter().zip(other.0.iter()).all(|(a, b)| (a - b).abs() <= atol + rtol * b.abs())
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor(shape={:?}, {:?})", self.shape(), self.0)
    }
}

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_accessors_follow_logical_row_major_order() {
        let x = Tensor::arange(6).reshape_to(&[2, 3]);
        let xt = x.transpose();
        assert!(!xt.is_contiguous());
        assert_eq!(xt.iter().collect::<Vec<_>>(), xt.to_vec());
        assert_eq!((0..6).map(|i| xt.get_flat(i)).collect::<Vec<_>>(), vec![0., 3., 1., 4., 2., 5.]);
        assert_eq!(Tensor::scalar(7.0).get_flat(0), 7.0);
    }

    #[test]
    fn writes_copy_a_shared_buffer_first() {
        let x = Tensor::arange(6).reshape_to(&[2, 3]);
        let mut y = x.transpose();
        y.add_at(1, 0.5);
        y.set_flat(4, -1.0);
        assert_eq!(y.to_vec(), vec![0., 3.5, 1., 4., -1., 5.]);
        assert_eq!(x.to_vec(), vec![0., 1., 2., 3., 4., 5.]);
    }

    #[test]
    fn flat_index_out_of_bounds_names_the_op_and_shape() {
        let p = std::panic::catch_unwind(|| Tensor::zeros(&[2, 2]).get_flat(4)).unwrap_err();
        let msg = p.downcast_ref::<String>().unwrap();
        assert!(msg.contains("get_flat") && msg.contains("[2, 2]"), "{msg}");
    }
}
