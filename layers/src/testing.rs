//! The layer conformance harness (as Keras' `run_layer_test`): one call checks a layer's build
//! shape against its forward shape, its parameter count, its gradients (input and every
//! parameter) against finite differences, batch independence, and a config round trip.

use crate::{Ctx, Layer};
use kensho_autograd::{gradcheck, Tape};
use kensho_core::{seeded_rng, Tensor};

/// Central-difference step and tolerances, as in `kensho_autograd::gradcheck`.
const EPS: f32 = 1e-3;

/// Runs `layer` (already built) in inference mode on `x`.
fn run(layer: &dyn Layer, x: &Tensor) -> Tensor {
    let tape = Tape::no_grad();
    let cx = Ctx::new(&tape, false, seeded_rng(0));
    layer.forward(tape.constant(x.clone()), &cx).value()
}

/// `Σ y ⊙ r` in f64.
fn project(y: &Tensor, r: &Tensor) -> f64 {
    y.to_vec().iter().zip(r.to_vec()).map(|(&a, b)| f64::from(a) * f64::from(b)).sum()
}

/// Adds `delta` to element `j` (row-major) of parameter `p` of the layer.
fn nudge(layer: &mut dyn Layer, p: usize, j: usize, delta: f32) {
    let mut params = layer.params_mut();
    params[p].value.add_at(j, delta);
}

/// Checks every parameter's gradient against central finite differences of `Σ layer(x) ⊙ r`.
fn check_param_grads(layer: &mut dyn Layer, x: &Tensor, r: &Tensor) -> Result<(), String> {
    let grads = {
        let tape = Tape::new();
        let cx = Ctx::new(&tape, false, seeded_rng(0));
        let y = layer.forward(tape.constant(x.clone()), &cx);
        tape.backward(y.mul(tape.constant(r.clone())).sum_all())
    };
    let count = layer.params().len();
    for p in 0..count {
        let (id, name, n) = {
            let param = layer.params()[p];
            (param.id(), param.name().to_string(), param.value.len())
        };
        let analytic = grads.get(id).map_or_else(|| vec![0.0; n], Tensor::to_vec);
        for (j, &a) in analytic.iter().enumerate() {
            let mut shifted = |delta: f32| {
                nudge(layer, p, j, delta);
                let value = project(&run(layer, x), r);
                nudge(layer, p, j, -delta);
                value
            };
            let numeric = (shifted(EPS) - shifted(-EPS)) / (2.0 * f64::from(EPS));
            if (f64::from(a) - numeric).abs() > 1e-3 + 1e-2 * numeric.abs() {
                return Err(format!("{name}[{j}]: analytic {a} vs numeric {numeric}"));
            }
        }
    }
    Ok(())
}

/// Checks a layer's conformance on a batch of `batch` random inputs of per-sample shape
/// `input_shape`, expecting `param_count` scalar parameters in total.
///
/// Checks: `build`'s output shape equals the forward's; the parameter count; gradients with
/// respect to the input and every parameter against finite differences; that each row of a
/// batch equals the layer applied to that row alone; and that the layer rebuilt from its
/// serialized config, given the same weights, computes the same output.
///
/// # Errors
/// A message naming the first check that failed.
pub fn check_layer(
    layer: &mut dyn Layer,
    input_shape: &[usize],
    batch: usize,
    param_count: usize,
) -> Result<(), String> {
    let mut rng = seeded_rng(11);
    if layer.name().is_empty() {
        layer.set_name("layer");
    }
    let out_shape = layer.build(input_shape, &mut rng).map_err(|e| format!("build failed: {e}"))?;
    let full_in: Vec<usize> = std::iter::once(batch).chain(input_shape.iter().copied()).collect();
    let x = Tensor::rand_uniform(&full_in, -1.0, 1.0, &mut rng);
    let y = run(layer, &x);
    let full_out: Vec<usize> = std::iter::once(batch).chain(out_shape.iter().copied()).collect();
    if y.shape() != full_out.as_slice() {
        return Err(format!("forward gave shape {:?}, build promised {:?}", y.shape(), full_out));
    }
    let count: usize = layer.params().iter().map(|p| p.value.len()).sum();
    if count != param_count {
        return Err(format!("{count} parameters, expected {param_count}"));
    }
    let input_check = {
        let layer: &dyn Layer = layer;
        gradcheck(std::slice::from_ref(&x), |v| {
            let cx = Ctx::new(v[0].tape(), false, seeded_rng(0));
            layer.forward(v[0], &cx)
        })
    };
    input_check.map_err(|e| format!("input gradient: {e}"))?;
    let r = Tensor::rand_uniform(y.shape(), -1.0, 1.0, &mut rng);
    check_param_grads(layer, &x, &r)?;
    for row in 0..batch {
        let alone = run(layer, &x.slice_axis(0, row, row + 1));
        if !alone.allclose(&y.slice_axis(0, row, row + 1).to_contiguous(), 1e-5, 1e-6) {
            return Err(format!("row {row} of the batch differs from the row computed alone"));
        }
    }
    let json = serde_json::to_string(&layer.config()).map_err(|e| format!("config does not serialize: {e}"))?;
    let config: crate::LayerConfig = serde_json::from_str(&json).map_err(|e| format!("config does not parse: {e}"))?;
    let mut rebuilt = config.to_layer();
    rebuilt.build(input_shape, &mut seeded_rng(99)).map_err(|e| format!("rebuild failed: {e}"))?;
    for (dst, src) in rebuilt.params_mut().into_iter().zip(layer.params()) {
        dst.value = src.value.clone();
    }
    if run(rebuilt.as_ref(), &x) != y {
        return Err("the layer rebuilt from its config computes a different output".to_string());
    }
    Ok(())
}
