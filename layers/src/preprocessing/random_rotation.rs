//! [`RandomRotation`]: rotates each image by a random angle about its centre, in training only.

use super::resample::{affine_transform, Affine};
use super::{require_image, uniform, Factor, FillMode, Interpolation};
use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Shape, TorchLayout};
use kensho_autograd::Var;
use kensho_core::{Result, Rng};
use serde::{Deserialize, Serialize};
use std::f32::consts::TAU;

/// The configuration of a [`RandomRotation`] layer (Keras' names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomRotationConfig {
    /// The angle as a fraction of a full turn: `f` for `[-f, f]`, or `(lower, upper)`, in
    /// `[-1, 1]`; positive angles turn counter-clockwise.
    pub factor: Factor,
    /// Layer name.
    pub name: String,
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

/// In training, rotates each image by its own random angle, `factor` of a full turn (so
/// `factor = 0.1` draws from ±36°), about the image centre, filling the uncovered corners by
/// `fill_mode`; the identity in inference. Gradients pass through to earlier layers.
///
/// # Shapes
/// Input and output `[batch, height, width, channels]`.
///
/// ```
/// use kensho_layers::{Layer, RandomRotation};
/// let mut layer = RandomRotation::new(0.1);
/// assert_eq!(layer.build(&[32, 32, 3].into(), &mut kensho_core::seeded_rng(0))?, vec![32, 32, 3]);
/// // A rank-2 input is not an image.
/// let err = RandomRotation::new(0.1).build(&[32, 32].into(), &mut kensho_core::seeded_rng(0)).unwrap_err();
/// assert!(err.to_string().contains("[height, width, channels]"));
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RandomRotation {
    config: RandomRotationConfig,
}

impl RandomRotation {
    /// A layer rotating by up to `factor` of a full turn (a number `f` for `[-f, f]` or a
    /// `(lower, upper)` pair).
    pub fn new(factor: impl Into<Factor>) -> RandomRotation {
        RandomRotation::from_config(RandomRotationConfig {
            factor: factor.into(),
            name: String::new(),
            fill_mode: FillMode::Reflect,
            interpolation: Interpolation::Bilinear,
            fill_value: 0.0,
            input_shape: None,
        })
    }

    /// A layer from its configuration.
    pub fn from_config(config: RandomRotationConfig) -> RandomRotation {
        RandomRotation { config }
    }

    /// Sets how the uncovered points are filled.
    pub fn fill_mode(mut self, fill_mode: FillMode) -> RandomRotation {
        self.config.fill_mode = fill_mode;
        self
    }

    /// Sets the interpolation.
    pub fn interpolation(mut self, interpolation: Interpolation) -> RandomRotation {
        self.config.interpolation = interpolation;
        self
    }

    /// Sets the value of the uncovered points for [`FillMode::Constant`].
    pub fn fill_value(mut self, fill_value: f32) -> RandomRotation {
        self.config.fill_value = fill_value;
        self
    }

    /// Declares the per-sample input shape (on the first layer of a model).
    pub fn input_shape(mut self, shape: &[usize]) -> RandomRotation {
        self.config.input_shape = Some(Shape::known(shape));
        self
    }

    /// Gives the layer a name instead of the automatic one (Keras' `name=`).
    pub fn with_name(mut self, name: &str) -> RandomRotation {
        self.set_name(name);
        self
    }
}

/// The map of a rotation by `angle` (radians, counter-clockwise) about the centre of an
/// `h` x `w` image, as Keras 3 builds it: output `(x, y)` reads the input at
/// `R (x - c) + c` with `R = [[cos, -sin], [sin, cos]]` and `c = ((w - 1) / 2, (h - 1) / 2)`.
fn rotation(angle: f32, h: usize, w: usize) -> Affine {
    let (sin, cos) = angle.sin_cos();
    let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
    Affine { a0: cos, a1: -sin, a2: cx - cx * cos + cy * sin, b0: sin, b1: cos, b2: cy - cx * sin - cy * cos }
}

impl Layer for RandomRotation {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }

    fn kind(&self) -> &'static str {
        "RandomRotation"
    }

    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let name = &self.config.name;
        self.config.factor.check(&format!("RandomRotation \"{name}\" factor"), -1.0, 1.0, false)?;
        require_image("RandomRotation", name, input_shape)?;
        Ok(input_shape.clone())
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        if !cx.training {
            return x;
        }
        let shape = x.shape();
        let (low, high) = self.config.factor.symmetric_bounds();
        let mut rng = cx.rng.borrow_mut();
        let maps: Vec<Affine> =
            (0..shape[0]).map(|_| rotation(uniform(&mut rng, low, high) * TAU, shape[1], shape[2])).collect();
        let RandomRotationConfig { interpolation, fill_mode, fill_value, .. } = self.config;
        affine_transform(x, &maps, interpolation, fill_mode, fill_value)
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::RandomRotation(self.config.clone())
    }

    fn declared_input_shape(&self) -> Option<Shape> {
        self.config.input_shape.clone()
    }

    fn torch_layout(&self) -> Option<TorchLayout> {
        Some(super::torch_layout())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_turn_maps_corners_to_corners() {
        // 3 x 5 image, centre (2, 1). A quarter turn counter-clockwise: the output pixel
        // (x=2, y=0), one above the centre, reads the input at (x=3, y=1), one right of it.
        let m = rotation(std::f32::consts::FRAC_PI_2, 3, 5);
        let read = |x: f32, y: f32| (m.a0 * x + m.a1 * y + m.a2, m.b0 * x + m.b1 * y + m.b2);
        let (xi, yi) = read(2.0, 0.0);
        assert!((xi - 3.0).abs() < 1e-5 && (yi - 1.0).abs() < 1e-5, "{xi} {yi}");
        let (xi, yi) = read(2.0, 1.0);
        assert!((xi - 2.0).abs() < 1e-5 && (yi - 1.0).abs() < 1e-5, "the centre stays: {xi} {yi}");
    }
}
