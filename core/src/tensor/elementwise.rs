//! Elementwise kernels: unary maps (math and activations), binary ops with NumPy broadcasting,
//! and comparisons producing 0/1 masks.

use super::Tensor;
use crate::{Error, Result};
use ndarray::{IxDyn, Zip};

/// The shape two operands broadcast to under NumPy's rules (dimensions aligned from the right,
/// each pair equal or one of them 1), or `None` if they are incompatible.
///
/// ```
/// assert_eq!(kensho_core::broadcast_shape(&[2, 3], &[3]), Some(vec![2, 3]));
/// assert_eq!(kensho_core::broadcast_shape(&[2, 3], &[4]), None);
/// ```
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
            let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
            match (da, db) {
                (x, y) if x == y => Some(x),
                (1, y) => Some(y),
                (x, 1) => Some(x),
                _ => None,
            }
        })
        .collect()
}

/// Error function, with absolute error below 1.5e-7 (Abramowitz and Stegun 7.1.26).
fn erf(x: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let y = 1.0 - poly * (-x * x).exp();
    y.copysign(x)
}

/// The logistic sigmoid of one value, computed without overflow for large |x|.
pub(crate) fn sigmoid_scalar(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + exp(x))` without overflow.
pub(crate) fn softplus_scalar(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// The standard normal cumulative distribution function.
fn normal_cdf(x: f32) -> f32 {
    0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

impl Tensor {
    /// Applies `f` to every element, giving a new contiguous tensor.
    pub fn map(&self, f: impl Fn(f32) -> f32) -> Tensor {
        match self.0.as_slice() {
            Some(s) => Tensor::from_vec(s.iter().map(|&v| f(v)).collect(), self.shape()).expect("same length"),
            None => Tensor::from_array(self.0.map(|&v| f(v))),
        }
    }

    /// Applies `f` to every element in place (copying the buffer first if it is shared).
    pub fn map_inplace(&mut self, f: impl Fn(f32) -> f32) {
        self.0.mapv_inplace(f);
    }

    /// `-x`.
    pub fn neg(&self) -> Tensor {
        self.map(|v| -v)
    }
    /// `|x|`.
    pub fn abs(&self) -> Tensor {
        self.map(f32::abs)
    }
    /// `e^x`.
    pub fn exp(&self) -> Tensor {
        self.map(f32::exp)
    }
    /// Natural logarithm (NaN for negative inputs, `-inf` at 0, as IEEE says).
    pub fn log(&self) -> Tensor {
        self.map(f32::ln)
    }
    /// Square root.
    pub fn sqrt(&self) -> Tensor {
        self.map(f32::sqrt)
    }
    /// `x^p`.
    pub fn powf(&self, p: f32) -> Tensor {
        self.map(|v| v.powf(p))
    }
    /// `x * s`.
    pub fn mul_scalar(&self, s: f32) -> Tensor {
        self.map(|v| v * s)
    }
    /// `x + s`.
    pub fn add_scalar(&self, s: f32) -> Tensor {
        self.map(|v| v + s)
    }
    /// Each element limited to `[min, max]`.
    pub fn clip(&self, min: f32, max: f32) -> Tensor {
        self.map(|v| v.clamp(min, max))
    }
    /// `max(x, 0)`.
    pub fn relu(&self) -> Tensor {
        self.map(|v| v.max(0.0))
    }
    /// `x` for positive inputs, `alpha * x` otherwise.
    pub fn leaky_relu(&self, alpha: f32) -> Tensor {
        self.map(|v| if v > 0.0 { v } else { alpha * v })
    }
    /// `x` for positive inputs, `alpha * (e^x - 1)` otherwise.
    pub fn elu(&self, alpha: f32) -> Tensor {
        self.map(|v| if v > 0.0 { v } else { alpha * v.exp_m1() })
    }
    /// `1 / (1 + e^-x)`, stable for large |x|.
    pub fn sigmoid(&self) -> Tensor {
        self.map(sigmoid_scalar)
    }
    /// Hyperbolic tangent.
    pub fn tanh(&self) -> Tensor {
        self.map(f32::tanh)
    }
    /// Gaussian error linear unit, exact form `x * Φ(x)` (Keras `approximate=False`, PyTorch default).
    pub fn gelu(&self) -> Tensor {
        self.map(|v| v * normal_cdf(v))
    }
    /// Derivative of [`Tensor::gelu`]: `Φ(x) + x φ(x)`.
    pub fn gelu_derivative(&self) -> Tensor {
        let inv_sqrt_2pi = 0.398_942_3_f32;
        self.map(|v| normal_cdf(v) + v * inv_sqrt_2pi * (-0.5 * v * v).exp())
    }
    /// Sigmoid-weighted linear unit (swish): `x * sigmoid(x)`.
    pub fn silu(&self) -> Tensor {
        self.map(|v| v * sigmoid_scalar(v))
    }
    /// `log(1 + e^x)`, stable for large |x|.
    pub fn softplus(&self) -> Tensor {
        self.map(softplus_scalar)
    }

    /// Elementwise `f(self, rhs)` with NumPy broadcasting, or an error naming `op` and both shapes.
    pub fn try_zip_with(&self, rhs: &Tensor, op: &str, f: impl Fn(f32, f32) -> f32) -> Result<Tensor> {
        if self.shape() == rhs.shape() {
            if let (Some(a), Some(b)) = (self.0.as_slice(), rhs.0.as_slice()) {
                let data = a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect();
                return Ok(Tensor::from_vec(data, self.shape()).expect("same length"));
            }
            return Ok(Tensor::from_array(Zip::from(&self.0).and(&rhs.0).map_collect(|&x, &y| f(x, y))));
        }
        let shape = broadcast_shape(self.shape(), rhs.shape()).ok_or_else(|| {
            Error::shape(
                op,
                format!("a shape broadcastable with {:?} (NumPy rules: trailing dimensions equal or 1)", self.shape()),
                rhs.shape(),
            )
        })?;
        let a = self.0.broadcast(IxDyn(&shape)).expect("broadcast shape checked");
        let b = rhs.0.broadcast(IxDyn(&shape)).expect("broadcast shape checked");
        Ok(Tensor::from_array(Zip::from(&a).and(&b).map_collect(|&x, &y| f(x, y))))
    }

    /// Elementwise `f(self, rhs)` with NumPy broadcasting.
    ///
    /// # Panics
    /// If the shapes cannot be broadcast together; the message names `op` and both shapes.
    #[track_caller]
    pub fn zip_with(&self, rhs: &Tensor, op: &str, f: impl Fn(f32, f32) -> f32) -> Tensor {
        self.try_zip_with(rhs, op, f).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Defines a broadcasting binary op and its `try_` twin from one scalar function.
macro_rules! binary_ops {
    ($($name:ident, $try_name:ident, $doc:literal, $f:expr;)*) => {
        impl Tensor {
            $(
                #[doc = $doc]
                ///
                /// Shapes broadcast by NumPy's rules.
                ///
                /// # Panics
                /// If the shapes cannot be broadcast together; the message names the op and both
                /// shapes. Use the `try_` twin to get an [`Error`] instead.
                #[track_caller]
                pub fn $name(&self, rhs: &Tensor) -> Tensor {
                    self.zip_with(rhs, stringify!($name), $f)
                }

                #[doc = $doc]
                ///
                /// # Errors
                /// [`Error::Shape`] if the shapes cannot be broadcast together.
                pub fn $try_name(&self, rhs: &Tensor) -> Result<Tensor> {
                    self.try_zip_with(rhs, stringify!($name), $f)
                }
            )*
        }
    };
}

binary_ops! {
    add, try_add, "Elementwise sum.", |a, b| a + b;
    sub, try_sub, "Elementwise difference.", |a, b| a - b;
    mul, try_mul, "Elementwise product.", |a, b| a * b;
    div, try_div, "Elementwise quotient.", |a, b| a / b;
    maximum, try_maximum, "Elementwise maximum.", |a: f32, b: f32| a.max(b);
    minimum, try_minimum, "Elementwise minimum.", |a: f32, b: f32| a.min(b);
    gt, try_gt, "Mask: 1 where `self > rhs`, else 0.", |a, b| f32::from(u8::from(a > b));
    ge, try_ge, "Mask: 1 where `self >= rhs`, else 0.", |a, b| f32::from(u8::from(a >= b));
    lt, try_lt, "Mask: 1 where `self < rhs`, else 0.", |a, b| f32::from(u8::from(a < b));
    le, try_le, "Mask: 1 where `self <= rhs`, else 0.", |a, b| f32::from(u8::from(a <= b));
    eq_mask, try_eq_mask, "Mask: 1 where `self == rhs`, else 0.", |a, b| f32::from(u8::from(a == b));
}

/// Implements the arithmetic operators for tensor references by the named methods.
macro_rules! operator {
    ($trait:ident, $method:ident) => {
        impl std::ops::$trait<&Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Tensor {
                Tensor::$method(self, rhs)
            }
        }
    };
}
operator!(Add, add);
operator!(Sub, sub);
operator!(Mul, mul);
operator!(Div, div);

impl std::ops::Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(self)
    }
}

#[cfg(test)]
#[allow(clippy::excessive_precision)] // reference values printed by Python
mod tests {
    use super::*;

    fn t(v: &[f32], s: &[usize]) -> Tensor {
        Tensor::from_vec(v.to_vec(), s).unwrap()
    }

    #[test]
    fn broadcasting_follows_numpy() {
        let a = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
        assert_eq!(a.add(&t(&[10., 20., 30.], &[3])).to_vec(), vec![11., 22., 33., 14., 25., 36.]);
        assert_eq!(a.mul(&t(&[2., 3.], &[2, 1])).to_vec(), vec![2., 4., 6., 12., 15., 18.]);
        assert_eq!(t(&[1., 2.], &[2, 1]).sub(&t(&[1., 2., 3.], &[1, 3])).shape(), &[2, 3]);
        assert_eq!(a.add(&Tensor::scalar(1.0)).to_vec(), vec![2., 3., 4., 5., 6., 7.]);
    }

    #[test]
    fn incompatible_shapes_name_the_op_and_both_shapes() {
        let a = Tensor::zeros(&[2, 3]);
        let err = a.try_add(&Tensor::zeros(&[4])).unwrap_err().to_string();
        assert!(err.contains("add") && err.contains("[2, 3]") && err.contains("[4]"), "{err}");
        let panic = std::panic::catch_unwind(|| a.add(&Tensor::zeros(&[4]))).unwrap_err();
        let msg = panic.downcast_ref::<String>().unwrap();
        assert!(msg.contains("add") && msg.contains("[2, 3]") && msg.contains("[4]"), "{msg}");
    }

    #[test]
    fn activations_match_reference_values() {
        // Reference values from the closed forms, evaluated with Python's math module.
        let x = t(&[-2.0, 0.0, 1.5], &[3]);
        let close = |a: Tensor, b: &[f32]| assert!(a.allclose(&t(b, &[3]), 1e-5, 1e-6), "{a:?} vs {b:?}");
        close(x.sigmoid(), &[0.11920292, 0.5, 0.81757448]);
        close(x.gelu(), &[-0.04550026, 0.0, 1.39978120]);
        close(x.silu(), &[-0.23840584, 0.0, 1.22636172]);
        close(x.softplus(), &[0.12692801, std::f32::consts::LN_2, 1.70141328]);
        close(x.elu(1.0), &[-0.86466472, 0.0, 1.5]);
        close(x.leaky_relu(0.2), &[-0.4, 0.0, 1.5]);
        assert!(t(&[-1000.0, 1000.0], &[2]).sigmoid().all_finite());
        assert!(t(&[-1000.0, 1000.0], &[2]).softplus().all_finite());
    }

    #[test]
    fn comparisons_give_masks_and_work_on_transposed_inputs() {
        let a = t(&[1., 5., 3., 2.], &[2, 2]);
        assert_eq!(a.gt(&Tensor::scalar(2.5)).to_vec(), vec![0., 1., 1., 0.]);
        let at = a.transpose();
        assert_eq!(at.sub(&at).to_vec(), vec![0.0; 4]);
        assert_eq!(at.add(&Tensor::zeros(&[2, 2])).to_vec(), vec![1., 3., 5., 2.]);
    }
}
