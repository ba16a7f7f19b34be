//! [`UpSampling2d`]: repeats the rows and columns of images (Keras' `UpSampling2D`).

use super::window::{owner, resize_image};
use crate::layer::{Ctx, Layer, LayerConfig};
use crate::Shape;
use kensho_autograd::Var;
use kensho_core::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// The configuration of an [`UpSampling2d`] layer (Keras' names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpSampling2dConfig {
    /// Layer name.
    pub name: String,
    /// The factors `[rows, columns]` (default `[2, 2]`).
    pub size: [usize; 2],
}

/// Upsamples channels_last images by repeating each row `size[0]` times and each column
/// `size[1]` times: nearest-neighbour interpolation, Keras' default and the only one offered
/// (Keras' `interpolation="bilinear"` is not). Gradients pass through (the backward sums each
/// block).
///
/// # Shapes
/// Input `[batch, h, w, c]`, output `[batch, h * size[0], w * size[1], c]` (an unknown `h` or
/// `w` stays unknown). In PyTorch's layout the layer is
/// `nn.Upsample(scale_factor=size, mode="nearest")`.
///
/// ```
/// use kensho_layers::{Layer, Shape, UpSampling2d};
/// let mut up = UpSampling2d::default();
/// assert_eq!(up.build(&Shape::from([7, 7, 16]), &mut kensho_core::seeded_rng(0))?, vec![14, 14, 16]);
/// let mut up = UpSampling2d::new([1, 3]);
/// assert_eq!(up.build(&Shape::from([7, 7, 16]), &mut kensho_core::seeded_rng(0))?, vec![7, 21, 16]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
#[doc(alias = "UpSampling2D")]
pub struct UpSampling2d {
    config: UpSampling2dConfig,
}

impl Default for UpSampling2d {
    /// Factors `[2, 2]`, as Keras.
    fn default() -> Self {
        UpSampling2d::new([2, 2])
    }
}

impl UpSampling2d {
    /// Upsampling by `[rows, columns]`.
    pub fn new(size: [usize; 2]) -> UpSampling2d {
        UpSampling2d::from_config(UpSampling2dConfig { name: String::new(), size })
    }

    /// An upsampling layer from its configuration.
    pub fn from_config(config: UpSampling2dConfig) -> UpSampling2d {
        UpSampling2d { config }
    }

    /// Gives the layer a name instead of the automatic one (Keras' `name=`).
    pub fn with_name(mut self, name: &str) -> UpSampling2d {
        self.set_name(name);
        self
    }
}

impl Layer for UpSampling2d {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }

    fn kind(&self) -> &'static str {
        "UpSampling2D"
    }

    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let owner = owner(self.kind(), self.name());
        let size = self.config.size;
        if size.contains(&0) {
            return Err(Error::invalid(format!("{owner} size"), format!("{size:?}"), "2 positive factors"));
        }
        resize_image(&owner, input_shape, |axis, len| Ok(len * size[axis]))
    }

    fn forward<'t>(&self, x: Var<'t>, _cx: &Ctx<'t>) -> Var<'t> {
        x.upsample2d(self.config.size)
    }

    fn compute_mask(&self, _inputs: &[Var<'_>], _masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        vec![None] // the positions change, so a mask over them no longer applies
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::UpSampling2D(self.config.clone())
    }
}
