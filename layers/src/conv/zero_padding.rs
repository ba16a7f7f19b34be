//! [`ZeroPadding2d`]: zeros around the borders of images (Keras' `ZeroPadding2D`).

use super::window::{owner, resize_image};
use crate::layer::{Ctx, Layer, LayerConfig};
use crate::Shape;
use kensho_autograd::Var;
use kensho_core::{Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// The configuration of a [`ZeroPadding2d`] layer (Keras' names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZeroPadding2dConfig {
    /// Layer name.
    pub name: String,
    /// Rows and columns of zeros, `[[top, bottom], [left, right]]` (Keras'
    /// `((top, bottom), (left, right))`; default 1 on each side).
    pub padding: [[usize; 2]; 2],
}

/// Adds rows of zeros above and below, and columns of zeros left and right of channels_last
/// images. Gradients pass through (the backward crops).
///
/// # Shapes
/// Input `[batch, h, w, c]`, output `[batch, top + h + bottom, left + w + right, c]` (an
/// unknown `h` or `w` stays unknown). In PyTorch's layout the layer is
/// `nn.ZeroPad2d((left, right, top, bottom))`.
///
/// ```
/// use kensho_layers::{Layer, Shape, ZeroPadding2d};
/// let mut pad = ZeroPadding2d::default();
/// assert_eq!(pad.build(&Shape::from([28, 28, 3]), &mut kensho_core::seeded_rng(0))?, vec![30, 30, 3]);
/// let mut pad = ZeroPadding2d::new([[0, 1], [2, 3]]);
/// assert_eq!(pad.build(&Shape::from([28, 28, 3]), &mut kensho_core::seeded_rng(0))?, vec![29, 33, 3]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
#[doc(alias = "ZeroPadding2D")]
pub struct ZeroPadding2d {
    config: ZeroPadding2dConfig,
}

impl Default for ZeroPadding2d {
    /// One row or column of zeros on each side, as Keras.
    fn default() -> Self {
        ZeroPadding2d::symmetric(1, 1)
    }
}

impl ZeroPadding2d {
    /// Padding of `[[top, bottom], [left, right]]`.
    pub fn new(padding: [[usize; 2]; 2]) -> ZeroPadding2d {
        ZeroPadding2d::from_config(ZeroPadding2dConfig { name: String::new(), padding })
    }

    /// `height` rows above and below, `width` columns left and right (Keras' `(h, w)` form).
    pub fn symmetric(height: usize, width: usize) -> ZeroPadding2d {
        ZeroPadding2d::new([[height, height], [width, width]])
    }

    /// A padding layer from its configuration.
    pub fn from_config(config: ZeroPadding2dConfig) -> ZeroPadding2d {
        ZeroPadding2d { config }
    }

    /// Gives the layer a name instead of the automatic one (Keras' `name=`).
    pub fn with_name(mut self, name: &str) -> ZeroPadding2d {
        self.set_name(name);
        self
    }
}

impl Layer for ZeroPadding2d {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }

    fn kind(&self) -> &'static str {
        "ZeroPadding2D"
    }

    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let padding = self.config.padding;
        resize_image(&owner(self.kind(), self.name()), input_shape, |axis, len| {
            Ok(len + padding[axis][0] + padding[axis][1])
        })
    }

    fn forward<'t>(&self, x: Var<'t>, _cx: &Ctx<'t>) -> Var<'t> {
        x.pad2d(self.config.padding)
    }

    fn compute_mask(&self, _inputs: &[Var<'_>], _masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        vec![None] // the positions move, so a mask over them no longer applies
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::ZeroPadding2D(self.config.clone())
    }
}
