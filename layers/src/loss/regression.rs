//! Regression losses: mean squared error, mean absolute error and Huber.

use super::{check_same_size, mean_last_axis, Loss, LossConfig};
use kensho_autograd::Var;
use kensho_core::{Result, Tensor};
use serde::{Deserialize, Serialize};

/// `y_pred - y_true`, the targets shaped like the output.
fn error<'t>(y_pred: Var<'t>, y_true: &Tensor) -> Var<'t> {
    y_pred.sub(y_pred.tape().constant(y_true.reshape_to(&y_pred.shape())))
}

/// Mean of `(y_pred - y_true)^2` over the last axis.
///
/// ```
/// use kensho_layers::{Loss, MeanSquaredError};
/// use kensho_autograd::Tape;
/// use kensho_core::Tensor;
/// let tape = Tape::new();
/// let pred = tape.constant(Tensor::from_vec(vec![1.0, 2.0], &[2, 1])?);
/// let loss = MeanSquaredError.per_element(pred, &Tensor::from_vec(vec![0.0, 4.0], &[2])?);
/// assert_eq!(loss.value().to_vec(), vec![1.0, 4.0]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MeanSquaredError;

impl Loss for MeanSquaredError {
    fn name(&self) -> &str {
        "mean_squared_error"
    }
    fn check(&self, output_shape: &[usize], y_true: &Tensor) -> Result<()> {
        check_same_size(self.name(), output_shape, y_true)
    }
    fn per_element<'t>(&self, y_pred: Var<'t>, y_true: &Tensor) -> Var<'t> {
        let diff = error(y_pred, y_true);
        mean_last_axis(diff.mul(diff))
    }
    fn config(&self) -> LossConfig {
        LossConfig::MeanSquaredError(*self)
    }
}

/// Mean of `|y_pred - y_true|` over the last axis.
///
/// ```
/// use kensho_layers::{Loss, MeanAbsoluteError};
/// use kensho_autograd::Tape;
/// use kensho_core::Tensor;
/// let tape = Tape::new();
/// let pred = tape.constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 5.0], &[2, 2])?);
/// let loss = MeanAbsoluteError.per_element(pred, &Tensor::from_vec(vec![0.0, 2.0, 3.0, 1.0], &[2, 2])?);
/// assert_eq!(loss.value().to_vec(), vec![0.5, 2.0]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MeanAbsoluteError;

impl Loss for MeanAbsoluteError {
    fn name(&self) -> &str {
        "mean_absolute_error"
    }
    fn check(&self, output_shape: &[usize], y_true: &Tensor) -> Result<()> {
        check_same_size(self.name(), output_shape, y_true)
    }
    fn per_element<'t>(&self, y_pred: Var<'t>, y_true: &Tensor) -> Var<'t> {
        mean_last_axis(error(y_pred, y_true).abs())
    }
    fn config(&self) -> LossConfig {
        LossConfig::MeanAbsoluteError(*self)
    }
}

/// Huber loss: `0.5 e^2` where `|e| <= delta`, `delta (|e| - 0.5 delta)` beyond (Keras' default
/// `delta` is 1).
///
/// ```
/// use kensho_layers::{Huber, Loss};
/// use kensho_autograd::Tape;
/// use kensho_core::Tensor;
/// let tape = Tape::new();
/// let pred = tape.constant(Tensor::from_vec(vec![0.5, 3.0], &[2, 1])?);
/// let loss = Huber::default().per_element(pred, &Tensor::zeros(&[2]));
/// assert_eq!(loss.value().to_vec(), vec![0.125, 2.5]); // 0.5 * 0.5², then 1 * (3 - 0.5)
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Huber {
    /// Where the loss turns from quadratic to linear.
    pub delta: f32,
}

impl Default for Huber {
    fn default() -> Self {
        Huber { delta: 1.0 }
    }
}

impl Huber {
    /// Huber loss with the given `delta`.
    pub fn new(delta: f32) -> Huber {
        Huber { delta }
    }
}

impl Loss for Huber {
    fn name(&self) -> &str {
        "huber"
    }
    fn check(&self, output_shape: &[usize], y_true: &Tensor) -> Result<()> {
        check_same_size(self.name(), output_shape, y_true)
    }
    fn per_element<'t>(&self, y_pred: Var<'t>, y_true: &Tensor) -> Var<'t> {
        // With a = |e| and q = min(a, delta): 0.5 q^2 + delta (a - q) equals both branches.
        let abs = error(y_pred, y_true).abs();
        let quadratic = abs.clip(0.0, self.delta);
        let linear = abs.sub(quadratic);
        mean_last_axis(quadratic.mul(quadratic).mul_scalar(0.5).add(linear.mul_scalar(self.delta)))
    }
    fn config(&self) -> LossConfig {
        LossConfig::Huber(*self)
    }
}
