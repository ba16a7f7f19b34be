//! [`Masking`]: marks the time steps whose features all equal a padding value (Keras'
//! `Masking`), for sequences of vectors that were padded to one length.

use crate::layer::{Ctx, Layer, LayerConfig};
use crate::Shape;
use kensho_autograd::Var;
use kensho_core::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// The configuration of a [`Masking`] layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaskingConfig {
    /// Layer name.
    pub name: String,
    /// The value that marks padding (Keras' default 0).
    pub mask_value: f32,
}

/// On `[batch, time, features]`, a step is padding when every feature equals `mask_value`:
/// the layer zeroes those steps and gives the mask `[batch, time]` (1 real, 0 padding) that
/// later layers follow.
///
/// ```
/// use kensho_layers::{Layer, Masking};
/// let mut masking = Masking::new(0.0);
/// assert_eq!(masking.build(&[10, 3].into(), &mut kensho_core::seeded_rng(0))?, vec![10, 3]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Masking {
    config: MaskingConfig,
}

impl Masking {
    /// Masks the steps whose features all equal `mask_value`.
    pub fn new(mask_value: f32) -> Masking {
        Masking::from_config(MaskingConfig { name: String::new(), mask_value })
    }

    /// A masking layer from its configuration.
    pub fn from_config(config: MaskingConfig) -> Masking {
        Masking { config }
    }

    /// `[batch, time]`: 1 where some feature differs from the padding value.
    fn mask_of(&self, x: &Tensor) -> Tensor {
        let value = self.config.mask_value;
        x.map(|v| if v != value { 1.0 } else { 0.0 }).max_axes(&[x.ndim() - 1], false)
    }
}

impl Layer for Masking {
    fn name(&self) -> &str {
        &self.config.name
    }
    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }
    fn kind(&self) -> &'static str {
        "Masking"
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::Masking(self.config.clone())
    }
    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        if input_shape.rank() < 2 {
            return Err(Error::invalid(
                format!("Masking \"{}\" input shape", self.config.name),
                input_shape,
                "sequences of vectors, [batch, time, features]",
            ));
        }
        Ok(input_shape.clone())
    }
    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        let mask = self.mask_of(&x.value());
        let mut kept = mask.shape().to_vec();
        kept.push(1);
        x.mul(cx.tape.constant(mask.reshape_to(&kept)))
    }
    fn makes_mask(&self) -> bool {
        true
    }
    fn compute_mask(&self, inputs: &[Var<'_>], _masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        vec![Some(self.mask_of(&inputs[0].value()))]
    }
}
