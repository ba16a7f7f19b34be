//! [`RandomTranslation`]: shifts each image by a random fraction of its size, in training only.

use super::geometric::{geometric_config, geometric_layer, DrawTransform};
use super::resample::Affine;
use super::{uniform, Factor, FillMode, Interpolation};
use kensho_core::{Result, Rng};

geometric_config! {
    /// The configuration of a [`RandomTranslation`] layer (Keras' names and defaults).
    pub struct RandomTranslationConfig {
        /// Layer name.
        pub name: String,
        /// Vertical shift as a fraction of the height: `f` for `[-f, f]`, or `(lower, upper)`, in
        /// `[-1, 1]`; positive shifts move the image down.
        pub height_factor: Factor,
        /// Horizontal shift as a fraction of the width, as `height_factor`; positive shifts move the
        /// image right.
        pub width_factor: Factor,
    }
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
}

impl DrawTransform for RandomTranslationConfig {
    fn check(&self, owner: &str) -> Result<()> {
        self.height_factor.check(&format!("{owner} height_factor"), -1.0, 1.0, false)?;
        self.width_factor.check(&format!("{owner} width_factor"), -1.0, 1.0, false)
    }

    /// A shift by a drawn fraction of the height, then of the width: output `(x, y)` reads
    /// the input at `(x - dx, y - dy)`.
    fn draw(&self, rng: &mut Rng, height: usize, width: usize) -> Affine {
        let (h_low, h_high) = self.height_factor.symmetric_bounds();
        let (w_low, w_high) = self.width_factor.symmetric_bounds();
        let dy = uniform(rng, h_low, h_high) * height as f32;
        let dx = uniform(rng, w_low, w_high) * width as f32;
        Affine { a2: -dx, b2: -dy, ..Affine::IDENTITY }
    }
}

geometric_layer!(RandomTranslation, RandomTranslationConfig);
