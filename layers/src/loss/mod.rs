//! Losses: the [`Loss`] trait and [`LossConfig`], the serializable description of any loss
//! (built-in or registered with [`register_loss`]).
//!
//! A loss returns one value per output element with the last axis reduced; the model weights
//! them (mask, class and sample weights) and averages, as Keras' `sum_over_batch_size`
//! reduction does.

mod crossentropy;
mod distillation;
mod regression;

pub use crossentropy::{BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy};
pub use distillation::DistillationLoss;
pub use regression::{Huber, MeanAbsoluteError, MeanSquaredError};

use kensho_autograd::Var;
use kensho_core::registry::{RegisteredConfig, Registry};
use kensho_core::{Error, Result, Tensor};
use serde::Serialize;

/// Clipping bound for probabilities before a logarithm (Keras' `epsilon()`).
pub(crate) const EPSILON: f32 = 1e-7;

/// A loss function: one value per element of the output with its last axis reduced (`[batch]`
/// for an output `[batch, classes]`, `[batch, time]` for `[batch, time, classes]`), as Keras'
/// loss functions give before their reduction.
///
/// The model then multiplies the values by the output's mask and the sample weights and
/// divides their sum by the number of (unmasked) values, Keras' `sum_over_batch_size`.
///
/// Cross-entropies fuse with a softmax or sigmoid output by asking the tape for its logits
/// ([`Var::softmax_logits`], [`Var::sigmoid_logits`]), so they stay finite for confident wrong
/// predictions whatever layer made the output.
pub trait Loss: Send + Sync {
    /// The Keras name, such as `sparse_categorical_crossentropy`.
    fn name(&self) -> &str;
    /// Checks the targets against the model's output shape (`[batch, ..]`): called once at the
    /// boundary (fit, evaluate) so that [`Loss::per_element`] never meets bad data.
    ///
    /// # Errors
    /// If the targets do not fit the output (the message names the loss and both shapes).
    fn check(&self, output_shape: &[usize], y_true: &Tensor) -> Result<()>;
    /// The loss of each element, shape = the output's shape without its last axis.
    fn per_element<'t>(&self, y_pred: Var<'t>, y_true: &Tensor) -> Var<'t>;
    /// The serializable configuration.
    fn config(&self) -> LossConfig;
}

/// The configuration of any loss, tagged by its Keras class name.
#[derive(Clone, Debug, PartialEq, Serialize)]
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
    /// [`DistillationLoss`].
    DistillationLoss(DistillationLoss),
    /// A user-defined loss, rebuilt by the factory given to [`register_loss`].
    #[serde(untagged)]
    Registered(RegisteredConfig),
}

kensho_core::deserialize_by_class_name!(LossConfig {
    MeanSquaredError,
    MeanAbsoluteError,
    Huber,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    DistillationLoss,
});

/// User-defined losses, by class name.
static LOSSES: Registry<dyn Loss> = Registry::new("loss");

/// Registers a user-defined loss class, so that models compiled with it can be loaded:
/// `factory` rebuilds the loss from the JSON its [`Loss::config`] wrote with
/// [`LossConfig::registered`].
pub fn register_loss(
    class_name: &str,
    factory: impl Fn(&serde_json::Value) -> Result<Box<dyn Loss>> + Send + Sync + 'static,
) {
    LOSSES.register(class_name, factory);
}

impl LossConfig {
    /// The configuration of a user-defined loss of class `class_name` with settings `config`.
    ///
    /// # Panics
    /// If `config` cannot be represented as JSON (a map with non-string keys).
    pub fn registered(class_name: &str, config: &impl Serialize) -> LossConfig {
        let config = serde_json::to_value(config).expect("a loss config serializes to JSON");
        LossConfig::Registered(RegisteredConfig { class_name: class_name.to_string(), config })
    }

    /// The loss this configuration describes.
    ///
    /// # Errors
    /// For a user-defined class that is not registered, or whose factory rejects the settings.
    pub fn to_loss(&self) -> Result<Box<dyn Loss>> {
        Ok(match self.clone() {
            LossConfig::MeanSquaredError(l) => Box::new(l),
            LossConfig::MeanAbsoluteError(l) => Box::new(l),
            LossConfig::Huber(l) => Box::new(l),
            LossConfig::BinaryCrossentropy(l) => Box::new(l),
            LossConfig::CategoricalCrossentropy(l) => Box::new(l),
            LossConfig::SparseCategoricalCrossentropy(l) => Box::new(l),
            LossConfig::DistillationLoss(l) => Box::new(l),
            LossConfig::Registered(r) => return LOSSES.make(&r.class_name, &r.config),
        })
    }
}

/// Checks that `y_true` holds one target per output value (the output's shape, or `[n]` when
/// the output has one value per sample) and that every target is finite.
pub(crate) fn check_same_size(loss: &str, output_shape: &[usize], y_true: &Tensor) -> Result<()> {
    let n = output_shape.first().copied().unwrap_or(0);
    let per_sample: usize = output_shape.iter().skip(1).product();
    if y_true.shape().first() != Some(&n) || y_true.len() != n * per_sample {
        let expected = if per_sample == 1 {
            format!("targets of shape {output_shape:?} (the model's output shape) or [{n}]")
        } else {
            format!("targets of shape {output_shape:?} (the model's output shape: {per_sample} values per sample)")
        };
        return Err(Error::shape(loss, expected, y_true.shape()));
    }
    if !y_true.all_finite() {
        return Err(Error::invalid(format!("{loss} targets"), "a NaN or infinite value", "finite numbers"));
    }
    Ok(())
}

/// `1 output`, `2 outputs`: a count with its noun in the singular or the plural.
pub(crate) fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// The mean over the last axis (Keras' `mean(.., axis=-1)`), or the values themselves for a
/// rank-1 output.
pub(crate) fn mean_last_axis(x: Var<'_>) -> Var<'_> {
    match x.shape().len() {
        0 | 1 => x,
        rank => x.mean_axes(&[rank - 1], false),
    }
}
