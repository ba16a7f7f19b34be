//! Losses: the [`Loss`] trait, the [`Prediction`] a model hands to it, and [`LossConfig`], the
//! serializable description of any loss.
//!
//! A loss returns one value per sample; the model weights them (class and sample weights) and
//! averages over the batch, as Keras' `sum_over_batch_size` reduction does.

mod crossentropy;
mod regression;

pub use crossentropy::{BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy};
pub use regression::{Huber, MeanAbsoluteError, MeanSquaredError};

use crate::Activation;
use kensho_autograd::Var;
use kensho_core::{Error, Result, Tensor};
use serde::{Deserialize, Serialize};

/// Clipping bound for probabilities before a logarithm (Keras' `epsilon()`).
pub(crate) const EPSILON: f32 = 1e-7;

/// A model's output for a batch, with the pre-activation value of its last layer when that layer
/// ends in an activation, so cross-entropies can fuse softmax / sigmoid stably.
#[derive(Clone, Copy)]
pub struct Prediction<'t> {
    /// The model's output.
    pub output: Var<'t>,
    /// The last layer's value before its activation, and that activation.
    pub pre_activation: Option<(Var<'t>, Activation)>,
}

impl<'t> Prediction<'t> {
    /// A prediction with no known pre-activation.
    pub fn new(output: Var<'t>) -> Prediction<'t> {
        Prediction { output, pre_activation: None }
    }

    /// The logits if the output is `activation(logits)`.
    pub(crate) fn logits_of(&self, activation: Activation) -> Option<Var<'t>> {
        self.pre_activation.filter(|(_, a)| *a == activation).map(|(z, _)| z)
    }
}

/// A loss function: one value per sample.
pub trait Loss: Send + Sync {
    /// The Keras name, such as `sparse_categorical_crossentropy`.
    fn name(&self) -> &'static str;
    /// Checks the targets against the model's output shape (`[batch, ..]`): called once at the
    /// boundary (fit, evaluate) so that [`Loss::per_sample`] never meets bad data.
    fn check(&self, output_shape: &[usize], y_true: &Tensor) -> Result<()>;
    /// The loss of each sample, shape `[batch]`.
    fn per_sample<'t>(&self, prediction: &Prediction<'t>, y_true: &Tensor) -> Var<'t>;
    /// The serializable configuration.
    fn config(&self) -> LossConfig;
}

/// The configuration of any loss, tagged by its Keras class name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class_name", content = "config")]
#[non_exhaustive]
pub enum LossConfig {
    /// [`MeanSquaredError`].
    MeanSquaredError(MeanSquaredError),
    /// [`MeanAbsoluteError`].
    MeanAbsoluteError(MeanAbsoluteError),
    /// [`Huber`].
    Huber(Huber),
    /// [`BinaryCrossentropy`].
    BinaryCrossentropy(BinaryCrossentropy),
    /// [`CategoricalCrossentropy`].
    CategoricalCrossentropy(CategoricalCrossentropy),
    /// [`SparseCategoricalCrossentropy`].
    SparseCategoricalCrossentropy(SparseCategoricalCrossentropy),
}

impl LossConfig {
    /// The loss this configuration describes.
    pub fn to_loss(&self) -> Box<dyn Loss> {
        match self.clone() {
            LossConfig::MeanSquaredError(l) => Box::new(l),
            LossConfig::MeanAbsoluteError(l) => Box::new(l),
            LossConfig::Huber(l) => Box::new(l),
            LossConfig::BinaryCrossentropy(l) => Box::new(l),
            LossConfig::CategoricalCrossentropy(l) => Box::new(l),
            LossConfig::SparseCategoricalCrossentropy(l) => Box::new(l),
        }
    }
}

/// Checks that `y_true` holds one target of the output's per-sample size for each sample.
pub(crate) fn check_same_size(loss: &str, output_shape: &[usize], y_true: &Tensor) -> Result<()> {
    let n = output_shape.first().copied().unwrap_or(0);
    let per_sample: usize = output_shape.iter().skip(1).product();
    if y_true.shape().first() != Some(&n) || y_true.len() != n * per_sample {
        return Err(Error::shape(
            loss,
            format!("targets of shape {output_shape:?} (the model's output shape) or [{n}] for one output per sample"),
            y_true.shape(),
        ));
    }
    if !y_true.all_finite() {
        return Err(Error::invalid(format!("{loss} targets"), "a NaN or infinite value", "finite numbers"));
    }
    Ok(())
}

/// The mean over every axis but the first, giving one value per sample.
pub(crate) fn mean_per_sample(x: Var<'_>) -> Var<'_> {
    let shape = x.shape();
    let rest: usize = shape.iter().skip(1).product();
    x.reshape(&[shape[0], rest]).mean_axes(&[1], false)
}
