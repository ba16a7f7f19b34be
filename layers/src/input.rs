//! [`Input`]: declares the per-sample input shape of a model (Keras' `Input` / `InputLayer`).

use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Shape, TorchLayout};
use kensho_autograd::Var;
use kensho_core::{Error, Result, Rng};
use serde::{Deserialize, Serialize};

/// The configuration of an [`Input`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputConfig {
    /// Layer name.
    pub name: String,
    /// Per-sample shape (without the batch axis); `null` for a dimension known only from data.
    pub shape: Shape,
}

/// Declares the per-sample input shape, so the model can be built (and summarised) before it
/// sees data. Passes its input through unchanged.
///
/// ```
/// use kensho_layers::{Input, Layer};
/// let input = Input::new(&[784]);
/// assert_eq!(input.declared_input_shape(), Some([784].into()));
/// ```
#[derive(Clone, Debug)]
pub struct Input {
    config: InputConfig,
}

impl Input {
    /// An input of the given per-sample shape (for example `&[784]` or `&[28, 28]`).
    pub fn new(shape: &[usize]) -> Input {
        Input::with_shape(Shape::known(shape))
    }

    /// An input whose shape may have unknown dimensions, such as a sequence of any length:
    /// `Input::with_shape(Shape::new(vec![None, Some(16)]))`.
    pub fn with_shape(shape: Shape) -> Input {
        Input { config: InputConfig { name: String::new(), shape } }
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
    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let declared = self.config.shape.dims();
        let fits = declared.len() == input_shape.rank()
            && declared.iter().zip(input_shape.dims()).all(|(d, s)| d.is_none() || d == s);
        if !fits {
            return Err(Error::invalid(
                format!("Input \"{}\" shape", self.config.name),
                input_shape,
                format!("the per-sample shape {} as declared", self.config.shape),
            ));
        }
        Ok(self.config.shape.clone())
    }
    fn forward<'t>(&self, x: Var<'t>, _cx: &Ctx<'t>) -> Var<'t> {
        x
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::InputLayer(self.config.clone())
    }
    fn is_input(&self) -> bool {
        true
    }
    fn torch_layout(&self) -> Option<TorchLayout> {
        Some(TorchLayout::modules(0))
    }
    fn declared_input_shape(&self) -> Option<Shape> {
        Some(self.config.shape.clone())
    }
}
