//! What the convolution-family layers share: the check of their channels_last inputs, their
//! [`Window`] (kernel size, strides, dilation, padding) with its checks, output sizes and core
//! options, the builder setters of that window (`window_setters!`), and the depthwise
//! convolution that `DepthwiseConv2D` and `SeparableConv2D` both compute.

use crate::Shape;
use kensho_autograd::Var;
use kensho_core::{conv_output_len, conv_transpose_output_len, Conv2dOptions, Error, Padding, Result};

/// `Kind "name"`: how a layer's error messages name it.
pub(crate) fn owner(kind: &str, name: &str) -> String {
    format!("{kind} \"{name}\"")
}

/// The dimensions of a per-sample channels_last input with `n` spatial axes (`[steps,
/// channels]` for 1, `[height, width, channels]` for 2), some of which may be unknown.
///
/// # Errors
/// If the rank is not `n + 1`; the message names `owner`, the shape and the layout expected.
pub(crate) fn spatial_input(owner: &str, input: &Shape, n: usize) -> Result<Vec<Option<usize>>> {
    if input.rank() == n + 1 {
        return Ok(input.dims().to_vec());
    }
    let expected = if n == 1 { "[batch, steps, channels]" } else { "[batch, height, width, channels]" };
    Err(Error::invalid(
        format!("{owner} input shape"),
        input,
        format!("inputs of rank {} per sample, {expected} (channels last)", n + 1),
    ))
}

/// [`spatial_input`] with every dimension known (layers with weights need the channels, and
/// the convolutions the spatial sizes).
///
/// # Errors
/// As [`spatial_input`], or if a dimension is unknown.
pub(crate) fn known_spatial_input(owner: &str, input: &Shape, n: usize) -> Result<Vec<usize>> {
    spatial_input(owner, input, n)?;
    input.require_known(owner)
}

/// The per-sample output of a layer that changes only the height and width of images
/// `[height, width, channels]`: `size(axis, length)` gives each known length's new value (or an
/// error); an unknown length stays unknown.
///
/// # Errors
/// If the input is not an image, or `size` refuses a length.
pub(crate) fn resize_image(owner: &str, input: &Shape, size: impl Fn(usize, usize) -> Result<usize>) -> Result<Shape> {
    let mut dims = spatial_input(owner, input, 2)?;
    for (axis, dim) in dims.iter_mut().take(2).enumerate() {
        *dim = dim.map(|len| size(axis, len)).transpose()?;
    }
    Ok(Shape::new(dims))
}

/// The window of a convolution layer, one entry per spatial axis in each list.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window<'a> {
    /// The kernel's spatial size.
    pub(crate) kernel_size: &'a [usize],
    /// Steps between windows.
    pub(crate) strides: &'a [usize],
    /// Spacing between kernel taps.
    pub(crate) dilation_rate: &'a [usize],
    /// `Valid` or `Same`.
    pub(crate) padding: Padding,
}

impl Window<'_> {
    /// Checks that each list has one positive number per spatial axis (`n` of them).
    ///
    /// # Errors
    /// Naming `owner` and the first list that does not fit.
    pub(crate) fn check(&self, owner: &str, n: usize) -> Result<()> {
        let lists =
            [("kernel_size", self.kernel_size), ("strides", self.strides), ("dilation_rate", self.dilation_rate)];
        for (what, v) in lists {
            if v.len() != n || v.contains(&0) {
                return Err(Error::invalid(
                    format!("{owner} {what}"),
                    format!("{v:?}"),
                    format!("{n} positive numbers"),
                ));
            }
        }
        Ok(())
    }

    /// The output size of each spatial axis of the convolution of an input whose spatial
    /// sizes are `spatial` (`input` is the whole per-sample shape, for the message).
    ///
    /// # Errors
    /// If a valid window does not fit in the input.
    pub(crate) fn conv_output(&self, owner: &str, input: &Shape, spatial: &[usize]) -> Result<Vec<usize>> {
        let mut out = Vec::with_capacity(spatial.len());
        for (axis, &size) in spatial.iter().enumerate() {
            let len = conv_output_len(
                size,
                self.kernel_size[axis],
                self.strides[axis],
                self.dilation_rate[axis],
                self.padding,
            );
            if len == 0 {
                return Err(Error::invalid(
                    format!("{owner} input shape"),
                    input,
                    format!("spatial sizes of at least the dilated kernel {:?} with valid padding", self.kernel_size),
                ));
            }
            out.push(len);
        }
        Ok(out)
    }

    /// The output size of each spatial axis of the transposed convolution of an input whose
    /// spatial sizes are `spatial`, by Keras' rule (see
    /// [`conv_transpose_output_len`](kensho_core::conv_transpose_output_len)).
    pub(crate) fn transpose_output(&self, spatial: &[usize], output_padding: Option<&[usize]>) -> Vec<usize> {
        let (k, s, d) = (self.kernel_size, self.strides, self.dilation_rate);
        (0..spatial.len())
            .map(|a| {
                conv_transpose_output_len(spatial[a], k[a], s[a], d[a], self.padding, output_padding.map(|p| p[a]))
            })
            .collect()
    }

    /// The options of the 2-D convolution that computes the layer (a 1-D one runs on a
    /// height of 1).
    pub(crate) fn options(&self, groups: usize) -> Conv2dOptions {
        let two = |v: &[usize]| if v.len() == 1 { [1, v[0]] } else { [v[0], v[1]] };
        Conv2dOptions { strides: two(self.strides), padding: self.padding, dilation: two(self.dilation_rate), groups }
    }

    /// The depthwise convolution of `x` `[batch, h, w, in]` with `kernel`
    /// `[kh, kw, in, depth_multiplier]`: output channel `c * depth_multiplier + m` is input
    /// channel `c` convolved with `kernel[.., .., c, m]`, computed as one convolution with
    /// `in` groups and the kernel seen as `[kh, kw, 1, in * depth_multiplier]`.
    pub(crate) fn depthwise<'t>(&self, x: Var<'t>, kernel: Var<'t>) -> Var<'t> {
        let k = kernel.shape();
        x.conv2d(kernel.reshape(&[k[0], k[1], 1, k[2] * k[3]]), &self.options(k[2]))
    }
}

/// The builder setters of a convolution layer's window over `$n` spatial axes (its config has
/// `kernel_size`, `strides`, `dilation_rate` and `padding`), and its `window()`.
macro_rules! window_setters {
    ($n:expr) => {
        /// Sets the strides (default 1).
        pub fn strides(mut self, strides: [usize; $n]) -> Self {
            self.config.strides = strides.to_vec();
            self
        }

        /// Sets the padding (`Valid`, the default, or `Same`).
        pub fn padding(mut self, padding: kensho_core::Padding) -> Self {
            self.config.padding = padding;
            self
        }

        /// Sets the dilation rate (default 1).
        pub fn dilation_rate(mut self, dilation: [usize; $n]) -> Self {
            self.config.dilation_rate = dilation.to_vec();
            self
        }

        /// The layer's window.
        fn window(&self) -> $crate::conv::window::Window<'_> {
            let c = &self.config;
            $crate::conv::window::Window {
                kernel_size: &c.kernel_size,
                strides: &c.strides,
                dilation_rate: &c.dilation_rate,
                padding: c.padding,
            }
        }
    };
}

pub(crate) use window_setters;
