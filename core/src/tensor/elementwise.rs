//! Elementwise kernels: unary maps (math and activations), binary ops with NumPy broadcasting,
//! comparisons producing 0/1 masks, and the in-place [`Tensor::add_assign`].
//!
//! Large tensors are split across the kernel threads in consecutive pieces of the output (from
//! [`PARALLEL_MIN_ELEMS`] elements, or [`PARALLEL_MIN_ELEMS_COSTLY`] for maps computing
//! exponentials and the like); every element is computed by the same scalar function either
//! way, so the results do not depend on the thread count.

use super::Tensor;
use crate::{Error, Result};
use ndarray::{ArrayViewD, ArrayViewMutD, Axis, IxDyn, Slice, Zip};
use std::mem::MaybeUninit;
use std::ops::Range;

/// Cheap elementwise work (a few cycles per element: arithmetic, comparisons, relu, and any
/// closure given to [`Tensor::map`] or [`Tensor::zip_with`]) on fewer elements than this stays on
/// the calling thread: below it (about 25 µs of memory-bound work), handing a piece to a worker
/// costs about what it saves (waking a sleeping worker took ~25 µs on a 2-vCPU machine).
const PARALLEL_MIN_ELEMS: usize = 1 << 18;

/// The same for maps costing 10 ns or more per element (exp, log, tanh, sigmoid, gelu, ...):
/// 64 Ki elements are already several hundred microseconds of work.
const PARALLEL_MIN_ELEMS_COSTLY: usize = 1 << 16;

/// The number of threads worth using for `len` elements of elementwise work that pays from
/// `min` elements: 1 for smaller work and inside a parallel region (a kernel thread already
/// running one shard of a larger job).
fn threads_for(len: usize, min: usize) -> usize {
    if len < min || rayon::current_thread_index().is_some() {
        1
    } else {
        crate::threads::num_threads()
    }
}

/// Calls `f(start, piece)` on up to `parts` consecutive pieces of `out`, each a whole number of
/// `unit`s long (`start` is the index of the piece's first element). The calling thread takes
/// the first piece while the kernel threads take the others.
fn for_each_piece<T: Send>(out: &mut [T], parts: usize, unit: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    let unit = unit.max(1);
    let per = (out.len() / unit).div_ceil(parts.max(1)).max(1) * unit;
    if parts <= 1 || per >= out.len() {
        f(0, out);
        return;
    }
    let f = &f;
    crate::threads::pool().in_place_scope(|s| {
        let mut pieces = out.chunks_mut(per);
        let first = pieces.next().expect("more than one piece");
        for (i, piece) in pieces.enumerate() {
            s.spawn(move |_| f((i + 1) * per, piece));
        }
        f(0, first);
    });
}

/// A piece of a tensor of rank >= 1: the index range `rows` along `axis`.
type Rows = Option<(usize, Range<usize>)>;

/// Calls `f(rows, piece)` on pieces of the contiguous row-major buffer `out` of `shape`, on up
/// to `parts` threads: `piece` is the writable view of the elements in `rows`. The pieces split
/// the first axis longer than 1 (all axes before it have length 1, so each piece is one
/// consecutive run of `out`); `rows` is `None` when the whole buffer is one piece.
fn for_each_rows<T: Send>(out: &mut [T], shape: &[usize], parts: usize, f: impl Fn(Rows, ArrayViewMutD<T>) + Sync) {
    fn view<'a, T>(shape: &[usize], piece: &'a mut [T]) -> ArrayViewMutD<'a, T> {
        ArrayViewMutD::from_shape(IxDyn(shape), piece).expect("piece fits its shape")
    }
    match shape.iter().position(|&d| d > 1) {
        Some(axis) if parts > 1 => {
            let unit: usize = shape[axis + 1..].iter().product::<usize>().max(1);
            for_each_piece(out, parts, unit, |start, piece| {
                let (first, count) = (start / unit, piece.len() / unit);
                let mut sub = shape.to_vec();
                sub[axis] = count;
                f(Some((axis, first..first + count)), view(&sub, piece));
            });
        }
        _ => f(None, view(shape, out)),
    }
}

/// The part of `v` (a view of the full shape) that a piece from [`for_each_rows`] covers.
fn restrict<'a>(v: &ArrayViewD<'a, f32>, rows: &Rows) -> ArrayViewD<'a, f32> {
    let mut part = v.clone();
    if let Some((axis, range)) = rows {
        part.slice_axis_inplace(Axis(*axis), Slice::from(range.clone()));
    }
    part
}

/// A new contiguous buffer of `len` elements, written in pieces on `threads` threads by
/// `fill(start, piece)`, which must write every element of its piece. The buffer is not zeroed
/// first: that pass would cost as much as a cheap op itself.
fn filled(len: usize, threads: usize, fill: impl Fn(usize, &mut [MaybeUninit<f32>]) + Sync) -> Vec<f32> {
    let mut out = Vec::with_capacity(len);
    for_each_piece(&mut out.spare_capacity_mut()[..len], threads, 1, fill);
    // SAFETY: every piece was written in full by `fill`.
    unsafe { out.set_len(len) };
    out
}

/// The row-major buffer of `shape`, written by [`for_each_rows`] pieces on `threads` threads;
/// `fill` must write every element of its view (a `Zip` over it does).
fn filled_rows(
    shape: &[usize],
    threads: usize,
    fill: impl Fn(Rows, ArrayViewMutD<MaybeUninit<f32>>) + Sync,
) -> Vec<f32> {
    let len = shape.iter().product();
    let mut out = Vec::with_capacity(len);
    for_each_rows(&mut out.spare_capacity_mut()[..len], shape, threads, fill);
    // SAFETY: every piece was written in full by `fill`.
    unsafe { out.set_len(len) };
    out
}

/// `f(a, b)` elementwise for two views of the same `shape`, split across the threads when large.
fn zip_views(shape: &[usize], a: ArrayViewD<f32>, b: ArrayViewD<f32>, f: impl Fn(f32, f32) -> f32 + Sync) -> Tensor {
    let threads = threads_for(a.len(), PARALLEL_MIN_ELEMS);
    if threads <= 1 {
        return Tensor::from_array(Zip::from(&a).and(&b).map_collect(|&x, &y| f(x, y)));
    }
    let out = filled_rows(shape, threads, |rows, mut piece| {
        Zip::from(&mut piece).and(&restrict(&a, &rows)).and(&restrict(&b, &rows)).for_each(|o, &x, &y| {
            o.write(f(x, y));
        });
    });
    Tensor::from_vec(out, shape).expect("same length")
}

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

/// Whether a tensor of shape `from` broadcasts to exactly `to` (NumPy's rules), without
/// allocating.
fn broadcasts_to(from: &[usize], to: &[usize]) -> bool {
    from.len() <= to.len() && from.iter().rev().zip(to.iter().rev()).all(|(&f, &t)| f == t || f == 1)
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

/// `max(x, 0)` that keeps NaN, as PyTorch's relu does: NaN in, NaN out (`x.max(0.0)` would
/// give 0, hiding a NaN from the forward pass while its gradient still poisons the weights).
/// `-0.0` stays `-0.0` (PyTorch's CPU kernel gives the same), every other value is unchanged.
///
/// Written so that it compiles to one `maxps 0, x` on x86 (which returns its second operand
/// when either is NaN or both are equal), as cheap as `x.max(0.0)`; see the relu kernels.
#[inline(always)]
pub(crate) fn relu_scalar(x: f32) -> f32 {
    if x < 0.0 {
        0.0
    } else {
        x
    }
}

/// `log(1 + exp(x))` without overflow; NaN for NaN.
pub(crate) fn softplus_scalar(x: f32) -> f32 {
    relu_scalar(x) + (-x.abs()).exp().ln_1p()
}

/// The standard normal cumulative distribution function.
fn normal_cdf(x: f32) -> f32 {
    0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// The derivative of gelu at `v`: `Φ(v) + v φ(v)`.
fn gelu_slope(v: f32) -> f32 {
    let inv_sqrt_2pi = 0.398_942_3_f32;
    normal_cdf(v) + v * inv_sqrt_2pi * (-0.5 * v * v).exp()
}

impl Tensor {
    /// Applies `f` to every element, giving a new tensor. Large tensors are split across the
    /// kernel threads (hence `Sync`: `f` is shared between them).
    pub fn map(&self, f: impl Fn(f32) -> f32 + Sync) -> Tensor {
        self.map_split(f, PARALLEL_MIN_ELEMS)
    }

    /// [`Tensor::map`] for a costly `f` (an exponential or worse per element), which pays to
    /// split from fewer elements.
    fn map_costly(&self, f: impl Fn(f32) -> f32 + Sync) -> Tensor {
        self.map_split(f, PARALLEL_MIN_ELEMS_COSTLY)
    }

    /// [`Tensor::map`], split across the threads from `min` elements.
    fn map_split(&self, f: impl Fn(f32) -> f32 + Sync, min: usize) -> Tensor {
        let threads = threads_for(self.len(), min);
        match self.0.as_slice() {
            Some(s) if threads <= 1 => {
                Tensor::from_vec(s.iter().map(|&v| f(v)).collect(), self.shape()).expect("same length")
            }
            None if threads <= 1 => Tensor::from_array(self.0.map(|&v| f(v))),
            Some(s) => {
                let out = filled(s.len(), threads, |start, piece| {
                    piece.iter_mut().zip(&s[start..]).for_each(|(o, &v)| {
                        o.write(f(v));
                    });
                });
                Tensor::from_vec(out, self.shape()).expect("same length")
            }
            None => {
                let src = self.0.view();
                let out = filled_rows(self.shape(), threads, |rows, mut piece| {
                    Zip::from(&mut piece).and(&restrict(&src, &rows)).for_each(|o, &v| {
                        o.write(f(v));
                    });
                });
                Tensor::from_vec(out, self.shape()).expect("same length")
            }
        }
    }

    /// Applies `f` to every element in place (copying the buffer first if it is shared). Large
    /// tensors are split across the kernel threads.
    pub fn map_inplace(&mut self, f: impl Fn(f32) -> f32 + Sync) {
        let threads = threads_for(self.len(), PARALLEL_MIN_ELEMS);
        if threads > 1
            && let Some(s) = self.0.as_slice_memory_order_mut()
        {
            for_each_piece(s, threads, 1, |_, piece| piece.iter_mut().for_each(|v| *v = f(*v)));
            return;
        }
        self.0.mapv_inplace(f);
    }

    /// Adds `other` into `self` in place (`self += other`), with `other` broadcast to the shape
    /// of `self` by NumPy's rules (a bias row into a batch, for example). The buffer is copied
    /// first if it is shared (copy on write); large tensors are split across the kernel threads.
    ///
    /// ```
    /// let mut y = kensho_core::Tensor::zeros(&[2, 3]);
    /// y.add_assign(&kensho_core::Tensor::arange(3));
    /// assert_eq!(y.to_vec(), vec![0.0, 1.0, 2.0, 0.0, 1.0, 2.0]);
    /// ```
    ///
    /// # Panics
    /// If `other` cannot be broadcast to the shape of `self`; the message names both shapes.
    #[track_caller]
    pub fn add_assign(&mut self, other: &Tensor) {
        assert!(
            broadcasts_to(other.shape(), self.shape()),
            "add_assign: cannot add a tensor of shape {:?} into one of shape {:?} (the right operand must \
             broadcast to the left one's shape)",
            other.shape(),
            self.shape()
        );
        let threads = threads_for(self.len(), PARALLEL_MIN_ELEMS);
        if !self.0.is_unique() || (threads > 1 && !self.is_contiguous()) {
            // A copy is due anyway: write the sums into a new buffer in one pass.
            *self = self.add(other);
            return;
        }
        if threads <= 1 {
            self.0 += &other.0;
            return;
        }
        let shape = self.shape().to_vec();
        let out = self.as_mut_slice();
        match other.as_slice().filter(|_| other.shape() == shape.as_slice()) {
            Some(src) => for_each_piece(out, threads, 1, |start, piece| {
                piece.iter_mut().zip(&src[start..]).for_each(|(o, &v)| *o += v);
            }),
            None => {
                let src = other.0.broadcast(IxDyn(&shape)).expect("broadcast shape checked");
                for_each_rows(out, &shape, threads, |rows, mut piece| {
                    Zip::from(&mut piece).and(&restrict(&src, &rows)).for_each(|o, &v| *o += v);
                });
            }
        }
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
        self.map_costly(f32::exp)
    }
    /// Natural logarithm (NaN for negative inputs, `-inf` at 0, as IEEE says).
    pub fn log(&self) -> Tensor {
        self.map_costly(f32::ln)
    }
    /// Square root.
    pub fn sqrt(&self) -> Tensor {
        self.map(f32::sqrt)
    }
    /// `x^p`.
    pub fn powf(&self, p: f32) -> Tensor {
        self.map_costly(|v| v.powf(p))
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
    /// `max(x, 0)`; NaN stays NaN (as in PyTorch), so a NaN input is not hidden.
    pub fn relu(&self) -> Tensor {
        self.map(relu_scalar)
    }
    /// `x` for positive inputs, `alpha * x` otherwise.
    pub fn leaky_relu(&self, alpha: f32) -> Tensor {
        self.map(|v| if v > 0.0 { v } else { alpha * v })
    }
    /// `x` for positive inputs, `alpha * (e^x - 1)` otherwise.
    pub fn elu(&self, alpha: f32) -> Tensor {
        self.map_costly(|v| if v > 0.0 { v } else { alpha * v.exp_m1() })
    }
    /// `1 / (1 + e^-x)`, stable for large |x|.
    pub fn sigmoid(&self) -> Tensor {
        self.map_costly(sigmoid_scalar)
    }
    /// Hyperbolic tangent.
    pub fn tanh(&self) -> Tensor {
        self.map_costly(f32::tanh)
    }
    /// Gaussian error linear unit, exact form `x * Φ(x)` (Keras `approximate=False`, PyTorch default).
    pub fn gelu(&self) -> Tensor {
        self.map_costly(|v| v * normal_cdf(v))
    }
    /// Derivative of [`Tensor::gelu`]: `Φ(x) + x φ(x)`.
    pub fn gelu_derivative(&self) -> Tensor {
        self.map_costly(gelu_slope)
    }

    /// The backward of [`Tensor::gelu`] at `self` (`x`): `dy * gelu'(x)` in one pass (equal,
    /// bit for bit, to `dy.mul(&x.gelu_derivative())`).
    ///
    /// # Panics
    /// If `dy` does not have the shape of `self`.
    #[track_caller]
    pub fn gelu_grad(&self, dy: &Tensor) -> Tensor {
        dy.zip_costly(self, "gelu backward", |g, v| g * gelu_slope(v))
    }

    /// [`Tensor::zip_with`] for operands of one shape and a costly `f` (an exponential or
    /// worse per element), split across the threads from fewer elements.
    #[track_caller]
    fn zip_costly(&self, rhs: &Tensor, op: &str, f: impl Fn(f32, f32) -> f32 + Sync) -> Tensor {
        assert!(self.shape() == rhs.shape(), "{op}: shapes differ: {:?} and {:?}", self.shape(), rhs.shape());
        let threads = threads_for(self.len(), PARALLEL_MIN_ELEMS_COSTLY);
        match (self.0.as_slice(), rhs.0.as_slice()) {
            (Some(a), Some(b)) if threads > 1 => {
                let out = filled(a.len(), threads, |start, piece| {
                    piece.iter_mut().zip(&a[start..]).zip(&b[start..]).for_each(|((o, &x), &y)| {
                        o.write(f(x, y));
                    });
                });
                Tensor::from_vec(out, self.shape()).expect("same length")
            }
            _ => self.zip_with(rhs, op, f),
        }
    }
    /// Sigmoid-weighted linear unit (swish): `x * sigmoid(x)`.
    pub fn silu(&self) -> Tensor {
        self.map_costly(|v| v * sigmoid_scalar(v))
    }
    /// `log(1 + e^x)`, stable for large |x|.
    pub fn softplus(&self) -> Tensor {
        self.map_costly(softplus_scalar)
    }

    /// The backward of a relu applied after a bias, fused: 0 where `y <= 0`, else `self` (`dy`),
    /// and that gradient's sum over every axis but the last (the bias gradient), for `dy` and
    /// the relu's output `y` of the same shape. Equal, bit for bit, to
    /// `g = dy.zip_with(y, .., |g, y| if y <= 0.0 { 0.0 } else { g })` and
    /// `g.sum_axes(&[0, .., ndim - 2], false)`; on one thread both come from one pass.
    ///
    /// Where `y` is NaN the gradient passes through unchanged, as PyTorch's `threshold_backward`
    /// (`y <= 0 ? 0 : dy`) does.
    ///
    /// ```
    /// use kensho_core::Tensor;
    /// let dy = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?;
    /// let y = Tensor::from_vec(vec![0.5, 0.0, 1.0, 2.0], &[2, 2])?;
    /// let (g, db) = dy.relu_grad_and_bias_grad(&y);
    /// assert_eq!((g.to_vec(), db.to_vec()), (vec![1.0, 0.0, 3.0, 4.0], vec![4.0, 4.0]));
    /// # Ok::<(), kensho_core::Error>(())
    /// ```
    ///
    /// # Panics
    /// If the shapes differ or the rank is 0.
    #[track_caller]
    pub fn relu_grad_and_bias_grad(&self, y: &Tensor) -> (Tensor, Tensor) {
        assert!(
            self.shape() == y.shape() && self.ndim() > 0,
            "relu_grad_and_bias_grad: expected dy and y of the same shape of rank >= 1, got {:?} and {:?}",
            self.shape(),
            y.shape()
        );
        let mask = |g: f32, y: f32| if y <= 0.0 { 0.0 } else { g };
        let f = self.shape()[self.ndim() - 1];
        let single = threads_for(self.len(), PARALLEL_MIN_ELEMS) <= 1;
        if let (Some(d), Some(ys), true) = (self.as_slice(), y.as_slice(), single && f > 0) {
            let (mut g, mut sum) = (Vec::with_capacity(d.len()), vec![0.0f32; f]);
            for (drow, yrow) in d.chunks_exact(f).zip(ys.chunks_exact(f)) {
                let start = g.len();
                g.extend(drow.iter().zip(yrow).map(|(&g, &y)| mask(g, y)));
                sum.iter_mut().zip(&g[start..]).for_each(|(s, &v)| *s += v);
            }
            let g = Tensor::from_vec(g, self.shape()).expect("same length");
            return (g, Tensor::from_vec(sum, &[f]).expect("one per channel"));
        }
        let g = self.zip_with(y, "relu_grad_and_bias_grad", mask);
        let lead: Vec<usize> = (0..self.ndim() - 1).collect();
        let sum = g.sum_axes(&lead, false);
        (g, sum)
    }

    /// Elementwise `f(self, rhs)` with NumPy broadcasting, or an error naming `op` and both shapes.
    ///
    /// Large outputs are split across the kernel threads (hence `Sync`: `f` is shared).
    pub fn try_zip_with(&self, rhs: &Tensor, op: &str, f: impl Fn(f32, f32) -> f32 + Sync) -> Result<Tensor> {
        if self.shape() == rhs.shape() {
            if let (Some(a), Some(b)) = (self.0.as_slice(), rhs.0.as_slice()) {
                let threads = threads_for(a.len(), PARALLEL_MIN_ELEMS);
                if threads <= 1 {
                    let data = a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect();
                    return Ok(Tensor::from_vec(data, self.shape()).expect("same length"));
                }
                let out = filled(a.len(), threads, |start, piece| {
                    piece.iter_mut().zip(&a[start..]).zip(&b[start..]).for_each(|((o, &x), &y)| {
                        o.write(f(x, y));
                    });
                });
                return Ok(Tensor::from_vec(out, self.shape()).expect("same length"));
            }
            return Ok(zip_views(self.shape(), self.0.view(), rhs.0.view(), f));
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
        Ok(zip_views(&shape, a, b, f))
    }

    /// Elementwise `f(self, rhs)` with NumPy broadcasting.
    ///
    /// # Panics
    /// If the shapes cannot be broadcast together; the message names `op` and both shapes.
    #[track_caller]
    pub fn zip_with(&self, rhs: &Tensor, op: &str, f: impl Fn(f32, f32) -> f32 + Sync) -> Tensor {
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
    fn relu_and_bias_grads_equal_their_composition_bit_for_bit() {
        let mut rng = crate::seeded_rng(5);
        for shape in [vec![3, 5, 7, 4], vec![9, 1], vec![2, 300, 300, 4]] {
            let dy = Tensor::rand_uniform(&shape, -1.0, 1.0, &mut rng);
            let y = Tensor::rand_uniform(&shape, -1.0, 1.0, &mut rng).relu();
            let g = dy.zip_with(&y, "mask", |g, y| if y <= 0.0 { 0.0 } else { g });
            let lead: Vec<usize> = (0..shape.len() - 1).collect();
            let (fused_g, fused_db) = dy.relu_grad_and_bias_grad(&y);
            assert_eq!((fused_g.to_vec(), fused_db.to_vec()), (g.to_vec(), g.sum_axes(&lead, false).to_vec()));
        }
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn activations_map_nan_to_nan_and_keep_other_values() {
        // PyTorch: relu, leaky_relu, elu, gelu, silu, softplus, sigmoid and tanh of NaN are NaN.
        let finite = [-3.5f32, -1.0, -1e-30, 0.0, 1e-30, 0.25, 2.0, 1e30, f32::INFINITY, f32::NEG_INFINITY];
        let mut with_nan = finite.to_vec();
        with_nan.insert(4, f32::NAN);
        type Act = fn(&Tensor) -> Tensor;
        let acts: [(&str, Act); 8] = [
            ("relu", Tensor::relu),
            ("leaky_relu", |x| x.leaky_relu(0.2)),
            ("elu", |x| x.elu(0.7)),
            ("sigmoid", Tensor::sigmoid),
            ("tanh", Tensor::tanh),
            ("gelu", Tensor::gelu),
            ("silu", Tensor::silu),
            ("softplus", Tensor::softplus),
        ];
        for (name, f) in acts {
            let want = bits(&f(&t(&finite, &[10])).to_vec());
            // Contiguous, and transposed (the strided path): NaN at index 4 only, the rest as without it.
            let rows: Vec<f32> = with_nan.iter().chain(&with_nan).copied().collect();
            let strided = f(&t(&rows, &[2, 11]).transpose()).transpose().to_vec();
            for mut y in [f(&t(&with_nan, &[11])).to_vec(), strided[11..].to_vec()] {
                assert!(y[4].is_nan(), "{name}(NaN) = {}", y[4]);
                y.remove(4);
                assert_eq!(bits(&y), want, "{name}: values beside a NaN");
            }
        }
        // Relu and softplus give what `max(x, 0)` gave before, bit for bit, except that -0.0
        // keeps its sign (as PyTorch's CPU relu).
        let relu = t(&finite, &[10]).relu().to_vec();
        let softplus = t(&finite, &[10]).softplus().to_vec();
        for (i, &x) in finite.iter().enumerate() {
            assert_eq!(relu[i].to_bits(), x.max(0.0).to_bits(), "relu({x})");
            let old = x.max(0.0) + (-x.abs()).exp().ln_1p();
            assert_eq!(softplus[i].to_bits(), old.to_bits(), "softplus({x})");
        }
        assert_eq!(t(&[-0.0], &[1]).relu().to_vec()[0].to_bits(), (-0.0f32).to_bits());
        // Large enough to be split across the kernel threads.
        let n = 3 * PARALLEL_MIN_ELEMS + 7;
        let mut big: Vec<f32> = (0..n).map(|i| (i % 13) as f32 - 6.0).collect();
        let spots = [0, 1, PARALLEL_MIN_ELEMS, n / 2, n - 1];
        spots.iter().for_each(|&i| big[i] = f32::NAN);
        let y = t(&big, &[n]).relu().to_vec();
        for (i, (&x, &y)) in big.iter().zip(&y).enumerate() {
            assert!(if spots.contains(&i) { y.is_nan() } else { y == x.max(0.0) }, "relu at {i}: {x} -> {y}");
        }
    }

    #[test]
    fn softmax_of_a_row_with_nan_is_nan_and_other_rows_are_untouched() {
        let x = t(&[1.0, f32::NAN, -2.0, 0.5, 3.0, -1.0], &[2, 3]);
        let clean = t(&[0.5, 3.0, -1.0], &[1, 3]);
        for (y, y_clean) in [(x.softmax(1), clean.softmax(1)), (x.log_softmax(1), clean.log_softmax(1))] {
            let y = y.to_vec();
            assert!(y[..3].iter().all(|v| v.is_nan()), "{y:?}");
            assert_eq!(bits(&y[3..]), bits(&y_clean.to_vec()));
        }
    }

    #[test]
    fn relu_backward_passes_the_gradient_at_nan_as_pytorch() {
        // PyTorch's threshold_backward: `y <= 0 ? 0 : dy`, so a NaN output lets dy through.
        let y = t(&[f32::NAN, 0.0, 2.0, -0.0, 0.5, f32::NAN], &[3, 2]);
        let dy = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
        let (g, db) = dy.relu_grad_and_bias_grad(&y);
        assert_eq!((g.to_vec(), db.to_vec()), (vec![1.0, 0.0, 3.0, 0.0, 5.0, 6.0], vec![9.0, 6.0]));
        // The multi-threaded path (two passes) agrees.
        let n = PARALLEL_MIN_ELEMS;
        let y = t(&[f32::NAN, -1.0, 1.0, 0.0].repeat(n / 4 * 2), &[n / 2, 4]);
        let (g, db) = Tensor::ones(&[n / 2, 4]).relu_grad_and_bias_grad(&y);
        assert_eq!(g.to_vec()[..4], [1.0, 0.0, 1.0, 0.0]);
        assert_eq!(db.to_vec(), vec![(n / 2) as f32, 0.0, (n / 2) as f32, 0.0]);
    }

    #[test]
    fn one_pass_gelu_grad_equals_its_two_pass_form_bit_for_bit() {
        let mut rng = crate::seeded_rng(6);
        for shape in [vec![4, 7], vec![300, 301]] {
            let x = Tensor::rand_uniform(&shape, -4.0, 4.0, &mut rng);
            let dy = Tensor::rand_uniform(&shape, -1.0, 1.0, &mut rng);
            assert_eq!(x.gelu_grad(&dy), dy.mul(&x.gelu_derivative()));
        }
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
