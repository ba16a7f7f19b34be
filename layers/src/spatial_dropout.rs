//! [`SpatialDropout2d`]: drops whole channels of images during training.

use crate::layer::{Ctx, Layer, LayerConfig};
use crate::Shape;
use kensho_autograd::Var;
use kensho_core::{Error, Result, Rng, Tensor};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// The configuration of a [`SpatialDropout2d`] layer (Keras' names).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpatialDropout2dConfig {
    /// Layer name.
    pub name: String,
    /// The fraction of channels dropped, in `[0, 1)`.
    pub rate: f32,
}

/// During training, sets each channel of each image to 0 with probability `rate` (the whole
/// `height x width` map at once) and scales the kept channels by `1 / (1 - rate)`; at inference
/// it is the identity. Where neighbouring pixels are correlated (after convolutions), dropping
/// single values hardly regularizes; dropping whole feature maps does (Tompson et al., 2015).
/// PyTorch's equivalent is `nn.Dropout2d`.
///
/// # Shapes
/// Input and output `[batch, height, width, channels]` (channels_last).
///
/// ```
/// use kensho_layers::{Layer, SpatialDropout2d};
/// let mut layer = SpatialDropout2d::new(0.2);
/// assert_eq!(layer.build(&[8, 8, 16].into(), &mut kensho_core::seeded_rng(0))?, vec![8, 8, 16]);
/// let err = SpatialDropout2d::new(0.2).build(&[16].into(), &mut kensho_core::seeded_rng(0)).unwrap_err();
/// assert!(err.to_string().contains("SpatialDropout2D"));
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[doc(alias = "SpatialDropout2D")]
#[derive(Clone, Debug)]
pub struct SpatialDropout2d {
    config: SpatialDropout2dConfig,
}

impl SpatialDropout2d {
    /// A layer dropping channels with probability `rate` (checked when the model is built).
    pub fn new(rate: f32) -> SpatialDropout2d {
        SpatialDropout2d { config: SpatialDropout2dConfig { name: String::new(), rate } }
    }

    /// A layer from its configuration.
    pub fn from_config(config: SpatialDropout2dConfig) -> SpatialDropout2d {
        SpatialDropout2d { config }
    }

    /// Gives the layer a name instead of the automatic one (Keras' `name=`).
    pub fn with_name(mut self, name: &str) -> SpatialDropout2d {
        self.set_name(name);
        self
    }
}

impl Layer for SpatialDropout2d {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }

    fn kind(&self) -> &'static str {
        "SpatialDropout2D"
    }

    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let (name, rate) = (&self.config.name, self.config.rate);
        if !(0.0..1.0).contains(&rate) {
            return Err(Error::invalid(format!("SpatialDropout2D \"{name}\" rate"), rate, "a value in [0, 1)"));
        }
        if input_shape.rank() != 3 {
            return Err(Error::invalid(
                format!("SpatialDropout2D \"{name}\" input shape"),
                input_shape,
                "feature maps of per-sample shape [height, width, channels] (inputs [batch, height, width, \
                 channels]); use Dropout on other inputs",
            ));
        }
        Ok(input_shape.clone())
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        if !cx.training || self.config.rate == 0.0 {
            return x;
        }
        let shape = x.shape();
        let keep = 1.0 - self.config.rate;
        let mut rng = cx.rng.borrow_mut();
        let mask =
            Tensor::from_fn(&[shape[0], 1, 1, shape[3]], |_| if rng.random::<f32>() < keep { 1.0 / keep } else { 0.0 });
        x.mul(cx.tape.constant(mask))
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::SpatialDropout2D(self.config.clone())
    }
}
