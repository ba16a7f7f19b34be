//! The convolution methods of [`Tensor`]: shape checks, then the lowering of `lowering.rs`.
//!
//! Receivers: a forward op and the input gradient take the tensor that flows through the
//! network (`x.conv2d(..)`, `dy.conv2d_input_grad(..)`); a kernel gradient takes the forward
//! input and is given the output gradient (`x.conv2d_kernel_grad(dy, ..)`), as the tape has both.

use super::{conv_geometry, expect_shape, transpose_geometry, Conv1dOptions, Conv2dOptions, Geometry};
use crate::tensor::Tensor;
use crate::{Error, Result};

/// The geometry, or a panic with the error's message.
#[track_caller]
fn or_panic(g: Result<Geometry>) -> Geometry {
    g.unwrap_or_else(|e| panic!("{e}"))
}

/// `[N, L, C]` as `[N, 1, L, C]` and a 1-D kernel `[k, a, b]` as `[1, k, a, b]`, after checking
/// the ranks.
fn as_2d(op: &str, x: &Tensor, kernel: &Tensor) -> Result<(Tensor, Tensor)> {
    let (xs, ks) = (x.shape(), kernel.shape());
    if xs.len() != 3 || ks.len() != 3 {
        let expected = format!("an input [batch, length, channels] and a kernel of rank 3 (kernel of shape {ks:?})");
        return Err(Error::shape(op, expected, xs));
    }
    Ok((x.reshape_to(&[xs[0], 1, xs[1], xs[2]]), kernel.reshape_to(&[1, ks[0], ks[1], ks[2]])))
}

/// `[N, 1, L, C]` back to `[N, L, C]`.
fn as_1d(y: Tensor) -> Tensor {
    let s = y.shape();
    let shape = [s[0], s[2], s[3]];
    y.reshape_to(&shape)
}

impl Tensor {
    /// The 2-D convolution of `self` `[N, H, W, C]` with `kernel` `[kh, kw, C / groups, filters]`
    /// (a cross-correlation, as in Keras and PyTorch): `[N, OH, OW, filters]`, with `OH` and
    /// `OW` given by [`conv_output_len`](crate::conv_output_len).
    ///
    /// ```
    /// use kensho_core::{Conv2dOptions, Tensor};
    /// let x = Tensor::arange(9).reshape_to(&[1, 3, 3, 1]);
    /// let k = Tensor::ones(&[2, 2, 1, 1]);
    /// let y = x.conv2d(&k, &Conv2dOptions::default());
    /// assert_eq!(y.shape(), &[1, 2, 2, 1]);
    /// assert_eq!(y.to_vec(), vec![8.0, 12.0, 20.0, 24.0]);
    /// ```
    ///
    /// # Errors
    /// [`Error::Shape`] if the ranks are not 4, the channels or filters are not divisible by the
    /// groups, the kernel's third dimension is not `C / groups`, or the output would be empty;
    /// [`Error::InvalidArgument`] if a stride, dilation or the groups are 0.
    pub fn try_conv2d(&self, kernel: &Tensor, opts: &Conv2dOptions) -> Result<Tensor> {
        let (xs, ks) = (self.shape(), kernel.shape());
        Ok(conv_geometry("conv2d", xs, ks, opts, [xs, ks])?.forward(self, kernel))
    }

    /// The 2-D convolution; see [`Tensor::try_conv2d`].
    ///
    /// # Panics
    /// If the shapes or options do not fit (see [`Tensor::try_conv2d`]); the message names
    /// both shapes.
    #[track_caller]
    pub fn conv2d(&self, kernel: &Tensor, opts: &Conv2dOptions) -> Tensor {
        self.try_conv2d(kernel, opts).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The 2-D convolution plus a bias `[filters]` on every output pixel, fused: the bias is
    /// added in the pass that writes the convolution's output (no second pass, no extra
    /// buffer). Equal, bit for bit, to `self.conv2d(kernel, opts).add(bias)`.
    ///
    /// ```
    /// use kensho_core::{Conv2dOptions, Tensor};
    /// let x = Tensor::arange(9).reshape_to(&[1, 3, 3, 1]);
    /// let (k, b) = (Tensor::ones(&[2, 2, 1, 2]), Tensor::from_vec(vec![0.5, -1.0], &[2])?);
    /// let y = x.try_conv2d_bias(&k, &b, &Conv2dOptions::default())?;
    /// assert_eq!(y.to_vec(), vec![8.5, 7.0, 12.5, 11.0, 20.5, 19.0, 24.5, 23.0]);
    /// # Ok::<(), kensho_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Tensor::try_conv2d`], and [`Error::Shape`] if `bias` is not `[filters]`.
    pub fn try_conv2d_bias(&self, kernel: &Tensor, bias: &Tensor, opts: &Conv2dOptions) -> Result<Tensor> {
        self.conv2d_epilogue("conv2d_bias", kernel, bias, opts, false)
    }

    /// The 2-D convolution plus a bias, then `max(v, 0)`, fused (a `Conv2D` layer with a relu
    /// activation): both are applied in the pass that writes the output. Equal, bit for bit,
    /// to `self.conv2d(kernel, opts).add(bias).relu()`.
    ///
    /// # Errors
    /// As [`Tensor::try_conv2d_bias`].
    pub fn try_conv2d_bias_relu(&self, kernel: &Tensor, bias: &Tensor, opts: &Conv2dOptions) -> Result<Tensor> {
        self.conv2d_epilogue("conv2d_bias_relu", kernel, bias, opts, true)
    }

    /// The convolution plus a bias, then a relu if asked, checked and named `op`.
    fn conv2d_epilogue(
        &self,
        op: &str,
        kernel: &Tensor,
        bias: &Tensor,
        opts: &Conv2dOptions,
        relu: bool,
    ) -> Result<Tensor> {
        let (xs, ks) = (self.shape(), kernel.shape());
        let g = conv_geometry(op, xs, ks, opts, [xs, ks])?;
        if bias.shape() != [g.filters] {
            return Err(Error::shape(op, format!("a bias of shape [{}] (the filters)", g.filters), bias.shape()));
        }
        Ok(g.forward_bias(self, kernel, Some(bias), relu))
    }

    /// The 2-D convolution plus a bias, fused; see [`Tensor::try_conv2d_bias`].
    ///
    /// # Panics
    /// If the shapes or options do not fit (see [`Tensor::try_conv2d_bias`]).
    #[track_caller]
    pub fn conv2d_bias(&self, kernel: &Tensor, bias: &Tensor, opts: &Conv2dOptions) -> Tensor {
        self.try_conv2d_bias(kernel, bias, opts).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The 2-D convolution plus a bias, then a relu, fused; see [`Tensor::try_conv2d_bias_relu`].
    ///
    /// # Panics
    /// If the shapes or options do not fit (see [`Tensor::try_conv2d_bias`]).
    #[track_caller]
    pub fn conv2d_bias_relu(&self, kernel: &Tensor, bias: &Tensor, opts: &Conv2dOptions) -> Tensor {
        self.try_conv2d_bias_relu(kernel, bias, opts).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The gradient of [`Tensor::conv2d`] with respect to its input, for the output gradient
    /// `self` (`dy`): `dy · kernelᵀ` folded back onto an input of `input_shape` (col2im).
    ///
    /// # Panics
    /// If `input_shape`, `kernel` and `opts` do not make a valid convolution, or `self` is not
    /// of its output shape.
    #[track_caller]
    pub fn conv2d_input_grad(&self, kernel: &Tensor, input_shape: &[usize], opts: &Conv2dOptions) -> Tensor {
        let op = "conv2d_input_grad";
        let g = or_panic(conv_geometry(op, input_shape, kernel.shape(), opts, [input_shape, kernel.shape()]));
        expect_shape(op, "an output gradient", self, &g.output_shape());
        g.input_grad(self, kernel)
    }

    /// The gradient of [`Tensor::conv2d`] with respect to its kernel (of `kernel_shape`), for
    /// the input `self` (`x`) and the output gradient `dy`: `im2col(x)ᵀ · dy`.
    ///
    /// # Panics
    /// If `self`, `kernel_shape` and `opts` do not make a valid convolution, or `dy` is not of
    /// its output shape.
    #[track_caller]
    pub fn conv2d_kernel_grad(&self, dy: &Tensor, kernel_shape: &[usize], opts: &Conv2dOptions) -> Tensor {
        let op = "conv2d_kernel_grad";
        let g = or_panic(conv_geometry(op, self.shape(), kernel_shape, opts, [self.shape(), kernel_shape]));
        expect_shape(op, "an output gradient", dy, &g.output_shape());
        g.kernel_grad(self, dy)
    }

    /// The 2-D transposed convolution (Keras `Conv2DTranspose`) of `self` `[N, H, W, C]` with
    /// `kernel` `[kh, kw, filters / groups, C]`: `[N, OH, OW, filters]`, the input gradient of
    /// the convolution from `[N, OH, OW, filters]` to `[N, H, W, C]`. `OH` and `OW` follow
    /// Keras ([`conv_transpose_output_len`](crate::conv_transpose_output_len)); an
    /// `output_padding` (each less than the stride) adds rows / columns at the bottom / right.
    ///
    /// ```
    /// use kensho_core::{Conv2dOptions, Tensor};
    /// let x = Tensor::ones(&[1, 2, 2, 1]);
    /// let k = Tensor::ones(&[2, 2, 1, 1]);
    /// let y = x.conv2d_transpose(&k, &Conv2dOptions::default().strides([2, 2]), None);
    /// assert_eq!(y.shape(), &[1, 4, 4, 1]);
    /// assert!(y.to_vec().iter().all(|&v| v == 1.0));
    /// ```
    ///
    /// # Errors
    /// [`Error::Shape`] if the ranks are not 4, the kernel's last dimension is not `C`, or `C` is
    /// not divisible by the groups; [`Error::InvalidArgument`] if a stride, dilation or the
    /// groups are 0, or an output padding is not less than its stride.
    pub fn try_conv2d_transpose(
        &self,
        kernel: &Tensor,
        opts: &Conv2dOptions,
        output_padding: Option<[usize; 2]>,
    ) -> Result<Tensor> {
        let (xs, ks) = (self.shape(), kernel.shape());
        let g = transpose_geometry("conv2d_transpose", xs, ks, opts, output_padding, [xs, ks])?;
        Ok(g.input_grad(self, kernel))
    }

    /// The 2-D transposed convolution; see [`Tensor::try_conv2d_transpose`].
    ///
    /// # Panics
    /// If the shapes or options do not fit (see [`Tensor::try_conv2d_transpose`]).
    #[track_caller]
    pub fn conv2d_transpose(
        &self,
        kernel: &Tensor,
        opts: &Conv2dOptions,
        output_padding: Option<[usize; 2]>,
    ) -> Tensor {
        self.try_conv2d_transpose(kernel, opts, output_padding).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The gradient of [`Tensor::conv2d_transpose`] with respect to its input (of
    /// `input_shape`), for the output gradient `self` (`dy`): a forward convolution of `dy`.
    ///
    /// # Panics
    /// If the arguments do not make a valid transposed convolution, or `self` is not of its
    /// output shape.
    #[track_caller]
    pub fn conv2d_transpose_input_grad(
        &self,
        kernel: &Tensor,
        input_shape: &[usize],
        opts: &Conv2dOptions,
        output_padding: Option<[usize; 2]>,
    ) -> Tensor {
        let (op, ks) = ("conv2d_transpose_input_grad", kernel.shape());
        let g = or_panic(transpose_geometry(op, input_shape, ks, opts, output_padding, [input_shape, ks]));
        expect_shape(op, "an output gradient", self, &g.input_shape());
        g.forward(self, kernel)
    }

    /// The gradient of [`Tensor::conv2d_transpose`] with respect to its kernel (of
    /// `kernel_shape`), for the input `self` (`x`) and the output gradient `dy`: the kernel
    /// gradient of the transposed convolution, with `dy` as its input and `x` as its output
    /// gradient.
    ///
    /// # Panics
    /// If the arguments do not make a valid transposed convolution, or `dy` is not of its
    /// output shape.
    #[track_caller]
    pub fn conv2d_transpose_kernel_grad(
        &self,
        dy: &Tensor,
        kernel_shape: &[usize],
        opts: &Conv2dOptions,
        output_padding: Option<[usize; 2]>,
    ) -> Tensor {
        let (op, xs) = ("conv2d_transpose_kernel_grad", self.shape());
        let g = or_panic(transpose_geometry(op, xs, kernel_shape, opts, output_padding, [xs, kernel_shape]));
        expect_shape(op, "an output gradient", dy, &g.input_shape());
        g.kernel_grad(dy, self)
    }

    /// The 1-D convolution of `self` `[N, L, C]` with `kernel` `[k, C / groups, filters]`:
    /// `[N, OL, filters]`, computed as [`Tensor::conv2d`] on `[N, 1, L, C]`.
    ///
    /// # Errors
    /// As [`Tensor::try_conv2d`], for ranks 3.
    pub fn try_conv1d(&self, kernel: &Tensor, opts: &Conv1dOptions) -> Result<Tensor> {
        let (x, k) = as_2d("conv1d", self, kernel)?;
        let g = conv_geometry("conv1d", x.shape(), k.shape(), &opts.to_2d(), [self.shape(), kernel.shape()])?;
        Ok(as_1d(g.forward(&x, &k)))
    }

    /// The 1-D convolution; see [`Tensor::try_conv1d`].
    ///
    /// # Panics
    /// If the shapes or options do not fit (see [`Tensor::try_conv1d`]).
    #[track_caller]
    pub fn conv1d(&self, kernel: &Tensor, opts: &Conv1dOptions) -> Tensor {
        self.try_conv1d(kernel, opts).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The 1-D transposed convolution (Keras `Conv1DTranspose`) of `self` `[N, L, C]` with
    /// `kernel` `[k, filters / groups, C]`, computed as [`Tensor::conv2d_transpose`] on
    /// `[N, 1, L, C]`.
    ///
    /// # Errors
    /// As [`Tensor::try_conv2d_transpose`], for ranks 3.
    pub fn try_conv1d_transpose(
        &self,
        kernel: &Tensor,
        opts: &Conv1dOptions,
        output_padding: Option<usize>,
    ) -> Result<Tensor> {
        let op = "conv1d_transpose";
        let (x, k) = as_2d(op, self, kernel)?;
        let padding = output_padding.map(|p| [0, p]);
        let g = transpose_geometry(op, x.shape(), k.shape(), &opts.to_2d(), padding, [self.shape(), kernel.shape()])?;
        Ok(as_1d(g.input_grad(&x, &k)))
    }

    /// The 1-D transposed convolution; see [`Tensor::try_conv1d_transpose`].
    ///
    /// # Panics
    /// If the shapes or options do not fit (see [`Tensor::try_conv1d_transpose`]).
    #[track_caller]
    pub fn conv1d_transpose(&self, kernel: &Tensor, opts: &Conv1dOptions, output_padding: Option<usize>) -> Tensor {
        self.try_conv1d_transpose(kernel, opts, output_padding).unwrap_or_else(|e| panic!("{e}"))
    }
}
