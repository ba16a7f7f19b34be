//! Arithmetic operators on [`Tensor`], so that NumPy and Keras code translates line by line:
//! `+ - * /` between two tensors (NumPy broadcasting) and between a tensor and an `f32` on either
//! side, unary `-`, and the assigning forms `+= -= *= /=`.
//!
//! Each operand may be a `Tensor` (consumed: with a scalar, its buffer is reused when nothing
//! else shares it) or a `&Tensor` (kept). The tensor–tensor operators are the broadcasting
//! methods [`Tensor::add`], [`Tensor::sub`], [`Tensor::mul`] and [`Tensor::div`], so they panic
//! as those do, with a message naming the op and both shapes; use [`Tensor::try_add`] and the
//! other `try_` methods to get an [`Error`](crate::Error) instead. An assigning form keeps the
//! shape of its left operand, so its right operand must broadcast to it.
//!
//! ```
//! use kensho_core::Tensor;
//! let x = Tensor::from_vec(vec![0.0, 255.0, 255.0, 0.0], &[2, 2])?; // pixels
//! let mean = Tensor::from_vec(vec![0.5, 0.25], &[2])?; // broadcast over the rows
//! let x = (&x / 255.0 - &mean) * 2.0;
//! assert_eq!(x.to_vec(), vec![-1.0, 1.5, 1.0, -0.5]);
//! let y = 1.0 - -&x;
//! assert_eq!(y.to_vec(), vec![0.0, 2.5, 2.0, 0.5]);
//! # Ok::<(), kensho_core::Error>(())
//! ```

use super::Tensor;
use crate::broadcast_shape;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// `lhs = f(lhs, rhs)` elementwise, in place (copying the buffer first if it is shared), with
/// `rhs` broadcast to the shape of `lhs`.
#[track_caller]
fn zip_assign(lhs: &mut Tensor, rhs: &Tensor, op: &str, f: impl Fn(f32, f32) -> f32) {
    if broadcast_shape(lhs.shape(), rhs.shape()).as_deref() != Some(lhs.shape()) {
        panic!(
            "{op}: cannot combine a tensor of shape {:?} into one of shape {:?} in place (the right \
             operand must broadcast to the left one's shape; write `a = &a op &b` to get the broadcast shape)",
            rhs.shape(),
            lhs.shape()
        );
    }
    lhs.as_array_mut().zip_mut_with(&rhs.0, |a, &b| *a = f(*a, b));
}

/// Implements one binary operator (`$Op`, its method `$op` on [`Tensor`], its symbol `$sym`, its
/// scalar function `$f`) for every pairing of `Tensor`, `&Tensor` and `f32`, and its assigning form, which uses
/// `$assign` when given (an in-place method of `Tensor`) and [`zip_assign`] otherwise.
macro_rules! operator {
    ($Op:ident, $op:ident, $sym:literal, $OpAssign:ident, $op_assign:ident, $f:expr $(, $assign:path)?) => {
        #[doc = concat!("`&a ", $sym, " &b`: [`Tensor::", stringify!($op), "`], with NumPy broadcasting; panics naming")]
        /// both shapes if they do not broadcast. Every pairing of `Tensor` and `&Tensor` works.
        impl $Op<&Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $op(self, rhs: &Tensor) -> Tensor {
                Tensor::$op(self, rhs)
            }
        }
        impl $Op<Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $op(self, rhs: Tensor) -> Tensor {
                Tensor::$op(self, &rhs)
            }
        }
        impl $Op<&Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $op(self, rhs: &Tensor) -> Tensor {
                Tensor::$op(&self, rhs)
            }
        }
        impl $Op<Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $op(self, rhs: Tensor) -> Tensor {
                Tensor::$op(&self, &rhs)
            }
        }
        #[doc = concat!("`&x ", $sym, " 2.0`: the scalar applied to every element.")]
        impl $Op<f32> for &Tensor {
            type Output = Tensor;
            fn $op(self, s: f32) -> Tensor {
                self.map(|v| $f(v, s))
            }
        }
        impl $Op<f32> for Tensor {
            type Output = Tensor;
            fn $op(mut self, s: f32) -> Tensor {
                self.map_inplace(|v| $f(v, s));
                self
            }
        }
        #[doc = concat!("`2.0 ", $sym, " &x`: the scalar applied to every element.")]
        impl $Op<&Tensor> for f32 {
            type Output = Tensor;
            fn $op(self, t: &Tensor) -> Tensor {
                t.map(|v| $f(self, v))
            }
        }
        impl $Op<Tensor> for f32 {
            type Output = Tensor;
            fn $op(self, mut t: Tensor) -> Tensor {
                t.map_inplace(|v| $f(self, v));
                t
            }
        }
        impl $OpAssign<f32> for Tensor {
            fn $op_assign(&mut self, s: f32) {
                self.map_inplace(|v| $f(v, s));
            }
        }
        #[doc = concat!("`a ", $sym, "= &b` in place; `b` must broadcast to the shape of `a`.")]
        impl $OpAssign<&Tensor> for Tensor {
            #[track_caller]
            fn $op_assign(&mut self, rhs: &Tensor) {
                operator!(@assign self, rhs, $op_assign, $f $(, $assign)?)
            }
        }
        impl $OpAssign<Tensor> for Tensor {
            #[track_caller]
            fn $op_assign(&mut self, rhs: Tensor) {
                operator!(@assign self, rhs, $op_assign, $f $(, $assign)?)
            }
        }
    };
    (@assign $lhs:ident, $rhs:ident, $op_assign:ident, $f:expr) => {
        zip_assign($lhs, &$rhs, stringify!($op_assign), $f)
    };
    (@assign $lhs:ident, $rhs:ident, $op_assign:ident, $f:expr, $assign:path) => {
        $assign($lhs, &$rhs)
    };
}

operator!(Add, add, "+", AddAssign, add_assign, |a: f32, b: f32| a + b, Tensor::add_assign);
operator!(Sub, sub, "-", SubAssign, sub_assign, |a: f32, b: f32| a - b);
operator!(Mul, mul, "*", MulAssign, mul_assign, |a: f32, b: f32| a * b);
operator!(Div, div, "/", DivAssign, div_assign, |a: f32, b: f32| a / b);

impl Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(self)
    }
}

impl Neg for Tensor {
    type Output = Tensor;
    fn neg(mut self) -> Tensor {
        self.map_inplace(|v| -v);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::Tensor;

    fn t(v: &[f32], s: &[usize]) -> Tensor {
        Tensor::from_vec(v.to_vec(), s).unwrap()
    }

    #[track_caller]
    fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let p = std::panic::catch_unwind(f).unwrap_err();
        p.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    #[test]
    fn every_pairing_of_owned_borrowed_and_scalar_operands_agrees_with_the_methods() {
        let a = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
        let b = t(&[10., 20., 40.], &[3]);
        assert_eq!(&a + &b, a.add(&b));
        assert_eq!(a.clone() - &b, a.sub(&b));
        assert_eq!(&a * b.clone(), a.mul(&b));
        assert_eq!(a.clone() / b.clone(), a.div(&b));
        assert_eq!((&a + 1.0).to_vec(), vec![2., 3., 4., 5., 6., 7.]);
        assert_eq!((a.clone() - 1.0).to_vec(), vec![0., 1., 2., 3., 4., 5.]);
        assert_eq!((2.0 * &a).to_vec(), vec![2., 4., 6., 8., 10., 12.]);
        assert_eq!((10.0 - a.clone()).to_vec(), vec![9., 8., 7., 6., 5., 4.]);
        assert_eq!((12.0 / &a).to_vec(), vec![12., 6., 4., 3., 2.4, 2.]);
        assert_eq!((-&a).to_vec(), (-a.clone()).to_vec());
        assert_eq!((-a.clone()).to_vec(), vec![-1., -2., -3., -4., -5., -6.]);
    }

    #[test]
    fn dividing_by_a_scalar_divides_exactly() {
        // Bit for bit `v / 255`, not `v * (1 / 255)`: dividing pixels by 255 gives the usual values.
        let bytes: Vec<f32> = (0..=255).map(|b| b as f32).collect();
        let x = t(&bytes, &[256]) / 255.0;
        assert!(x.iter().zip(0..=255).all(|(v, b)| v.to_bits() == (b as f32 / 255.0).to_bits()));
    }

    #[test]
    fn a_consumed_operand_keeps_a_shared_buffer_intact() {
        let a = t(&[1., 2.], &[2]);
        let shared = a.clone();
        let doubled = shared * 2.0;
        assert_eq!((a.to_vec(), doubled.to_vec()), (vec![1., 2.], vec![2., 4.]));
    }

    #[test]
    fn assigning_forms_update_in_place_with_broadcasting() {
        let mut x = t(&[1., 2., 3., 4.], &[2, 2]);
        x += &t(&[1., 1.], &[2]);
        x -= t(&[0.5], &[1]);
        x *= &t(&[2., 10.], &[2]);
        x /= 2.0;
        x += 1.0;
        x -= 1.0;
        x *= 4.0;
        x /= &t(&[4.], &[]);
        assert_eq!(x.to_vec(), vec![1.5, 12.5, 3.5, 22.5]);
    }

    #[test]
    fn mismatched_shapes_panic_naming_the_op_and_both_shapes() {
        let a = Tensor::zeros(&[2, 3]);
        let msg = panic_message(|| drop(&a - &Tensor::zeros(&[4])));
        assert!(msg.contains("sub") && msg.contains("[2, 3]") && msg.contains("[4]"), "{msg}");
        let msg = panic_message(|| {
            let mut small = Tensor::zeros(&[3]);
            small *= &Tensor::zeros(&[2, 3]);
        });
        assert!(msg.contains("mul_assign") && msg.contains("[2, 3]") && msg.contains("[3]"), "{msg}");
    }
}
