//! [`TimeDistributed`](kensho_layers::TimeDistributed): the time axis folded into the batch
//! (`Reshape` to `[batch * time, ..]`), the wrapped layer exported through
//! [`export_layer`](super::export_layer), and the axes unfolded again (the shapes are read at
//! run time, so the batch and the time may both be dynamic). The sequence's mask passes on.

use super::{export_layer, Value};
use crate::onnx::graph::{Attr, OnnxGraph};
use kensho_core::{Error, Result};
use kensho_layers::{Layer, Shape, TimeDistributedConfig};

/// Exports a TimeDistributed call.
pub(crate) fn export(
    layer: &dyn Layer,
    config: &TimeDistributedConfig,
    x: &Value,
    output: &Shape,
    g: &mut OnnxGraph,
) -> Result<Vec<Value>> {
    let inner = wrapped(layer, config, x)?;
    let step = |s: &Shape| Shape::new(s.dims().get(1..).unwrap_or_default().to_vec());
    let shape = g.op("Shape", &[&x.name], vec![]);
    let batch_time = slice(g, &shape, 0, 2);
    let features = slice(g, &shape, 2, i64::MAX);
    let all = g.ints("all", &[-1]);
    let folded_shape = g.op("Concat", &[&all, &features], vec![Attr::int("axis", 0)]);
    let folded = g.op("Reshape", &[&x.name, &folded_shape], vec![]);
    let steps = Value::new(folded, step(&x.shape));
    let y = match &export_layer(inner.as_ref(), &[steps], &[step(output)], g)?[..] {
        [y] => y.name.clone(),
        outputs => {
            let what = format!("ONNX export of TimeDistributed \"{}\" wrapped layer outputs", layer.name());
            return Err(Error::invalid(what, outputs.len(), "one output"));
        }
    };
    let y_shape = g.op("Shape", &[&y], vec![]);
    let out_features = slice(g, &y_shape, 1, i64::MAX);
    let unfolded_shape = g.op("Concat", &[&batch_time, &out_features], vec![Attr::int("axis", 0)]);
    let y = g.op("Reshape", &[&y, &unfolded_shape], vec![]);
    Ok(vec![x.derive(y, output)])
}

/// `shape[start..end]` of a 1-D int64 tensor.
fn slice(g: &mut OnnxGraph, shape: &str, start: i64, end: i64) -> String {
    let (starts, ends) = (g.ints("starts", &[start]), g.ints("ends", &[end]));
    g.op("Slice", &[shape, &starts, &ends], vec![])
}

/// The wrapped layer with the wrapper's weights: rebuilt from its config for one step's shape,
/// its weights and state then set to the wrapper's (the wrapper shares the wrapped layer's
/// order).
fn wrapped(layer: &dyn Layer, config: &TimeDistributedConfig, x: &Value) -> Result<Box<dyn Layer>> {
    let mut inner = config.layer.to_layer()?;
    let step = Shape::new(x.shape.dims().get(1..).unwrap_or_default().to_vec());
    inner.build(&step, &mut kensho_core::seeded_rng(0))?;
    let (params, state) = (layer.params(), layer.state());
    if inner.params().len() != params.len() || inner.state().len() != state.len() {
        let what = format!("ONNX export of TimeDistributed \"{}\" weights", layer.name());
        let expected = format!("{} weights and {} state tensors", inner.params().len(), inner.state().len());
        return Err(Error::invalid(what, format!("{} and {}", params.len(), state.len()), expected));
    }
    for (dst, src) in inner.params_mut().into_iter().zip(params) {
        dst.value = src.value.clone();
    }
    for (dst, src) in inner.state_mut().into_iter().zip(state) {
        dst.value = src.value.clone();
    }
    Ok(inner)
}
