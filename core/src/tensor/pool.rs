//! Pooling kernels on channels-last tensors (`[N, H, W, C]`, and `[N, L, C]` viewed as
//! `[N, 1, L, C]`): max and average pooling with their backward kernels, and the batch split
//! that the spatial kernels (`spatial.rs`) share.
//!
//! Padding follows Keras / TensorFlow: `Valid` keeps only the windows inside the input; `Same`
//! gives `ceil(in / stride)` outputs and pads `max((out - 1) * stride + k - in, 0)` in total,
//! the smaller half (`total / 2`) at the top / left. Padded positions never win a max and are
//! not counted in an average (TF's average pooling divides by the number of real elements in
//! each window). Max pooling routes each window's gradient to its first maximal element in
//! row-major window order.
//!
//! The kernels walk contiguous channel rows (`C` values per spatial position) with slices; the
//! samples of a large batch are dealt out to the kernel threads in consecutive groups. Each
//! sample is computed the same way on any thread, so the results do not depend on the thread
//! count.

use super::{Padding, Tensor};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::mem::MaybeUninit;
use std::ops::Range;

/// Work (element visits) below which a kernel stays on the calling thread: about what a
/// cheap elementwise op needs before a thread hand-off pays (see `elementwise.rs`).
const PARALLEL_MIN_WORK: usize = 1 << 18;

/// The output length and the padding before the input of a pooling along one axis (`None` if
/// a valid window does not fit): with [`Padding::Same`], `ceil(in / stride)` outputs, the
/// borders padded (smaller half at the top / left) with positions that never win a max and are
/// not counted in an average.
fn pool_axis(padding: Padding, input: usize, k: usize, stride: usize) -> Option<(usize, usize)> {
    match padding {
        Padding::Valid => (input >= k).then(|| ((input - k) / stride + 1, 0)),
        Padding::Same => {
            let out = input.div_ceil(stride);
            let total = (out.saturating_sub(1) * stride + k).saturating_sub(input);
            Some((out, if out == 0 { 0 } else { total / 2 }))
        }
    }
}

/// The window, strides and padding of a 2-D pooling over `[N, H, W, C]`.
///
/// ```
/// use kensho_core::{Pool2dOptions, Padding, Tensor};
/// let opts = Pool2dOptions::new([3, 3]).strides([2, 2]).padding(Padding::Same);
/// assert_eq!(opts.output_shape(&[8, 7, 5, 16])?, vec![8, 4, 3, 16]);
/// assert_eq!(Tensor::zeros(&[8, 7, 5, 16]).max_pool2d(opts).shape(), &[8, 4, 3, 16]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[doc(alias = "MaxPooling2D")]
#[doc(alias = "AveragePooling2D")]
pub struct Pool2dOptions {
    /// Window size `[height, width]`.
    pub pool: [usize; 2],
    /// Steps between windows `[vertical, horizontal]` (Keras default: the window size).
    pub strides: [usize; 2],
    /// Border handling.
    pub padding: Padding,
}

impl Default for Pool2dOptions {
    /// Keras' defaults: a 2x2 window, strides 2x2, valid padding.
    fn default() -> Self {
        Pool2dOptions::new([2, 2])
    }
}

impl Pool2dOptions {
    /// A `pool` window with strides equal to the window (as Keras) and valid padding.
    pub fn new(pool: [usize; 2]) -> Self {
        Pool2dOptions { pool, strides: pool, padding: Padding::Valid }
    }

    /// Sets the strides.
    pub fn strides(mut self, strides: [usize; 2]) -> Self {
        self.strides = strides;
        self
    }

    /// Sets the padding.
    pub fn padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    /// The shape of the pooled output of an `[N, H, W, C]` input.
    ///
    /// # Errors
    /// [`Error::Shape`] if the input is not of rank 4 or a valid window does not fit, and
    /// [`Error::InvalidArgument`] if a window size or stride is 0.
    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Geometry::new("pool2d", input, *self).map(|g| vec![g.n, g.oh, g.ow, g.c])
    }
}

/// The window, stride and padding of a 1-D pooling over `[N, L, C]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[doc(alias = "MaxPooling1D")]
#[doc(alias = "AveragePooling1D")]
pub struct Pool1dOptions {
    /// Window length.
    pub pool: usize,
    /// Step between windows (Keras default: the window length).
    pub strides: usize,
    /// Border handling.
    pub padding: Padding,
}

impl Default for Pool1dOptions {
    /// Keras' defaults: a window of 2, stride 2, valid padding.
    fn default() -> Self {
        Pool1dOptions::new(2)
    }
}

impl Pool1dOptions {
    /// A window of `pool` with the stride equal to the window (as Keras) and valid padding.
    pub fn new(pool: usize) -> Self {
        Pool1dOptions { pool, strides: pool, padding: Padding::Valid }
    }

    /// Sets the stride.
    pub fn strides(mut self, strides: usize) -> Self {
        self.strides = strides;
        self
    }

    /// Sets the padding.
    pub fn padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    /// The same pooling as a 2-D one over `[N, 1, L, C]`.
    pub fn to_2d(self) -> Pool2dOptions {
        Pool2dOptions { pool: [1, self.pool], strides: [1, self.strides], padding: self.padding }
    }

    /// The shape of the pooled output of an `[N, L, C]` input.
    ///
    /// # Errors
    /// As [`Pool2dOptions::output_shape`], for inputs not of rank 3.
    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        if input.len() != 3 {
            return Err(Error::shape("pool1d", "an input of rank 3 [batch, steps, channels]", input));
        }
        let out = self.to_2d().output_shape(&[input[0], 1, input[1], input[2]])?;
        Ok(vec![out[0], out[2], out[3]])
    }
}

/// The sizes of one pooling: input `[n, h, w, c]`, output `[n, oh, ow, c]`, and the windows.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    oh: usize,
    ow: usize,
    top: usize,
    left: usize,
    k: [usize; 2],
    s: [usize; 2],
}

impl Geometry {
    fn new(op: &str, shape: &[usize], opts: Pool2dOptions) -> Result<Geometry> {
        if opts.pool.contains(&0) || opts.strides.contains(&0) {
            let value = format!("pool {:?}, strides {:?}", opts.pool, opts.strides);
            return Err(Error::invalid(format!("{op} options"), value, "window sizes and strides of at least 1"));
        }
        let &[n, h, w, c] = shape else {
            return Err(Error::shape(op, "an input of rank 4 [batch, height, width, channels]", shape));
        };
        let rows = pool_axis(opts.padding, h, opts.pool[0], opts.strides[0]);
        let cols = pool_axis(opts.padding, w, opts.pool[1], opts.strides[1]);
        let (Some((oh, top)), Some((ow, left))) = (rows, cols) else {
            let why = format!("height and width at least the pool size {:?} (or Padding::Same)", opts.pool);
            return Err(Error::shape(format!("{op} with valid padding"), why, shape));
        };
        Ok(Geometry { n, h, w, c, oh, ow, top, left, k: opts.pool, s: opts.strides })
    }

    #[track_caller]
    fn of(op: &str, shape: &[usize], opts: Pool2dOptions) -> Geometry {
        Geometry::new(op, shape, opts).unwrap_or_else(|e| panic!("{e}"))
    }

    fn out_shape(&self) -> [usize; 4] {
        [self.n, self.oh, self.ow, self.c]
    }

    /// The real input rows and columns under output position `o` (row-major over `oh x ow`).
    fn window(&self, o: usize) -> (Range<usize>, Range<usize>) {
        let (i, j) = (o / self.ow, o % self.ow);
        let (r, q) = (i * self.s[0], j * self.s[1]);
        let rows = r.saturating_sub(self.top)..(r + self.k[0]).saturating_sub(self.top).min(self.h);
        let cols = q.saturating_sub(self.left)..(q + self.k[1]).saturating_sub(self.left).min(self.w);
        (rows, cols)
    }

    /// The channel rows of sample `x` (`h * w * c` values) at window row `r`, columns `cols`.
    fn span<'a>(&self, x: &'a [f32], r: usize, cols: &Range<usize>) -> &'a [f32] {
        &x[(r * self.w + cols.start) * self.c..(r * self.w + cols.end) * self.c]
    }

    /// Element visits of one pass over every window, the measure of work for the thread split.
    fn work(&self) -> usize {
        self.n * self.oh * self.ow * self.k[0] * self.k[1] * self.c
    }
}

/// Calls `f(sample, chunk)` for each of the `out.len() / per` consecutive chunks of `per`
/// elements of `out`. With `work` of at least [`PARALLEL_MIN_WORK`], and unless already on a
/// kernel thread, consecutive groups of samples go to the kernel threads (the calling thread
/// takes the first group).
pub(super) fn for_each_sample<T: Send>(out: &mut [T], per: usize, work: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    if per == 0 || out.is_empty() {
        return;
    }
    let n = out.len() / per;
    let threads = if work < PARALLEL_MIN_WORK || rayon::current_thread_index().is_some() {
        1
    } else {
        crate::threads::num_threads().min(n)
    };
    let run = |first: usize, group: &mut [T]| {
        group.chunks_exact_mut(per).enumerate().for_each(|(i, chunk)| f(first + i, chunk));
    };
    if threads <= 1 {
        run(0, out);
        return;
    }
    let group = n.div_ceil(threads);
    let run = &run;
    crate::threads::pool().in_place_scope(|s| {
        let mut groups = out.chunks_mut(group * per);
        let first = groups.next().expect("at least one sample");
        for (g, chunk) in groups.enumerate() {
            s.spawn(move |_| run((g + 1) * group, chunk));
        }
        run(0, first);
    });
}

/// [`for_each_sample`] over two buffers of `per` elements a sample, `f(sample, a, b)`.
fn for_each_sample_pair<A: Send, B: Send>(
    a: &mut [A],
    b: &mut [B],
    per: usize,
    work: usize,
    f: impl Fn(usize, &mut [A], &mut [B]) + Sync,
) {
    if per == 0 || a.is_empty() {
        return;
    }
    let n = a.len() / per;
    let threads = if work < PARALLEL_MIN_WORK || rayon::current_thread_index().is_some() {
        1
    } else {
        crate::threads::num_threads().min(n)
    };
    let run = |first: usize, a: &mut [A], b: &mut [B]| {
        a.chunks_exact_mut(per).zip(b.chunks_exact_mut(per)).enumerate().for_each(|(i, (a, b))| f(first + i, a, b));
    };
    if threads <= 1 {
        run(0, a, b);
        return;
    }
    let group = n.div_ceil(threads);
    let run = &run;
    crate::threads::pool().in_place_scope(|s| {
        let mut groups = a.chunks_mut(group * per).zip(b.chunks_mut(group * per));
        let (first_a, first_b) = groups.next().expect("at least one sample");
        for (g, (a, b)) in groups.enumerate() {
            s.spawn(move |_| run((g + 1) * group, a, b));
        }
        run(0, first_a, first_b);
    });
}

/// The max of each window of sample `x` into `out` (`oh * ow * c` values); ties keep the first.
fn max_sample(g: &Geometry, x: &[f32], out: &mut [f32]) {
    for (o, dst) in out.chunks_exact_mut(g.c).enumerate() {
        let (rows, cols) = g.window(o);
        let mut first = true;
        for r in rows {
            for src in g.span(x, r, &cols).chunks_exact(g.c) {
                if std::mem::take(&mut first) {
                    dst.copy_from_slice(src);
                } else {
                    // A select rather than a conditional store, so that it vectorizes.
                    dst.iter_mut().zip(src).for_each(|(d, &v)| *d = if v > *d { v } else { *d });
                }
            }
        }
    }
}

/// The max of each window of sample `x` into `out` and, in `idx`, the position of each
/// channel's first maximal element among the window's real elements in row-major window order
/// (same scan and values as [`max_sample`]; `u32`, as wide as an `f32` lane, so the selects
/// vectorize).
fn max_arg_sample(g: &Geometry, x: &[f32], out: &mut [f32], idx: &mut [u32]) {
    for (o, (best, arg)) in out.chunks_exact_mut(g.c).zip(idx.chunks_exact_mut(g.c)).enumerate() {
        let (rows, cols) = g.window(o);
        let mut p = 0u32;
        for r in rows {
            for src in g.span(x, r, &cols).chunks_exact(g.c) {
                if p == 0 {
                    best.copy_from_slice(src);
                    arg.fill(0);
                } else {
                    // Selects through a bit mask: no branch, and the loop vectorizes.
                    best.iter_mut().zip(arg.iter_mut()).zip(src).for_each(|((b, a), &v)| {
                        let wins = u32::from(v > *b).wrapping_neg();
                        *a = (*a & !wins) | (p & wins);
                        *b = if v > *b { v } else { *b };
                    });
                }
                p += 1;
            }
        }
    }
}

/// Adds each window's gradient of sample `dy` to the element of sample `dx` that `idx` (from
/// [`max_arg_sample`]) names (windows may overlap).
fn max_grad_sample(g: &Geometry, idx: &[u32], dy: &[f32], dx: &mut [f32]) {
    for (o, (arg, gy)) in idx.chunks_exact(g.c).zip(dy.chunks_exact(g.c)).enumerate() {
        let (rows, cols) = g.window(o);
        let mut p = 0u32;
        for r in rows {
            let span = (r * g.w + cols.start) * g.c..(r * g.w + cols.end) * g.c;
            for dst in dx[span].chunks_exact_mut(g.c) {
                dst.iter_mut().zip(arg).zip(gy).for_each(|((d, &a), &v)| *d += if a == p { v } else { 0.0 });
                p += 1;
            }
        }
    }
}

/// [`max_grad_sample`] for windows that do not overlap, writing every element of `dx` once
/// (no zeroed buffer to add into): each window's elements get its gradient or 0, and the
/// elements outside every window 0.
fn max_grad_sample_disjoint(g: &Geometry, idx: &[u32], dy: &[f32], dx: &mut [MaybeUninit<f32>]) {
    let tiled = g.top == 0 && g.left == 0 && g.s == g.k && g.oh * g.k[0] == g.h && g.ow * g.k[1] == g.w;
    if !tiled {
        dx.fill(MaybeUninit::new(0.0));
    }
    for (o, (arg, gy)) in idx.chunks_exact(g.c).zip(dy.chunks_exact(g.c)).enumerate() {
        let (rows, cols) = g.window(o);
        let mut p = 0u32;
        for r in rows {
            let span = (r * g.w + cols.start) * g.c..(r * g.w + cols.end) * g.c;
            for dst in dx[span].chunks_exact_mut(g.c) {
                // `0.0 + v` or `0.0 + 0.0`, as the accumulating kernel computes it (so a -0.0
                // gradient gives the same +0.0), selected through a bit mask so it vectorizes.
                dst.iter_mut().zip(arg).zip(gy).for_each(|((d, &a), &v)| {
                    let keep = u32::from(a == p).wrapping_neg();
                    d.write(0.0 + f32::from_bits(v.to_bits() & keep));
                });
                p += 1;
            }
        }
    }
}

/// Where the maxima of a max pooling were, recorded by [`Tensor::max_pool2d_with_argmax`] so
/// that the backward ([`MaxPoolArgmax::grad`]) routes the gradient without scanning the
/// input again: for each output element, the position of its window's first maximal element
/// among the window's real elements in row-major window order.
#[derive(Clone, Debug)]
pub struct MaxPoolArgmax {
    input: [usize; 4],
    opts: Pool2dOptions,
    idx: Vec<u32>,
}

impl MaxPoolArgmax {
    /// The gradient with respect to the pooling's input, given the output gradient `dy`:
    /// each window's gradient goes to its first maximal element; overlapping windows
    /// accumulate. Equal to [`Tensor::max_pool2d_grad`] on the pooling's input.
    ///
    /// # Panics
    /// If `dy` does not have the pooled shape.
    #[track_caller]
    pub fn grad(&self, dy: &Tensor) -> Tensor {
        let g = Geometry::of("max_pool2d_grad", &self.input, self.opts);
        check_dy("max_pool2d_grad", &g, &self.input, dy);
        let dy = dy.to_contiguous();
        let dys = dy.as_slice().expect("contiguous");
        let (per_in, per_out) = (g.h * g.w * g.c, g.oh * g.ow * g.c);
        let sample = |i: usize| (&self.idx[i * per_out..(i + 1) * per_out], &dys[i * per_out..(i + 1) * per_out]);
        let len = g.n * per_in;
        if g.s[0] >= g.k[0] && g.s[1] >= g.k[1] {
            // Disjoint windows (Keras' default strides): one write per element.
            let mut dx = Vec::with_capacity(len);
            for_each_sample(&mut dx.spare_capacity_mut()[..len], per_in, g.work(), |i, dst| {
                let (idx, dyi) = sample(i);
                max_grad_sample_disjoint(&g, idx, dyi, dst);
            });
            // SAFETY: every sample's elements were written above (per_in > 0 when len > 0).
            unsafe { dx.set_len(len) };
            return Tensor::from_vec(dx, &self.input).expect("sizes match");
        }
        let mut dx = vec![0.0f32; len];
        for_each_sample(&mut dx, per_in, g.work(), |i, dst| {
            let (idx, dyi) = sample(i);
            max_grad_sample(&g, idx, dyi, dst);
        });
        Tensor::from_vec(dx, &self.input).expect("sizes match")
    }
}

/// The mean of the real elements of each window of sample `x` into `out`.
fn avg_sample(g: &Geometry, x: &[f32], out: &mut [f32]) {
    for (o, dst) in out.chunks_exact_mut(g.c).enumerate() {
        let (rows, cols) = g.window(o);
        let count = (rows.len() * cols.len()) as f32;
        dst.fill(0.0);
        for r in rows {
            for src in g.span(x, r, &cols).chunks_exact(g.c) {
                dst.iter_mut().zip(src).for_each(|(d, &v)| *d += v);
            }
        }
        dst.iter_mut().for_each(|d| *d /= count);
    }
}

/// Spreads each window's gradient of sample `dy` evenly over its real elements in `dx`;
/// `share` is a scratch row of `c` values.
fn avg_grad_sample(g: &Geometry, dy: &[f32], dx: &mut [f32], share: &mut [f32]) {
    for (o, gy) in dy.chunks_exact(g.c).enumerate() {
        let (rows, cols) = g.window(o);
        let count = (rows.len() * cols.len()) as f32;
        share.iter_mut().zip(gy).for_each(|(s, &v)| *s = v / count);
        for r in rows {
            let span = (r * g.w + cols.start) * g.c..(r * g.w + cols.end) * g.c;
            for dst in dx[span].chunks_exact_mut(g.c) {
                dst.iter_mut().zip(share.iter()).for_each(|(d, &s)| *d += s);
            }
        }
    }
}

/// Runs a forward pooling kernel `f(sample_in, sample_out)` over the batch.
fn pool_forward(g: &Geometry, x: &Tensor, f: impl Fn(&Geometry, &[f32], &mut [f32]) + Sync) -> Tensor {
    let x = x.to_contiguous();
    let xs = x.as_slice().expect("contiguous");
    let (per_in, per_out) = (g.h * g.w * g.c, g.oh * g.ow * g.c);
    let mut out = vec![0.0f32; g.n * per_out];
    for_each_sample(&mut out, per_out, g.work(), |i, dst| f(g, &xs[i * per_in..(i + 1) * per_in], dst));
    Tensor::from_vec(out, &g.out_shape()).expect("sizes match")
}

/// Checks that `dy` has the pooled shape for `op`'s backward.
#[track_caller]
fn check_dy(op: &str, g: &Geometry, input: &[usize], dy: &Tensor) {
    assert!(
        dy.shape() == g.out_shape(),
        "{op}: the output gradient has shape {:?}, expected {:?} for an input of shape {input:?}",
        dy.shape(),
        g.out_shape()
    );
}

impl Tensor {
    /// Max pooling of an `[N, H, W, C]` tensor (Keras `MaxPooling2D`).
    ///
    /// # Errors
    /// As [`Pool2dOptions::output_shape`].
    pub fn try_max_pool2d(&self, opts: Pool2dOptions) -> Result<Tensor> {
        let g = Geometry::new("max_pool2d", self.shape(), opts)?;
        Ok(pool_forward(&g, self, max_sample))
    }

    /// Max pooling of an `[N, H, W, C]` tensor (Keras `MaxPooling2D`).
    ///
    /// ```
    /// use kensho_core::{Pool2dOptions, Tensor};
    /// let x = Tensor::arange(16).reshape_to(&[1, 4, 4, 1]);
    /// assert_eq!(x.max_pool2d(Pool2dOptions::new([2, 2])).to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
    /// ```
    ///
    /// # Panics
    /// If the input is not of rank 4, a valid window does not fit, or a size or stride is 0;
    /// [`Tensor::try_max_pool2d`] returns these as errors.
    #[track_caller]
    pub fn max_pool2d(&self, opts: Pool2dOptions) -> Tensor {
        self.try_max_pool2d(opts).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The gradient of [`Tensor::max_pool2d`] with respect to its input `self`, given the output
    /// gradient `dy`: each window's gradient goes to its first maximal element in row-major
    /// window order; overlapping windows accumulate.
    ///
    /// # Panics
    /// As [`Tensor::max_pool2d`], and if `dy` does not have the pooled shape.
    #[track_caller]
    pub fn max_pool2d_grad(&self, dy: &Tensor, opts: Pool2dOptions) -> Tensor {
        let g = Geometry::of("max_pool2d_grad", self.shape(), opts);
        check_dy("max_pool2d_grad", &g, self.shape(), dy);
        self.max_pool2d_with_argmax(opts).1.grad(dy)
    }

    /// Max pooling (as [`Tensor::max_pool2d`], same values) that also records where each
    /// window's first maximum is, for a backward that does not scan the input again
    /// ([`MaxPoolArgmax::grad`]).
    ///
    /// ```
    /// use kensho_core::{Pool2dOptions, Tensor};
    /// let x = Tensor::arange(16).reshape_to(&[1, 4, 4, 1]);
    /// let (y, argmax) = x.max_pool2d_with_argmax(Pool2dOptions::new([2, 2]));
    /// assert_eq!(y.to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
    /// assert_eq!(argmax.grad(&Tensor::ones(&[1, 2, 2, 1])).get_flat(5), 1.0);
    /// ```
    ///
    /// # Panics
    /// As [`Tensor::max_pool2d`].
    #[track_caller]
    pub fn max_pool2d_with_argmax(&self, opts: Pool2dOptions) -> (Tensor, MaxPoolArgmax) {
        let g = Geometry::of("max_pool2d", self.shape(), opts);
        let x = self.to_contiguous();
        let xs = x.as_slice().expect("contiguous");
        let (per_in, per_out) = (g.h * g.w * g.c, g.oh * g.ow * g.c);
        let (mut out, mut idx) = (vec![0.0f32; g.n * per_out], vec![0u32; g.n * per_out]);
        for_each_sample_pair(&mut out, &mut idx, per_out, g.work(), |i, dst, arg| {
            max_arg_sample(&g, &xs[i * per_in..(i + 1) * per_in], dst, arg);
        });
        let y = Tensor::from_vec(out, &g.out_shape()).expect("sizes match");
        (y, MaxPoolArgmax { input: [g.n, g.h, g.w, g.c], opts, idx })
    }

    /// Average pooling of an `[N, H, W, C]` tensor (Keras `AveragePooling2D`); with same
    /// padding each window is divided by its number of real (unpadded) elements.
    ///
    /// # Errors
    /// As [`Pool2dOptions::output_shape`].
    pub fn try_avg_pool2d(&self, opts: Pool2dOptions) -> Result<Tensor> {
        let g = Geometry::new("avg_pool2d", self.shape(), opts)?;
        Ok(pool_forward(&g, self, avg_sample))
    }

    /// Average pooling of an `[N, H, W, C]` tensor (Keras `AveragePooling2D`); with same
    /// padding each window is divided by its number of real (unpadded) elements.
    ///
    /// # Panics
    /// As [`Tensor::max_pool2d`]; [`Tensor::try_avg_pool2d`] returns these as errors.
    #[track_caller]
    pub fn avg_pool2d(&self, opts: Pool2dOptions) -> Tensor {
        self.try_avg_pool2d(opts).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The gradient of [`Tensor::avg_pool2d`] for an input of `input_shape`, given the output
    /// gradient `self`: each window's gradient is shared evenly among its real elements.
    ///
    /// # Panics
    /// As [`Tensor::max_pool2d`] for `input_shape`, and if `self` does not have the pooled shape.
    #[track_caller]
    pub fn avg_pool2d_grad(&self, input_shape: &[usize], opts: Pool2dOptions) -> Tensor {
        let g = Geometry::of("avg_pool2d_grad", input_shape, opts);
        check_dy("avg_pool2d_grad", &g, input_shape, self);
        let dy = self.to_contiguous();
        let dys = dy.as_slice().expect("contiguous");
        let (per_in, per_out) = (g.h * g.w * g.c, g.oh * g.ow * g.c);
        let mut dx = vec![0.0f32; g.n * per_in];
        for_each_sample(&mut dx, per_in, g.work(), |i, dst| {
            avg_grad_sample(&g, &dys[i * per_out..(i + 1) * per_out], dst, &mut vec![0.0f32; g.c]);
        });
        Tensor::from_vec(dx, input_shape).expect("sizes match")
    }

    /// Max pooling of an `[N, L, C]` tensor (Keras `MaxPooling1D`): the 2-D kernel on
    /// `[N, 1, L, C]`.
    ///
    /// # Panics
    /// If the input is not of rank 3, a valid window does not fit, or the size or stride is 0.
    #[track_caller]
    pub fn max_pool1d(&self, opts: Pool1dOptions) -> Tensor {
        let out = opts.output_shape(self.shape()).unwrap_or_else(|e| panic!("{e}"));
        self.unsqueeze(1).max_pool2d(opts.to_2d()).reshape_to(&out)
    }

    /// Average pooling of an `[N, L, C]` tensor (Keras `AveragePooling1D`): the 2-D kernel on
    /// `[N, 1, L, C]`.
    ///
    /// # Panics
    /// As [`Tensor::max_pool1d`].
    #[track_caller]
    pub fn avg_pool1d(&self, opts: Pool1dOptions) -> Tensor {
        let out = opts.output_shape(self.shape()).unwrap_or_else(|e| panic!("{e}"));
        self.unsqueeze(1).avg_pool2d(opts.to_2d()).reshape_to(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_follows_tensorflow() {
        // (in, k, s) -> (out, pad before): total = max((out - 1) * s + k - in, 0).
        assert_eq!(pool_axis(Padding::Same, 5, 3, 2), Some((3, 1)));
        assert_eq!(pool_axis(Padding::Same, 6, 3, 2), Some((3, 0)));
        assert_eq!(pool_axis(Padding::Same, 7, 4, 1), Some((7, 1)));
        assert_eq!(pool_axis(Padding::Same, 5, 1, 3), Some((2, 0)));
        assert_eq!(pool_axis(Padding::Same, 0, 2, 2), Some((0, 0)));
        assert_eq!(pool_axis(Padding::Valid, 5, 3, 2), Some((2, 0)));
        assert_eq!(pool_axis(Padding::Valid, 2, 3, 1), None);
    }

    #[test]
    fn bad_inputs_name_the_op_and_shape() {
        let err = Tensor::zeros(&[2, 3, 4]).try_max_pool2d(Pool2dOptions::default()).unwrap_err().to_string();
        assert!(err.contains("max_pool2d") && err.contains("[2, 3, 4]"), "{err}");
        let err = Tensor::zeros(&[1, 1, 4, 2]).try_avg_pool2d(Pool2dOptions::default()).unwrap_err().to_string();
        assert!(err.contains("avg_pool2d") && err.contains("[1, 1, 4, 2]"), "{err}");
        assert!(Tensor::zeros(&[1, 2, 2, 1]).try_max_pool2d(Pool2dOptions::new([0, 1])).is_err());
        let same = Pool2dOptions::default().padding(Padding::Same);
        assert_eq!(Tensor::zeros(&[1, 1, 3, 2]).max_pool2d(same).shape(), &[1, 1, 2, 2]);
        assert_eq!(Pool1dOptions::new(3).output_shape(&[2, 7, 4]).unwrap(), vec![2, 2, 4]);
        let p = std::panic::catch_unwind(|| Tensor::zeros(&[2, 4]).max_pool1d(Pool1dOptions::new(2))).unwrap_err();
        assert!(p.downcast_ref::<String>().unwrap().contains("[2, 4]"));
    }

    #[test]
    fn empty_channels_and_batches_give_empty_outputs() {
        let opts = Pool2dOptions::new([2, 2]);
        assert_eq!(Tensor::zeros(&[2, 4, 4, 0]).max_pool2d(opts).shape(), &[2, 2, 2, 0]);
        assert_eq!(Tensor::zeros(&[0, 4, 4, 3]).avg_pool2d(opts).shape(), &[0, 2, 2, 3]);
        let x = Tensor::zeros(&[2, 4, 4, 0]);
        assert_eq!(x.max_pool2d_grad(&Tensor::zeros(&[2, 2, 2, 0]), opts).shape(), &[2, 4, 4, 0]);
    }
}
