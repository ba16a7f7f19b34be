//! Activation ops: relu, leaky relu, elu, sigmoid, tanh, gelu, silu, softplus, and softmax /
//! log-softmax along an axis.
//!
//! Softmax (over the last axis) and sigmoid remember their input on the tape, so a loss can
//! find the logits behind a model's output and use a fused, stable kernel
//! ([`Var::softmax_logits`], [`Var::sigmoid_logits`]).
//!
//! Kink conventions (pinned by named tests): relu's and leaky relu's gradient at exactly 0 is the
//! left slope (0 and `alpha`), as in PyTorch.
//!
//! NaN (pinned by `activations_propagate_nan` in the tests): every activation maps a NaN input
//! to NaN, as PyTorch does. The gradient at a NaN input follows PyTorch's backward formulas:
//! relu and elu pass `dy` through (PyTorch's `x <= 0 ? 0 : dy`, false for NaN), leaky relu
//! gives `alpha * dy` (`x > 0 ? dy : alpha * dy`), and the smooth activations give NaN.

use crate::tape::Origin;
use crate::Var;
use kensho_core::Tensor;
use smallvec::smallvec;

impl<'t> Var<'t> {
    /// `max(x, 0)`, NaN kept. The gradient is 0 where `x <= 0` (so 0 at exactly 0) and `dy`
    /// elsewhere, NaN inputs included (PyTorch's `threshold_backward`).
    pub fn relu(self) -> Var<'t> {
        self.unary(self.value().relu(), |dy, x, _| {
            dy.zip_with(x, "relu backward", |g, v| if v <= 0.0 { 0.0 } else { g })
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
            let slope = x.zip_with(y, "elu backward", |v, out| if v <= 0.0 { out + alpha } else { 1.0 });
            dy.mul(&slope)
        })
    }

    /// `1 / (1 + e^-x)`. The result remembers `x` (on every tape), see [`Var::sigmoid_logits`].
    pub fn sigmoid(self) -> Var<'t> {
        self.unary(self.value().sigmoid(), |dy, _, y| dy.zip_with(y, "sigmoid backward", |g, s| g * s * (1.0 - s)))
            .with_origin(Origin::Sigmoid(self.id()))
    }

    /// Hyperbolic tangent.
    pub fn tanh(self) -> Var<'t> {
        self.unary(self.value().tanh(), |dy, _, y| dy.zip_with(y, "tanh backward", |g, t| g * (1.0 - t * t)))
    }

    /// Gaussian error linear unit (exact, erf form).
    pub fn gelu(self) -> Var<'t> {
        self.unary(self.value().gelu(), |dy, x, _| x.gelu_grad(dy))
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

    /// Softmax along `axis`: `dx = y * (dy - sum(dy * y))`. Over the last axis the result
    /// remembers `self` (on every tape), see [`Var::softmax_logits`].
    ///
    /// # Panics
    /// If the axis is out of range.
    #[track_caller]
    pub fn softmax(self, axis: usize) -> Var<'t> {
        let x = self.value();
        let last = axis + 1 == x.ndim();
        let y = x.softmax(axis);
        let y_kept = y.clone();
        let out = self.tape().record(y, &[self], move |dy, _| {
            let dot = dy.mul(&y_kept).sum_axes(&[axis], true);
            smallvec![Some(y_kept.mul(&dy.sub(&dot)))]
        });
        if last {
            out.with_origin(Origin::Softmax(self.id()))
        } else {
            out
        }
    }

    /// The logits this value is the softmax of, if it was made by [`Var::softmax`] over the last
    /// axis; a loss uses them to fuse with the softmax (see
    /// [`Var::sparse_softmax_cross_entropy`]) whichever layer applied it. Recorded on gradient
    /// and no-grad tapes alike.
    ///
    /// ```
    /// use kensho_autograd::Tape;
    /// use kensho_core::Tensor;
    /// let tape = Tape::no_grad();
    /// let z = tape.constant(Tensor::from_vec(vec![1.0, 2.0, 3.0], &[1, 3])?);
    /// assert_eq!(z.softmax(1).softmax_logits().map(|v| v.id()), Some(z.id()));
    /// assert!(z.softmax(0).softmax_logits().is_none());
    /// assert!(z.sigmoid().softmax_logits().is_none());
    /// # Ok::<(), kensho_core::Error>(())
    /// ```
    ///
    /// # Panics
    /// If [`Tape::backward`](crate::Tape::backward) has consumed the tape.
    #[track_caller]
    pub fn softmax_logits(self) -> Option<Var<'t>> {
        match self.origin()? {
            Origin::Softmax(id) => Some(self.sibling(id)),
            Origin::Sigmoid(_) => None,
        }
    }

    /// The logits this value is the sigmoid of, if it was made by [`Var::sigmoid`]; a loss uses
    /// them to fuse with the sigmoid (see [`Var::sigmoid_cross_entropy`]). Recorded on gradient
    /// and no-grad tapes alike.
    ///
    /// # Panics
    /// If [`Tape::backward`](crate::Tape::backward) has consumed the tape.
    #[track_caller]
    pub fn sigmoid_logits(self) -> Option<Var<'t>> {
        match self.origin()? {
            Origin::Sigmoid(id) => Some(self.sibling(id)),
            Origin::Softmax(_) => None,
        }
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
