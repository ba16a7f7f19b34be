//! [`Conv2dTranspose`]: the transposed 2-D convolution (Keras' `Conv2DTranspose`, sometimes
//! called a deconvolution), `activation(conv_transpose(x, kernel) + bias)`.

use super::window::{known_spatial_input, owner, window_setters};
use crate::kernel::{self, kernel_layer_methods, kernel_setters, KernelBias, KernelOptions};
use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Shape, TorchLayout, TorchTransform};
use kensho_autograd::{Tape, Var};
use kensho_core::{Error, Padding, Result, Rng};
use serde::{Deserialize, Serialize};

/// The configuration of a [`Conv2dTranspose`] layer (Keras' names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conv2dTransposeConfig {
    /// Layer name.
    pub name: String,
    /// Output channels.
    pub filters: usize,
    /// The kernel's `[height, width]`.
    pub kernel_size: Vec<usize>,
    /// Steps between the input pixels' places in the output (default 1): the upsampling factor.
    pub strides: Vec<usize>,
    /// `Valid` (default) or `Same`.
    pub padding: Padding,
    /// Extra rows and columns at the bottom and right of the output, each less than its
    /// stride; `None` (the default) lets Keras' rule choose the output size.
    #[serde(default)]
    pub output_padding: Option<Vec<usize>>,
    /// Spacing between kernel taps (default 1).
    pub dilation_rate: Vec<usize>,
    /// The kernel, bias and activation options (flattened into the config's JSON).
    #[serde(flatten)]
    pub kernel: KernelOptions,
}

/// The transposed convolution of channels_last images: the gradient of a [`Conv2d`](crate::Conv2d)
/// with respect to its input, used to upsample (each input pixel adds `kernel * x` into an
/// output window, the windows `strides` apart).
///
/// # Shapes
/// Input `[batch, h, w, in]`, kernel `[kh, kw, filters, in]` (Keras' layout), output
/// `[batch, oh, ow, filters]` with, per axis and without `output_padding`,
/// `oh = (h - 1) * stride + max(kh_eff, stride)` for `valid` padding and `h * stride` for
/// `same`, where `kh_eff = (kh - 1) * dilation + 1` (Keras' rule; with `output_padding` `p`:
/// `(h - 1) * stride + kh_eff + p` and `(h - 1) * stride + kh_eff % 2 + p`).
///
/// In PyTorch's layout the layer is `nn.ConvTranspose2d(in, filters, kernel_size, stride)`,
/// whose weight is `[in, filters, kh, kw]`.
///
/// ```
/// use kensho_core::Padding;
/// use kensho_layers::{Conv2dTranspose, Layer, Shape};
/// let mut up = Conv2dTranspose::new(16, [3, 3]).strides([2, 2]).padding(Padding::Same);
/// up.set_name("conv2d_transpose");
/// assert_eq!(up.build(&Shape::from([7, 7, 32]), &mut kensho_core::seeded_rng(0))?, vec![14, 14, 16]);
/// assert_eq!(up.params()[0].value.shape(), &[3, 3, 16, 32]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
#[doc(alias = "Conv2DTranspose")]
#[doc(alias = "Deconvolution2D")]
pub struct Conv2dTranspose {
    config: Conv2dTransposeConfig,
    weights: KernelBias,
}

impl Conv2dTranspose {
    /// A transposed convolution with `filters` outputs and a kernel of `kernel_size`, strides
    /// 1, valid padding, no output padding, linear activation, a bias and a Glorot-uniform
    /// kernel.
    pub fn new(filters: usize, kernel_size: [usize; 2]) -> Conv2dTranspose {
        Conv2dTranspose::from_config(Conv2dTransposeConfig {
            name: String::new(),
            filters,
            kernel_size: kernel_size.to_vec(),
            strides: vec![1; 2],
            padding: Padding::Valid,
            output_padding: None,
            dilation_rate: vec![1; 2],
            kernel: KernelOptions::default(),
        })
    }

    /// A transposed convolution from its configuration (unbuilt).
    pub fn from_config(config: Conv2dTransposeConfig) -> Conv2dTranspose {
        Conv2dTranspose { config, weights: KernelBias::default() }
    }

    window_setters!(2);

    /// Sets the output padding: extra rows and columns at the bottom and right, each less than
    /// its stride.
    pub fn output_padding(mut self, output_padding: [usize; 2]) -> Self {
        self.config.output_padding = Some(output_padding.to_vec());
        self
    }

    kernel_setters!();

    /// The output padding as the core op takes it.
    fn output_padding_2d(&self) -> Option<[usize; 2]> {
        self.config.output_padding.as_deref().map(|p| [p[0], p[1]])
    }
}

impl Layer for Conv2dTranspose {
    kernel_layer_methods!();

    fn kind(&self) -> &'static str {
        "Conv2DTranspose"
    }

    fn build(&mut self, input_shape: &Shape, rng: &mut Rng) -> Result<Shape> {
        let owner = owner(self.kind(), self.name());
        let dims = known_spatial_input(&owner, input_shape, 2)?;
        self.window().check(&owner, 2)?;
        let c = &self.config;
        if c.filters == 0 {
            return Err(Error::invalid(format!("{owner} filters"), 0, "at least 1"));
        }
        if let Some(p) = &c.output_padding
            && (p.len() != 2 || p.iter().zip(&c.strides).any(|(p, s)| p >= s))
        {
            return Err(Error::invalid(
                format!("{owner} output_padding"),
                format!("{p:?}"),
                format!("2 numbers, each less than its stride (strides {:?})", c.strides),
            ));
        }
        let channels = dims[2];
        let mut out = self.window().transpose_output(&dims[..2], c.output_padding.as_deref());
        out.push(c.filters);
        let kernel_shape = [c.kernel_size[0], c.kernel_size[1], c.filters, channels];
        if !self.weights.has_kernel(&kernel_shape) {
            // Keras' fans for a kernel [kh, kw, a, b]: a and b times the taps.
            let taps = c.kernel_size[0].saturating_mul(c.kernel_size[1]);
            let fans = (taps.saturating_mul(c.filters), taps.saturating_mul(channels));
            self.weights.create(&c.name, &c.kernel, &kernel_shape, fans, c.filters, rng)?;
        }
        Ok(Shape::known(&out))
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        let kernel = self.weights.kernel_on(cx.tape);
        let y = x.conv2d_transpose(kernel, &self.window().options(1), self.output_padding_2d());
        self.config.kernel.activation.apply(self.weights.add_bias(y, cx.tape))
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::Conv2DTranspose(self.config.clone())
    }

    fn regularization<'t>(&self, tape: &'t Tape) -> Option<Var<'t>> {
        self.weights.penalty(&self.config.kernel, tape)
    }

    fn torch_layout(&self) -> Option<TorchLayout> {
        // nn.ConvTranspose2d weight [in, out, kh, kw]: kensho's [kh, kw, out, in] permuted.
        Some(kernel::torch_layout(&self.config.kernel, TorchTransform::Permute(vec![3, 2, 0, 1])))
    }
}
