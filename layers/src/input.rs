//! [`Input`]: declares the per-sample input shape of a model (Keras' `Input` / `InputLayer`).

use crate::layer::{Ctx, Layer, LayerConfig};
use kensho_autograd::Var;
use kensho_core::{Error, Result, Rng};
use serde::{Deserialize, Serialize};

/// The configuration of an [`Input`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputConfig {
    /// Layer name.
    pub name: String,
    /// Per-sample shape (without the batch axis).
    pub shape: Vec<usize>,
}

/// Declares the per-sample input shape, so the model can be built (and summarised) before it
/// sees data. Passes its input through unchanged.
///
/// ```
/// use kensho_layers::{Input, Layer};
/// let input = Input::new(&[784]);
/// assert_eq!(input.declared_input_shape(), Some(vec![784]));
/// ```
#[derive(Clone, Debug)]
pub struct Input {
    config: InputConfig,
}

impl Input {
    /// An input of the given per-sample shape (for example `&[784]` or `&[28, 28]`).
    pub fn new(shape: &[usize]) -> Input {
        Input { config: InputConfig { name: String::new(), shape: shape.to_vec() } }
    }

    /// An input from its configuration.
    pub fn from_config(config: InputConfig) -> Input {
        Input { config }
    }
}

impl Layer for Input {
    fn name(&self) -> &str {
        &self.config.name
    }
    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }
    fn kind(&self) -> &'static str {
        "InputLayer"
    }
    fn build(&mut self, input_shape: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        if input_shape != self.config.shape.as_slice() {
            return Err(Error::shape(
                format!("Input \"{}\"", self.config.name),
                format!("per-sample shape {:?} as declared", self.config.shape),
                input_shape,
            ));
        }
        Ok(input_shape.to_vec())
    }
    fn forward<'t>(&self, x: Var<'t>, _cx: &Ctx<'t>) -> Var<'t> {
        x
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::InputLayer(self.config.clone())
    }
    fn declared_input_shape(&self) -> Option<Vec<usize>> {
        Some(self.config.shape.clone())
    }
}
