//! The [`Tensor`] type: its representation, accessors and formatting.
//!
//! The kernels are grouped by family in the sibling files: `create` (constructors), `elementwise`
//! (unary maps, broadcasting binary ops, comparisons), `reduce` (sums, means, softmax),
//! `shape` (reshape, permute, broadcast, concat), `index` (slices and row gathers) and `matmul`.

mod create;
mod elementwise;
mod index;
mod matmul;
mod reduce;
mod shape;

use ndarray::{ArcArray, ArrayD, IxDyn};
use std::fmt;

pub use elementwise::broadcast_shape;

/// An n-dimensional array of `f32`, row-major, cheap to clone.
///
/// Cloning shares the buffer; writing through [`Tensor::as_array_mut`] copies it first if it is
/// shared (copy on write). Views such as [`Tensor::transpose`] share the buffer with new strides,
/// so they cost nothing; kernels accept such non-contiguous tensors.
#[derive(Clone, PartialEq)]
pub struct Tensor(ArcArray<f32, IxDyn>);

impl Tensor {
    /// Wraps an ndarray array.
    pub fn from_array(array: ArrayD<f32>) -> Tensor {
        Tensor(array.into_shared())
    }

    /// Wraps a shared ndarray array without copying.
    pub fn from_shared(array: ArcArray<f32, IxDyn>) -> Tensor {
        Tensor(array)
    }

    /// The underlying ndarray array (read-only).
    pub fn as_array(&self) -> &ArcArray<f32, IxDyn> {
        &self.0
    }

    /// The underlying ndarray array, made unique first if the buffer is shared.
    pub fn as_array_mut(&mut self) -> &mut ArcArray<f32, IxDyn> {
        &mut self.0
    }

    /// Consumes the tensor and returns its ndarray array.
    pub fn into_array(self) -> ArcArray<f32, IxDyn> {
        self.0
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

    /// The elements in row-major order, as a new `Vec`.
    pub fn to_vec(&self) -> Vec<f32> {
        match self.0.as_slice() {
            Some(s) => s.to_vec(),
            None => self.0.iter().copied().collect(),
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
