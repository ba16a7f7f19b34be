//! [`Cropping2d`]: removes rows and columns from the borders of images (Keras' `Cropping2D`).

use super::window::{owner, resize_image};
use crate::layer::{Ctx, Layer, LayerConfig};
use crate::Shape;
use kensho_autograd::Var;
use kensho_core::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// The configuration of a [`Cropping2d`] layer (Keras' names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cropping2dConfig {
    /// Layer name.
    pub name: String,
    /// Rows and columns removed, `[[top, bottom], [left, right]]` (Keras'
    /// `((top, bottom), (left, right))`; default none).
    pub cropping: [[usize; 2]; 2],
}

/// Removes rows from the top and bottom, and columns from the left and right of channels_last
/// images. Gradients pass through (the backward pads with zeros).
///
/// # Shapes
/// Input `[batch, h, w, c]`, output `[batch, h - top - bottom, w - left - right, c]` (an
/// unknown `h` or `w` stays unknown, and must then be larger than its cropping). In PyTorch's
/// layout the layer is `nn.ZeroPad2d((-left, -right, -top, -bottom))` (negative padding crops).
///
/// ```
/// use kensho_layers::{Cropping2d, Layer, Shape};
/// let mut crop = Cropping2d::new([[2, 2], [4, 4]]);
/// assert_eq!(crop.build(&Shape::from([28, 28, 3]), &mut kensho_core::seeded_rng(0))?, vec![24, 20, 3]);
/// assert!(Cropping2d::symmetric(2, 0).build(&Shape::from([4, 4, 3]), &mut kensho_core::seeded_rng(0)).is_err());
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
#[doc(alias = "Cropping2D")]
pub struct Cropping2d {
    config: Cropping2dConfig,
}

impl Default for Cropping2dConfig {
    /// No cropping, as Keras.
    fn default() -> Self {
        Cropping2dConfig { name: String::new(), cropping: [[0, 0], [0, 0]] }
    }
}

impl Cropping2d {
    /// Cropping of `[[top, bottom], [left, right]]`.
    pub fn new(cropping: [[usize; 2]; 2]) -> Cropping2d {
        Cropping2d::from_config(Cropping2dConfig { name: String::new(), cropping })
    }

    /// `height` rows from the top and the bottom, `width` columns from the left and the right
    /// (Keras' `(h, w)` form).
    pub fn symmetric(height: usize, width: usize) -> Cropping2d {
        Cropping2d::new([[height, height], [width, width]])
    }

    /// A cropping layer from its configuration.
    pub fn from_config(config: Cropping2dConfig) -> Cropping2d {
        Cropping2d { config }
    }

    /// Gives the layer a name instead of the automatic one (Keras' `name=`).
    pub fn with_name(mut self, name: &str) -> Cropping2d {
        self.set_name(name);
        self
    }
}

impl Layer for Cropping2d {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }

    fn kind(&self) -> &'static str {
        "Cropping2D"
    }

    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let owner = owner(self.kind(), self.name());
        let cropping = self.config.cropping;
        resize_image(&owner, input_shape, |axis, len| {
            let removed = cropping[axis][0] + cropping[axis][1];
            if removed < len {
                return Ok(len - removed);
            }
            Err(Error::invalid(
                format!("{owner} cropping"),
                format!("{cropping:?}"),
                format!("less than the {} of the input {input_shape}", ["height", "width"][axis]),
            ))
        })
    }

    fn forward<'t>(&self, x: Var<'t>, _cx: &Ctx<'t>) -> Var<'t> {
        x.crop2d(self.config.cropping)
    }

    fn compute_mask(&self, _inputs: &[Var<'_>], _masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        vec![None] // the positions move, so a mask over them no longer applies
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::Cropping2D(self.config.clone())
    }
}
