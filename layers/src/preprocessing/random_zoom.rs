//! [`RandomZoom`]: zooms each image in or out by a random factor, in training only.

use super::geometric::{geometric_config, geometric_layer, DrawTransform};
use super::resample::Affine;
use super::{uniform, Factor, FillMode, Interpolation};
use kensho_core::{Result, Rng};

geometric_config! {
    /// The configuration of a [`RandomZoom`] layer (Keras' names and defaults).
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
    }
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

    /// Zooms the width by its own factor.
    pub fn width_factor(mut self, width_factor: impl Into<Factor>) -> RandomZoom {
        self.config.width_factor = Some(width_factor.into());
        self
    }
}

impl DrawTransform for RandomZoomConfig {
    fn check(&self, owner: &str) -> Result<()> {
        self.height_factor.check(&format!("{owner} height_factor"), -1.0, 1.0, true)?;
        match self.width_factor {
            Some(width) => width.check(&format!("{owner} width_factor"), -1.0, 1.0, true),
            None => Ok(()),
        }
    }

    /// A zoom about the image centre by a drawn `1 + factor` per axis (the height's for both
    /// without a `width_factor`).
    fn draw(&self, rng: &mut Rng, height: usize, width: usize) -> Affine {
        let (cy, cx) = ((height as f32 - 1.0) / 2.0, (width as f32 - 1.0) / 2.0);
        let (h_low, h_high) = self.height_factor.symmetric_bounds();
        let zy = 1.0 + uniform(rng, h_low, h_high);
        let zx =
            self.width_factor.map(Factor::symmetric_bounds).map_or(zy, |(low, high)| 1.0 + uniform(rng, low, high));
        Affine { a0: zx, a2: cx * (1.0 - zx), b1: zy, b2: cy * (1.0 - zy), ..Affine::IDENTITY }
    }
}

geometric_layer!(RandomZoom, RandomZoomConfig);
