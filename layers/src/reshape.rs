//! [`Reshape`]: gives each sample a new shape with the same number of elements.

use crate::layer::{Ctx, Layer, LayerConfig};
use crate::Shape;
use kensho_autograd::Var;
use kensho_core::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// The configuration of a [`Reshape`] layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReshapeConfig {
    /// Layer name.
    pub name: String,
    /// The per-sample target shape; one entry may be -1 (inferred).
    pub target_shape: Vec<isize>,
}

/// Reshapes each sample to `target_shape` (one dimension may be -1), as Keras' `Reshape`.
///
/// ```
/// use kensho_layers::{Layer, Reshape};
/// let out = Reshape::new(&[-1, 7]).build(&[28].into(), &mut kensho_core::seeded_rng(0))?;
/// assert_eq!(out, vec![4, 7]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Reshape {
    config: ReshapeConfig,
    resolved: Vec<usize>,
}

impl Reshape {
    /// A reshape to the per-sample `target_shape`.
    pub fn new(target_shape: &[isize]) -> Reshape {
        Reshape::from_config(ReshapeConfig { name: String::new(), target_shape: target_shape.to_vec() })
    }

    /// A reshape layer from its configuration.
    pub fn from_config(config: ReshapeConfig) -> Reshape {
        Reshape { config, resolved: Vec::new() }
    }
}

impl Layer for Reshape {
    fn name(&self) -> &str {
        &self.config.name
    }
    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }
    fn kind(&self) -> &'static str {
        "Reshape"
    }
    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let input_shape = input_shape.require_known(&format!("Reshape \"{}\"", self.config.name))?;
        // Resolve -1 with the same rules as Tensor::reshape, from the sample's size alone.
        let len = Tensor::element_count(&input_shape)?;
        let resolved = Tensor::reshape_dims(len, &self.config.target_shape).map_err(|why| {
            Error::shape(
                format!("Reshape \"{}\" to {:?}", self.config.name, self.config.target_shape),
                format!("a per-sample shape with the same number of elements: {why}"),
                &input_shape,
            )
        })?;
        self.resolved = resolved;
        Ok(Shape::known(&self.resolved))
    }
    fn forward<'t>(&self, x: Var<'t>, _cx: &Ctx<'t>) -> Var<'t> {
        let shape: Vec<usize> = std::iter::once(x.shape()[0]).chain(self.resolved.iter().copied()).collect();
        x.reshape(&shape)
    }
    fn compute_mask(&self, _inputs: &[Var<'_>], _masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        vec![None] // the positions a mask marks no longer exist after reshaping
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::Reshape(self.config.clone())
    }
}
