//! Reduction ops: sum, mean, max, min over axes (with keepdims), whole-tensor sum and mean, and
//! variance as a composition.
//!
//! Max and min send the gradient to the elements equal to the extreme value, split evenly among
//! ties (as PyTorch's `amax`).

use crate::Var;
use kensho_core::Tensor;
use smallvec::smallvec;

/// The shape `x` has after reducing `axes` with keepdims.
fn kept_shape(x: &[usize], axes: &[usize]) -> Vec<usize> {
    x.iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect()
}

impl<'t> Var<'t> {
    /// Sum over `axes`; with `keepdims` the reduced axes stay as size 1.
    ///
    /// # Panics
    /// If an axis is out of range.
    #[track_caller]
    pub fn sum_axes(self, axes: &[usize], keepdims: bool) -> Var<'t> {
        let x = self.value();
        let (shape, kept) = (x.shape().to_vec(), kept_shape(x.shape(), axes));
        self.tape().record(x.sum_axes(axes, keepdims), &[self], move |dy, _| {
            smallvec![Some(dy.reshape_to(&kept).broadcast_to(&shape))]
        })
    }

    /// Mean over `axes`.
    ///
    /// # Panics
    /// If an axis is out of range.
    #[track_caller]
    pub fn mean_axes(self, axes: &[usize], keepdims: bool) -> Var<'t> {
        let shape = self.shape();
        let mut unique = axes.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let count: usize = unique.iter().map(|&a| shape.get(a).copied().unwrap_or(1)).product();
        self.sum_axes(axes, keepdims).mul_scalar(1.0 / count.max(1) as f32)
    }

    /// The sum of all elements, as a scalar (shape `[]`).
    pub fn sum_all(self) -> Var<'t> {
        let axes: Vec<usize> = (0..self.shape().len()).collect();
        self.sum_axes(&axes, false)
    }

    /// The mean of all elements, as a scalar (shape `[]`).
    pub fn mean_all(self) -> Var<'t> {
        let axes: Vec<usize> = (0..self.shape().len()).collect();
        self.mean_axes(&axes, false)
    }

    /// Records max or min: `y` is the result, `y_kept` the same with the reduced axes kept.
    fn extreme(self, axes: &[usize], y: Tensor, y_kept: Tensor) -> Var<'t> {
        let x = self.value();
        let kept = kept_shape(x.shape(), axes);
        let axes = axes.to_vec();
        self.tape().record(y, &[self], move |dy, _| {
            let mask = x.eq_mask(&y_kept);
            let ties = mask.sum_axes(&axes, true);
            smallvec![Some(mask.mul(&dy.reshape_to(&kept).div(&ties)))]
        })
    }

    /// Maximum over `axes`; ties share the gradient evenly.
    ///
    /// # Panics
    /// If an axis is out of range.
    #[track_caller]
    pub fn max_axes(self, axes: &[usize], keepdims: bool) -> Var<'t> {
        let x = self.value();
        self.extreme(axes, x.max_axes(axes, keepdims), x.max_axes(axes, true))
    }

    /// Minimum over `axes`; ties share the gradient evenly.
    ///
    /// # Panics
    /// If an axis is out of range.
    #[track_caller]
    pub fn min_axes(self, axes: &[usize], keepdims: bool) -> Var<'t> {
        let x = self.value();
        self.extreme(axes, x.min_axes(axes, keepdims), x.min_axes(axes, true))
    }

    /// Population variance over `axes`, as the composition `mean((x - mean(x))^2)`.
    ///
    /// # Panics
    /// If an axis is out of range.
    #[track_caller]
    pub fn var_axes(self, axes: &[usize], keepdims: bool) -> Var<'t> {
        let centered = self.sub(self.mean_axes(axes, true));
        centered.mul(centered).mean_axes(axes, keepdims)
    }
}
