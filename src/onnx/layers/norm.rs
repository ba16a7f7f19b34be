//! BatchNormalization at inference: `(x - moving_mean) · (gamma / √(moving_variance + ε)) +
//! beta` on the feature axis, as `Sub`, `Mul`, `Add` with the statistics shaped to broadcast
//! (the scale computed here as kensho computes it, so the results agree to rounding).

use super::{unsupported, weight, Value};
use crate::onnx::graph::OnnxGraph;
use kensho_core::Result;
use kensho_layers::{BatchNormalizationConfig, Layer, Shape};

/// BatchNormalization on any feature axis.
pub(crate) fn batch_norm(
    layer: &dyn Layer,
    c: &BatchNormalizationConfig,
    x: &Value,
    out: &Shape,
    g: &mut OnnxGraph,
) -> Result<Vec<Value>> {
    let rank = x.shape.rank() as i64 + 1;
    let axis = if c.axis < 0 { rank + c.axis } else { c.axis };
    if !(1..rank).contains(&axis) {
        return Err(unsupported(layer, &format!("feature axis {} of inputs of rank {rank}", c.axis)));
    }
    // Shaped [C, 1, ..] so that it broadcasts on the axis, batch included.
    let trailing = (rank - 1 - axis) as usize;
    let broadcast = |t: &kensho_core::Tensor| {
        let dims: Vec<usize> = std::iter::once(t.len()).chain(std::iter::repeat_n(1, trailing)).collect();
        t.reshape_to(&dims)
    };
    let mean = weight(layer, "moving_mean")?;
    let variance = weight(layer, "moving_variance")?;
    let mut scale = variance.value.add_scalar(c.epsilon).powf(-0.5);
    if c.scale {
        scale = scale.mul(&weight(layer, "gamma")?.value);
    }
    let mean = g.weight(mean.name(), &broadcast(&mean.value));
    let scale = g.weight(&format!("{}.scale", layer.name()), &broadcast(&scale));
    let centered = g.op("Sub", &[&x.name, &mean], vec![]);
    let mut y = g.op("Mul", &[&centered, &scale], vec![]);
    if c.center {
        let beta = weight(layer, "beta")?;
        let beta = g.weight(beta.name(), &broadcast(&beta.value));
        y = g.op("Add", &[&y, &beta], vec![]);
    }
    Ok(vec![x.derive(y, out)])
}
