//! [`RandomRotation`]: rotates each image by a random angle about its centre, in training only.

use super::geometric::{geometric_config, geometric_layer, DrawTransform};
use super::resample::Affine;
use super::{uniform, Factor, FillMode, Interpolation};
use kensho_core::{Result, Rng};
use std::f32::consts::TAU;

geometric_config! {
    /// The configuration of a [`RandomRotation`] layer (Keras' names and defaults).
    pub struct RandomRotationConfig {
        /// The angle as a fraction of a full turn: `f` for `[-f, f]`, or `(lower, upper)`, in
        /// `[-1, 1]`; positive angles turn counter-clockwise.
        pub factor: Factor,
        /// Layer name.
        pub name: String,
    }
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
}

/// The map of a rotation by `angle` (radians, counter-clockwise) about the centre of an
/// `h` x `w` image, as Keras 3 builds it: output `(x, y)` reads the input at
/// `R (x - c) + c` with `R = [[cos, -sin], [sin, cos]]` and `c = ((w - 1) / 2, (h - 1) / 2)`.
fn rotation(angle: f32, h: usize, w: usize) -> Affine {
    let (sin, cos) = angle.sin_cos();
    let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
    Affine { a0: cos, a1: -sin, a2: cx - cx * cos + cy * sin, b0: sin, b1: cos, b2: cy - cx * sin - cy * cos }
}

impl DrawTransform for RandomRotationConfig {
    fn check(&self, owner: &str) -> Result<()> {
        self.factor.check(&format!("{owner} factor"), -1.0, 1.0, false)
    }

    /// A rotation by a drawn fraction of a full turn about the image centre.
    fn draw(&self, rng: &mut Rng, height: usize, width: usize) -> Affine {
        let (low, high) = self.factor.symmetric_bounds();
        rotation(uniform(rng, low, high) * TAU, height, width)
    }
}

geometric_layer!(RandomRotation, RandomRotationConfig);

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
