//! Convolutions, channels last (Keras layouts): `conv2d`, `conv2d_transpose` and their 1-D
//! forms. The forward and backward kernels live in kensho-core; each backward computes the input
//! gradient only if the input needs one (so a network's first layer never computes the gradient
//! of its data) and the kernel gradient only if the kernel needs one (frozen kernels). The 1-D
//! ops are the 2-D ones on a height-1 view.

use crate::Var;
use kensho_core::{Conv1dOptions, Conv2dOptions};
use smallvec::smallvec;

impl<'t> Var<'t> {
    /// The 2-D convolution of `self` `[N, H, W, C]` with `kernel` `[kh, kw, C / groups,
    /// filters]`: `[N, OH, OW, filters]` (see [`kensho_core::Tensor::conv2d`]).
    ///
    /// ```
    /// use kensho_autograd::{Param, Tape};
    /// use kensho_core::{Conv2dOptions, Padding, Tensor};
    /// let k = Param::new("kernel", Tensor::ones(&[3, 3, 2, 4]));
    /// let tape = Tape::new();
    /// let x = tape.constant(Tensor::ones(&[1, 5, 5, 2]));
    /// let y = x.conv2d(tape.param(&k), &Conv2dOptions::default().padding(Padding::Same));
    /// assert_eq!(y.shape(), vec![1, 5, 5, 4]);
    /// let grads = tape.backward(y.sum_all());
    /// assert_eq!(grads.get(k.id()).unwrap().shape(), &[3, 3, 2, 4]);
    /// ```
    ///
    /// # Panics
    /// If the shapes or options do not fit (see [`kensho_core::Tensor::try_conv2d`]).
    #[track_caller]
    pub fn conv2d(self, kernel: Var<'t>, opts: &Conv2dOptions) -> Var<'t> {
        let (x, k, opts) = (self.value(), kernel.value(), *opts);
        let y = x.conv2d(&k, &opts);
        self.tape().record(y, &[self, kernel], move |dy, needs| {
            smallvec![
                needs[0].then(|| dy.conv2d_input_grad(&k, x.shape(), &opts)),
                needs[1].then(|| x.conv2d_kernel_grad(dy, k.shape(), &opts)),
            ]
        })
    }

    /// [`Var::conv2d`] plus `bias` `[filters]` on every output pixel, fused (a convolution
    /// layer's `conv + bias`): the bias is added in the pass that writes the convolution's
    /// output, and the backward gives the bias gradient `Σ dy` over every axis but the last.
    /// Equal, bit for bit, to `self.conv2d(kernel, opts).add(bias)`.
    ///
    /// # Panics
    /// If the shapes or options do not fit (see [`kensho_core::Tensor::try_conv2d_bias`]).
    #[track_caller]
    pub fn conv2d_bias(self, kernel: Var<'t>, bias: Var<'t>, opts: &Conv2dOptions) -> Var<'t> {
        let (x, k, opts) = (self.value(), kernel.value(), *opts);
        let y = x.conv2d_bias(&k, &bias.value(), &opts);
        self.tape().record(y, &[self, kernel, bias], move |dy, needs| {
            smallvec![
                needs[0].then(|| dy.conv2d_input_grad(&k, x.shape(), &opts)),
                needs[1].then(|| x.conv2d_kernel_grad(dy, k.shape(), &opts)),
                needs[2].then(|| dy.sum_axes(&[0, 1, 2], false)),
            ]
        })
    }

    /// [`Var::conv2d_bias`] then [`Var::relu`], fused (a `Conv2D` layer with a relu
    /// activation): the relu is applied in the pass that writes the output, so the
    /// pre-activation is never stored, and the backward masks `dy` by the output (`y > 0`
    /// exactly where the pre-activation is). Equal, bit for bit, to
    /// `self.conv2d(kernel, opts).add(bias).relu()`.
    ///
    /// # Panics
    /// If the shapes or options do not fit (see [`kensho_core::Tensor::try_conv2d_bias`]).
    #[track_caller]
    pub fn conv2d_bias_relu(self, kernel: Var<'t>, bias: Var<'t>, opts: &Conv2dOptions) -> Var<'t> {
        let (x, k, opts) = (self.value(), kernel.value(), *opts);
        let y = x.conv2d_bias_relu(&k, &bias.value(), &opts);
        let y_kept = y.clone();
        self.tape().record(y, &[self, kernel, bias], move |dy, needs| {
            // The relu's mask and the bias gradient in one pass.
            let (dy, db) = dy.relu_grad_and_bias_grad(&y_kept);
            smallvec![
                needs[0].then(|| dy.conv2d_input_grad(&k, x.shape(), &opts)),
                needs[1].then(|| x.conv2d_kernel_grad(&dy, k.shape(), &opts)),
                needs[2].then_some(db),
            ]
        })
    }

    /// The 2-D transposed convolution (Keras `Conv2DTranspose`) of `self` `[N, H, W, C]` with
    /// `kernel` `[kh, kw, filters / groups, C]` (see [`kensho_core::Tensor::conv2d_transpose`]).
    ///
    /// # Panics
    /// If the shapes or options do not fit (see
    /// [`kensho_core::Tensor::try_conv2d_transpose`]).
    #[track_caller]
    pub fn conv2d_transpose(
        self,
        kernel: Var<'t>,
        opts: &Conv2dOptions,
        output_padding: Option<[usize; 2]>,
    ) -> Var<'t> {
        let (x, k, opts) = (self.value(), kernel.value(), *opts);
        let y = x.conv2d_transpose(&k, &opts, output_padding);
        self.tape().record(y, &[self, kernel], move |dy, needs| {
            smallvec![
                needs[0].then(|| dy.conv2d_transpose_input_grad(&k, x.shape(), &opts, output_padding)),
                needs[1].then(|| x.conv2d_transpose_kernel_grad(dy, k.shape(), &opts, output_padding)),
            ]
        })
    }

    /// The 1-D convolution of `self` `[N, L, C]` with `kernel` `[k, C / groups, filters]`:
    /// [`Var::conv2d`] on `[N, 1, L, C]`.
    ///
    /// # Panics
    /// If the shapes or options do not fit (see [`kensho_core::Tensor::try_conv1d`]).
    #[track_caller]
    pub fn conv1d(self, kernel: Var<'t>, opts: &Conv1dOptions) -> Var<'t> {
        let (x, k) = as_2d("conv1d", self, kernel);
        x.conv2d(k, &opts.to_2d()).squeeze(1)
    }

    /// The 1-D transposed convolution (Keras `Conv1DTranspose`) of `self` `[N, L, C]` with
    /// `kernel` `[k, filters / groups, C]`: [`Var::conv2d_transpose`] on `[N, 1, L, C]`.
    ///
    /// # Panics
    /// If the shapes or options do not fit (see
    /// [`kensho_core::Tensor::try_conv1d_transpose`]).
    #[track_caller]
    pub fn conv1d_transpose(self, kernel: Var<'t>, opts: &Conv1dOptions, output_padding: Option<usize>) -> Var<'t> {
        let (x, k) = as_2d("conv1d_transpose", self, kernel);
        x.conv2d_transpose(k, &opts.to_2d(), output_padding.map(|p| [0, p])).squeeze(1)
    }
}

/// `[N, L, C]` as `[N, 1, L, C]` and a kernel `[k, a, b]` as `[1, k, a, b]`.
///
/// # Panics
/// If either is not of rank 3.
#[track_caller]
fn as_2d<'t>(op: &str, x: Var<'t>, kernel: Var<'t>) -> (Var<'t>, Var<'t>) {
    let (xs, ks) = (x.shape(), kernel.shape());
    assert!(
        xs.len() == 3 && ks.len() == 3,
        "{op}: expected an input [batch, length, channels] and a kernel of rank 3, received {xs:?} and {ks:?}"
    );
    (x.unsqueeze(1), kernel.unsqueeze(0))
}
