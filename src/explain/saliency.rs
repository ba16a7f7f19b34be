//! [`saliency`]: the gradient of a chosen output with respect to the input (vanilla gradients,
//! Simonyan et al., 2014).

use super::{check_model_and_input, resolve_target, target_gradients, Target};
use crate::Model;
use kensho_core::{Result, Tensor};

/// The gradient of each row's `target` output with respect to that row of `x`, in inference
/// mode: a tensor of `x`'s shape. Signed (take `abs()` for the usual saliency map).
///
/// # Errors
/// If the model is not built, does not have one input and one output, `x` does not have the
/// shape `[batch, input_shape..]` or holds non-finite values, or the target class is not an
/// output index.
///
/// ```
/// use kensho::prelude::*;
/// use kensho::explain::{saliency, Target};
/// # fn main() -> kensho::Result<()> {
/// let mut model = Sequential::new().add(Input::new(&[4])).add(Dense::new(3).activation(Activation::Softmax));
/// model.build_model()?;
/// let x = Tensor::ones(&[2, 4]);
/// let grad = saliency(&model, &x, Target::Predicted)?;
/// assert_eq!(grad.shape(), &[2, 4]);
/// # Ok(())
/// # }
/// ```
pub fn saliency(model: &Model, x: &Tensor, target: Target) -> Result<Tensor> {
    check_model_and_input(model, x, "saliency")?;
    let targets = resolve_target(model, x, target, "saliency")?;
    Ok(target_gradients(model, x, &targets))
}
