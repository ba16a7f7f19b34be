//! [`Dropout`]: zeroes a random fraction of its inputs during training (inverted dropout).

use crate::layer::{Ctx, Layer, LayerConfig};
use crate::Shape;
use kensho_autograd::Var;
use kensho_core::{Error, Result, Rng, Tensor};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// The configuration of a [`Dropout`] layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DropoutConfig {
    /// Layer name.
    pub name: String,
    /// The fraction of inputs dropped, in `[0, 1)`.
    pub rate: f32,
}

/// During training, sets each input to 0 with probability `rate` and scales the rest by
/// `1 / (1 - rate)`, so the expected value is unchanged; at inference it is the identity.
///
/// ```
/// use kensho_layers::Dropout;
/// let layer = Dropout::new(0.5);
/// ```
#[derive(Clone, Debug)]
pub struct Dropout {
    config: DropoutConfig,
}

impl Dropout {
    /// A dropout layer with the given rate (checked when the model is built).
    pub fn new(rate: f32) -> Dropout {
        Dropout { config: DropoutConfig { name: String::new(), rate } }
    }

    /// A dropout layer from its configuration.
    pub fn from_config(config: DropoutConfig) -> Dropout {
        Dropout { config }
    }
}

impl Layer for Dropout {
    fn name(&self) -> &str {
        &self.config.name
    }
    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }
    fn kind(&self) -> &'static str {
        "Dropout"
    }
    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let rate = self.config.rate;
        if !(0.0..1.0).contains(&rate) {
            return Err(Error::invalid(format!("Dropout \"{}\" rate", self.config.name), rate, "a value in [0, 1)"));
        }
        Ok(input_shape.clone())
    }
    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        if !cx.training || self.config.rate == 0.0 {
            return x;
        }
        let keep = 1.0 - self.config.rate;
        let mut rng = cx.rng.borrow_mut();
        let mask = Tensor::from_fn(&x.shape(), |_| if rng.random::<f32>() < keep { 1.0 / keep } else { 0.0 });
        x.mul_mask(mask)
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::Dropout(self.config.clone())
    }
}
