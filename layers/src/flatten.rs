//! [`Flatten`]: collapses every per-sample axis into one.

use crate::layer::{Ctx, Layer, LayerConfig};
use crate::Shape;
use kensho_autograd::Var;
use kensho_core::{Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// The configuration of a [`Flatten`] layer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlattenConfig {
    /// Layer name.
    pub name: String,
}

/// Reshapes `[batch, d1, d2, ...]` to `[batch, d1 * d2 * ...]` (row-major, as Keras and PyTorch).
///
/// ```
/// use kensho_layers::{Flatten, Layer};
/// let out = Flatten::new().build(&[28, 28].into(), &mut kensho_core::seeded_rng(0))?;
/// assert_eq!(out, vec![784]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Flatten {
    config: FlattenConfig,
}

impl Flatten {
    /// A flatten layer.
    pub fn new() -> Flatten {
        Flatten::default()
    }

    /// A flatten layer from its configuration.
    pub fn from_config(config: FlattenConfig) -> Flatten {
        Flatten { config }
    }
}

impl Layer for Flatten {
    fn name(&self) -> &str {
        &self.config.name
    }
    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }
    fn kind(&self) -> &'static str {
        "Flatten"
    }
    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let dims = input_shape.require_known(&format!("Flatten \"{}\"", self.config.name))?;
        Ok(Shape::from([Tensor::element_count(&dims)?]))
    }
    fn forward<'t>(&self, x: Var<'t>, _cx: &Ctx<'t>) -> Var<'t> {
        let shape = x.shape();
        x.reshape(&[shape[0], shape[1..].iter().product()])
    }
    fn compute_mask(&self, _inputs: &[Var<'_>], _masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        vec![None] // the positions a mask marks no longer exist after flattening
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::Flatten(self.config.clone())
    }
}
