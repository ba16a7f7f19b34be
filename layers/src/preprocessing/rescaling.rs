//! [`Rescaling`]: `x * scale + offset`, in training and inference alike.

use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Shape, TorchLayout};
use kensho_autograd::Var;
use kensho_core::{Error, Result, Rng};
use serde::{Deserialize, Serialize};

/// The configuration of a [`Rescaling`] layer (Keras' names; `offset` defaults to 0).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RescalingConfig {
    /// Layer name.
    pub name: String,
    /// The factor every input is multiplied by.
    pub scale: f32,
    /// The value added after scaling.
    #[serde(default)]
    pub offset: f32,
    /// Optional declared per-sample input shape (Keras' `input_shape` on a first layer).
    #[serde(default)]
    pub input_shape: Option<Shape>,
}

/// Rescales its inputs: `x * scale + offset`, always (in training and inference, as in Keras).
/// `Rescaling::new(1.0 / 255.0)` maps bytes `[0, 255]` to `[0, 1]`;
/// `Rescaling::new(1.0 / 127.5).offset(-1.0)` maps them to `[-1, 1]`. Inputs of any shape.
///
/// ```
/// use kensho_autograd::Tape;
/// use kensho_core::Tensor;
/// use kensho_layers::{Ctx, Layer, Rescaling};
/// let mut layer = Rescaling::new(1.0 / 127.5).offset(-1.0);
/// layer.build(&[2].into(), &mut kensho_core::seeded_rng(0))?;
/// let tape = Tape::no_grad();
/// let cx = Ctx::new(&tape, false, kensho_core::seeded_rng(0));
/// let y = layer.forward(tape.constant(Tensor::from_vec(vec![0.0, 255.0], &[1, 2])?), &cx);
/// assert_eq!(y.value().to_vec(), [-1.0, 1.0]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Rescaling {
    config: RescalingConfig,
}

impl Rescaling {
    /// A layer multiplying its inputs by `scale` (offset 0).
    pub fn new(scale: f32) -> Rescaling {
        Rescaling::from_config(RescalingConfig { name: String::new(), scale, offset: 0.0, input_shape: None })
    }

    /// A layer from its configuration.
    pub fn from_config(config: RescalingConfig) -> Rescaling {
        Rescaling { config }
    }

    /// Sets the value added after scaling.
    pub fn offset(mut self, offset: f32) -> Rescaling {
        self.config.offset = offset;
        self
    }

    /// Declares the per-sample input shape (on the first layer of a model).
    pub fn input_shape(mut self, shape: &[usize]) -> Rescaling {
        self.config.input_shape = Some(Shape::known(shape));
        self
    }

    /// Gives the layer a name instead of the automatic one (Keras' `name=`).
    pub fn with_name(mut self, name: &str) -> Rescaling {
        self.set_name(name);
        self
    }
}

impl Layer for Rescaling {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }

    fn kind(&self) -> &'static str {
        "Rescaling"
    }

    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let RescalingConfig { name, scale, offset, .. } = &self.config;
        if !scale.is_finite() || !offset.is_finite() {
            return Err(Error::invalid(
                format!("Rescaling \"{name}\" scale/offset"),
                format!("scale={scale}, offset={offset}"),
                "finite numbers",
            ));
        }
        Ok(input_shape.clone())
    }

    fn forward<'t>(&self, x: Var<'t>, _cx: &Ctx<'t>) -> Var<'t> {
        let RescalingConfig { scale, offset, .. } = self.config;
        let y = if scale == 1.0 { x } else { x.mul_scalar(scale) };
        if offset == 0.0 {
            y
        } else {
            y.add_scalar(offset)
        }
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::Rescaling(self.config.clone())
    }

    fn declared_input_shape(&self) -> Option<Shape> {
        self.config.input_shape.clone()
    }

    fn torch_layout(&self) -> Option<TorchLayout> {
        Some(super::torch_layout())
    }
}
