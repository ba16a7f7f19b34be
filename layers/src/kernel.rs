//! What Dense and the convolutions share: their kernel-and-bias options ([`KernelOptions`],
//! flattened into each layer's config), their weights ([`KernelBias`]), and the builder setters
//! for those options (`kernel_setters!`).

use crate::{Activation, Regularizer, Shape, TorchLayout, TorchTransform, TorchWeight};
use kensho_autograd::{Param, Tape, Var};
use kensho_core::{Initializer, Rng};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

/// [`KernelOptions`] flattened into a config under Keras' names for a kernel that is not called
/// `kernel`: `{prefix}_initializer` and `{prefix}_regularizer` (DepthwiseConv2D's
/// `depthwise_initializer`, SeparableConv2D's `pointwise_initializer`). Use it as
/// `#[serde(flatten, serialize_with = "..::serialize", deserialize_with = "..::deserialize")]`
/// through a module made by `renamed_kernel_options!`.
pub(crate) mod renamed {
    use super::*;
    use serde::de::Error as _;
    use serde::ser::Error as _;

    /// The keys that change, with their names in [`KernelOptions`].
    const RENAMED: [&str; 2] = ["initializer", "regularizer"];

    /// Writes `options` with `kernel_*` keys renamed to `{prefix}_*`.
    pub(crate) fn serialize<S: Serializer>(
        options: &KernelOptions,
        serializer: S,
        prefix: &str,
    ) -> Result<S::Ok, S::Error> {
        let mut value = serde_json::to_value(options).map_err(S::Error::custom)?;
        if let Some(map) = value.as_object_mut() {
            for key in RENAMED {
                if let Some(v) = map.remove(&format!("kernel_{key}")) {
                    map.insert(format!("{prefix}_{key}"), v);
                }
            }
        }
        value.serialize(serializer)
    }

    /// Reads options written by [`serialize`] with the same `prefix`.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
        prefix: &str,
    ) -> Result<KernelOptions, D::Error> {
        let mut value = serde_json::Value::deserialize(deserializer)?;
        if let Some(map) = value.as_object_mut() {
            for key in RENAMED {
                if let Some(v) = map.remove(&format!("{prefix}_{key}")) {
                    map.insert(format!("kernel_{key}"), v);
                }
            }
        }
        serde_json::from_value(value).map_err(D::Error::custom)
    }
}

/// A module `$module` with the `serialize` / `deserialize` pair of [`renamed`] for `$prefix`.
macro_rules! renamed_kernel_options {
    ($module:ident, $prefix:literal) => {
        /// Serde for [`KernelOptions`](crate::KernelOptions) whose kernel fields are named
        #[doc = concat!("`", $prefix, "_initializer` and `", $prefix, "_regularizer`, as in Keras.")]
        mod $module {
            pub(crate) fn serialize<S: serde::Serializer>(
                options: &$crate::KernelOptions,
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                $crate::kernel::renamed::serialize(options, serializer, $prefix)
            }

            pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<$crate::KernelOptions, D::Error> {
                $crate::kernel::renamed::deserialize(deserializer, $prefix)
            }
        }
    };
}

pub(crate) use renamed_kernel_options;

/// The kernel and optional bias of a layer, named `{layer}.kernel` (or another name given to
/// [`KernelBias::named`]) and `{layer}.bias`.
#[derive(Clone, Debug)]
pub(crate) struct KernelBias {
    pub(crate) kernel: Option<Param>,
    pub(crate) bias: Option<Param>,
    /// The kernel's name after the layer's (`kernel`, `depthwise_kernel`, ...).
    kernel_name: &'static str,
}

impl Default for KernelBias {
    /// No weights yet; the kernel will be `{layer}.kernel`.
    fn default() -> Self {
        KernelBias::named("kernel")
    }
}

impl KernelBias {
    /// No weights yet; the kernel will be `{layer}.{kernel_name}` (Keras' weight name).
    pub(crate) fn named(kernel_name: &'static str) -> KernelBias {
        KernelBias { kernel: None, bias: None, kernel_name }
    }

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
    ) -> kensho_core::Result<()> {
        let kernel_name = format!("{name}.{}", self.kernel_name);
        let kernel = options.kernel_initializer.init(&kernel_name, kernel_shape, fans.0, fans.1, rng)?;
        let bias_name = format!("{name}.bias");
        let bias = match options.use_bias {
            true => {
                Some(Param::new(&bias_name, options.bias_initializer.init(&bias_name, &[units], units, units, rng)?))
            }
            false => None,
        };
        self.kernel = Some(Param::new(kernel_name, kernel));
        self.bias = bias;
        self.set_trainable(options.trainable);
        Ok(())
    }

    /// Renames the weights after the layer.
    pub(crate) fn rename(&mut self, name: &str) {
        if let Some(k) = &mut self.kernel {
            k.set_name(format!("{name}.{}", self.kernel_name));
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
/// `kernel` (`self.config.kernel`). The kernel's initializer and regularizer setters are
/// `kernel_initializer` and `kernel_regularizer` unless named otherwise (Keras'
/// `depthwise_initializer`, ...): `kernel_setters!(depthwise_initializer, depthwise_regularizer)`.
macro_rules! kernel_setters {
    () => {
        $crate::kernel::kernel_setters!(kernel_initializer, kernel_regularizer);
    };
    ($initializer:ident, $regularizer:ident) => {
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

        #[doc = concat!("Sets the kernel's initializer (Keras' `", stringify!($initializer), "`).")]
        pub fn $initializer(mut self, init: kensho_core::Initializer) -> Self {
            self.config.kernel.kernel_initializer = init;
            self
        }

        /// Sets the bias initializer.
        pub fn bias_initializer(mut self, init: kensho_core::Initializer) -> Self {
            self.config.kernel.bias_initializer = init;
            self
        }

        #[doc = concat!("Adds an L1 / L2 penalty on the kernel (Keras' `", stringify!($regularizer), "`).")]
        pub fn $regularizer(mut self, regularizer: $crate::Regularizer) -> Self {
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

/// The [`Layer`](crate::Layer) methods that every layer with a kernel implements alike: its
/// config holds `name` and its [`KernelOptions`] in `kernel`, and its `weights` (a
/// [`KernelBias`] or a struct with the same methods) rename, list and freeze its parameters.
macro_rules! kernel_layer_methods {
    () => {
        fn name(&self) -> &str {
            &self.config.name
        }

        fn set_name(&mut self, name: &str) {
            self.config.name = name.to_string();
            self.weights.rename(name);
        }

        fn params(&self) -> Vec<&kensho_autograd::Param> {
            self.weights.params()
        }

        fn params_mut(&mut self) -> Vec<&mut kensho_autograd::Param> {
            self.weights.params_mut()
        }

        fn declared_input_shape(&self) -> Option<$crate::Shape> {
            self.config.kernel.input_shape.clone()
        }

        fn trainable(&self) -> bool {
            self.config.kernel.trainable
        }

        fn set_trainable(&mut self, trainable: bool) {
            self.config.kernel.trainable = trainable;
            self.weights.set_trainable(trainable);
        }
    };
}

pub(crate) use kernel_layer_methods;

/// The PyTorch layout of a kernel-and-bias layer: its module (`weight` laid out by
/// `weight_transform`, then `bias`), followed by the activation's module unless linear.
pub(crate) fn torch_layout(options: &KernelOptions, weight_transform: TorchTransform) -> TorchLayout {
    let mut weights = vec![TorchWeight::new("weight", weight_transform)];
    if options.use_bias {
        weights.push(TorchWeight::new("bias", TorchTransform::Identity));
    }
    let modules = if options.activation == Activation::Linear { 1 } else { 2 };
    TorchLayout { modules, weights, ..TorchLayout::default() }
}
