//! Layer by layer: [`export_layer`] writes one call of a kensho layer as ONNX nodes, by its
//! configuration, through one function per layer family (`core`, `conv`, `pool`, `norm`,
//! `preprocessing`, `recurrent`, `text`, `attention`, `merge`, `audio`).
//!
//! Values are in kensho's layout (channels_last) between layers; a family that needs ONNX's
//! channels_first operators transposes around them.

pub(crate) mod core;

use super::graph::OnnxGraph;
use kensho_core::{Error, Result};
use kensho_layers::{Layer, LayerConfig, Shape};

/// A value of the graph being written: its ONNX name, its per-sample shape in kensho's
/// (channels_last) layout without the batch axis, and its mask, if any.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Value {
    /// The ONNX value name.
    pub name: String,
    /// The per-sample shape (no batch axis), channels_last.
    pub shape: Shape,
    /// The name of a `[batch, time]` bool tensor marking the valid steps, if masked.
    pub mask: Option<String>,
}

impl Value {
    /// An unmasked value.
    pub(crate) fn new(name: String, shape: Shape) -> Value {
        Value { name, shape, mask: None }
    }

    /// A value of shape `shape` named `name`, keeping this value's mask.
    pub(crate) fn derive(&self, name: String, shape: &Shape) -> Value {
        Value { name, shape: shape.clone(), mask: self.mask.clone() }
    }
}

/// Writes one call of `layer` on `inputs` into `g`; `output_shapes` are the call's per-sample
/// output shapes, as built. Returns the call's outputs.
///
/// # Errors
/// A layer (or an option of one) that has no ONNX form yet, naming the layer and why.
pub(crate) fn export_layer(
    layer: &dyn Layer,
    inputs: &[Value],
    output_shapes: &[Shape],
    g: &mut OnnxGraph,
) -> Result<Vec<Value>> {
    let out = || output_shapes.first().ok_or_else(|| unsupported(layer, "its call has no output"));
    let x = || single(layer, inputs);
    let identity = || Ok(vec![x()?.clone()]);
    match layer.config() {
        LayerConfig::InputLayer(_) | LayerConfig::Dropout(_) | LayerConfig::SpatialDropout2D(_) => identity(),
        LayerConfig::Dense(c) => core::dense(layer, &c, x()?, out()?, g),
        LayerConfig::Activation(c) => Ok(vec![core::activation_value(x()?, &c.activation, g)?]),
        LayerConfig::Flatten(_) | LayerConfig::Reshape(_) => core::reshape(layer, x()?, out()?, g),
        _ => Err(unsupported(layer, "no exporter is written for this kind")),
    }
}

/// The one input of a single-input layer.
pub(crate) fn single<'a>(layer: &dyn Layer, inputs: &'a [Value]) -> Result<&'a Value> {
    match inputs {
        [x] => Ok(x),
        _ => Err(Error::invalid(
            format!("ONNX export of {} \"{}\" inputs", layer.kind(), layer.name()),
            inputs.len(),
            "exactly one input",
        )),
    }
}

/// The error for a layer, or an option of it, that cannot be exported: names the layer, its
/// kind and `why`.
pub(crate) fn unsupported(layer: &dyn Layer, why: &str) -> Error {
    Error::invalid(
        "ONNX export",
        format!("layer \"{}\" (kind {}), which cannot be exported to ONNX yet: {why}", layer.name(), layer.kind()),
        "only layers with an ONNX form (remove or replace this one before exporting)",
    )
}
