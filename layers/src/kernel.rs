//! What Dense and the convolutions share: their kernel-and-bias options ([`KernelOptions`],
//! flattened into each layer's config), their weights ([`KernelBias`]), and the builder setters
//! for those options (`kernel_setters!`).

use crate::{Activation, Regularizer, Shape, TorchLayout, TorchTransform, TorchWeight};
use kensho_autograd::{Param, Tape, Var};
use kensho_core::{Initializer, Rng};
use serde::{Deserialize, Serialize};

/// The options of a layer with a kernel and an optional bias (Keras' names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KernelOptions {
    /// Activation applied to the output.
    pub activation: Activation,
    /// Whether a bias is added.
    pub use_bias: bool,
    /// Kernel initializer (default Glorot uniform).
    pub kernel_initializer: Initializer,
    /// Bias initializer (default zeros).
    pub bias_initializer: Initializer,
    /// Optional penalty on the kernel.
    pub kernel_regularizer: Option<Regularizer>,
    /// Optional declared per-sample input shape (Keras' `input_shape` on a first layer).
    pub input_shape: Option<Shape>,
    /// Whether the parameters are updated in training (false freezes the layer).
    #[serde(default = "crate::layer::yes")]
    pub trainable: bool,
}

impl Default for KernelOptions {
    /// Linear activation, a bias, Glorot-uniform kernel, zero bias, trainable.
    fn default() -> Self {
        KernelOptions {
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            input_shape: None,
            trainable: true,
        }
    }
}

/// The kernel and optional bias of a layer, named `{layer}.kernel` and `{layer}.bias`.
#[derive(Clone, Debug, Default)]
pub(crate) struct KernelBias {
    pub(crate) kernel: Option<Param>,
    pub(crate) bias: Option<Param>,
}

impl KernelBias {
    /// Whether the kernel exists with this shape (a built layer keeps its weights).
    pub(crate) fn has_kernel(&self, shape: &[usize]) -> bool {
        self.kernel.as_ref().is_some_and(|k| k.value.shape() == shape)
    }

    /// Creates the kernel (with its fans for the initializer) and, if the options ask for
    /// one, a bias of `units` values.
    pub(crate) fn create(
        &mut self,
        name: &str,
        options: &KernelOptions,
        kernel_shape: &[usize],
        fans: (usize, usize),
        units: usize,
        rng: &mut Rng,
    ) {
        let kernel = options.kernel_initializer.init(kernel_shape, fans.0, fans.1, rng);
        self.kernel = Some(Param::new(format!("{name}.kernel"), kernel));
        self.bias = options
            .use_bias
            .then(|| Param::new(format!("{name}.bias"), options.bias_initializer.init(&[units], units, units, rng)));
        self.set_trainable(options.trainable);
    }

    /// Renames the weights after the layer.
    pub(crate) fn rename(&mut self, name: &str) {
        if let Some(k) = &mut self.kernel {
            k.set_name(format!("{name}.kernel"));
        }
        if let Some(b) = &mut self.bias {
            b.set_name(format!("{name}.bias"));
        }
    }

    /// The kernel on the tape.
    ///
    /// # Panics
    /// Before the layer is built.
    pub(crate) fn kernel_on<'t>(&self, tape: &'t Tape) -> Var<'t> {
        tape.param(self.kernel.as_ref().expect("a layer used before build"))
    }

    /// `y + bias` (broadcast over every axis but the last), or `y` without a bias.
    pub(crate) fn add_bias<'t>(&self, y: Var<'t>, tape: &'t Tape) -> Var<'t> {
        match &self.bias {
            Some(b) => y.add(tape.param(b)),
            None => y,
        }
    }

    /// Kernel, then bias.
    pub(crate) fn params(&self) -> Vec<&Param> {
        self.kernel.iter().chain(self.bias.iter()).collect()
    }

    /// Kernel, then bias, mutable.
    pub(crate) fn params_mut(&mut self) -> Vec<&mut Param> {
        self.kernel.iter_mut().chain(self.bias.iter_mut()).collect()
    }

    /// The penalty on the kernel, if the options set a regularizer and the kernel trains.
    pub(crate) fn penalty<'t>(&self, options: &KernelOptions, tape: &'t Tape) -> Option<Var<'t>> {
        let (reg, kernel) = (options.kernel_regularizer?, self.kernel.as_ref()?);
        kernel.trainable.then(|| reg.penalty(tape.param(kernel)))
    }

    /// Freezes or unfreezes both weights.
    pub(crate) fn set_trainable(&mut self, trainable: bool) {
        for p in self.params_mut() {
            p.trainable = trainable;
        }
    }
}

/// The builder setters of a layer whose config holds its [`KernelOptions`] in the field
/// `kernel` (`self.config.kernel`).
macro_rules! kernel_setters {
    () => {
        /// Sets the activation.
        pub fn activation(mut self, activation: $crate::Activation) -> Self {
            self.config.kernel.activation = activation;
            self
        }

        /// Whether to add a bias (default true).
        pub fn use_bias(mut self, use_bias: bool) -> Self {
            self.config.kernel.use_bias = use_bias;
            self
        }

        /// Sets the kernel initializer.
        pub fn kernel_initializer(mut self, init: kensho_core::Initializer) -> Self {
            self.config.kernel.kernel_initializer = init;
            self
        }

        /// Sets the bias initializer.
        pub fn bias_initializer(mut self, init: kensho_core::Initializer) -> Self {
            self.config.kernel.bias_initializer = init;
            self
        }

        /// Adds an L1 / L2 penalty on the kernel.
        pub fn kernel_regularizer(mut self, regularizer: $crate::Regularizer) -> Self {
            self.config.kernel.kernel_regularizer = Some(regularizer);
            self
        }

        /// Declares the per-sample input shape (on the first layer of a model).
        pub fn input_shape(mut self, shape: &[usize]) -> Self {
            self.config.kernel.input_shape = Some($crate::Shape::known(shape));
            self
        }

        /// Gives the layer a name instead of the automatic one (Keras' `name=`).
        pub fn with_name(mut self, name: &str) -> Self {
            $crate::Layer::set_name(&mut self, name);
            self
        }
    };
}

pub(crate) use kernel_setters;

/// The PyTorch layout of a kernel-and-bias layer: its module (`weight` laid out by
/// `weight_transform`, then `bias`), followed by the activation's module unless linear.
pub(crate) fn torch_layout(options: &KernelOptions, weight_transform: TorchTransform) -> TorchLayout {
    let mut weights = vec![TorchWeight::new("weight", weight_transform)];
    if options.use_bias {
        weights.push(TorchWeight::new("bias", TorchTransform::Identity));
    }
    let modules = if options.activation == Activation::Linear { 1 } else { 2 };
    TorchLayout { modules, weights }
}
