//! [`SeparableConv2d`]: a depthwise convolution followed by a 1x1 (pointwise) convolution
//! (Keras' `SeparableConv2D`), `activation(pointwise(depthwise(x)) + bias)`.

use super::depthwise::Depthwise;
use super::window::{owner, window_setters};
use crate::kernel::{self, kernel_layer_methods, kernel_setters, renamed_kernel_options, KernelBias, KernelOptions};
use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Regularizer, Shape, TorchLayout, TorchTransform, TorchWeight};
use kensho_autograd::{Param, Tape, Var};
use kensho_core::{Conv2dOptions, Error, Initializer, Padding, Result, Rng};
use serde::{Deserialize, Serialize};

renamed_kernel_options!(pointwise_names, "pointwise");

/// The configuration of a [`SeparableConv2d`] layer (Keras' names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeparableConv2dConfig {
    /// Layer name.
    pub name: String,
    /// Output channels (of the pointwise step).
    pub filters: usize,
    /// The depthwise kernel's `[height, width]`.
    pub kernel_size: Vec<usize>,
    /// Steps between windows of the depthwise step (default 1).
    pub strides: Vec<usize>,
    /// `Valid` (default) or `Same`.
    pub padding: Padding,
    /// Channels of the depthwise step per input channel (default 1).
    pub depth_multiplier: usize,
    /// Spacing between the depthwise kernel's taps (default 1).
    pub dilation_rate: Vec<usize>,
    /// The depthwise kernel's initializer (default Glorot uniform).
    pub depthwise_initializer: Initializer,
    /// Optional penalty on the depthwise kernel.
    #[serde(default)]
    pub depthwise_regularizer: Option<Regularizer>,
    /// The pointwise kernel, bias and activation options (flattened into the config's JSON, the
    /// kernel's fields under Keras' `pointwise_*` names).
    #[serde(flatten, serialize_with = "pointwise_names::serialize", deserialize_with = "pointwise_names::deserialize")]
    pub kernel: KernelOptions,
}

/// A depthwise separable convolution of channels_last images: a depthwise convolution (each
/// input channel with its own `depth_multiplier` kernels, as [`DepthwiseConv2d`](crate::DepthwiseConv2d)
/// without bias) then a 1x1 convolution mixing the channels into `filters` outputs, then the
/// bias and the activation. Far fewer weights than a [`Conv2d`](crate::Conv2d) of the same
/// window.
///
/// # Shapes
/// Input `[batch, h, w, in]`, depthwise kernel `[kh, kw, in, depth_multiplier]`, pointwise
/// kernel `[1, 1, in * depth_multiplier, filters]`, bias `[filters]`, output
/// `[batch, oh, ow, filters]` with `oh` as for [`Conv2d`](crate::Conv2d). The weights are
/// `{name}.depthwise_kernel`, `{name}.pointwise_kernel` and `{name}.bias`, as in Keras.
///
/// PyTorch has no single module for it: in PyTorch's layout the layer is two modules,
/// `nn.Conv2d(in, in * depth_multiplier, kernel_size, groups=in, bias=False)` (weight
/// `[in * depth_multiplier, 1, kh, kw]`) then `nn.Conv2d(in * depth_multiplier, filters, 1)`
/// (weight `[filters, in * depth_multiplier, 1, 1]` and the bias), then the activation's module
/// unless linear.
///
/// ```
/// use kensho_core::Padding;
/// use kensho_layers::{Layer, SeparableConv2d, Shape};
/// let mut sep = SeparableConv2d::new(64, [3, 3]).padding(Padding::Same);
/// sep.set_name("separable_conv2d");
/// assert_eq!(sep.build(&Shape::from([32, 32, 16]), &mut kensho_core::seeded_rng(0))?, vec![32, 32, 64]);
/// let shapes: Vec<&[usize]> = sep.params().iter().map(|p| p.value.shape()).collect();
/// assert_eq!(shapes, [&[3, 3, 16, 1][..], &[1, 1, 16, 64], &[64]]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
#[doc(alias = "SeparableConv2D")]
pub struct SeparableConv2d {
    config: SeparableConv2dConfig,
    weights: SeparableWeights,
}

/// The two kernels and the bias of a [`SeparableConv2d`].
#[derive(Clone, Debug)]
struct SeparableWeights {
    /// The depthwise kernel (no bias).
    depthwise: KernelBias,
    /// The pointwise kernel and the bias.
    pointwise: KernelBias,
}

impl SeparableWeights {
    fn rename(&mut self, name: &str) {
        self.depthwise.rename(name);
        self.pointwise.rename(name);
    }

    fn params(&self) -> Vec<&Param> {
        self.depthwise.params().into_iter().chain(self.pointwise.params()).collect()
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.depthwise.params_mut().into_iter().chain(self.pointwise.params_mut()).collect()
    }

    fn set_trainable(&mut self, trainable: bool) {
        self.depthwise.set_trainable(trainable);
        self.pointwise.set_trainable(trainable);
    }
}

impl SeparableConv2d {
    /// A separable convolution with `filters` outputs and a depthwise kernel of `kernel_size`,
    /// depth multiplier 1, strides 1, valid padding, linear activation, a bias and
    /// Glorot-uniform kernels.
    pub fn new(filters: usize, kernel_size: [usize; 2]) -> SeparableConv2d {
        SeparableConv2d::from_config(SeparableConv2dConfig {
            name: String::new(),
            filters,
            kernel_size: kernel_size.to_vec(),
            strides: vec![1; 2],
            padding: Padding::Valid,
            depth_multiplier: 1,
            dilation_rate: vec![1; 2],
            depthwise_initializer: Initializer::GlorotUniform,
            depthwise_regularizer: None,
            kernel: KernelOptions::default(),
        })
    }

    /// A separable convolution from its configuration (unbuilt).
    pub fn from_config(config: SeparableConv2dConfig) -> SeparableConv2d {
        let weights = SeparableWeights {
            depthwise: KernelBias::named("depthwise_kernel"),
            pointwise: KernelBias::named("pointwise_kernel"),
        };
        SeparableConv2d { config, weights }
    }

    window_setters!(2);

    /// Sets the number of depthwise channels per input channel.
    pub fn depth_multiplier(mut self, depth_multiplier: usize) -> Self {
        self.config.depth_multiplier = depth_multiplier;
        self
    }

    /// Sets the depthwise kernel's initializer (Keras' `depthwise_initializer`).
    pub fn depthwise_initializer(mut self, init: Initializer) -> Self {
        self.config.depthwise_initializer = init;
        self
    }

    /// Adds an L1 / L2 penalty on the depthwise kernel (Keras' `depthwise_regularizer`).
    pub fn depthwise_regularizer(mut self, regularizer: Regularizer) -> Self {
        self.config.depthwise_regularizer = Some(regularizer);
        self
    }

    kernel_setters!(pointwise_initializer, pointwise_regularizer);

    /// The depthwise kernel's options: no bias, its own initializer and regularizer.
    fn depthwise_options(&self) -> KernelOptions {
        let c = &self.config;
        KernelOptions {
            use_bias: false,
            kernel_initializer: c.depthwise_initializer,
            kernel_regularizer: c.depthwise_regularizer,
            trainable: c.kernel.trainable,
            ..KernelOptions::default()
        }
    }
}

impl Layer for SeparableConv2d {
    kernel_layer_methods!();

    fn kind(&self) -> &'static str {
        "SeparableConv2D"
    }

    fn build(&mut self, input_shape: &Shape, rng: &mut Rng) -> Result<Shape> {
        let owner = owner(self.kind(), self.name());
        let sizes = Depthwise::new(&owner, self.window(), self.config.depth_multiplier, input_shape)?;
        let (c, middle) = (&self.config, sizes.output[2]);
        if c.filters == 0 {
            return Err(Error::invalid(format!("{owner} filters"), 0, "at least 1"));
        }
        if !self.weights.depthwise.has_kernel(&sizes.kernel) {
            self.weights.depthwise.create(
                &c.name,
                &self.depthwise_options(),
                &sizes.kernel,
                sizes.fans,
                middle,
                rng,
            )?;
        }
        let pointwise = [1, 1, middle, c.filters];
        if !self.weights.pointwise.has_kernel(&pointwise) {
            self.weights.pointwise.create(&c.name, &c.kernel, &pointwise, (middle, c.filters), c.filters, rng)?;
        }
        Ok(Shape::known(&[sizes.output[0], sizes.output[1], c.filters]))
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        let (depthwise, pointwise) = (&self.weights.depthwise, &self.weights.pointwise);
        let y = self.window().depthwise(x, depthwise.kernel_on(cx.tape));
        let y = y.conv2d(pointwise.kernel_on(cx.tape), &Conv2dOptions::default());
        self.config.kernel.activation.apply(pointwise.add_bias(y, cx.tape))
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::SeparableConv2D(self.config.clone())
    }

    fn regularization<'t>(&self, tape: &'t Tape) -> Option<Var<'t>> {
        let depthwise = self.weights.depthwise.penalty(&self.depthwise_options(), tape);
        let pointwise = self.weights.pointwise.penalty(&self.config.kernel, tape);
        match (depthwise, pointwise) {
            (Some(a), Some(b)) => Some(a.add(b)),
            (a, b) => a.or(b),
        }
    }

    fn torch_layout(&self) -> Option<TorchLayout> {
        // Module 0: the depthwise nn.Conv2d; module 1: the pointwise nn.Conv2d (weight
        // [filters, in * dm, 1, 1] and the bias); then the activation's module.
        let mut layout = kernel::torch_layout(&self.config.kernel, TorchTransform::Permute(vec![3, 2, 0, 1]));
        for weight in &mut layout.weights {
            weight.module += 1;
        }
        let depthwise = Depthwise::torch_transform(self.weights.depthwise.kernel.as_ref());
        layout.weights.insert(0, TorchWeight::new("weight", depthwise));
        layout.modules += 1;
        Some(layout)
    }
}
