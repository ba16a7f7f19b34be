//! The text layers: [`Embedding`](kensho_layers::Embedding) as a `Gather` on its table and
//! [`Masking`](kensho_layers::Masking), each with the mask it gives to later layers (a
//! `[batch, time]` bool tensor).
//!
//! - Embedding: kensho feeds token ids as float32 whole numbers, so they are cast to int64
//!   for the `Gather`; with `mask_zero` the mask is `Not(Equal(ids, 0))`, else the input's
//!   mask passes on.
//! - Masking: a step is real when some feature differs from `mask_value`
//!   (`ReduceMax` over the last axis of `Not(Equal(x, mask_value))`); padded steps are
//!   zeroed.

use super::{weight, Value};
use crate::onnx::graph::{Attr, OnnxGraph};
use crate::onnx::proto;
use kensho_core::Result;
use kensho_layers::{EmbeddingConfig, Layer, MaskingConfig, Shape};

/// `Not(Equal(x, value))`: a bool tensor, true where `x` differs from `value`.
fn differs(g: &mut OnnxGraph, x: &str, value: f32) -> String {
    let value = g.scalar("value", value);
    let equal = g.op("Equal", &[x, &value], vec![]);
    g.op("Not", &[&equal], vec![])
}

/// Exports an Embedding call: the rows of the table at the ids.
pub(crate) fn embedding(
    layer: &dyn Layer,
    config: &EmbeddingConfig,
    x: &Value,
    output: &Shape,
    g: &mut OnnxGraph,
) -> Result<Vec<Value>> {
    let table = weight(layer, "embeddings")?;
    let table = g.weight(table.name(), &table.value);
    let ids = g.op("Cast", &[&x.name], vec![Attr::int("to", i64::from(proto::INT64))]);
    let y = g.op("Gather", &[&table, &ids], vec![Attr::int("axis", 0)]);
    let mask = if config.mask_zero { Some(differs(g, &x.name, 0.0)) } else { x.mask.clone() };
    Ok(vec![Value { name: y, shape: output.clone(), mask }])
}

/// Exports a Masking call: the input with padded steps zeroed, and their mask.
pub(crate) fn masking(config: &MaskingConfig, x: &Value, output: &Shape, g: &mut OnnxGraph) -> Result<Vec<Value>> {
    let real = differs(g, &x.name, config.mask_value);
    let real = g.op("Cast", &[&real], vec![Attr::int("to", i64::from(proto::FLOAT))]);
    let step = g.op("ReduceMax", &[&real], vec![Attr::ints("axes", &[-1]), Attr::int("keepdims", 1)]);
    let y = g.op("Mul", &[&x.name, &step], vec![]);
    let axes = g.ints("axes", &[-1]);
    let step = g.op("Squeeze", &[&step, &axes], vec![]);
    let mask = g.op("Cast", &[&step], vec![Attr::int("to", i64::from(proto::BOOL))]);
    Ok(vec![Value { name: y, shape: output.clone(), mask: Some(mask) }])
}
