//! [`GradientReducer`]: the seam between backward and the optimizer step where data-parallel
//! training combines the gradients of several processes (an all-reduce). A model without one
//! (single-process training) skips the seam entirely.
//!
//! Each train step calls [`GradientReducer::begin`] before backward, then (when the batch runs
//! as one piece) [`GradientReducer::gradient_ready`] as each gradient becomes final during
//! backward, so a reducer can start sending early, and [`GradientReducer::reduce`] once with all
//! the gradients after backward.

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
    /// A step starts: its gradients will be tensors of these numbers of elements, in
    /// parameter order. The default does nothing.
    ///
    /// # Errors
    /// If the reducer cannot take this step.
    fn begin(&mut self, _sizes: &[usize]) -> Result<()> {
        Ok(())
    }

    /// The gradient of parameter `index` (in the order of `begin`'s sizes) is final, while
    /// backward still runs. Not every gradient is reported: `reduce` gets them all. The default
    /// does nothing.
    ///
    /// # Errors
    /// If the reducer fails to start its work.
    fn gradient_ready(&mut self, _index: usize, _grad: &Tensor) -> Result<()> {
        Ok(())
    }

    /// Combines the gradients in place (for example, sums them across processes and divides
    /// by their number).
    ///
    /// # Errors
    /// If the combination fails (a lost peer); the step then fails and the model is unchanged.
    fn reduce(&mut self, grads: &mut [Tensor]) -> Result<()>;

    /// Whether this step's `reduce` sums each gradient on this process's share only, and if
    /// so `(rank, ranks)`: the model then updates only that share of each parameter (the
    /// elements [`shard_rows`](crate::parallel::shard_rows)`(len, rank, ranks)`, with
    /// `Optimizer::step_part`) and hands the parameters to
    /// [`GradientReducer::gather_shares`]. `allowed` says whether the step may be sharded (its
    /// optimizer updates elementwise, and it runs inside `fit`, which keeps the optimizer state
    /// whole at the end of each epoch). Called before `begin`. The default is `None`: whole
    /// gradients, whole steps.
    fn shard_step(&mut self, allowed: bool) -> Option<(usize, usize)> {
        let _ = allowed;
        None
    }

    /// After a sharded step: makes `tensors` whole on every process, each process holding the
    /// true values of its share of each (one tensor per trainable parameter, in the order of
    /// `begin`, shaped like it: the parameters, or a slot of the optimizer state). The default
    /// does nothing.
    ///
    /// # Errors
    /// If the exchange fails.
    fn gather_shares(&mut self, tensors: &mut [Tensor]) -> Result<()> {
        let _ = tensors;
        Ok(())
    }
}
