//! Attributions: which input values a model's output depends on (issue 17, interpretability).
//!
//! Every method here works on a built model with one input and one output, runs it in
//! inference mode (dropout off, moving statistics used) and gives one attribution per input
//! value, in a tensor of the input's shape:
//!
//! - [`saliency`]: the gradient of the chosen output with respect to the input;
//! - [`integrated_gradients`]: `(x - baseline)` times the mean gradient along the straight
//!   path from the baseline to `x` (midpoint rule), whose attributions of a row add up to
//!   `F(x) - F(baseline)` as the number of steps grows;
//! - [`occlusion`]: for images, how much the output drops when a sliding window of pixels is
//!   covered (no gradients: any model, even one with non-differentiable parts).
//!
//! The output explained is chosen by a [`Target`]: one output column for every row, or each
//! row's predicted (largest) output. A model's rows are independent, so one backward pass over
//! the sum of the chosen outputs of all rows gives every row's gradient at once.
//!
//! ```
//! use kensho::prelude::*;
//! use kensho::explain::{integrated_gradients, saliency, Target};
//! # fn main() -> kensho::Result<()> {
//! let mut model = Sequential::new().add(Input::new(&[3])).add(Dense::new(2));
//! model.build_model()?;
//! let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[1, 3])?;
//! // A linear model: the gradient of output 1 is the kernel's column 1 ...
//! let grad = saliency(&model, &x, Target::Class(1))?;
//! let kernel = model.layers()[1].params()[0].value.clone();
//! for i in 0..3 {
//!     assert!((grad.to_vec()[i] - kernel.to_vec()[i * 2 + 1]).abs() < 1e-6);
//! }
//! // ... and the integrated gradients from zeros add up to F(x) - F(0).
//! let ig = integrated_gradients(&model, &x, None, 16, Target::Class(1))?;
//! let change = model.predict(&x)?.to_vec()[1] - model.predict(&Tensor::zeros(&[1, 3]))?.to_vec()[1];
//! assert!((ig.to_vec().iter().sum::<f32>() - change).abs() < 1e-4);
//! # Ok(())
//! # }
//! ```

mod integrated;
mod occlusion;
mod saliency;

pub use integrated::integrated_gradients;
pub use occlusion::occlusion;
pub use saliency::saliency;

use crate::Model;
use kensho_core::{seeded_rng, Error, Result, Tensor};
use kensho_layers::Ctx;

/// Which output of each row an attribution explains.
///
/// Outputs are counted in each row's flattened output (for the usual `[batch, classes]`
/// output, the column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Output `k` of every row (for a classifier, class `k`).
    Class(usize),
    /// Each row's largest output at `x` (for a classifier, the predicted class).
    Predicted,
}

/// Checks that `model` is a built one-input, one-output model and `x` a batch of its input.
pub(crate) fn check_model_and_input(model: &Model, x: &Tensor, context: &str) -> Result<()> {
    let inputs = model.input_shapes().map_or(1, <[_]>::len);
    if inputs != 1 {
        return Err(Error::invalid(
            format!("{context}: number of model inputs"),
            inputs,
            "1: attributions are computed for one-input models",
        ));
    }
    if model.graph.outputs.len() != 1 {
        return Err(Error::invalid(
            format!("{context}: number of model outputs"),
            model.graph.outputs.len(),
            "1: attributions are computed for one-output models",
        ));
    }
    model.check_input(std::slice::from_ref(x), context)
}

/// The output index each row of `x` explains (an index into the row's flattened output).
pub(crate) fn resolve_target(model: &Model, x: &Tensor, target: Target, context: &str) -> Result<Vec<usize>> {
    let n = x.shape()[0];
    match target {
        Target::Class(k) => {
            // One row's output gives the number of outputs per row.
            let width = model.predict(&x.slice_axis(0, 0, 1))?.len();
            if k < width {
                Ok(vec![k; n])
            } else {
                Err(Error::invalid(
                    format!("{context}: target Class"),
                    k,
                    format!("an output index below {width}, the number of outputs per row"),
                ))
            }
        }
        Target::Predicted => {
            // Each row's largest output (the first on ties), over its flattened outputs.
            let y = model.predict(x)?;
            let width = y.len() / n;
            Ok(y.reshape_to(&[n, width]).argmax_indices(1))
        }
    }
}

/// The gradient, with respect to `x`, of output `targets[r]` of each row `r` (inference mode).
/// Inputs are assumed checked.
pub(crate) fn target_gradients(model: &Model, x: &Tensor, targets: &[usize]) -> Tensor {
    let tape = kensho_autograd::Tape::new();
    let cx = Ctx::new(&tape, false, seeded_rng(model.seed));
    let input = tape.leaf(x.clone());
    let output = model.forward(input, &cx);
    let y = output.value();
    let n = y.shape()[0];
    let width = y.len() / n.max(1);
    let mut mask = vec![0.0; y.len()];
    for (r, &k) in targets.iter().enumerate() {
        mask[r * width + k] = 1.0;
    }
    let mask = Tensor::from_vec(mask, y.shape()).expect("the mask has the output's shape");
    let chosen = output.mul(tape.constant(mask)).sum_all();
    let grads = tape.backward(chosen);
    // An output that does not depend on the input leaves no gradient: it is zero.
    grads.wrt(input).cloned().unwrap_or_else(|| x.zeros_like())
}
