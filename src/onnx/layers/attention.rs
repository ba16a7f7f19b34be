//! ONNX export of the attention layers: `MultiHeadAttention` (the four projections as
//! `MatMul`s on kernels reshaped to matrices, the scaled dot product, a masked `Softmax` with
//! Keras' rule for the query, value and key masks, the causal mask and an explicit attention
//! mask) and `PositionEmbedding` (a `Slice` of the table as long as the input, `Expand`ed to
//! the input's shape, so batch and length stay dynamic).

use super::{unsqueeze, weight, Value};
use crate::onnx::graph::{Attr, OnnxGraph};
use kensho_core::Result;
use kensho_layers::{Layer, MultiHeadAttentionConfig, Shape};

/// What a masked score gets before the softmax (Keras' value for float32, as kensho).
const LARGE_NEGATIVE: f32 = -1e9;

/// `x: [batch, T, d]` through the projection `sublayer` of `layer` (`query`, ...): times its
/// kernel, whose first `split` axes are the inputs (flattened to `[d, n]`), plus its bias if
/// `use_bias`, as `[batch, T, n]`.
fn project(
    g: &mut OnnxGraph,
    layer: &dyn Layer,
    x: &str,
    sublayer: &str,
    split: usize,
    use_bias: bool,
) -> Result<String> {
    let kernel = weight(layer, &format!("{sublayer}.kernel"))?;
    let fan_in: usize = kernel.value.shape()[..split].iter().product();
    let w = g.weight(kernel.name(), &kernel.value.reshape_to(&[fan_in, kernel.value.len() / fan_in]));
    let y = g.op("MatMul", &[x, &w], vec![]);
    if !use_bias {
        return Ok(y);
    }
    let bias = weight(layer, &format!("{sublayer}.bias"))?;
    let b = g.weight(bias.name(), &bias.value.reshape_to(&[bias.value.len()]));
    Ok(g.op("Add", &[&y, &b], vec![]))
}

/// A projection `[batch, T, heads * size]` split into heads: `[batch, heads, T, size]`.
fn split_heads(g: &mut OnnxGraph, x: &str, heads: usize, size: usize) -> String {
    let shape = g.ints("heads_shape", &[0, 0, heads as i64, size as i64]);
    let y = g.op("Reshape", &[x, &shape], vec![]);
    g.op("Transpose", &[&y], vec![Attr::ints("perm", &[0, 2, 1, 3])])
}

/// The attention mask, `bool` and broadcastable to `[batch, heads, T_q, T_k]`, from Keras'
/// sources (AND of all present): the query's mask, the value's and key's masks, an explicit
/// mask input (nonzero allows) and causality; `None` if nothing masks.
fn attention_mask(g: &mut OnnxGraph, inputs: &[Value], causal: bool) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(q) = &inputs[0].mask {
        parts.push(unsqueeze(g, q, &[1, 3]));
    }
    for v in inputs[1..inputs.len().min(3)].iter() {
        if let Some(m) = &v.mask {
            parts.push(unsqueeze(g, m, &[1, 2]));
        }
    }
    if let Some(explicit) = inputs.get(3) {
        let zero = g.scalar("zero", 0.0);
        let is_zero = g.op("Equal", &[&explicit.name, &zero], vec![]);
        let allows = g.op("Not", &[&is_zero], vec![]);
        parts.push(unsqueeze(g, &allows, &[1]));
    }
    if causal {
        parts.push(causal_mask(g, &inputs[0].name, &inputs[inputs.len().min(3) - 1].name));
    }
    let mut mask = parts.first()?.clone();
    for p in &parts[1..] {
        mask = g.op("And", &[&mask, p], vec![]);
    }
    Some(mask)
}

/// `[T_q, T_k]`, true where key `j <= i` for query `i`, from the lengths of `query` and `key`
/// (`[batch, T, d]`) at run time.
fn causal_mask(g: &mut OnnxGraph, query: &str, key: &str) -> String {
    let i = positions(g, query);
    let i = unsqueeze(g, &i, &[1]);
    let j = positions(g, key);
    g.op("LessOrEqual", &[&j, &i], vec![])
}

/// `[0, 1, .., T - 1]` (int64) for `x: [batch, T, ..]`, `T` read at run time.
fn positions(g: &mut OnnxGraph, x: &str) -> String {
    let len = g.op("Shape", &[x], vec![Attr::int("start", 1), Attr::int("end", 2)]);
    let bounds = [len, g.ints("start", &[0]), g.ints("step", &[1])];
    let [len, start, step] = bounds.map(|v| g.op("Squeeze", &[&v], vec![]));
    g.op("Range", &[&start, &len, &step], vec![])
}

/// `MultiHeadAttention` on `[query, value]`, `[query, value, key]` or `[query, value, key,
/// mask]`: Keras' computation with the layer's weights; the output carries the query's mask,
/// and with `return_attention_scores` a second output holds the probabilities
/// `[batch, heads, T_q, T_k]`. Dropout is the identity, as in `predict`.
pub(crate) fn multi_head_attention(
    layer: &dyn Layer,
    config: &MultiHeadAttentionConfig,
    inputs: &[Value],
    outputs: &[Shape],
    g: &mut OnnxGraph,
) -> Result<Vec<Value>> {
    let (heads, key_dim) = (config.num_heads, config.key_dim);
    let value_dim = config.value_dim.unwrap_or(key_dim);
    let query = &inputs[0].name;
    let value = &inputs[1].name;
    let key = inputs.get(2).map_or(value, |k| &k.name);
    let mut projected = |x: &str, sublayer: &str, size: usize| -> Result<String> {
        let p = project(g, layer, x, sublayer, 1, config.use_bias)?;
        Ok(split_heads(g, &p, heads, size))
    };
    let q = projected(query, "query", key_dim)?;
    let k = projected(key, "key", key_dim)?;
    let v = projected(value, "value", value_dim)?;
    let k_t = g.op("Transpose", &[&k], vec![Attr::ints("perm", &[0, 1, 3, 2])]);
    let scores = g.op("MatMul", &[&q, &k_t], vec![]);
    let scale = g.scalar("scale", 1.0 / (key_dim as f32).sqrt());
    let scaled = g.op("Mul", &[&scores, &scale], vec![]);
    let mask = attention_mask(g, inputs, config.use_causal_mask);
    let probs = match &mask {
        None => g.op("Softmax", &[&scaled], vec![Attr::int("axis", -1)]),
        Some(m) => {
            let low = g.scalar("large_negative", LARGE_NEGATIVE);
            let z = g.op("Where", &[m, &scaled, &low], vec![]);
            let p = g.op("Softmax", &[&z], vec![Attr::int("axis", -1)]);
            let zero = g.scalar("zero", 0.0);
            g.op("Where", &[m, &p, &zero], vec![])
        }
    };
    let context = g.op("MatMul", &[&probs, &v], vec![]);
    let context = g.op("Transpose", &[&context], vec![Attr::ints("perm", &[0, 2, 1, 3])]);
    let joined_shape = g.ints("joined_shape", &[0, 0, (heads * value_dim) as i64]);
    let joined = g.op("Reshape", &[&context, &joined_shape], vec![]);
    let out = project(g, layer, &joined, "attention_output", 2, config.use_bias)?;
    let mut values = vec![Value { name: out, shape: outputs[0].clone(), mask: inputs[0].mask.clone() }];
    if config.return_attention_scores {
        values.push(Value { name: probs, shape: outputs[1].clone(), mask: None });
    }
    Ok(values)
}

/// `PositionEmbedding`: the first `T` rows of the table (`T` the input's length at run time),
/// expanded to the input's shape. The input's mask passes through.
pub(crate) fn position_embedding(
    layer: &dyn Layer,
    input: &Value,
    output: &Shape,
    g: &mut OnnxGraph,
) -> Result<Vec<Value>> {
    let table = weight(layer, "embeddings")?;
    let table = g.weight(table.name(), &table.value);
    let x = &input.name;
    let shape = g.op("Shape", &[x], vec![]);
    let len = g.op("Shape", &[x], vec![Attr::int("start", -2), Attr::int("end", -1)]);
    let (start, axes) = (g.ints("start", &[0]), g.ints("axes", &[0]));
    let rows = g.op("Slice", &[&table, &start, &len, &axes], vec![]);
    let name = g.op("Expand", &[&rows, &shape], vec![]);
    Ok(vec![input.derive(name, output)])
}
