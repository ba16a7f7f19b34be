//! [`RandomZoom`]: zooms each image in or out by a random factor, in training only.

use super::resample::{affine_transform, Affine};
use super::{require_image, uniform, Factor, FillMode, Interpolation};
use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Shape, TorchLayout};
use kensho_autograd::Var;
use kensho_core::{Result, Rng};
use serde::{Deserialize, Serialize};

/// The configuration of a [`RandomZoom`] layer (Keras' names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomZoomConfig {
    /// Layer name.
    pub name: String,
    /// Vertical zoom as a fraction: `f` for `[-f, f]`, or `(lower, upper)`, in `(-1, 1]`;
    /// positive values zoom out (the image shrinks), negative values zoom in.
    pub height_factor: Factor,
    /// Horizontal zoom, as `height_factor`; `None` (the default) zooms both axes by the same
    /// factor, keeping the aspect ratio.
    #[serde(default)]
    pub width_factor: Option<Factor>,
    /// How the uncovered points are filled (default `reflect`).
    #[serde(default)]
    pub fill_mode: FillMode,
    /// How the image is read between pixels (default `bilinear`).
    #[serde(default)]
    pub interpolation: Interpolation,
    /// The value of the uncovered points with `fill_mode` `constant`.
    #[serde(default)]
    pub fill_value: f32,
    /// Optional declared per-sample input shape (Keras' `input_shape` on a first layer).
    #[serde(default)]
    pub input_shape: Option<Shape>,
}

/// In training, zooms each image about its centre by its own random factor: a drawn `z` in
/// `1 + height_factor` makes output row `y` read input row `c + z (y - c)`, so `z > 1` zooms out
/// and `z < 1` zooms in; the uncovered points are filled by `fill_mode`. The identity in
/// inference. Gradients pass through to earlier layers.
///
/// # Shapes
/// Input and output `[batch, height, width, channels]`.
///
/// ```
/// use kensho_layers::{Layer, RandomZoom};
/// let mut layer = RandomZoom::new(0.2).width_factor((-0.1, 0.1));
/// assert_eq!(layer.build(&[32, 32, 3].into(), &mut kensho_core::seeded_rng(0))?, vec![32, 32, 3]);
/// // A factor of -1 would zoom in infinitely.
/// assert!(RandomZoom::new((-1.0, 0.0)).build(&[8, 8, 1].into(), &mut kensho_core::seeded_rng(0)).is_err());
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RandomZoom {
    config: RandomZoomConfig,
}

impl RandomZoom {
    /// A layer zooming by up to `height_factor` (a number `f` for `[-f, f]` or a
    /// `(lower, upper)` pair), the same on both axes unless [`RandomZoom::width_factor`] is set.
    pub fn new(height_factor: impl Into<Factor>) -> RandomZoom {
        RandomZoom::from_config(RandomZoomConfig {
            name: String::new(),
            height_factor: height_factor.into(),
            width_factor: None,
            fill_mode: FillMode::Reflect,
            interpolation: Interpolation::Bilinear,
            fill_value: 0.0,
            input_shape: None,
        })
    }

    /// A layer from its configuration.
    pub fn from_config(config: RandomZoomConfig) -> RandomZoom {
        RandomZoom { config }
    }

    /// Zooms the width by its own factor.
    pub fn width_factor(mut self, width_factor: impl Into<Factor>) -> RandomZoom {
        self.config.width_factor = Some(width_factor.into());
        self
    }

    /// Sets how the uncovered points are filled.
    pub fn fill_mode(mut self, fill_mode: FillMode) -> RandomZoom {
        self.config.fill_mode = fill_mode;
        self
    }

    /// Sets the interpolation.
    pub fn interpolation(mut self, interpolation: Interpolation) -> RandomZoom {
        self.config.interpolation = interpolation;
        self
    }

    /// Sets the value of the uncovered points for [`FillMode::Constant`].
    pub fn fill_value(mut self, fill_value: f32) -> RandomZoom {
        self.config.fill_value = fill_value;
        self
    }

    /// Declares the per-sample input shape (on the first layer of a model).
    pub fn input_shape(mut self, shape: &[usize]) -> RandomZoom {
        self.config.input_shape = Some(Shape::known(shape));
        self
    }

    /// Gives the layer a name instead of the automatic one (Keras' `name=`).
    pub fn with_name(mut self, name: &str) -> RandomZoom {
        self.set_name(name);
        self
    }
}

impl Layer for RandomZoom {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }

    fn kind(&self) -> &'static str {
        "RandomZoom"
    }

    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let name = &self.config.name;
        self.config.height_factor.check(&format!("RandomZoom \"{name}\" height_factor"), -1.0, 1.0, true)?;
        if let Some(width) = self.config.width_factor {
            width.check(&format!("RandomZoom \"{name}\" width_factor"), -1.0, 1.0, true)?;
        }
        require_image("RandomZoom", name, input_shape)?;
        Ok(input_shape.clone())
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        if !cx.training {
            return x;
        }
        let shape = x.shape();
        let (cy, cx_) = ((shape[1] as f32 - 1.0) / 2.0, (shape[2] as f32 - 1.0) / 2.0);
        let (h_low, h_high) = self.config.height_factor.symmetric_bounds();
        let width = self.config.width_factor.map(Factor::symmetric_bounds);
        let mut rng = cx.rng.borrow_mut();
        let maps: Vec<Affine> = (0..shape[0])
            .map(|_| {
                let zy = 1.0 + uniform(&mut rng, h_low, h_high);
                let zx = width.map_or(zy, |(low, high)| 1.0 + uniform(&mut rng, low, high));
                Affine { a0: zx, a2: cx_ * (1.0 - zx), b1: zy, b2: cy * (1.0 - zy), ..Affine::IDENTITY }
            })
            .collect();
        let RandomZoomConfig { interpolation, fill_mode, fill_value, .. } = self.config;
        affine_transform(x, &maps, interpolation, fill_mode, fill_value)
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::RandomZoom(self.config.clone())
    }

    fn declared_input_shape(&self) -> Option<Shape> {
        self.config.input_shape.clone()
    }

    fn torch_layout(&self) -> Option<TorchLayout> {
        Some(super::torch_layout())
    }
}
