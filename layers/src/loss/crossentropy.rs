//! Cross-entropy losses: binary, categorical (one-hot or probability targets) and sparse
//! categorical (integer targets).
//!
//! With `from_logits` the model output is taken as logits; otherwise, when the output was made
//! by the matching activation (sigmoid, or softmax over the last axis), whatever layer applied
//! it, the loss takes the logits the tape recorded (as Keras does), so the fused kernels of
//! `kensho-autograd` keep the result finite for confident wrong predictions. Only raw
//! probabilities from elsewhere are clipped to `[1e-7, 1 - 1e-7]` before the logarithm.
//! Every cross-entropy works on the last axis of outputs of any rank (`[batch, time, vocab]`).

use super::{check_same_size, count, mean_last_axis, Loss, LossConfig, EPSILON};
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
    fn name(&self) -> &str {
        "binary_crossentropy"
    }
    fn check(&self, output_shape: &[usize], y_true: &Tensor) -> Result<()> {
        let n = output_shape.first().copied().unwrap_or(0);
        let per_sample: usize = output_shape.iter().skip(1).product();
        if per_sample > 1 && y_true.shape().first() == Some(&n) && y_true.len() == n {
            // One label per sample for a model with several outputs per sample: most often a
            // two-class softmax output given a binary loss.
            return Err(Error::invalid(
                "binary_crossentropy targets",
                format!(
                    "shape {:?}, one label per sample, for a model output of shape {output_shape:?} \
                     ({} per sample)",
                    y_true.shape(),
                    count(per_sample, "value")
                ),
                format!(
                    "one model output per label: binary_crossentropy scores each output as an independent \
                     yes/no probability. For one 0/1 label per sample, end the model with Dense(1) and a \
                     sigmoid activation; to keep the {per_sample} softmax outputs, use \
                     SparseCategoricalCrossentropy with the labels as class indices"
                ),
            ));
        }
        check_same_size(self.name(), output_shape, y_true)?;
        if y_true.iter().any(|t| !(0.0..=1.0).contains(&t)) {
            return Err(Error::invalid("binary_crossentropy targets", "a value outside [0, 1]", "labels 0 or 1"));
        }
        Ok(())
    }
    fn per_element<'t>(&self, y_pred: Var<'t>, y_true: &Tensor) -> Var<'t> {
        let logits = if self.from_logits { Some(y_pred) } else { y_pred.sigmoid_logits() };
        let t = y_true.reshape_to(&y_pred.shape());
        match logits {
            Some(z) => mean_last_axis(z.sigmoid_cross_entropy(&t)),
            None => {
                let p = y_pred.clip(EPSILON, 1.0 - EPSILON);
                let tape = p.tape();
                let (t_var, one_minus_t) = (tape.constant(t.clone()), tape.constant(t.map(|v| 1.0 - v)));
                let one_minus_p = p.neg().add_scalar(1.0);
                mean_last_axis(t_var.mul(p.log()).add(one_minus_t.mul(one_minus_p.log())).neg())
            }
        }
    }
    fn config(&self) -> LossConfig {
        LossConfig::BinaryCrossentropy(*self)
    }
}

/// `-sum(t * log p)` over the classes (the last axis), for one-hot (or probability) targets
/// shaped like the output (`[batch, classes]`, `[batch, time, classes]`, ...).
///
/// ```
/// use kensho_layers::{CategoricalCrossentropy, Loss};
/// use kensho_autograd::Tape;
/// use kensho_core::Tensor;
/// let tape = Tape::new();
/// let probs = tape.constant(Tensor::from_vec(vec![0.25, 0.75], &[1, 2])?);
/// let one_hot = Tensor::from_vec(vec![0.0, 1.0], &[1, 2])?;
/// let loss = CategoricalCrossentropy::new().per_element(probs, &one_hot);
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
    fn name(&self) -> &str {
        "categorical_crossentropy"
    }
    fn check(&self, output_shape: &[usize], y_true: &Tensor) -> Result<()> {
        if output_shape.len() < 2 || y_true.shape() != output_shape {
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
    fn per_element<'t>(&self, y_pred: Var<'t>, y_true: &Tensor) -> Var<'t> {
        let logits = if self.from_logits { Some(y_pred) } else { y_pred.softmax_logits() };
        match logits {
            Some(z) => z.softmax_cross_entropy(y_true),
            None => probability_cross_entropy(y_pred, y_true),
        }
    }
    fn config(&self) -> LossConfig {
        LossConfig::CategoricalCrossentropy(*self)
    }
}

/// Categorical cross-entropy for integer class labels: `[batch]` (or `[batch, 1]`) for an
/// output `[batch, classes]`, `[batch, time]` for `[batch, time, classes]`, and so on.
///
/// ```
/// use kensho_layers::{Loss, SparseCategoricalCrossentropy};
/// use kensho_autograd::Tape;
/// use kensho_core::Tensor;
/// let tape = Tape::new();
/// let logits = tape.constant(Tensor::from_vec(vec![0.0, 0.0, 1000.0, 0.0], &[2, 2])?);
/// let labels = Tensor::from_vec(vec![1.0, 1.0], &[2])?;
/// let loss = SparseCategoricalCrossentropy::from_logits().per_element(logits, &labels);
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

/// Integer labels from a tensor of whole numbers, in row-major order.
fn labels_of(y_true: &Tensor) -> Vec<usize> {
    y_true.iter().map(|v| v as usize).collect()
}

/// `-sum(t * log p)` over the last axis of probabilities `p` (normalised, then clipped).
fn probability_cross_entropy<'t>(p: Var<'t>, targets: &Tensor) -> Var<'t> {
    let last = p.shape().len() - 1;
    let p = p.div(p.sum_axes(&[last], true)).clip(EPSILON, 1.0 - EPSILON);
    p.tape().constant(targets.clone()).mul(p.log()).sum_axes(&[last], false).neg()
}

impl Loss for SparseCategoricalCrossentropy {
    fn name(&self) -> &str {
        "sparse_categorical_crossentropy"
    }
    fn check(&self, output_shape: &[usize], y_true: &Tensor) -> Result<()> {
        let Some((&classes, positions)) = output_shape.split_last().filter(|(_, p)| !p.is_empty()) else {
            return Err(Error::shape(
                self.name(),
                "a model output of shape [batch, classes] (or [batch, .., classes])".to_string(),
                output_shape,
            ));
        };
        let n = positions[0];
        if y_true.len() != positions.iter().product::<usize>() || y_true.shape().first() != Some(&n) {
            return Err(Error::shape(
                self.name(),
                format!("integer labels of shape {positions:?} (or with a trailing 1)"),
                y_true.shape(),
            ));
        }
        if let Some(bad) = y_true.iter().find(|&v| !(v >= 0.0 && v < classes as f32 && v.fract() == 0.0)) {
            return Err(Error::invalid(
                "sparse_categorical_crossentropy label",
                bad,
                if classes == 1 {
                    "whole numbers in [0, 1) for a model with 1 output: this loss needs one output per \
                     class (Dense(2) for labels 0 and 1), or keep the one output with a sigmoid and use \
                     BinaryCrossentropy"
                        .to_string()
                } else {
                    format!(
                        "whole numbers in [0, {classes}) for a model with {}; \
                         check the last layer's units or re-encode the labels",
                        count(classes, "output")
                    )
                },
            ));
        }
        Ok(())
    }
    fn per_element<'t>(&self, y_pred: Var<'t>, y_true: &Tensor) -> Var<'t> {
        let labels = labels_of(y_true);
        let logits = if self.from_logits { Some(y_pred) } else { y_pred.softmax_logits() };
        match logits {
            Some(z) => z.sparse_softmax_cross_entropy(&labels),
            None => {
                let shape = y_pred.shape();
                let classes = shape[shape.len() - 1];
                let mut one_hot = vec![0.0; labels.len() * classes];
                for (row, &label) in labels.iter().enumerate() {
                    one_hot[row * classes + label] = 1.0;
                }
                let one_hot = Tensor::from_vec(one_hot, &shape).expect("one label per position");
                probability_cross_entropy(y_pred, &one_hot)
            }
        }
    }
    fn config(&self) -> LossConfig {
        LossConfig::SparseCategoricalCrossentropy(*self)
    }
}
