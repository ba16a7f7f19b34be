//! [`RandomTranslation`]: shifts each image by a random fraction of its size, in training only.

use super::resample::{affine_transform, Affine};
use super::{require_image, uniform, Factor, FillMode, Interpolation};
use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Shape, TorchLayout};
use kensho_autograd::Var;
use kensho_core::{Result, Rng};
use serde::{Deserialize, Serialize};

/// The configuration of a [`RandomTranslation`] layer (Keras' names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomTranslationConfig {
    /// Layer name.
    pub name: String,
    /// Vertical shift as a fraction of the height: `f` for `[-f, f]`, or `(lower, upper)`, in
    /// `[-1, 1]`; positive shifts move the image down.
    pub height_factor: Factor,
    /// Horizontal shift as a fraction of the width, as `height_factor`; positive shifts move the
    /// image right.
    pub width_factor: Factor,
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

/// In training, shifts each image by its own random offset, `height_factor * height` rows and
/// `width_factor * width` columns (fractional shifts interpolate), filling the uncovered points
/// by `fill_mode`; the identity in inference. Gradients pass through to earlier layers.
///
/// # Shapes
/// Input and output `[batch, height, width, channels]`.
///
/// ```
/// use kensho_layers::{FillMode, Layer, RandomTranslation};
/// let mut layer = RandomTranslation::new(0.1, (-0.2, 0.3)).fill_mode(FillMode::Constant);
/// assert_eq!(layer.build(&[32, 32, 3].into(), &mut kensho_core::seeded_rng(0))?, vec![32, 32, 3]);
/// assert!(RandomTranslation::new(1.5, 0.0).build(&[8, 8, 1].into(), &mut kensho_core::seeded_rng(0)).is_err());
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RandomTranslation {
    config: RandomTranslationConfig,
}

impl RandomTranslation {
    /// A layer shifting by up to `height_factor` of the height and `width_factor` of the width
    /// (each a number `f` for `[-f, f]` or a `(lower, upper)` pair).
    pub fn new(height_factor: impl Into<Factor>, width_factor: impl Into<Factor>) -> RandomTranslation {
        RandomTranslation::from_config(RandomTranslationConfig {
            name: String::new(),
            height_factor: height_factor.into(),
            width_factor: width_factor.into(),
            fill_mode: FillMode::Reflect,
            interpolation: Interpolation::Bilinear,
            fill_value: 0.0,
            input_shape: None,
        })
    }

    /// A layer from its configuration.
    pub fn from_config(config: RandomTranslationConfig) -> RandomTranslation {
        RandomTranslation { config }
    }

    /// Sets how the uncovered points are filled.
    pub fn fill_mode(mut self, fill_mode: FillMode) -> RandomTranslation {
        self.config.fill_mode = fill_mode;
        self
    }

    /// Sets the interpolation.
    pub fn interpolation(mut self, interpolation: Interpolation) -> RandomTranslation {
        self.config.interpolation = interpolation;
        self
    }

    /// Sets the value of the uncovered points for [`FillMode::Constant`].
    pub fn fill_value(mut self, fill_value: f32) -> RandomTranslation {
        self.config.fill_value = fill_value;
        self
    }

    /// Declares the per-sample input shape (on the first layer of a model).
    pub fn input_shape(mut self, shape: &[usize]) -> RandomTranslation {
        self.config.input_shape = Some(Shape::known(shape));
        self
    }

    /// Gives the layer a name instead of the automatic one (Keras' `name=`).
    pub fn with_name(mut self, name: &str) -> RandomTranslation {
        self.set_name(name);
        self
    }
}

impl Layer for RandomTranslation {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }

    fn kind(&self) -> &'static str {
        "RandomTranslation"
    }

    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let name = &self.config.name;
        self.config.height_factor.check(&format!("RandomTranslation \"{name}\" height_factor"), -1.0, 1.0, false)?;
        self.config.width_factor.check(&format!("RandomTranslation \"{name}\" width_factor"), -1.0, 1.0, false)?;
        require_image("RandomTranslation", name, input_shape)?;
        Ok(input_shape.clone())
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        if !cx.training {
            return x;
        }
        let shape = x.shape();
        let (n, h, w) = (shape[0], shape[1] as f32, shape[2] as f32);
        let (h_low, h_high) = self.config.height_factor.symmetric_bounds();
        let (w_low, w_high) = self.config.width_factor.symmetric_bounds();
        let mut rng = cx.rng.borrow_mut();
        let maps: Vec<Affine> = (0..n)
            .map(|_| {
                let dy = uniform(&mut rng, h_low, h_high) * h;
                let dx = uniform(&mut rng, w_low, w_high) * w;
                Affine { a2: -dx, b2: -dy, ..Affine::IDENTITY }
            })
            .collect();
        let RandomTranslationConfig { interpolation, fill_mode, fill_value, .. } = self.config;
        affine_transform(x, &maps, interpolation, fill_mode, fill_value)
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::RandomTranslation(self.config.clone())
    }

    fn declared_input_shape(&self) -> Option<Shape> {
        self.config.input_shape.clone()
    }

    fn torch_layout(&self) -> Option<TorchLayout> {
        Some(super::torch_layout())
    }
}
