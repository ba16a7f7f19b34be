//! [`DepthwiseConv2d`]: each input channel convolved with its own kernels (Keras'
//! `DepthwiseConv2D`), and the depthwise step that `SeparableConv2D` shares with it.

use super::window::{known_spatial_input, owner, window_setters, Window};
use crate::kernel::{self, kernel_layer_methods, kernel_setters, renamed_kernel_options, KernelBias, KernelOptions};
use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Shape, TorchLayout, TorchTransform};
use kensho_autograd::{Param, Tape, Var};
use kensho_core::{Error, Padding, Result, Rng};
use serde::{Deserialize, Serialize};

renamed_kernel_options!(depthwise_names, "depthwise");

/// The configuration of a [`DepthwiseConv2d`] layer (Keras' names and defaults; the kernel's
/// initializer and regularizer are `depthwise_initializer` and `depthwise_regularizer`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DepthwiseConv2dConfig {
    /// Layer name.
    pub name: String,
    /// The kernel's `[height, width]`.
    pub kernel_size: Vec<usize>,
    /// Steps between windows (default 1).
    pub strides: Vec<usize>,
    /// `Valid` (default) or `Same`.
    pub padding: Padding,
    /// Output channels per input channel (default 1).
    pub depth_multiplier: usize,
    /// Spacing between kernel taps (default 1).
    pub dilation_rate: Vec<usize>,
    /// The kernel, bias and activation options (flattened into the config's JSON, the kernel's
    /// fields under Keras' `depthwise_*` names).
    #[serde(flatten, serialize_with = "depthwise_names::serialize", deserialize_with = "depthwise_names::deserialize")]
    pub kernel: KernelOptions,
}

/// A depthwise convolution of channels_last images: each input channel `c` is convolved with
/// its own `depth_multiplier` kernels, giving output channels `c * depth_multiplier + m`
/// (computed as one convolution with as many groups as input channels).
///
/// # Shapes
/// Input `[batch, h, w, in]`, kernel `[kh, kw, in, depth_multiplier]` (Keras' layout), bias
/// `[in * depth_multiplier]`, output `[batch, oh, ow, in * depth_multiplier]` with `oh` as for
/// [`Conv2d`](crate::Conv2d).
///
/// In PyTorch's layout the layer is `nn.Conv2d(in, in * depth_multiplier, kernel_size,
/// groups=in)`, whose weight is `[in * depth_multiplier, 1, kh, kw]`.
///
/// ```
/// use kensho_layers::{DepthwiseConv2d, Layer, Shape};
/// let mut dw = DepthwiseConv2d::new([3, 3]).depth_multiplier(2);
/// dw.set_name("depthwise_conv2d");
/// assert_eq!(dw.build(&Shape::from([28, 28, 8]), &mut kensho_core::seeded_rng(0))?, vec![26, 26, 16]);
/// assert_eq!(dw.params()[0].value.shape(), &[3, 3, 8, 2]);
/// assert_eq!(dw.params()[1].value.shape(), &[16]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
#[doc(alias = "DepthwiseConv2D")]
pub struct DepthwiseConv2d {
    config: DepthwiseConv2dConfig,
    weights: KernelBias,
}

impl DepthwiseConv2d {
    /// A depthwise convolution with a kernel of `kernel_size`, depth multiplier 1, strides 1,
    /// valid padding, linear activation, a bias and a Glorot-uniform kernel.
    pub fn new(kernel_size: [usize; 2]) -> DepthwiseConv2d {
        DepthwiseConv2d::from_config(DepthwiseConv2dConfig {
            name: String::new(),
            kernel_size: kernel_size.to_vec(),
            strides: vec![1; 2],
            padding: Padding::Valid,
            depth_multiplier: 1,
            dilation_rate: vec![1; 2],
            kernel: KernelOptions::default(),
        })
    }

    /// A depthwise convolution from its configuration (unbuilt).
    pub fn from_config(config: DepthwiseConv2dConfig) -> DepthwiseConv2d {
        DepthwiseConv2d { config, weights: KernelBias::default() }
    }

    window_setters!(2);

    /// Sets the number of output channels per input channel.
    pub fn depth_multiplier(mut self, depth_multiplier: usize) -> Self {
        self.config.depth_multiplier = depth_multiplier;
        self
    }

    kernel_setters!(depthwise_initializer, depthwise_regularizer);
}

/// The sizes of a depthwise convolution on one input.
pub(crate) struct Depthwise {
    /// The per-sample output `[oh, ow, in * depth_multiplier]`.
    pub(crate) output: Vec<usize>,
    /// The kernel `[kh, kw, in, depth_multiplier]`.
    pub(crate) kernel: [usize; 4],
    /// The kernel's fans in and out, as Keras counts them.
    pub(crate) fans: (usize, usize),
}

impl Depthwise {
    /// Checks the input, the window and the depth multiplier of the layer named `owner`, and
    /// gives the sizes.
    pub(crate) fn new(owner: &str, window: Window<'_>, depth_multiplier: usize, input: &Shape) -> Result<Depthwise> {
        let dims = known_spatial_input(owner, input, 2)?;
        window.check(owner, 2)?;
        if depth_multiplier == 0 {
            return Err(Error::invalid(format!("{owner} depth_multiplier"), 0, "at least 1"));
        }
        let (channels, taps) = (dims[2], window.kernel_size[0] * window.kernel_size[1]);
        let mut output = window.conv_output(owner, input, &dims[..2])?;
        output.push(channels * depth_multiplier);
        Ok(Depthwise {
            output,
            kernel: [window.kernel_size[0], window.kernel_size[1], channels, depth_multiplier],
            fans: (taps * channels, taps * depth_multiplier),
        })
    }

    /// The PyTorch layout of a depthwise kernel (of `nn.Conv2d(.., groups=in)`): kensho's
    /// `[kh, kw, in, dm]` as `[in, dm, kh, kw]`, merged to `[in * dm, 1, kh, kw]` (output channel
    /// `c * dm + m`, as here). Before the kernel exists, only the permutation.
    pub(crate) fn torch_transform(kernel: Option<&Param>) -> TorchTransform {
        let permute = TorchTransform::Permute(vec![2, 3, 0, 1]);
        match kernel.map(|k| k.value.shape()) {
            Some(&[kh, kw, channels, dm]) => {
                TorchTransform::Chain(vec![permute, TorchTransform::Reshape(vec![channels * dm, 1, kh, kw])])
            }
            _ => permute,
        }
    }
}

impl Layer for DepthwiseConv2d {
    kernel_layer_methods!();

    fn kind(&self) -> &'static str {
        "DepthwiseConv2D"
    }

    fn build(&mut self, input_shape: &Shape, rng: &mut Rng) -> Result<Shape> {
        let owner = owner(self.kind(), self.name());
        let sizes = Depthwise::new(&owner, self.window(), self.config.depth_multiplier, input_shape)?;
        if !self.weights.has_kernel(&sizes.kernel) {
            let units = sizes.output[2];
            self.weights.create(&self.config.name, &self.config.kernel, &sizes.kernel, sizes.fans, units, rng)?;
        }
        Ok(Shape::known(&sizes.output))
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        let y = self.window().depthwise(x, self.weights.kernel_on(cx.tape));
        self.config.kernel.activation.apply(self.weights.add_bias(y, cx.tape))
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::DepthwiseConv2D(self.config.clone())
    }

    fn regularization<'t>(&self, tape: &'t Tape) -> Option<Var<'t>> {
        self.weights.penalty(&self.config.kernel, tape)
    }

    fn torch_layout(&self) -> Option<TorchLayout> {
        Some(kernel::torch_layout(&self.config.kernel, Depthwise::torch_transform(self.weights.kernel.as_ref())))
    }
}
