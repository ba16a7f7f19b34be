//! Convolutions, channels last as in Keras: 2-D on `[N, H, W, C]` with kernels
//! `[kh, kw, C / groups, filters]`, 1-D on `[N, L, C]` with kernels `[k, C / groups, filters]`
//! (viewed as 2-D with `H = 1`, no second implementation), and the transposed convolutions
//! (Keras `Conv2DTranspose`, kernels `[kh, kw, filters / groups, C]`).
//!
//! Each op has its forward kernel and the two backward kernels the tape needs: the input
//! gradient and the kernel gradient. All of them lower onto the one GEMM (`lowering.rs`); a
//! transposed convolution is the input gradient of a convolution, and its own gradients are a
//! forward convolution and a kernel gradient with the roles of input and output gradient swapped.
//!
//! Padding follows Keras / TensorFlow: [`Padding::Valid`] uses only windows inside the input;
//! [`Padding::Same`] gives `ceil(in / stride)` outputs and pads
//! `max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0)` zeros in total, the smaller half
//! (`total / 2`) at the top / left.
//!
//! The results do not depend on the thread count (see `lowering.rs`).

mod lowering;

use super::Tensor;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// How a convolution or a pooling treats the borders of its input (Keras `padding`): one type
/// for both, as in Keras.
///
/// ```
/// use kensho_core::{Conv2dOptions, Padding, Pool2dOptions};
/// let conv = Conv2dOptions::default().padding(Padding::Same);
/// let pool = Pool2dOptions::new([2, 2]).padding(Padding::Same);
/// assert_eq!(conv.padding, pool.padding);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Padding {
    /// No padding: only windows inside the input, `floor((in - k_eff) / stride) + 1` outputs
    /// with `k_eff = (k - 1) * dilation + 1` (Keras `"valid"`).
    #[default]
    Valid,
    /// Padding so that there are `ceil(in / stride)` outputs, the smaller half of it at the
    /// top / left (Keras and TensorFlow `"same"`): zeros for a convolution; for a pooling,
    /// positions that never win a max and are not counted in an average.
    Same,
}

/// The strides, padding, dilation and groups of a 2-D convolution (Keras `Conv2D` arguments).
///
/// ```
/// use kensho_core::{Conv2dOptions, Padding};
/// let opts = Conv2dOptions::default().strides([2, 2]).padding(Padding::Same);
/// assert_eq!(opts.dilation, [1, 1]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Conv2dOptions {
    /// Steps between windows, `[vertical, horizontal]`.
    pub strides: [usize; 2],
    /// Border handling.
    pub padding: Padding,
    /// Spacing between kernel taps, `[vertical, horizontal]` (Keras `dilation_rate`).
    pub dilation: [usize; 2],
    /// Number of channel groups: group `g` of the filters sees only group `g` of the input
    /// channels (`groups = channels` is a depthwise convolution).
    pub groups: usize,
}

impl Default for Conv2dOptions {
    /// Keras' defaults: strides 1, valid padding, dilation 1, one group.
    fn default() -> Self {
        Conv2dOptions { strides: [1, 1], padding: Padding::Valid, dilation: [1, 1], groups: 1 }
    }
}

impl Conv2dOptions {
    /// With these strides.
    pub fn strides(self, strides: [usize; 2]) -> Self {
        Conv2dOptions { strides, ..self }
    }

    /// With this padding.
    pub fn padding(self, padding: Padding) -> Self {
        Conv2dOptions { padding, ..self }
    }

    /// With this dilation.
    pub fn dilation(self, dilation: [usize; 2]) -> Self {
        Conv2dOptions { dilation, ..self }
    }

    /// With this many groups.
    pub fn groups(self, groups: usize) -> Self {
        Conv2dOptions { groups, ..self }
    }
}

/// The stride, padding, dilation and groups of a 1-D convolution (Keras `Conv1D` arguments;
/// Keras' `"causal"` padding is not offered).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Conv1dOptions {
    /// Step between windows.
    pub strides: usize,
    /// Border handling.
    pub padding: Padding,
    /// Spacing between kernel taps (Keras `dilation_rate`).
    pub dilation: usize,
    /// Number of channel groups, as in [`Conv2dOptions::groups`].
    pub groups: usize,
}

impl Default for Conv1dOptions {
    /// Keras' defaults: stride 1, valid padding, dilation 1, one group.
    fn default() -> Self {
        Conv1dOptions { strides: 1, padding: Padding::Valid, dilation: 1, groups: 1 }
    }
}

impl Conv1dOptions {
    /// The same convolution as a 2-D one on inputs of height 1.
    pub fn to_2d(self) -> Conv2dOptions {
        let Conv1dOptions { strides, padding, dilation, groups } = self;
        Conv2dOptions { strides: [1, strides], padding, dilation: [1, dilation], groups }
    }
}

/// The output length of a convolution along one axis (0 if a valid window does not fit).
///
/// ```
/// use kensho_core::{conv_output_len, Padding};
/// assert_eq!(conv_output_len(28, 3, 1, 1, Padding::Valid), 26);
/// assert_eq!(conv_output_len(7, 3, 2, 1, Padding::Same), 4);
/// assert_eq!(conv_output_len(5, 3, 1, 3, Padding::Valid), 0);
/// // Sizes from a hostile model file: the window cannot fit, no overflow.
/// assert_eq!(conv_output_len(5, 1 << 62, 1, 1 << 62, Padding::Valid), 0);
/// ```
pub fn conv_output_len(input: usize, kernel: usize, stride: usize, dilation: usize, padding: Padding) -> usize {
    // Saturating: sizes read from a model file may be huge, and a window that cannot fit gives 0.
    let span = kernel.saturating_sub(1).saturating_mul(dilation).saturating_add(1);
    match padding {
        Padding::Valid if input >= span => (input - span) / stride.max(1) + 1,
        Padding::Valid => 0,
        Padding::Same => input.div_ceil(stride.max(1)),
    }
}

/// The output length of a transposed convolution along one axis, by Keras' rule: with no
/// `output_padding`, `(in - 1) * stride + max(k_eff, stride)` for valid padding and
/// `in * stride` for same padding; with it, `(in - 1) * stride + k_eff + output_padding` (valid)
/// and `(in - 1) * stride + k_eff % 2 + output_padding` (same), where
/// `k_eff = (k - 1) * dilation + 1`.
///
/// ```
/// use kensho_core::{conv_transpose_output_len, Padding};
/// assert_eq!(conv_transpose_output_len(7, 3, 2, 1, Padding::Valid, None), 15);
/// assert_eq!(conv_transpose_output_len(7, 3, 2, 1, Padding::Same, None), 14);
/// assert_eq!(conv_transpose_output_len(7, 3, 2, 1, Padding::Same, Some(0)), 13);
/// ```
pub fn conv_transpose_output_len(
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
    output_padding: Option<usize>,
) -> usize {
    transpose_axis(input, kernel, stride, dilation, padding, output_padding).0
}

/// How many leading positions of the full transposed convolution along one axis (length
/// `(in - 1) * stride + k_eff`, every product of an input and a tap) Keras' rule drops: its
/// output position `o` is the full result's position `o + crop` (ONNX `ConvTranspose`'s
/// leading pad). 0 for valid padding.
///
/// ```
/// use kensho_core::{conv_transpose_crop, Padding};
/// assert_eq!(conv_transpose_crop(7, 3, 2, 1, Padding::Valid, None), 0);
/// assert_eq!(conv_transpose_crop(7, 3, 2, 1, Padding::Same, None), 0);
/// assert_eq!(conv_transpose_crop(7, 4, 2, 1, Padding::Same, None), 1);
/// ```
pub fn conv_transpose_crop(
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
    output_padding: Option<usize>,
) -> usize {
    transpose_axis(input, kernel, stride, dilation, padding, output_padding).1
}

/// The padding before the input of a convolution along one axis (Keras / TensorFlow rule).
fn same_pad(input: usize, kernel: usize, stride: usize, dilation: usize, padding: Padding) -> usize {
    let out = conv_output_len(input, kernel, stride, dilation, padding);
    match padding {
        Padding::Valid => 0,
        Padding::Same => ((out.max(1) - 1) * stride + (kernel - 1) * dilation + 1).saturating_sub(input) / 2,
    }
}

/// A transposed convolution along one axis: its output length and how many leading output
/// positions the equivalent convolution's windows start before (its top / left padding).
/// This is Keras' rule (its JAX backend's padding, which agrees with TensorFlow's).
fn transpose_axis(
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
    output_padding: Option<usize>,
) -> (usize, usize) {
    let span = kernel.saturating_sub(1) * dilation + 1;
    let base = input.saturating_sub(1) * stride;
    match padding {
        Padding::Valid => (base + output_padding.map_or(span.max(stride), |p| span + p), 0),
        Padding::Same => {
            // Keras pads the stride-dilated input by `pad_len` in total, at most `span - 1` before.
            let pad_len = output_padding.map_or(stride + span - 2, |p| span + span % 2 - 2 + p);
            let before = pad_len.div_ceil(2).min(span - 1);
            (base + 2 + pad_len - span, span - 1 - before)
        }
    }
}

/// The sizes of one convolution: `input` `[batch, input, channels]` to `output`
/// `[batch, output, filters]` with a kernel `[kernel, channels / groups, filters]`; output
/// pixel `o` reads the input pixels `o * strides - pad + tap * dilation`, those outside the
/// input being zeros. Transposed convolutions are described by the convolution they transpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    batch: usize,
    input: [usize; 2],
    output: [usize; 2],
    channels: usize,
    filters: usize,
    kernel: [usize; 2],
    strides: [usize; 2],
    dilation: [usize; 2],
    pad: [usize; 2],
    groups: usize,
}

impl Geometry {
    fn input_shape(&self) -> [usize; 4] {
        [self.batch, self.input[0], self.input[1], self.channels]
    }

    fn output_shape(&self) -> [usize; 4] {
        [self.batch, self.output[0], self.output[1], self.filters]
    }

    fn kernel_shape(&self) -> [usize; 4] {
        [self.kernel[0], self.kernel[1], self.channels / self.groups, self.filters]
    }

    /// Columns of one group's block of the column matrix: taps times channels per group.
    fn group_k(&self) -> usize {
        self.kernel[0] * self.kernel[1] * self.channels / self.groups
    }

    /// Columns of the column matrix.
    fn col_width(&self) -> usize {
        self.kernel[0] * self.kernel[1] * self.channels
    }

    /// Rows of the column matrix (output pixels of the batch).
    fn rows(&self) -> usize {
        self.batch * self.output[0] * self.output[1]
    }

    /// Multiply-adds of one pass.
    fn macs(&self) -> usize {
        self.rows() * self.group_k() * self.filters
    }

    /// A 1x1 kernel at stride 1 without padding: the input is its own column matrix.
    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.strides == [1, 1] && self.pad == [0, 0] && self.input == self.output
    }
}

/// Checks a convolution's options (strides, dilation and groups at least 1).
fn check_options(op: &str, opts: &Conv2dOptions) -> Result<()> {
    let positive = |what: &str, v: &[usize]| match v.iter().all(|&s| s > 0) {
        true => Ok(()),
        false => Err(Error::invalid(format!("{op}: {what}"), format!("{v:?}"), "at least 1")),
    };
    positive("strides", &opts.strides)?;
    positive("dilation", &opts.dilation)?;
    positive("groups", &[opts.groups])
}

/// The geometry of the convolution of an input `x` `[N, H, W, C]` with a kernel `k`
/// `[kh, kw, C / groups, filters]`. `shown` are the shapes the caller passed (for the messages
/// of 1-D ops).
fn conv_geometry(op: &str, x: &[usize], k: &[usize], opts: &Conv2dOptions, shown: [&[usize]; 2]) -> Result<Geometry> {
    check_options(op, opts)?;
    let [xs, ks] = shown;
    let bad = |why: String| Err(Error::shape(op, format!("{why} (kernel of shape {ks:?})"), xs));
    if x.len() != 4 || k.len() != 4 {
        return bad(
            "an input [batch, height, width, channels] and a kernel [height, width, channels / groups, filters]".into(),
        );
    }
    let (c, groups, filters) = (x[3], opts.groups, k[3]);
    if c == 0 || filters == 0 || k[0] == 0 || k[1] == 0 {
        return bad("at least one channel, one filter and a kernel of at least one tap".into());
    }
    if c % groups != 0 || filters % groups != 0 {
        return bad(format!("channels ({c}) and filters ({filters}) divisible by groups ({groups})"));
    }
    if k[2] * groups != c {
        return bad(format!("kernel input channels {} = input channels {c} / groups {groups}", k[2]));
    }
    let axis = |a: usize| {
        let (len, s, d) = (x[1 + a], opts.strides[a], opts.dilation[a]);
        (conv_output_len(len, k[a], s, d, opts.padding), same_pad(len, k[a], s, d, opts.padding))
    };
    let ((oh, ph), (ow, pw)) = (axis(0), axis(1));
    if oh == 0 || ow == 0 {
        return bad("an input at least as large as the dilated kernel (or Padding::Same)".into());
    }
    Ok(Geometry {
        batch: x[0],
        input: [x[1], x[2]],
        output: [oh, ow],
        channels: c,
        filters,
        kernel: [k[0], k[1]],
        strides: opts.strides,
        dilation: opts.dilation,
        pad: [ph, pw],
        groups,
    })
}

/// The geometry of the convolution that the transposed convolution of `x` `[N, H, W, C]` with
/// `k` `[kh, kw, filters / groups, C]` transposes: from the output `[N, OH, OW, filters]` back
/// to `x`'s shape.
fn transpose_geometry(
    op: &str,
    x: &[usize],
    k: &[usize],
    opts: &Conv2dOptions,
    output_padding: Option<[usize; 2]>,
    shown: [&[usize]; 2],
) -> Result<Geometry> {
    check_options(op, opts)?;
    if let Some(p) = output_padding.filter(|p| p[0] >= opts.strides[0] || p[1] >= opts.strides[1]) {
        let (what, expected) = (format!("{op}: output_padding"), format!("less than the strides {:?}", opts.strides));
        return Err(Error::invalid(what, format!("{p:?}"), expected));
    }
    let [xs, ks] = shown;
    let bad = |why: String| Err(Error::shape(op, format!("{why} (kernel of shape {ks:?})"), xs));
    if x.len() != 4 || k.len() != 4 {
        return bad(
            "an input [batch, height, width, channels] and a kernel [height, width, filters / groups, channels]".into(),
        );
    }
    let (c, groups) = (x[3], opts.groups);
    if x[1] == 0 || x[2] == 0 || k[..3].contains(&0) {
        return bad("a non-empty image and kernel".into());
    }
    if k[3] != c || c % groups != 0 {
        return bad(format!("kernel's last dimension {} = input channels {c}, divisible by groups {groups}", k[3]));
    }
    let axis = |a: usize| {
        let op_a = output_padding.map(|p| p[a]);
        transpose_axis(x[1 + a], k[a], opts.strides[a], opts.dilation[a], opts.padding, op_a)
    };
    let ((oh, ph), (ow, pw)) = (axis(0), axis(1));
    Ok(Geometry {
        batch: x[0],
        input: [oh, ow],
        output: [x[1], x[2]],
        channels: k[2] * groups,
        filters: c,
        kernel: [k[0], k[1]],
        strides: opts.strides,
        dilation: opts.dilation,
        pad: [ph, pw],
        groups,
    })
}

impl Geometry {
    /// The convolution of `x` (of shape `input_shape()`) with `kernel`: `output_shape()`.
    fn forward(&self, x: &Tensor, kernel: &Tensor) -> Tensor {
        self.forward_bias(x, kernel, None, false)
    }

    /// [`Geometry::forward`] plus `bias` (`[filters]`) on every output pixel, then `max(v, 0)`
    /// if `relu`, applied in the pass that writes the output.
    fn forward_bias(&self, x: &Tensor, kernel: &Tensor, bias: Option<&Tensor>, relu: bool) -> Tensor {
        let (x, k, b) = (x.to_contiguous(), kernel.to_contiguous(), bias.map(Tensor::to_contiguous));
        let y = lowering::forward(self, values(&x), values(&k), b.as_ref().map(values), relu);
        Tensor::from_vec(y, &self.output_shape()).expect("the lowering fills the output")
    }

    /// The input gradient of [`Geometry::forward`] for the output gradient `dy`: `input_shape()`.
    fn input_grad(&self, dy: &Tensor, kernel: &Tensor) -> Tensor {
        let (dy, k) = (dy.to_contiguous(), kernel.to_contiguous());
        let dx = lowering::input_grad(self, values(&dy), values(&k));
        Tensor::from_vec(dx, &self.input_shape()).expect("the lowering fills the input shape")
    }

    /// The kernel gradient of [`Geometry::forward`] for the input `x` and the output gradient
    /// `dy`: `kernel_shape()`.
    fn kernel_grad(&self, x: &Tensor, dy: &Tensor) -> Tensor {
        let (x, dy) = (x.to_contiguous(), dy.to_contiguous());
        let dk = lowering::kernel_grad(self, values(&x), values(&dy));
        Tensor::from_vec(dk, &self.kernel_shape()).expect("the lowering fills the kernel shape")
    }
}

/// The values of a contiguous tensor.
fn values(t: &Tensor) -> &[f32] {
    t.as_slice().expect("made contiguous")
}

/// Panics with `op`'s message if `t` does not have the `want`ed shape.
#[track_caller]
fn expect_shape(op: &str, what: &str, t: &Tensor, want: &[usize]) {
    assert!(t.shape() == want, "{op}: expected {what} of shape {want:?}, received {:?}", t.shape());
}

mod methods;
