//! [`integrated_gradients`]: path-integrated gradients from a baseline to the input
//! (Sundararajan et al., 2017), by the midpoint rule, several path points per backward pass.

use super::{check_model_and_input, resolve_target, target_gradients, Target};
use crate::Model;
use kensho_core::{Error, Result, Tensor};

/// The most rows (path points times rows of `x`) run through the model in one pass.
const ROWS_PER_PASS: usize = 512;

/// Integrated gradients of each row's `target` output: `(x - baseline)` times the mean, over
/// `steps` points of the straight path from `baseline` to `x`, of the gradient with respect
/// to the input (inference mode). A tensor of `x`'s shape.
///
/// The mean is the midpoint rule: the gradients at `baseline + (j + 0.5) / steps * (x -
/// baseline)` for `j` in `0..steps` (so neither end point is evaluated). Completeness: the
/// attributions of a row add up to `F(x) - F(baseline)` for the target output `F`, the closer
/// the more steps (a few dozen to a few hundred for a small network; check it with
/// [`Model::predict`]). For a linear output it is exact for any `steps`.
///
/// `baseline` is zeros when `None`; otherwise any shape that broadcasts to `x`'s (one per-sample
/// baseline `[input_shape..]` for every row, or one per row). [`Target::Predicted`] is the
/// prediction at `x`, used at every path point. The points of several steps are batched into
/// one forward and backward pass of up to 512 rows.
///
/// # Errors
/// As [`saliency`](super::saliency), or if `steps` is 0 or `baseline` does not broadcast to
/// `x`'s shape or holds non-finite values.
///
/// ```
/// use kensho::prelude::*;
/// use kensho::explain::{integrated_gradients, Target};
/// # fn main() -> kensho::Result<()> {
/// let mut model = Sequential::new().add(Input::new(&[4])).add(Dense::new(3).activation(Activation::Softmax));
/// model.build_model()?;
/// let x = Tensor::ones(&[2, 4]);
/// let ig = integrated_gradients(&model, &x, None, 64, Target::Class(0))?;
/// assert_eq!(ig.shape(), &[2, 4]);
/// # Ok(())
/// # }
/// ```
pub fn integrated_gradients(
    model: &Model,
    x: &Tensor,
    baseline: Option<&Tensor>,
    steps: usize,
    target: Target,
) -> Result<Tensor> {
    const CONTEXT: &str = "integrated_gradients";
    check_model_and_input(model, x, CONTEXT)?;
    if steps == 0 {
        return Err(Error::invalid(format!("{CONTEXT}: steps"), 0, "a positive number of path points, such as 50"));
    }
    let baseline = match baseline {
        None => x.zeros_like(),
        Some(b) => b.try_broadcast_to(x.shape()).map_err(|_| {
            Error::shape(
                format!("{CONTEXT}: baseline"),
                format!("a shape that broadcasts to x's {:?}", x.shape()),
                b.shape(),
            )
        })?,
    };
    model.check_finite_inputs(std::slice::from_ref(&baseline), &format!("{CONTEXT}: baseline"), 0)?;
    let targets = resolve_target(model, x, target, CONTEXT)?;
    let n = x.shape()[0];
    let diff = x.sub(&baseline);
    let per_pass = (ROWS_PER_PASS / n).max(1);
    let mut total = x.zeros_like().to_contiguous();
    for first in (0..steps).step_by(per_pass) {
        let count = per_pass.min(steps - first);
        let points: Vec<Tensor> =
            (first..first + count).map(|j| baseline.add(&diff.mul_scalar((j as f32 + 0.5) / steps as f32))).collect();
        let points = Tensor::concat(&points, 0);
        let repeated: Vec<usize> = targets.iter().copied().cycle().take(count * n).collect();
        let grads = target_gradients(model, &points, &repeated);
        for j in 0..count {
            total.add_assign(&grads.slice_axis(0, j * n, (j + 1) * n));
        }
    }
    Ok(diff.mul(&total).mul_scalar(1.0 / steps as f32))
}
