//! The core family: Dense, the activation functions (shared by every layer with an
//! `activation` option), Flatten and Reshape; Input, Dropout and SpatialDropout2D are the
//! identity at inference and handled by the dispatch.

use super::{unsupported, weight, Value};
use crate::onnx::graph::{Attr, OnnxGraph};
use kensho_core::{Error, Result};
use kensho_layers::{Activation, DenseConfig, Layer, Shape};

/// The ONNX nodes computing `a` on the value `x`; returns the result's name (`x` itself for the
/// identity). Gelu is the exact form `x/2 · (1 + erf(x/√2))`, as kensho computes it (opset 17
/// has no Gelu operator); Silu is `x · sigmoid(x)`; Softmax is along the last axis.
///
/// # Errors
/// An activation that has no ONNX form (a variant added to kensho after this exporter).
pub(crate) fn activation(g: &mut OnnxGraph, x: &str, a: &Activation) -> Result<String> {
    Ok(match *a {
        Activation::Linear => x.to_string(),
        Activation::Relu => g.op("Relu", &[x], vec![]),
        Activation::LeakyRelu { alpha } => g.op("LeakyRelu", &[x], vec![Attr::float("alpha", alpha)]),
        Activation::Elu { alpha } => g.op("Elu", &[x], vec![Attr::float("alpha", alpha)]),
        Activation::Sigmoid => g.op("Sigmoid", &[x], vec![]),
        Activation::Tanh => g.op("Tanh", &[x], vec![]),
        Activation::Softmax => g.op("Softmax", &[x], vec![Attr::int("axis", -1)]),
        Activation::Softplus => g.op("Softplus", &[x], vec![]),
        Activation::Silu => {
            let s = g.op("Sigmoid", &[x], vec![]);
            g.op("Mul", &[x, &s], vec![])
        }
        Activation::Gelu => {
            let inv_sqrt2 = g.scalar("inv_sqrt2", std::f32::consts::FRAC_1_SQRT_2);
            let (one, half) = (g.scalar("one", 1.0), g.scalar("half", 0.5));
            let scaled = g.op("Mul", &[x, &inv_sqrt2], vec![]);
            let erf = g.op("Erf", &[&scaled], vec![]);
            let cdf = g.op("Add", &[&erf, &one], vec![]);
            let half_x = g.op("Mul", &[x, &half], vec![]);
            g.op("Mul", &[&half_x, &cdf], vec![])
        }
        other => {
            return Err(Error::invalid(
                "ONNX export: activation",
                other.name(),
                "an activation with an ONNX form (linear, relu, leaky_relu, elu, sigmoid, tanh, softmax, softplus, silu, gelu)",
            ))
        }
    })
}

/// [`activation`] on a value, keeping its shape and mask.
pub(crate) fn activation_value(x: &Value, a: &Activation, g: &mut OnnxGraph) -> Result<Value> {
    let y = activation(g, &x.name, a)?;
    Ok(x.derive(y, &x.shape))
}

/// Dense: `activation(x · kernel + bias)` on the last axis, as MatMul (+ Add), for inputs of
/// any rank.
pub(crate) fn dense(
    layer: &dyn Layer,
    c: &DenseConfig,
    x: &Value,
    out: &Shape,
    g: &mut OnnxGraph,
) -> Result<Vec<Value>> {
    let kernel = weight(layer, "kernel")?;
    let kernel = g.weight(kernel.name(), &kernel.value);
    let mut y = g.op("MatMul", &[&x.name, &kernel], vec![]);
    if c.kernel.use_bias {
        let bias = weight(layer, "bias")?;
        let bias = g.weight(bias.name(), &bias.value);
        y = g.op("Add", &[&y, &bias], vec![]);
    }
    let y = activation(g, &y, &c.kernel.activation)?;
    Ok(vec![x.derive(y, out)])
}

/// Flatten and Reshape: an ONNX Reshape of each sample to the built output shape (kensho's
/// layout is channels_last, so the element order is already the one kensho flattens). The
/// batch axis is copied (`0`); one unknown per-sample axis is inferred (`-1`). The mask is
/// dropped, as Keras drops it.
pub(crate) fn reshape(layer: &dyn Layer, x: &Value, out: &Shape, g: &mut OnnxGraph) -> Result<Vec<Value>> {
    if out.dims().iter().filter(|d| d.is_none()).count() > 1 {
        return Err(unsupported(layer, &format!("its output shape {out:?} has more than one unknown axis")));
    }
    let dims: Vec<i64> = std::iter::once(0).chain(out.dims().iter().map(|d| d.map_or(-1, |d| d as i64))).collect();
    let shape = g.ints("shape", &dims);
    let y = g.op("Reshape", &[&x.name, &shape], vec![]);
    Ok(vec![Value::new(y, out.clone())])
}
