//! [`ActivationLayer`]: applies an [`Activation`] as a layer of its own (Keras' `Activation`).

use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Activation, Shape};
use kensho_autograd::Var;
use kensho_core::{Result, Rng};
use serde::{Deserialize, Serialize};

/// The configuration of an [`ActivationLayer`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActivationConfig {
    /// Layer name.
    pub name: String,
    /// The activation applied.
    pub activation: Activation,
}

/// Applies an activation function elementwise (softmax along the last axis).
///
/// ```
/// use kensho_layers::{Activation, ActivationLayer, Layer};
/// let layer = ActivationLayer::new(Activation::Relu);
/// assert_eq!(layer.kind(), "Activation");
/// ```
#[derive(Clone, Debug)]
#[doc(alias = "Activation")]
pub struct ActivationLayer {
    config: ActivationConfig,
}

impl ActivationLayer {
    /// A layer applying `activation`.
    pub fn new(activation: Activation) -> ActivationLayer {
        ActivationLayer { config: ActivationConfig { name: String::new(), activation } }
    }

    /// A layer from its configuration.
    pub fn from_config(config: ActivationConfig) -> ActivationLayer {
        ActivationLayer { config }
    }
}

impl Layer for ActivationLayer {
    fn name(&self) -> &str {
        &self.config.name
    }
    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }
    fn kind(&self) -> &'static str {
        "Activation"
    }
    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        Ok(input_shape.clone())
    }
    fn forward<'t>(&self, x: Var<'t>, _cx: &Ctx<'t>) -> Var<'t> {
        self.config.activation.apply(x)
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::Activation(self.config.clone())
    }
}
