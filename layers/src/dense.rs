//! [`Dense`]: the fully connected layer `activation(x · kernel + bias)`.

use crate::kernel::{self, kernel_setters, KernelBias, KernelOptions};
use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Shape, TorchLayout, TorchTransform};
use kensho_autograd::{Param, Tape, Var};
use kensho_core::{Error, Result, Rng};
use serde::{Deserialize, Serialize};

/// The configuration of a [`Dense`] layer (Keras' names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DenseConfig {
    /// Layer name.
    pub name: String,
    /// Output features.
    pub units: usize,
    /// The kernel, bias and activation options (flattened into the config's JSON).
    #[serde(flatten)]
    pub kernel: KernelOptions,
}

/// A fully connected layer: `activation(x · kernel + bias)` with `kernel: [in, units]`.
///
/// # Shapes
/// Input `[batch, .., in]`, output `[batch, .., units]`: as in Keras, the layer applies to the
/// last axis, so on a sequence `[batch, time, in]` it transforms every time step alike (and
/// passes the sequence's mask on).
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
    weights: KernelBias,
}

impl Dense {
    /// A dense layer with `units` outputs, linear activation, a bias, Glorot-uniform kernel.
    pub fn new(units: usize) -> Dense {
        Dense::from_config(DenseConfig { name: String::new(), units, kernel: KernelOptions::default() })
    }

    /// A dense layer from its configuration (unbuilt).
    pub fn from_config(config: DenseConfig) -> Dense {
        Dense { config, weights: KernelBias::default() }
    }

    kernel_setters!();
}

impl Layer for Dense {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
        self.weights.rename(name);
    }

    fn kind(&self) -> &'static str {
        "Dense"
    }

    fn build(&mut self, input_shape: &Shape, rng: &mut Rng) -> Result<Shape> {
        let name = &self.config.name;
        let Some(features) = input_shape.last().filter(|_| input_shape.rank() >= 1) else {
            return Err(Error::invalid(
                format!("Dense \"{name}\" input shape"),
                input_shape,
                "inputs whose last axis has a known size ([batch, features] or [batch, .., features])",
            ));
        };
        if self.config.units == 0 || features == 0 {
            return Err(Error::invalid(format!("Dense \"{name}\" units/features"), 0, "a positive number"));
        }
        let units = self.config.units;
        if !self.weights.has_kernel(&[features, units]) {
            self.weights.create(name, &self.config.kernel, &[features, units], (features, units), units, rng)?;
        }
        let mut dims = input_shape.dims().to_vec();
        *dims.last_mut().expect("rank checked") = Some(units);
        Ok(Shape::new(dims))
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        let kernel = self.weights.kernel_on(cx.tape);
        // A sequence (or any rank above 2) runs as one product over all its positions.
        let shape = x.shape();
        let rows = if shape.len() > 2 {
            x.reshape(&[shape[..shape.len() - 1].iter().product(), shape[shape.len() - 1]])
        } else {
            x
        };
        let mut affine = match &self.weights.bias {
            Some(b) => rows.linear(kernel, cx.tape.param(b)),
            None => rows.matmul(kernel),
        };
        if shape.len() > 2 {
            affine = affine.reshape(&[&shape[..shape.len() - 1], &[self.config.units]].concat());
        }
        self.config.kernel.activation.apply(affine)
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::Dense(self.config.clone())
    }

    fn params(&self) -> Vec<&Param> {
        self.weights.params()
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.weights.params_mut()
    }

    fn regularization<'t>(&self, tape: &'t Tape) -> Option<Var<'t>> {
        self.weights.penalty(&self.config.kernel, tape)
    }

    fn declared_input_shape(&self) -> Option<Shape> {
        self.config.kernel.input_shape.clone()
    }

    fn torch_layout(&self) -> Option<TorchLayout> {
        // `nn.Linear`: weight [out, in], the kernel transposed.
        Some(kernel::torch_layout(&self.config.kernel, TorchTransform::Permute(vec![1, 0])))
    }

    fn trainable(&self) -> bool {
        self.config.kernel.trainable
    }

    fn set_trainable(&mut self, trainable: bool) {
        self.config.kernel.trainable = trainable;
        self.weights.set_trainable(trainable);
    }
}
