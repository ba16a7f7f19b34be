//! Activation ops: relu, leaky relu, elu, sigmoid, tanh, gelu, silu, softplus, and softmax /
//! log-softmax along an axis.
//!
//! Kink conventions (pinned by named tests): relu's and leaky relu's gradient at exactly 0 is the
//! left slope (0 and `alpha`), as in PyTorch.

use crate::Var;
use kensho_core::Tensor;
use smallvec::smallvec;

impl<'t> Var<'t> {
    /// `max(x, 0)`. The gradient at exactly 0 is 0.
    pub fn relu(self) -> Var<'t> {
        self.unary(self.value().relu(), |dy, x, _| {
            dy.zip_with(x, "relu backward", |g, v| if v > 0.0 { g } else { 0.0 })
        })
    }

    /// `x` for `x > 0`, `alpha * x` otherwise. The gradient at exactly 0 is `alpha`.
    pub fn leaky_relu(self, alpha: f32) -> Var<'t> {
        self.unary(self.value().leaky_relu(alpha), move |dy, x, _| {
            dy.zip_with(x, "leaky_relu backward", |g, v| if v > 0.0 { g } else { alpha * g })
        })
    }

    /// `x` for `x > 0`, `alpha * (e^x - 1)` otherwise.
    pub fn elu(self, alpha: f32) -> Var<'t> {
        let y = self.value().elu(alpha);
        self.unary(y, move |dy, x, y| {
            let slope = x.zip_with(y, "elu backward", |v, out| if v > 0.0 { 1.0 } else { out + alpha });
            dy.mul(&slope)
        })
    }

    /// `1 / (1 + e^-x)`.
    pub fn sigmoid(self) -> Var<'t> {
        self.unary(self.value().sigmoid(), |dy, _, y| dy.zip_with(y, "sigmoid backward", |g, s| g * s * (1.0 - s)))
    }

    /// Hyperbolic tangent.
    pub fn tanh(self) -> Var<'t> {
        self.unary(self.value().tanh(), |dy, _, y| dy.zip_with(y, "tanh backward", |g, t| g * (1.0 - t * t)))
    }

    /// Gaussian error linear unit (exact, erf form).
    pub fn gelu(self) -> Var<'t> {
        self.unary(self.value().gelu(), |dy, x, _| dy.mul(&x.gelu_derivative()))
    }

    /// `x * sigmoid(x)` (swish).
    pub fn silu(self) -> Var<'t> {
        self.unary(self.value().silu(), |dy, x, _| {
            let slope = x.sigmoid().zip_with(x, "silu backward", |s, v| s * (1.0 + v * (1.0 - s)));
            dy.mul(&slope)
        })
    }

    /// `log(1 + e^x)`.
    pub fn softplus(self) -> Var<'t> {
        self.unary(self.value().softplus(), |dy, x, _| dy.mul(&x.sigmoid()))
    }

    /// Softmax along `axis`: `dx = y * (dy - sum(dy * y))`.
    ///
    /// # Panics
    /// If the axis is out of range.
    #[track_caller]
    pub fn softmax(self, axis: usize) -> Var<'t> {
        let y = self.value().softmax(axis);
        let y_kept = y.clone();
        self.tape().record(y, &[self], move |dy, _| {
            let dot = dy.mul(&y_kept).sum_axes(&[axis], true);
            smallvec![Some(y_kept.mul(&dy.sub(&dot)))]
        })
    }

    /// Log-softmax along `axis`: `dx = dy - softmax(x) * sum(dy)`.
    ///
    /// # Panics
    /// If the axis is out of range.
    #[track_caller]
    pub fn log_softmax(self, axis: usize) -> Var<'t> {
        let y = self.value().log_softmax(axis);
        let y_kept = y.clone();
        self.tape().record(y, &[self], move |dy, _| {
            let total = dy.sum_axes(&[axis], true);
            smallvec![Some(dy.sub(&y_kept.exp().mul(&total)))]
        })
    }

    /// Multiplies by a constant mask (used by dropout: the mask holds 0 or `1 / keep`).
    pub fn mul_mask(self, mask: Tensor) -> Var<'t> {
        let y = self.value().mul(&mask);
        self.unary(y, move |dy, _, _| dy.mul(&mask))
    }
}
