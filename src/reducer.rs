//! [`GradientReducer`]: the seam between backward and the optimizer step where data-parallel
//! training combines the gradients of several processes (an all-reduce). A model without one
//! (single-process training) skips the seam entirely.

use kensho_core::{Result, Tensor};

/// Sees every train step's gradients after backward and before the optimizer update.
///
/// The gradients come as one tensor per trainable parameter, in the order of
/// [`Model::params`](crate::Model::params) (frozen parameters left out), with zeros for a
/// parameter that got no gradient, so every process lays them out the same way.
///
/// ```
/// use kensho::prelude::*;
/// use kensho::GradientReducer;
///
/// /// Averages with an imaginary second process whose gradients are all zero.
/// struct HalveGradients;
/// impl GradientReducer for HalveGradients {
///     fn reduce(&mut self, grads: &mut [Tensor]) -> kensho::Result<()> {
///         for g in grads.iter_mut() {
///             *g = g.mul_scalar(0.5);
///         }
///         Ok(())
///     }
/// }
///
/// let mut model = Sequential::new().add(Input::new(&[2])).add(Dense::new(1));
/// model.compile(Sgd::new(0.1), losses::MeanSquaredError, vec![])?;
/// model.set_gradient_reducer(HalveGradients);
/// model.train_step(&Tensor::ones(&[4, 2]), &Tensor::zeros(&[4, 1]), None, 0)?;
/// # Ok::<(), kensho::Error>(())
/// ```
pub trait GradientReducer: Send + Sync {
    /// Combines the gradients in place (for example, sums them across processes and divides
    /// by their number).
    ///
    /// # Errors
    /// If the combination fails (a lost peer); the step then fails and the model is unchanged.
    fn reduce(&mut self, grads: &mut [Tensor]) -> Result<()>;
}
