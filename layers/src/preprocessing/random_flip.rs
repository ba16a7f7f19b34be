//! [`RandomFlip`]: flips each image left-right and/or top-bottom at random, in training only.

use super::resample::{affine_transform, Affine};
use super::{require_image, FillMode, Interpolation};
use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Shape, TorchLayout};
use kensho_autograd::Var;
use kensho_core::{Result, Rng};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// Which flips [`RandomFlip`] makes (Keras' `mode` strings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlipMode {
    /// Left-right flips (`"horizontal"`).
    Horizontal,
    /// Top-bottom flips (`"vertical"`).
    Vertical,
    /// Both, each with its own coin (`"horizontal_and_vertical"`, the default).
    #[default]
    HorizontalAndVertical,
}

/// The configuration of a [`RandomFlip`] layer (Keras' names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomFlipConfig {
    /// Layer name.
    pub name: String,
    /// Which flips to make.
    #[serde(default)]
    pub mode: FlipMode,
    /// Optional declared per-sample input shape (Keras' `input_shape` on a first layer).
    #[serde(default)]
    pub input_shape: Option<Shape>,
}

/// In training, flips each image of the batch left-right and/or top-bottom, each flip with
/// probability 1/2; the identity in inference.
///
/// With [`FlipMode::HorizontalAndVertical`] the two flips are drawn independently, so all four
/// orientations occur (as in Keras 2 and torchvision's two flip transforms). Keras 3 draws one
/// coin for both, which only ever gives the image or its 180° rotation.
///
/// # Shapes
/// Input and output `[batch, height, width, channels]`.
///
/// ```
/// use kensho_layers::{FlipMode, Layer, RandomFlip};
/// let mut layer = RandomFlip::new(FlipMode::Horizontal);
/// assert_eq!(layer.build(&[28, 28, 1].into(), &mut kensho_core::seeded_rng(0))?, vec![28, 28, 1]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RandomFlip {
    config: RandomFlipConfig,
}

impl RandomFlip {
    /// A layer making the flips of `mode`.
    pub fn new(mode: FlipMode) -> RandomFlip {
        RandomFlip::from_config(RandomFlipConfig { name: String::new(), mode, input_shape: None })
    }

    /// A layer from its configuration.
    pub fn from_config(config: RandomFlipConfig) -> RandomFlip {
        RandomFlip { config }
    }

    /// Declares the per-sample input shape (on the first layer of a model).
    pub fn input_shape(mut self, shape: &[usize]) -> RandomFlip {
        self.config.input_shape = Some(Shape::known(shape));
        self
    }

    /// Gives the layer a name instead of the automatic one (Keras' `name=`).
    pub fn with_name(mut self, name: &str) -> RandomFlip {
        self.set_name(name);
        self
    }
}

impl Default for RandomFlip {
    /// Keras' default: `mode="horizontal_and_vertical"`.
    fn default() -> RandomFlip {
        RandomFlip::new(FlipMode::default())
    }
}

impl Layer for RandomFlip {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }

    fn kind(&self) -> &'static str {
        "RandomFlip"
    }

    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        require_image("RandomFlip", &self.config.name, input_shape)?;
        Ok(input_shape.clone())
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        if !cx.training {
            return x;
        }
        let shape = x.shape();
        let (n, h, w) = (shape[0], shape[1], shape[2]);
        let (horizontal, vertical) = match self.config.mode {
            FlipMode::Horizontal => (true, false),
            FlipMode::Vertical => (false, true),
            FlipMode::HorizontalAndVertical => (true, true),
        };
        let mut rng = cx.rng.borrow_mut();
        let mut coin = |on: bool| on && rng.random::<f32>() < 0.5;
        let maps: Vec<Affine> = (0..n)
            .map(|_| {
                let (flip_x, flip_y) = (coin(horizontal), coin(vertical));
                let (a0, a2) = if flip_x { (-1.0, (w - 1) as f32) } else { (1.0, 0.0) };
                let (b1, b2) = if flip_y { (-1.0, (h - 1) as f32) } else { (1.0, 0.0) };
                Affine { a0, a2, b1, b2, ..Affine::IDENTITY }
            })
            .collect();
        if maps.iter().all(|m| *m == Affine::IDENTITY) {
            return x;
        }
        affine_transform(x, &maps, Interpolation::Nearest, FillMode::Nearest, 0.0)
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::RandomFlip(self.config.clone())
    }

    fn declared_input_shape(&self) -> Option<Shape> {
        self.config.input_shape.clone()
    }

    fn torch_layout(&self) -> Option<TorchLayout> {
        Some(super::torch_layout())
    }
}
