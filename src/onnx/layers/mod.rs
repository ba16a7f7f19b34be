//! Layer by layer: [`export_layer`] writes one call of a kensho layer as ONNX nodes, by its
//! configuration, through one function per layer family (`core`, `conv`, `pool`, `norm`,
//! `preprocessing`, `recurrent` (with `bidirectional`), `text`, `time_distributed`,
//! `attention`, `layer_norm`, `merge`, `audio`).
//!
//! Values are in kensho's layout (channels_last) between layers; a family that needs ONNX's
//! channels_first operators transposes around them.

pub(crate) mod attention;
pub(crate) mod audio;
mod bidirectional;
pub(crate) mod conv;
pub(crate) mod core;
pub(crate) mod layer_norm;
pub(crate) mod merge;
pub(crate) mod norm;
pub(crate) mod pool;
pub(crate) mod preprocessing;
mod recurrent;
mod sequence_mask;
mod text;
mod time_distributed;

use super::graph::OnnxGraph;
use kensho_autograd::Param;
use kensho_core::{Error, Result};
use kensho_layers::{Layer, LayerConfig, MergeOp, Shape};

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
        LayerConfig::RandomFlip(_)
        | LayerConfig::RandomTranslation(_)
        | LayerConfig::RandomRotation(_)
        | LayerConfig::RandomZoom(_)
        | LayerConfig::RandomContrast(_)
        | LayerConfig::RandomTimeShift(_)
        | LayerConfig::RandomNoise(_)
        | LayerConfig::SpecAugment(_) => identity(),
        LayerConfig::Dense(c) => core::dense(layer, &c, x()?, out()?, g),
        LayerConfig::Activation(c) => Ok(vec![core::activation_value(x()?, &c.activation, g)?]),
        LayerConfig::Flatten(_) | LayerConfig::Reshape(_) => core::reshape(layer, x()?, out()?, g),
        LayerConfig::Conv1D(c) | LayerConfig::Conv2D(c) => conv::conv(layer, &c, x()?, out()?, g),
        LayerConfig::Conv2DTranspose(c) => conv::conv_transpose(layer, &c, x()?, out()?, g),
        LayerConfig::DepthwiseConv2D(c) => conv::depthwise(layer, &c, x()?, out()?, g),
        LayerConfig::SeparableConv2D(c) => conv::separable(layer, &c, x()?, out()?, g),
        LayerConfig::ZeroPadding2D(c) => Ok(conv::zero_padding(&c, x()?, out()?, g)),
        LayerConfig::Cropping2D(c) => Ok(conv::cropping(&c, x()?, out()?, g)),
        LayerConfig::UpSampling2D(c) => Ok(conv::up_sampling(&c, x()?, out()?, g)),
        LayerConfig::MaxPooling1D(c) | LayerConfig::MaxPooling2D(c) => pool::pool(layer, &c, true, x()?, out()?, g),
        LayerConfig::AveragePooling1D(c) | LayerConfig::AveragePooling2D(c) => {
            pool::pool(layer, &c, false, x()?, out()?, g)
        }
        LayerConfig::GlobalMaxPooling1D(c) | LayerConfig::GlobalMaxPooling2D(c) => {
            Ok(pool::global_pool(&c, true, x()?, out()?, g))
        }
        LayerConfig::GlobalAveragePooling1D(c) | LayerConfig::GlobalAveragePooling2D(c) => {
            Ok(pool::global_pool(&c, false, x()?, out()?, g))
        }
        LayerConfig::BatchNormalization(c) => norm::batch_norm(layer, &c, x()?, out()?, g),
        LayerConfig::Rescaling(c) => Ok(preprocessing::rescaling(&c, x()?, out()?, g)),
        LayerConfig::Embedding(c) => text::embedding(layer, &c, x()?, out()?, g),
        LayerConfig::Masking(c) => text::masking(&c, x()?, out()?, g),
        LayerConfig::TimeDistributed(c) => time_distributed::export(layer, &c, x()?, out()?, g),
        c @ (LayerConfig::SimpleRNN(_) | LayerConfig::LSTM(_) | LayerConfig::GRU(_)) => {
            recurrent::export(layer, &c, inputs, output_shapes, g)
        }
        LayerConfig::Bidirectional(c) => bidirectional::export(layer, &c, inputs, output_shapes, g),
        LayerConfig::Add(_) => merge::elementwise(MergeOp::Add, inputs, out()?, g),
        LayerConfig::Subtract(_) => merge::elementwise(MergeOp::Subtract, inputs, out()?, g),
        LayerConfig::Multiply(_) => merge::elementwise(MergeOp::Multiply, inputs, out()?, g),
        LayerConfig::Average(_) => merge::elementwise(MergeOp::Average, inputs, out()?, g),
        LayerConfig::Maximum(_) => merge::elementwise(MergeOp::Maximum, inputs, out()?, g),
        LayerConfig::Minimum(_) => merge::elementwise(MergeOp::Minimum, inputs, out()?, g),
        LayerConfig::Concatenate(c) => merge::concatenate(layer, &c, inputs, out()?, g),
        LayerConfig::Dot(c) => merge::dot(layer, &c, inputs, out()?, g),
        LayerConfig::LayerNormalization(c) => layer_norm::layer_normalization(layer, &c, x()?, g),
        LayerConfig::MultiHeadAttention(c) => attention::multi_head_attention(layer, &c, inputs, output_shapes, g),
        LayerConfig::PositionEmbedding(_) => attention::position_embedding(layer, x()?, out()?, g),
        LayerConfig::STFTSpectrogram(c) => audio::stft_spectrogram(layer, &c.options, c.expand_dims, x()?, out()?, g),
        LayerConfig::MelSpectrogram(c) => audio::mel_spectrogram(layer, &c.options, c.expand_dims, x()?, out()?, g),
        LayerConfig::MFCC(c) => audio::mfcc(layer, &c.options, c.expand_dims, x()?, out()?, g),
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

/// The weight (parameter or state) of `layer` whose name ends in `.{suffix}` (`kernel`,
/// `bias`, `moving_mean`, ...).
///
/// # Errors
/// If the layer has no such weight (it is not built).
pub(crate) fn weight<'a>(layer: &'a dyn Layer, suffix: &str) -> Result<&'a Param> {
    let dotted = format!(".{suffix}");
    let mut weights = layer.params().into_iter().chain(layer.state());
    weights
        .find(|p| p.name().ends_with(&dotted) || p.name() == suffix)
        .ok_or_else(|| unsupported(layer, &format!("it has no {suffix} weight (build or fit the model first)")))
}

/// `Unsqueeze(x, axes)`: `x` with axes of size 1 inserted at `axes` (of the result).
pub(crate) fn unsqueeze(g: &mut OnnxGraph, x: &str, axes: &[i64]) -> String {
    let axes = g.ints("axes", axes);
    g.op("Unsqueeze", &[x, &axes], vec![])
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
