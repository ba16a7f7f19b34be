//! ONNX export of `LayerNormalization`: over trailing axes (the default, the last) the
//! opset-17 `LayerNormalization` operator; over other axes the composition kensho computes,
//! with `ReduceMean`.

use super::{weight, Value};
use crate::onnx::graph::{Attr, OnnxGraph};
use kensho_autograd::Param;
use kensho_core::{Error, Result, Tensor};
use kensho_layers::{Layer, LayerNormalizationConfig, Shape};

/// The error for a layer normalization whose configuration or weights cannot be written.
fn export_error(layer: &dyn Layer, what: &str, seen: impl ToString, expected: &str) -> Error {
    Error::invalid(format!("ONNX export of LayerNormalization \"{}\": {what}", layer.name()), seen, expected)
}

/// The normalized axes of the batched input, sorted, resolved as kensho's build does.
fn resolve_axes(layer: &dyn Layer, config: &LayerNormalizationConfig, input: &Shape) -> Result<Vec<usize>> {
    let rank = input.rank() as i64 + 1;
    let mut axes: Vec<usize> = Vec::with_capacity(config.axis.len());
    for &axis in &config.axis {
        let resolved = if axis < 0 { rank + axis } else { axis };
        if !(1..rank).contains(&resolved) || axes.contains(&(resolved as usize)) {
            let seen = format!("{:?} for inputs {}", config.axis, input.with_batch());
            return Err(export_error(layer, "axis", seen, "distinct axes other than the batch axis"));
        }
        axes.push(resolved as usize);
    }
    if axes.is_empty() {
        return Err(export_error(layer, "axis", "[]", "at least one axis"));
    }
    axes.sort_unstable();
    Ok(axes)
}

/// `LayerNormalization` on `x`: `gamma * (x - mean) / sqrt(var + epsilon) + beta` over the
/// layer's axes. The mask passes through.
pub(crate) fn layer_normalization(
    layer: &dyn Layer,
    config: &LayerNormalizationConfig,
    x: &Value,
    g: &mut OnnxGraph,
) -> Result<Vec<Value>> {
    let axes = resolve_axes(layer, config, &x.shape)?;
    let gamma = config.scale.then(|| weight(layer, "gamma")).transpose()?;
    let beta = config.center.then(|| weight(layer, "beta")).transpose()?;
    let rank = x.shape.rank() + 1;
    let trailing = axes.iter().enumerate().all(|(i, &a)| a == rank - axes.len() + i);
    let name = if trailing {
        let scale = match gamma {
            Some(p) => g.weight(p.name(), &p.value),
            None => g.weight(&format!("{}.ones", layer.name()), &Tensor::ones(&known_dims(layer, &x.shape, &axes)?)),
        };
        let bias = beta.map(|p| g.weight(p.name(), &p.value));
        let mut args = vec![x.name.as_str(), scale.as_str()];
        args.extend(bias.as_deref());
        let attrs = vec![Attr::int("axis", axes[0] as i64), Attr::float("epsilon", config.epsilon)];
        g.op("LayerNormalization", &args, attrs)
    } else {
        composed(g, &x.name, &x.shape, &axes, config.epsilon, [gamma, beta])
    };
    Ok(vec![x.derive(name, &x.shape)])
}

/// The sizes of the normalized axes (known: the layer's build checked them).
fn known_dims(layer: &dyn Layer, input: &Shape, axes: &[usize]) -> Result<Vec<usize>> {
    axes.iter()
        .map(|&a| input.dims()[a - 1].ok_or_else(|| export_error(layer, "input shape", input, "known normalized axes")))
        .collect()
}

/// kensho's composition for axes that are not trailing: `(x - mean) * (var + epsilon)^-0.5`,
/// the statistics by `ReduceMean` over `axes`, then times `gamma` and plus `beta` (`[gamma,
/// beta]`, each if present), reshaped to broadcast over the other axes.
fn composed(
    g: &mut OnnxGraph,
    x: &str,
    input: &Shape,
    axes: &[usize],
    epsilon: f32,
    affine: [Option<&Param>; 2],
) -> String {
    let onnx_axes: Vec<i64> = axes.iter().map(|&a| a as i64).collect();
    let reduce = || vec![Attr::ints("axes", &onnx_axes), Attr::int("keepdims", 1)];
    let mean = g.op("ReduceMean", &[x], reduce());
    let centered = g.op("Sub", &[x, &mean], vec![]);
    let squares = g.op("Mul", &[&centered, &centered], vec![]);
    let var = g.op("ReduceMean", &[&squares], reduce());
    let eps = g.scalar("epsilon", epsilon);
    let shifted = g.op("Add", &[&var, &eps], vec![]);
    let exponent = g.scalar("minus_half", -0.5);
    let inverse = g.op("Pow", &[&shifted, &exponent], vec![]);
    let mut y = g.op("Mul", &[&centered, &inverse], vec![]);
    for (p, op) in affine.into_iter().zip(["Mul", "Add"]) {
        if let Some(p) = p {
            // Per sample: the weight's sizes on the normalized axes, 1 elsewhere.
            let mut broadcast = vec![1usize; input.rank()];
            for (&a, &d) in axes.iter().zip(p.value.shape()) {
                broadcast[a - 1] = d;
            }
            let w = g.weight(p.name(), &p.value.reshape_to(&broadcast));
            y = g.op(op, &[&y, &w], vec![]);
        }
    }
    y
}
