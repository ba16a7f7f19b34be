//! Arithmetic ops: broadcasting binary ops (add, sub, mul, div, maximum, minimum) and the
//! elementwise math functions (neg, exp, log, sqrt, powf, abs, clip, scalar add and multiply).
//!
//! Broadcasting is handled in one place, [`Var::binary`]: the forward broadcasts by NumPy's
//! rules and the backward sums each operand's gradient back to the operand's shape, so the
//! individual rules below only ever see full-shape tensors.

use crate::{InputGrads, Var};
use kensho_core::Tensor;
use smallvec::smallvec;

/// The arithmetic methods share their names with `std::ops` so they chain as `a.add(b).mul(c)`;
/// the operator traits are implemented below as well.
#[allow(clippy::should_implement_trait)]
impl<'t> Var<'t> {
    /// Records a unary elementwise op with value `y` and local rule `dx = rule(dy, x, y)`.
    pub(crate) fn unary(self, y: Tensor, rule: impl Fn(&Tensor, &Tensor, &Tensor) -> Tensor + 'static) -> Var<'t> {
        let (x, y_kept) = (self.value(), y.clone());
        self.tape().record(y, &[self], move |dy, _| smallvec![Some(rule(dy, &x, &y_kept))])
    }

    /// Records a broadcasting binary op. `rule(dy, a, b, y)` returns the full-shape gradients of
    /// both operands; they are then summed back to each operand's own shape.
    ///
    /// # Panics
    /// If the shapes cannot be broadcast together (the message names the op and both shapes).
    #[track_caller]
    fn binary(
        self,
        rhs: Var<'t>,
        forward: impl Fn(&Tensor, &Tensor) -> kensho_core::Result<Tensor>,
        rule: impl Fn(&Tensor, &Tensor, &Tensor, &Tensor, &[bool]) -> [Option<Tensor>; 2] + 'static,
    ) -> Var<'t> {
        let (a, b) = (self.value(), rhs.value());
        let y = forward(&a, &b).unwrap_or_else(|e| panic!("{e}"));
        let y_kept = y.clone();
        self.tape().record(y, &[self, rhs], move |dy, needs| {
            let [ga, gb] = rule(dy, &a, &b, &y_kept, needs);
            let g: InputGrads = smallvec![ga.map(|g| g.sum_to(a.shape())), gb.map(|g| g.sum_to(b.shape()))];
            g
        })
    }

    /// Elementwise sum with NumPy broadcasting.
    ///
    /// # Panics
    /// If the shapes cannot be broadcast together.
    #[track_caller]
    pub fn add(self, rhs: Var<'t>) -> Var<'t> {
        self.binary(rhs, Tensor::try_add, |dy, _, _, _, _| [Some(dy.clone()), Some(dy.clone())])
    }

    /// Elementwise difference with NumPy broadcasting.
    ///
    /// # Panics
    /// If the shapes cannot be broadcast together.
    #[track_caller]
    pub fn sub(self, rhs: Var<'t>) -> Var<'t> {
        self.binary(rhs, Tensor::try_sub, |dy, _, _, _, n| [Some(dy.clone()), n[1].then(|| dy.neg())])
    }

    /// Elementwise product with NumPy broadcasting.
    ///
    /// # Panics
    /// If the shapes cannot be broadcast together.
    #[track_caller]
    pub fn mul(self, rhs: Var<'t>) -> Var<'t> {
        self.binary(rhs, Tensor::try_mul, |dy, a, b, _, n| [n[0].then(|| dy.mul(b)), n[1].then(|| dy.mul(a))])
    }

    /// Elementwise quotient with NumPy broadcasting.
    ///
    /// # Panics
    /// If the shapes cannot be broadcast together.
    #[track_caller]
    pub fn div(self, rhs: Var<'t>) -> Var<'t> {
        self.binary(rhs, Tensor::try_div, |dy, _, b, y, n| {
            [n[0].then(|| dy.div(b)), n[1].then(|| dy.mul(y).div(b).neg())]
        })
    }

    /// Elementwise maximum; where the operands are equal the gradient goes to `self`.
    ///
    /// # Panics
    /// If the shapes cannot be broadcast together.
    #[track_caller]
    pub fn maximum(self, rhs: Var<'t>) -> Var<'t> {
        self.binary(rhs, Tensor::try_maximum, |dy, a, b, _, _| {
            let mask = a.ge(b);
            [Some(dy.mul(&mask)), Some(dy.mul(&mask.map(|m| 1.0 - m)))]
        })
    }

    /// Elementwise minimum; where the operands are equal the gradient goes to `self`.
    ///
    /// # Panics
    /// If the shapes cannot be broadcast together.
    #[track_caller]
    pub fn minimum(self, rhs: Var<'t>) -> Var<'t> {
        self.binary(rhs, Tensor::try_minimum, |dy, a, b, _, _| {
            let mask = a.le(b);
            [Some(dy.mul(&mask)), Some(dy.mul(&mask.map(|m| 1.0 - m)))]
        })
    }

    /// `-x`.
    pub fn neg(self) -> Var<'t> {
        self.unary(self.value().neg(), |dy, _, _| dy.neg())
    }

    /// `x + s` for a constant `s`.
    pub fn add_scalar(self, s: f32) -> Var<'t> {
        self.unary(self.value().add_scalar(s), |dy, _, _| dy.clone())
    }

    /// `x * s` for a constant `s`.
    pub fn mul_scalar(self, s: f32) -> Var<'t> {
        self.unary(self.value().mul_scalar(s), move |dy, _, _| dy.mul_scalar(s))
    }

    /// `e^x`.
    pub fn exp(self) -> Var<'t> {
        self.unary(self.value().exp(), |dy, _, y| dy.mul(y))
    }

    /// Natural logarithm.
    pub fn log(self) -> Var<'t> {
        self.unary(self.value().log(), |dy, x, _| dy.div(x))
    }

    /// Square root.
    pub fn sqrt(self) -> Var<'t> {
        self.unary(self.value().sqrt(), |dy, _, y| dy.zip_with(y, "sqrt backward", |g, s| 0.5 * g / s))
    }

    /// `x^p` for a constant exponent.
    pub fn powf(self, p: f32) -> Var<'t> {
        self.unary(self.value().powf(p), move |dy, x, _| {
            dy.zip_with(x, "powf backward", |g, v| g * p * v.powf(p - 1.0))
        })
    }

    /// `|x|`; the gradient at exactly 0 is 0.
    pub fn abs(self) -> Var<'t> {
        self.unary(self.value().abs(), |dy, x, _| {
            dy.zip_with(x, "abs backward", |g, v| {
                if v > 0.0 {
                    g
                } else if v < 0.0 {
                    -g
                } else {
                    0.0
                }
            })
        })
    }

    /// Each element limited to `[min, max]`; the gradient is 1 inside the closed interval, 0 outside.
    pub fn clip(self, min: f32, max: f32) -> Var<'t> {
        self.unary(self.value().clip(min, max), move |dy, x, _| {
            dy.zip_with(x, "clip backward", |g, v| if (min..=max).contains(&v) { g } else { 0.0 })
        })
    }
}

/// Implements an operator trait for `Var` by the method of the same name.
macro_rules! operator {
    ($trait:ident, $method:ident) => {
        impl<'t> std::ops::$trait for Var<'t> {
            type Output = Var<'t>;
            #[track_caller]
            fn $method(self, rhs: Var<'t>) -> Var<'t> {
                Var::$method(self, rhs)
            }
        }
    };
}
operator!(Add, add);
operator!(Sub, sub);
operator!(Mul, mul);
operator!(Div, div);

impl<'t> std::ops::Neg for Var<'t> {
    type Output = Var<'t>;
    fn neg(self) -> Var<'t> {
        Var::neg(self)
    }
}
