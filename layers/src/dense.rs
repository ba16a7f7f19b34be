//! [`Dense`]: the fully connected layer `activation(x · kernel + bias)`.

use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Activation, Regularizer, Shape, TorchLayout, TorchTransform, TorchWeight};
use kensho_autograd::{Param, Tape, Var};
use kensho_core::{Error, Initializer, Result, Rng};
use serde::{Deserialize, Serialize};

/// The configuration of a [`Dense`] layer (Keras' names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DenseConfig {
    /// Layer name.
    pub name: String,
    /// Output features.
    pub units: usize,
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

/// A fully connected layer: `activation(x · kernel + bias)` with `kernel: [in, units]`.
///
/// # Shapes
/// Input `[batch, in]`, output `[batch, units]`. Inputs of higher rank must be flattened first.
///
/// ```
/// use kensho_layers::{Activation, Dense, Layer};
/// let mut dense = Dense::new(4).activation(Activation::Relu);
/// dense.set_name("dense");
/// let out = dense.build(&[3].into(), &mut kensho_core::seeded_rng(0))?;
/// assert_eq!(out, vec![4]);
/// assert_eq!(dense.params()[0].name(), "dense.kernel");
/// assert_eq!(dense.params()[0].value.shape(), &[3, 4]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Dense {
    config: DenseConfig,
    kernel: Option<Param>,
    bias: Option<Param>,
}

impl Dense {
    /// A dense layer with `units` outputs, linear activation, a bias, Glorot-uniform kernel.
    pub fn new(units: usize) -> Dense {
        Dense::from_config(DenseConfig {
            name: String::new(),
            units,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            input_shape: None,
            trainable: true,
        })
    }

    /// A dense layer from its configuration (unbuilt).
    pub fn from_config(config: DenseConfig) -> Dense {
        Dense { config, kernel: None, bias: None }
    }

    /// Sets the activation.
    pub fn activation(mut self, activation: Activation) -> Dense {
        self.config.activation = activation;
        self
    }

    /// Whether to add a bias (default true).
    pub fn use_bias(mut self, use_bias: bool) -> Dense {
        self.config.use_bias = use_bias;
        self
    }

    /// Sets the kernel initializer.
    pub fn kernel_initializer(mut self, init: Initializer) -> Dense {
        self.config.kernel_initializer = init;
        self
    }

    /// Sets the bias initializer.
    pub fn bias_initializer(mut self, init: Initializer) -> Dense {
        self.config.bias_initializer = init;
        self
    }

    /// Adds an L1 / L2 penalty on the kernel.
    pub fn kernel_regularizer(mut self, regularizer: Regularizer) -> Dense {
        self.config.kernel_regularizer = Some(regularizer);
        self
    }

    /// Declares the per-sample input shape (on the first layer of a model).
    pub fn input_shape(mut self, shape: &[usize]) -> Dense {
        self.config.input_shape = Some(Shape::known(shape));
        self
    }

    /// Gives the layer a name instead of the automatic one (Keras' `name=`).
    pub fn with_name(mut self, name: &str) -> Dense {
        self.set_name(name);
        self
    }

    /// `x · kernel + bias`, before the activation.
    fn affine<'t>(&self, x: Var<'t>, tape: &'t Tape) -> Var<'t> {
        let kernel = self.kernel.as_ref().expect("Dense used before build");
        match &self.bias {
            Some(b) => x.linear(tape.param(kernel), tape.param(b)),
            None => x.matmul(tape.param(kernel)),
        }
    }
}

impl Layer for Dense {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
        if let Some(k) = &mut self.kernel {
            k.set_name(format!("{name}.kernel"));
        }
        if let Some(b) = &mut self.bias {
            b.set_name(format!("{name}.bias"));
        }
    }

    fn kind(&self) -> &'static str {
        "Dense"
    }

    fn build(&mut self, input_shape: &Shape, rng: &mut Rng) -> Result<Shape> {
        let name = &self.config.name;
        let (1, Some(features)) = (input_shape.rank(), input_shape.last()) else {
            return Err(Error::invalid(
                format!("Dense \"{name}\" input shape"),
                input_shape,
                "inputs of rank 1 per sample with a known size ([batch, features]); add Flatten first",
            ));
        };
        if self.config.units == 0 || features == 0 {
            return Err(Error::invalid(format!("Dense \"{name}\" units/features"), 0, "a positive number"));
        }
        let units = self.config.units;
        if let Some(k) = &self.kernel {
            if k.value.shape() == [features, units] {
                return Ok(Shape::from([units]));
            }
        }
        let kernel = self.config.kernel_initializer.init(&[features, units], features, units, rng);
        self.kernel = Some(Param::new(format!("{name}.kernel"), kernel));
        self.bias = self.config.use_bias.then(|| {
            Param::new(format!("{name}.bias"), self.config.bias_initializer.init(&[units], units, units, rng))
        });
        self.set_trainable(self.config.trainable);
        Ok(Shape::from([units]))
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        self.config.activation.apply(self.affine(x, cx.tape))
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::Dense(self.config.clone())
    }

    fn params(&self) -> Vec<&Param> {
        self.kernel.iter().chain(self.bias.iter()).collect()
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.kernel.iter_mut().chain(self.bias.iter_mut()).collect()
    }

    fn regularization<'t>(&self, tape: &'t Tape) -> Option<Var<'t>> {
        let (reg, kernel) = (self.config.kernel_regularizer?, self.kernel.as_ref()?);
        kernel.trainable.then(|| reg.penalty(tape.param(kernel)))
    }

    fn declared_input_shape(&self) -> Option<Shape> {
        self.config.input_shape.clone()
    }

    fn torch_layout(&self) -> Option<TorchLayout> {
        // `nn.Linear` (weight [out, in], bias), then the activation's module unless linear.
        let mut weights = vec![TorchWeight::new("weight", TorchTransform::Permute(vec![1, 0]))];
        if self.config.use_bias {
            weights.push(TorchWeight::new("bias", TorchTransform::Identity));
        }
        let modules = if self.config.activation == Activation::Linear { 1 } else { 2 };
        Some(TorchLayout { modules, weights })
    }

    fn trainable(&self) -> bool {
        self.config.trainable
    }

    fn set_trainable(&mut self, trainable: bool) {
        self.config.trainable = trainable;
        for p in self.params_mut() {
            p.trainable = trainable;
        }
    }
}
