//! Cross-entropy losses: binary, categorical (one-hot or probability targets) and sparse
//! categorical (integer targets).
//!
//! With `from_logits` the model output is taken as logits; otherwise, when the model's last
//! layer ends in the matching activation (sigmoid or softmax), the loss uses the pre-activation
//! logits (as Keras does), so the fused kernels of `kensho-autograd` keep the result finite for
//! confident wrong predictions. Only raw probabilities from elsewhere are clipped to
//! `[1e-7, 1 - 1e-7]` before the logarithm.

use super::{check_same_size, mean_per_sample, Loss, LossConfig, Prediction, EPSILON};
use crate::Activation;
use kensho_autograd::Var;
use kensho_core::{Error, Result, Tensor};
use serde::{Deserialize, Serialize};

/// Binary cross-entropy, averaged over each sample's outputs (one or several independent labels).
///
/// ```
/// use kensho_layers::BinaryCrossentropy;
/// let loss = BinaryCrossentropy::from_logits();
/// assert!(loss.from_logits);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BinaryCrossentropy {
    /// Whether the model outputs logits rather than probabilities.
    pub from_logits: bool,
}

impl BinaryCrossentropy {
    /// Binary cross-entropy on probabilities (Keras' default).
    pub fn new() -> Self {
        Self::default()
    }
    /// Binary cross-entropy on logits.
    pub fn from_logits() -> Self {
        Self { from_logits: true }
    }
}

impl Loss for BinaryCrossentropy {
    fn name(&self) -> &'static str {
        "binary_crossentropy"
    }
    fn check(&self, output_shape: &[usize], y_true: &Tensor) -> Result<()> {
        check_same_size(self.name(), output_shape, y_true)?;
        if y_true.iter().any(|t| !(0.0..=1.0).contains(&t)) {
            return Err(Error::invalid("binary_crossentropy targets", "a value outside [0, 1]", "labels 0 or 1"));
        }
        Ok(())
    }
    fn per_sample<'t>(&self, prediction: &Prediction<'t>, y_true: &Tensor) -> Var<'t> {
        let logits = if self.from_logits { Some(prediction.output) } else { prediction.logits_of(Activation::Sigmoid) };
        let t = y_true.reshape_to(&prediction.output.shape());
        match logits {
            Some(z) => mean_per_sample(z.sigmoid_cross_entropy(&t)),
            None => {
                let p = prediction.output.clip(EPSILON, 1.0 - EPSILON);
                let tape = p.tape();
                let (t_var, one_minus_t) = (tape.constant(t.clone()), tape.constant(t.map(|v| 1.0 - v)));
                let one_minus_p = p.neg().add_scalar(1.0);
                mean_per_sample(t_var.mul(p.log()).add(one_minus_t.mul(one_minus_p.log())).neg())
            }
        }
    }
    fn config(&self) -> LossConfig {
        LossConfig::BinaryCrossentropy(*self)
    }
}

/// `-sum(t * log p)` over the classes, for one-hot (or probability) targets `[batch, classes]`.
///
/// ```
/// use kensho_layers::{CategoricalCrossentropy, Loss, Prediction};
/// use kensho_autograd::Tape;
/// use kensho_core::Tensor;
/// let tape = Tape::new();
/// let probs = tape.constant(Tensor::from_vec(vec![0.25, 0.75], &[1, 2])?);
/// let one_hot = Tensor::from_vec(vec![0.0, 1.0], &[1, 2])?;
/// let loss = CategoricalCrossentropy::new().per_sample(&Prediction::new(probs), &one_hot);
/// assert!((loss.value().item() - 0.75f32.ln().abs()).abs() < 1e-6);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CategoricalCrossentropy {
    /// Whether the model outputs logits rather than probabilities.
    pub from_logits: bool,
}

impl CategoricalCrossentropy {
    /// Categorical cross-entropy on probabilities (Keras' default).
    pub fn new() -> Self {
        Self::default()
    }
    /// Categorical cross-entropy on logits.
    pub fn from_logits() -> Self {
        Self { from_logits: true }
    }
}

impl Loss for CategoricalCrossentropy {
    fn name(&self) -> &'static str {
        "categorical_crossentropy"
    }
    fn check(&self, output_shape: &[usize], y_true: &Tensor) -> Result<()> {
        if output_shape.len() != 2 || y_true.shape() != output_shape {
            return Err(Error::shape(
                self.name(),
                format!(
                    "one-hot targets of shape {output_shape:?}; for integer labels use SparseCategoricalCrossentropy"
                ),
                y_true.shape(),
            ));
        }
        check_same_size(self.name(), output_shape, y_true)
    }
    fn per_sample<'t>(&self, prediction: &Prediction<'t>, y_true: &Tensor) -> Var<'t> {
        let logits = if self.from_logits { Some(prediction.output) } else { prediction.logits_of(Activation::Softmax) };
        match logits {
            Some(z) => z.softmax_cross_entropy(y_true),
            None => {
                let p = prediction.output;
                let p = p.div(p.sum_axes(&[1], true)).clip(EPSILON, 1.0 - EPSILON);
                p.tape().constant(y_true.clone()).mul(p.log()).sum_axes(&[1], false).neg()
            }
        }
    }
    fn config(&self) -> LossConfig {
        LossConfig::CategoricalCrossentropy(*self)
    }
}

/// Categorical cross-entropy for integer class labels `[batch]` (or `[batch, 1]`).
///
/// ```
/// use kensho_layers::{Loss, Prediction, SparseCategoricalCrossentropy};
/// use kensho_autograd::Tape;
/// use kensho_core::Tensor;
/// let tape = Tape::new();
/// let logits = tape.constant(Tensor::from_vec(vec![0.0, 0.0, 1000.0, 0.0], &[2, 2])?);
/// let labels = Tensor::from_vec(vec![1.0, 1.0], &[2])?;
/// let loss = SparseCategoricalCrossentropy::from_logits().per_sample(&Prediction::new(logits), &labels);
/// let v = loss.value().to_vec();
/// assert!((v[0] - std::f32::consts::LN_2).abs() < 1e-6 && (v[1] - 1000.0).abs() < 1e-3);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SparseCategoricalCrossentropy {
    /// Whether the model outputs logits rather than probabilities.
    pub from_logits: bool,
}

impl SparseCategoricalCrossentropy {
    /// Sparse categorical cross-entropy on probabilities (Keras' default).
    pub fn new() -> Self {
        Self::default()
    }
    /// Sparse categorical cross-entropy on logits.
    pub fn from_logits() -> Self {
        Self { from_logits: true }
    }
}

/// Integer labels from a `[batch]` or `[batch, 1]` tensor of whole numbers.
fn labels_of(y_true: &Tensor) -> Vec<usize> {
    y_true.iter().map(|v| v as usize).collect()
}

impl Loss for SparseCategoricalCrossentropy {
    fn name(&self) -> &'static str {
        "sparse_categorical_crossentropy"
    }
    fn check(&self, output_shape: &[usize], y_true: &Tensor) -> Result<()> {
        let (n, classes) = match output_shape {
            [n, c] => (*n, *c),
            _ => {
                return Err(Error::shape(
                    self.name(),
                    "a model output of shape [batch, classes]".to_string(),
                    output_shape,
                ))
            }
        };
        if y_true.len() != n || y_true.shape().first() != Some(&n) {
            return Err(Error::shape(
                self.name(),
                format!("integer labels of shape [{n}] or [{n}, 1]"),
                y_true.shape(),
            ));
        }
        if let Some(bad) = y_true.iter().find(|&v| !(v >= 0.0 && v < classes as f32 && v.fract() == 0.0)) {
            return Err(Error::invalid(
                "sparse_categorical_crossentropy label",
                bad,
                format!(
                    "whole numbers in [0, {classes}) for a model with {classes} outputs; \
                     check the last layer's units or re-encode the labels"
                ),
            ));
        }
        Ok(())
    }
    fn per_sample<'t>(&self, prediction: &Prediction<'t>, y_true: &Tensor) -> Var<'t> {
        let labels = labels_of(y_true);
        let logits = if self.from_logits { Some(prediction.output) } else { prediction.logits_of(Activation::Softmax) };
        match logits {
            Some(z) => z.sparse_softmax_cross_entropy(&labels),
            None => {
                let p = prediction.output;
                let shape = p.shape();
                let one_hot = Tensor::from_fn(&shape, |i| if labels[i[0]] == i[1] { 1.0 } else { 0.0 });
                let p = p.div(p.sum_axes(&[1], true)).clip(EPSILON, 1.0 - EPSILON);
                p.tape().constant(one_hot).mul(p.log()).sum_axes(&[1], false).neg()
            }
        }
    }
    fn config(&self) -> LossConfig {
        LossConfig::SparseCategoricalCrossentropy(*self)
    }
}
