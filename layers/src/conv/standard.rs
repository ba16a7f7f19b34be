//! [`Conv`]: the 1-D and 2-D convolution layers (Keras' `Conv1D` and `Conv2D`),
//! `activation(conv(x, kernel) + bias)`.

use super::window::{known_spatial_input, owner, window_setters};
use crate::kernel::{self, kernel_layer_methods, kernel_setters, KernelBias, KernelOptions};
use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Shape, TorchLayout, TorchTransform};
use kensho_autograd::{Tape, Var};
use kensho_core::{Error, Padding, Result, Rng};
use serde::{Deserialize, Serialize};

/// The configuration of a convolution layer (Keras' names and defaults). The spatial
/// arguments have one entry per spatial axis (1 for `Conv1D`, 2 for `Conv2D`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvConfig {
    /// Layer name.
    pub name: String,
    /// Output channels.
    pub filters: usize,
    /// The kernel's spatial size.
    pub kernel_size: Vec<usize>,
    /// Steps between windows (default 1).
    pub strides: Vec<usize>,
    /// `Valid` (default) or `Same`.
    pub padding: Padding,
    /// Spacing between kernel taps (default 1).
    pub dilation_rate: Vec<usize>,
    /// Channel groups: each group of filters sees one group of input channels (default 1).
    pub groups: usize,
    /// The kernel, bias and activation options (flattened into the config's JSON).
    #[serde(flatten)]
    pub kernel: KernelOptions,
}

/// A convolution over `N` spatial axes of channels_last inputs; use it as [`Conv2d`] or
/// [`Conv1d`].
///
/// # Shapes
/// `Conv2d`: input `[batch, h, w, in]`, kernel `[kh, kw, in / groups, filters]`, output
/// `[batch, oh, ow, filters]` with `oh = ceil(h / stride)` for `same` padding and
/// `floor((h - (kh - 1) * dilation - 1) / stride) + 1` for `valid`. `Conv1d`: input
/// `[batch, steps, in]`, kernel `[k, in / groups, filters]`.
///
/// ```
/// use kensho_layers::{Activation, Conv2d, Layer, Shape};
/// let mut conv = Conv2d::new(32, [3, 3]).activation(Activation::Relu);
/// conv.set_name("conv2d");
/// let out = conv.build(&Shape::from([28, 28, 1]), &mut kensho_core::seeded_rng(0))?;
/// assert_eq!(out, vec![26, 26, 32]);
/// assert_eq!(conv.params()[0].value.shape(), &[3, 3, 1, 32]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Conv<const N: usize> {
    config: ConvConfig,
    weights: KernelBias,
}

/// Keras' `Conv2D`: a convolution over height and width.
#[doc(alias = "Conv2D")]
pub type Conv2d = Conv<2>;
/// Keras' `Conv1D`: a convolution over the steps of a sequence.
#[doc(alias = "Conv1D")]
pub type Conv1d = Conv<1>;

impl<const N: usize> Conv<N> {
    /// A convolution with `filters` outputs and a kernel of `kernel_size`, strides 1, valid
    /// padding, linear activation, a bias and a Glorot-uniform kernel.
    pub fn new(filters: usize, kernel_size: [usize; N]) -> Conv<N> {
        Conv::from_config(ConvConfig {
            name: String::new(),
            filters,
            kernel_size: kernel_size.to_vec(),
            strides: vec![1; N],
            padding: Padding::Valid,
            dilation_rate: vec![1; N],
            groups: 1,
            kernel: KernelOptions::default(),
        })
    }

    /// A convolution from its configuration (unbuilt).
    pub fn from_config(config: ConvConfig) -> Conv<N> {
        Conv { config, weights: KernelBias::default() }
    }

    window_setters!(N);

    /// Sets the number of channel groups.
    pub fn groups(mut self, groups: usize) -> Self {
        self.config.groups = groups;
        self
    }

    kernel_setters!();

    /// Checks the configuration and the input, returning the input's dimensions and channels.
    fn check(&self, input: &Shape) -> Result<(Vec<usize>, usize)> {
        let c = &self.config;
        let owner = owner(self.kind(), &c.name);
        let dims = known_spatial_input(&owner, input, N)?;
        self.window().check(&owner, N)?;
        let channels = dims[N];
        if c.filters == 0 || c.groups == 0 || !channels.is_multiple_of(c.groups) || !c.filters.is_multiple_of(c.groups)
        {
            return Err(Error::invalid(
                format!("{owner} filters / groups"),
                format!("filters {}, groups {}, input channels {channels}", c.filters, c.groups),
                "positive filters, and groups dividing both the filters and the input channels",
            ));
        }
        Ok((dims, channels))
    }
}

impl<const N: usize> Layer for Conv<N> {
    kernel_layer_methods!();

    fn kind(&self) -> &'static str {
        if N == 1 {
            "Conv1D"
        } else {
            "Conv2D"
        }
    }

    fn build(&mut self, input_shape: &Shape, rng: &mut Rng) -> Result<Shape> {
        let (dims, channels) = self.check(input_shape)?;
        let mut out = self.window().conv_output(&owner(self.kind(), self.name()), input_shape, &dims[..N])?;
        let c = &self.config;
        out.push(c.filters);
        let kernel_shape: Vec<usize> = c.kernel_size.iter().copied().chain([channels / c.groups, c.filters]).collect();
        if !self.weights.has_kernel(&kernel_shape) {
            // Saturating: a size from a file must give an error (from `create`), not overflow here.
            let taps = c.kernel_size.iter().fold(1usize, |n, &k| n.saturating_mul(k));
            let groups = c.groups.max(1);
            let fans = (taps.saturating_mul(channels) / groups, taps.saturating_mul(c.filters) / groups);
            self.weights.create(&c.name, &c.kernel, &kernel_shape, fans, c.filters, rng)?;
        }
        Ok(Shape::known(&out))
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        let kernel = self.weights.kernel_on(cx.tape);
        let opts = self.window().options(self.config.groups);
        let y = if N == 1 {
            let (shape, k) = (x.shape(), kernel.shape());
            let y = x.reshape(&[shape[0], 1, shape[1], shape[2]]).conv2d(kernel.reshape(&[1, k[0], k[1], k[2]]), &opts);
            let s = y.shape();
            self.weights.add_bias(y.reshape(&[s[0], s[2], s[3]]), cx.tape)
        } else if let Some(bias) = &self.weights.bias {
            // Fused: the bias (and a relu activation) are applied in the pass that writes the
            // convolution's output.
            if matches!(self.config.kernel.activation, crate::Activation::Relu) {
                return x.conv2d_bias_relu(kernel, cx.tape.param(bias), &opts);
            }
            x.conv2d_bias(kernel, cx.tape.param(bias), &opts)
        } else {
            x.conv2d(kernel, &opts)
        };
        self.config.kernel.activation.apply(y)
    }

    fn config(&self) -> LayerConfig {
        if N == 1 {
            LayerConfig::Conv1D(self.config.clone())
        } else {
            LayerConfig::Conv2D(self.config.clone())
        }
    }

    fn regularization<'t>(&self, tape: &'t Tape) -> Option<Var<'t>> {
        self.weights.penalty(&self.config.kernel, tape)
    }

    fn torch_layout(&self) -> Option<TorchLayout> {
        // nn.Conv1d / nn.Conv2d weight [out, in / groups, (kh,) kw]: kensho's
        // [(kh,) kw, in / groups, out] with the last axis first and the spatial axes last.
        let perm: Vec<usize> = [N + 1, N].into_iter().chain(0..N).collect();
        Some(kernel::torch_layout(&self.config.kernel, TorchTransform::Permute(perm)))
    }
}
