//! The convolution family: Conv1D, Conv2D (strides, valid / same padding as explicit pads,
//! dilation, groups), Conv2DTranspose, DepthwiseConv2D and SeparableConv2D as ONNX `Conv` /
//! `ConvTranspose` between Transposes to and from channels_first; ZeroPadding2D (`Pad`),
//! Cropping2D (`Slice`) and UpSampling2D (`Resize`, nearest) on the channels_last values.
//!
//! Kernels are written in ONNX's layout (`[out, in / groups, k..]`, or `[in, out, k..]` for a
//! transposed convolution), permuted from kensho's `[k.., in, out]` at export.

use super::{unsupported, weight, Value};
use crate::onnx::graph::{Attr, OnnxGraph};
use kensho_core::{conv_transpose_crop, Padding, Result, Tensor};
use kensho_layers::{
    Activation, Conv2dTransposeConfig, ConvConfig, Cropping2dConfig, DepthwiseConv2dConfig, Layer,
    SeparableConv2dConfig, Shape, UpSampling2dConfig, ZeroPadding2dConfig,
};

/// The value `x` (`[batch, spatial.., channels]`, `n` spatial axes) transposed to
/// channels_first, `[batch, channels, spatial..]`.
pub(crate) fn to_channels_first(g: &mut OnnxGraph, x: &str, n: usize) -> String {
    let perm: Vec<i64> = [0, n as i64 + 1].into_iter().chain(1..=n as i64).collect();
    g.op("Transpose", &[x], vec![Attr::ints("perm", &perm)])
}

/// The channels_first value `y` (`n` spatial axes) transposed back to channels_last.
pub(crate) fn to_channels_last(g: &mut OnnxGraph, y: &str, n: usize) -> String {
    let perm: Vec<i64> = std::iter::once(0).chain(2..=n as i64 + 1).chain([1]).collect();
    g.op("Transpose", &[y], vec![Attr::ints("perm", &perm)])
}

/// The spatial sizes of a channels_last per-sample shape (all but the last axis).
fn spatial(shape: &Shape) -> &[Option<usize>] {
    &shape.dims()[..shape.rank().saturating_sub(1)]
}

/// ONNX `pads` (`[begins.., ends..]`) for a window sliding over `input` with Keras' padding:
/// none for valid; for same, `max((out - 1) * stride + span - in, 0)` in total, the smaller
/// half before (TensorFlow's rule, which kensho follows). An axis of unknown size can be
/// padded only with stride 1 (where the total does not depend on the size).
pub(crate) fn window_pads(
    layer: &dyn Layer,
    input: &[Option<usize>],
    kernel: &[usize],
    strides: &[usize],
    dilation: &[usize],
    padding: Padding,
) -> Result<Vec<i64>> {
    let mut begins = Vec::with_capacity(input.len());
    let mut ends = Vec::with_capacity(input.len());
    for (axis, &len) in input.iter().enumerate() {
        let (k, s, d) = (kernel[axis], strides[axis], dilation[axis]);
        let span = (k - 1) * d + 1;
        let total = match (padding, len) {
            (Padding::Valid, _) => 0,
            (Padding::Same, Some(len)) => ((len.div_ceil(s).max(1) - 1) * s + span).saturating_sub(len),
            (Padding::Same, None) if s == 1 => span - 1,
            (Padding::Same, None) => {
                return Err(unsupported(layer, "same padding with strides over an axis of unknown size"));
            }
        };
        begins.push((total / 2) as i64);
        ends.push((total - total / 2) as i64);
    }
    Ok(begins.into_iter().chain(ends).collect())
}

/// A kensho kernel `[k.., a, b]` permuted to ONNX's `[b, a, k..]`.
fn onnx_kernel(kernel: &Tensor) -> Tensor {
    let n = kernel.shape().len() - 2;
    let perm: Vec<usize> = [n + 1, n].into_iter().chain(0..n).collect();
    kernel.permute(&perm)
}

/// Runs the channels_first `op` (a Conv or ConvTranspose, with `weights` as its inputs after
/// the data) on the channels_last `x`, then `activation`, and returns the channels_last result.
fn channels_first_op(
    g: &mut OnnxGraph,
    x: &Value,
    op: &str,
    weights: &[String],
    attrs: Vec<Attr>,
    activation: &Activation,
    out: &Shape,
) -> Result<Vec<Value>> {
    let n = x.shape.rank() - 1;
    let xt = to_channels_first(g, &x.name, n);
    let inputs: Vec<&str> = std::iter::once(xt.as_str()).chain(weights.iter().map(String::as_str)).collect();
    let y = g.op(op, &inputs, attrs);
    let y = to_channels_last(g, &y, n);
    let y = super::core::activation(g, &y, activation)?;
    Ok(vec![Value::new(y, out.clone())])
}

/// The kernel (permuted to ONNX's layout, after `reshape` if given) and the bias of `layer`, as
/// initializers.
fn kernel_and_bias(layer: &dyn Layer, kernel: &str, use_bias: bool, g: &mut OnnxGraph) -> Result<Vec<String>> {
    let k = weight(layer, kernel)?;
    let mut names = vec![g.weight(k.name(), &onnx_kernel(&k.value))];
    if use_bias {
        let b = weight(layer, "bias")?;
        names.push(g.weight(b.name(), &b.value));
    }
    Ok(names)
}

/// Conv1D and Conv2D.
pub(crate) fn conv(layer: &dyn Layer, c: &ConvConfig, x: &Value, out: &Shape, g: &mut OnnxGraph) -> Result<Vec<Value>> {
    let pads = window_pads(layer, spatial(&x.shape), &c.kernel_size, &c.strides, &c.dilation_rate, c.padding)?;
    let attrs = vec![
        Attr::ints("kernel_shape", &to_i64(&c.kernel_size)),
        Attr::ints("strides", &to_i64(&c.strides)),
        Attr::ints("dilations", &to_i64(&c.dilation_rate)),
        Attr::ints("pads", &pads),
        Attr::int("group", c.groups as i64),
    ];
    let weights = kernel_and_bias(layer, "kernel", c.kernel.use_bias, g)?;
    channels_first_op(g, x, "Conv", &weights, attrs, &c.kernel.activation, out)
}

/// Conv2DTranspose: ONNX `ConvTranspose` with the leading pads of Keras' rule; the trailing
/// pads (or, where Keras' output is longer than the full result, `output_padding`) give the
/// built output size.
pub(crate) fn conv_transpose(
    layer: &dyn Layer,
    c: &Conv2dTransposeConfig,
    x: &Value,
    out: &Shape,
    g: &mut OnnxGraph,
) -> Result<Vec<Value>> {
    let (input, output) = (spatial(&x.shape), spatial(out));
    let (mut begins, mut ends, mut extra) = (Vec::new(), Vec::new(), Vec::new());
    for axis in 0..2 {
        let (Some(len), Some(out_len)) = (input[axis], output[axis]) else {
            return Err(unsupported(layer, "an input of unknown height or width"));
        };
        let (k, s, d) = (c.kernel_size[axis], c.strides[axis], c.dilation_rate[axis]);
        let output_padding = c.output_padding.as_ref().map(|p| p[axis]);
        let crop = conv_transpose_crop(len, k, s, d, c.padding, output_padding) as i64;
        let full = ((len - 1) * s + (k - 1) * d + 1) as i64;
        let rest = full - crop - out_len as i64;
        begins.push(crop);
        ends.push(rest.max(0));
        extra.push((-rest).max(0));
    }
    let attrs = vec![
        Attr::ints("kernel_shape", &to_i64(&c.kernel_size)),
        Attr::ints("strides", &to_i64(&c.strides)),
        Attr::ints("dilations", &to_i64(&c.dilation_rate)),
        Attr::ints("pads", &[begins, ends].concat()),
        Attr::ints("output_padding", &extra),
    ];
    let weights = kernel_and_bias(layer, "kernel", c.kernel.use_bias, g)?;
    channels_first_op(g, x, "ConvTranspose", &weights, attrs, &c.kernel.activation, out)
}

/// The attributes of a depthwise convolution of `channels` input channels (ONNX `Conv` with
/// one group per channel).
fn depthwise_attrs(
    layer: &dyn Layer,
    x: &Value,
    kernel_size: &[usize],
    strides: &[usize],
    dilation: &[usize],
    padding: Padding,
) -> Result<Vec<Attr>> {
    let Some(channels) = x.shape.dims().last().copied().flatten() else {
        return Err(unsupported(layer, "an input with an unknown number of channels"));
    };
    Ok(vec![
        Attr::ints("kernel_shape", &to_i64(kernel_size)),
        Attr::ints("strides", &to_i64(strides)),
        Attr::ints("dilations", &to_i64(dilation)),
        Attr::ints("pads", &window_pads(layer, spatial(&x.shape), kernel_size, strides, dilation, padding)?),
        Attr::int("group", channels as i64),
    ])
}

/// A depthwise kernel `[kh, kw, in, multiplier]` as ONNX's `[in * multiplier, 1, kh, kw]`
/// (output channel `c * multiplier + m`, as kensho orders them).
fn depthwise_kernel(layer: &dyn Layer, suffix: &str, g: &mut OnnxGraph) -> Result<String> {
    let k = weight(layer, suffix)?;
    let s = k.value.shape().to_vec();
    let onnx = k.value.permute(&[2, 3, 0, 1]).reshape_to(&[s[2] * s[3], 1, s[0], s[1]]);
    Ok(g.weight(k.name(), &onnx))
}

/// DepthwiseConv2D.
pub(crate) fn depthwise(
    layer: &dyn Layer,
    c: &DepthwiseConv2dConfig,
    x: &Value,
    out: &Shape,
    g: &mut OnnxGraph,
) -> Result<Vec<Value>> {
    let attrs = depthwise_attrs(layer, x, &c.kernel_size, &c.strides, &c.dilation_rate, c.padding)?;
    let mut weights = vec![depthwise_kernel(layer, "kernel", g)?];
    if c.kernel.use_bias {
        let b = weight(layer, "bias")?;
        weights.push(g.weight(b.name(), &b.value));
    }
    channels_first_op(g, x, "Conv", &weights, attrs, &c.kernel.activation, out)
}

/// SeparableConv2D: the depthwise `Conv`, then the pointwise 1x1 `Conv` with the bias, both
/// channels_first.
pub(crate) fn separable(
    layer: &dyn Layer,
    c: &SeparableConv2dConfig,
    x: &Value,
    out: &Shape,
    g: &mut OnnxGraph,
) -> Result<Vec<Value>> {
    let attrs = depthwise_attrs(layer, x, &c.kernel_size, &c.strides, &c.dilation_rate, c.padding)?;
    let depthwise = depthwise_kernel(layer, "depthwise_kernel", g)?;
    let xt = to_channels_first(g, &x.name, 2);
    let y = g.op("Conv", &[&xt, &depthwise], attrs);
    let pointwise = kernel_and_bias(layer, "pointwise_kernel", c.kernel.use_bias, g)?;
    let inputs: Vec<&str> = std::iter::once(y.as_str()).chain(pointwise.iter().map(String::as_str)).collect();
    let y = g.op("Conv", &inputs, vec![Attr::ints("kernel_shape", &[1, 1])]);
    let y = to_channels_last(g, &y, 2);
    let y = super::core::activation(g, &y, &c.kernel.activation)?;
    Ok(vec![Value::new(y, out.clone())])
}

/// ZeroPadding2D: `Pad` with zeros on the height and width axes of the channels_last value.
pub(crate) fn zero_padding(c: &ZeroPadding2dConfig, x: &Value, out: &Shape, g: &mut OnnxGraph) -> Vec<Value> {
    let [[top, bottom], [left, right]] = c.padding.map(|p| p.map(|v| v as i64));
    let pads = g.ints("pads", &[0, top, left, 0, 0, bottom, right, 0]);
    vec![Value::new(g.op("Pad", &[&x.name, &pads], vec![]), out.clone())]
}

/// Cropping2D: `Slice` of the height and width axes (ends counted from the end, so unknown
/// sizes work).
pub(crate) fn cropping(c: &Cropping2dConfig, x: &Value, out: &Shape, g: &mut OnnxGraph) -> Vec<Value> {
    let [[top, bottom], [left, right]] = c.cropping.map(|p| p.map(|v| v as i64));
    let end = |crop: i64| if crop == 0 { i64::MAX } else { -crop };
    let starts = g.ints("starts", &[top, left]);
    let ends = g.ints("ends", &[end(bottom), end(right)]);
    let axes = g.ints("axes", &[1, 2]);
    vec![Value::new(g.op("Slice", &[&x.name, &starts, &ends, &axes], vec![]), out.clone())]
}

/// UpSampling2D: `Resize` (nearest, each row and column repeated) of the channels_last value by
/// the integer factors.
pub(crate) fn up_sampling(c: &UpSampling2dConfig, x: &Value, out: &Shape, g: &mut OnnxGraph) -> Vec<Value> {
    let scales = g.floats("scales", &[1.0, c.size[0] as f32, c.size[1] as f32, 1.0]);
    let attrs = vec![
        Attr::string("mode", "nearest"),
        Attr::string("coordinate_transformation_mode", "asymmetric"),
        Attr::string("nearest_mode", "floor"),
    ];
    vec![Value::new(g.op("Resize", &[&x.name, "", &scales], attrs), out.clone())]
}

/// Sizes as ONNX integers.
fn to_i64(v: &[usize]) -> Vec<i64> {
    v.iter().map(|&x| x as i64).collect()
}
