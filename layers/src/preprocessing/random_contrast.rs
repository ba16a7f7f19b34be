//! [`RandomContrast`]: scales each image's deviations from its channel means by a random factor,
//! in training only.

use super::{require_image, uniform, Factor};
use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Shape, TorchLayout};
use kensho_autograd::Var;
use kensho_core::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// The configuration of a [`RandomContrast`] layer (Keras' names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomContrastConfig {
    /// Layer name.
    pub name: String,
    /// The contrast factor is drawn from `[1 - lower, 1 + upper]`: one number `f` gives
    /// `lower = upper = f`, a pair gives `(lower, upper)`; each in `[0, 1]`.
    pub factor: Factor,
    /// The range of the pixel values; outputs are clipped to it (default `[0, 255]`).
    #[serde(default = "default_value_range")]
    pub value_range: [f32; 2],
    /// Optional declared per-sample input shape (Keras' `input_shape` on a first layer).
    #[serde(default)]
    pub input_shape: Option<Shape>,
}

fn default_value_range() -> [f32; 2] {
    [0.0, 255.0]
}

/// In training, draws a contrast factor `k` per image and maps each value `x` of a channel to
/// `(x - mean) * k + mean`, `mean` being that image's mean of the channel, then clips to
/// `value_range`; the identity in inference. Without clipping each channel keeps its mean.
///
/// One number `f` draws `k` from `[1 - f, 1 + f]`, as Keras documents it (Keras 3's code
/// clamps the lower end to 0 and so draws from `[1, 1 + f]`).
///
/// # Shapes
/// Input and output `[batch, height, width, channels]`.
///
/// ```
/// use kensho_layers::{Layer, RandomContrast};
/// let mut layer = RandomContrast::new(0.2).value_range(0.0, 1.0);
/// assert_eq!(layer.build(&[32, 32, 3].into(), &mut kensho_core::seeded_rng(0))?, vec![32, 32, 3]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RandomContrast {
    config: RandomContrastConfig,
}

impl RandomContrast {
    /// A layer changing the contrast by up to `factor` (a number or a `(lower, upper)` pair).
    pub fn new(factor: impl Into<Factor>) -> RandomContrast {
        RandomContrast::from_config(RandomContrastConfig {
            name: String::new(),
            factor: factor.into(),
            value_range: default_value_range(),
            input_shape: None,
        })
    }

    /// A layer from its configuration.
    pub fn from_config(config: RandomContrastConfig) -> RandomContrast {
        RandomContrast { config }
    }

    /// Sets the range of the pixel values, to which outputs are clipped.
    pub fn value_range(mut self, low: f32, high: f32) -> RandomContrast {
        self.config.value_range = [low, high];
        self
    }

    /// Declares the per-sample input shape (on the first layer of a model).
    pub fn input_shape(mut self, shape: &[usize]) -> RandomContrast {
        self.config.input_shape = Some(Shape::known(shape));
        self
    }

    /// Gives the layer a name instead of the automatic one (Keras' `name=`).
    pub fn with_name(mut self, name: &str) -> RandomContrast {
        self.set_name(name);
        self
    }

    /// The factor's `(lower, upper)`.
    fn bounds(&self) -> (f32, f32) {
        match self.config.factor {
            Factor::Value(f) => (f, f),
            Factor::Range([a, b]) => (a.min(b), a.max(b)),
        }
    }
}

impl Layer for RandomContrast {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }

    fn kind(&self) -> &'static str {
        "RandomContrast"
    }

    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let name = &self.config.name;
        self.config.factor.check(&format!("RandomContrast \"{name}\" factor"), 0.0, 1.0, false)?;
        let [low, high] = self.config.value_range;
        if !(low.is_finite() && high.is_finite() && low < high) {
            return Err(Error::invalid(
                format!("RandomContrast \"{name}\" value_range"),
                format!("({low}, {high})"),
                "a (low, high) pair with low < high, such as (0, 255) or (0, 1)",
            ));
        }
        require_image("RandomContrast", name, input_shape)?;
        Ok(input_shape.clone())
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        if !cx.training {
            return x;
        }
        let n = x.shape()[0];
        let (lower, upper) = self.bounds();
        let factors = {
            let mut rng = cx.rng.borrow_mut();
            let k: Vec<f32> = (0..n).map(|_| uniform(&mut rng, 1.0 - lower, 1.0 + upper)).collect();
            Tensor::from_vec(k, &[n, 1, 1, 1]).expect("sizes match")
        };
        let mean = x.mean_axes(&[1, 2], true);
        let [low, high] = self.config.value_range;
        x.sub(mean).mul(cx.tape.constant(factors)).add(mean).clip(low, high)
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::RandomContrast(self.config.clone())
    }

    fn declared_input_shape(&self) -> Option<Shape> {
        self.config.input_shape.clone()
    }

    fn torch_layout(&self) -> Option<TorchLayout> {
        Some(super::torch_layout())
    }
}
