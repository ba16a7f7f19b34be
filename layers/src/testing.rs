//! The layer conformance harness (as Keras' `run_layer_test`): one call checks a layer's build
//! shapes against its forward shapes, its parameter count, its gradients (every input and every
//! parameter) against finite differences in inference and in training mode, batch
//! independence, its PyTorch layout, and a config round trip. [`check_layer`] is the form for
//! layers of one input; [`check_layer_inputs`] takes several (merge layers).

use crate::{Ctx, Layer, Shape};
use kensho_autograd::{gradcheck, Tape, Var};
use kensho_core::{seeded_rng, Tensor};

/// Central-difference step and tolerances, as in `kensho_autograd::gradcheck`.
const EPS: f32 = 1e-3;

/// The seed of the forward passes' randomness: the same for every pass of one check, so that a
/// training-mode layer (Dropout) draws the same mask each time and is a function of its input.
const PASS_SEED: u64 = 5;

/// The layer's outputs on `xs` (without masks) through its general form, [`Layer::call`].
fn call<'t>(layer: &dyn Layer, xs: &[Var<'t>], cx: &Ctx<'t>) -> Vec<Var<'t>> {
    layer.call(xs, &vec![None; xs.len()], cx)
}

/// Every output of the layer on `xs`, flattened and joined into one vector, so that one
/// projection covers them all.
fn joined<'t>(layer: &dyn Layer, xs: &[Var<'t>], cx: &Ctx<'t>) -> Var<'t> {
    let flat: Vec<Var<'t>> =
        call(layer, xs, cx).into_iter().map(|y| y.reshape(&[y.shape().iter().product()])).collect();
    Var::concat(&flat, 0)
}

/// Runs `layer` (already built) on `xs` without gradients: its outputs.
fn run(layer: &dyn Layer, xs: &[Tensor], training: bool) -> Vec<Tensor> {
    let tape = Tape::no_grad();
    let cx = Ctx::new(&tape, training, seeded_rng(PASS_SEED));
    let vars: Vec<Var> = xs.iter().map(|x| tape.constant(x.clone())).collect();
    call(layer, &vars, &cx).iter().map(Var::value).collect()
}

/// `Σ y ⊙ r` in f64, over the joined outputs `ys`.
fn project(ys: &[Tensor], r: &Tensor) -> f64 {
    let y = ys.iter().flat_map(Tensor::to_vec);
    y.zip(r.to_vec()).map(|(a, b)| f64::from(a) * f64::from(b)).sum()
}

/// Replaces parameter `p` of the layer, returning its previous value.
fn swap_param(layer: &mut dyn Layer, p: usize, value: Tensor) -> Tensor {
    std::mem::replace(&mut layer.params_mut()[p].value, value)
}

/// Checks every parameter's gradient against central finite differences of `Σ layer(xs) ⊙ r`.
fn check_param_grads(layer: &mut dyn Layer, xs: &[Tensor], r: &Tensor, training: bool) -> Result<(), String> {
    let grads = {
        let tape = Tape::new();
        let cx = Ctx::new(&tape, training, seeded_rng(PASS_SEED));
        let vars: Vec<Var> = xs.iter().map(|x| tape.constant(x.clone())).collect();
        let y = joined(layer, &vars, &cx);
        tape.backward(y.mul(tape.constant(r.clone())).sum_all())
    };
    let mode = if training { "training" } else { "inference" };
    let count = layer.params().len();
    for p in 0..count {
        let (id, name, n) = {
            let param = layer.params()[p];
            (param.id(), param.name().to_string(), param.value.len())
        };
        let analytic = grads.get(id).map_or_else(|| vec![0.0; n], Tensor::to_vec);
        for (j, &a) in analytic.iter().enumerate() {
            let mut shifted = |delta: f32| {
                let original = layer.params()[p].value.clone();
                let mut data = original.to_vec();
                data[j] += delta;
                swap_param(layer, p, Tensor::from_vec(data, original.shape()).expect("same shape"));
                let value = project(&run(layer, xs, training), r);
                swap_param(layer, p, original); // exactly the value before, not a rounded one
                value
            };
            let numeric = (shifted(EPS) - shifted(-EPS)) / (2.0 * f64::from(EPS));
            if (f64::from(a) - numeric).abs() > 1e-3 + 1e-2 * numeric.abs() {
                return Err(format!("{name}[{j}] ({mode}): analytic {a} vs numeric {numeric}"));
            }
        }
    }
    Ok(())
}

/// Checks the gradient with respect to every input against finite differences, in inference
/// or training mode.
fn check_input_grads(layer: &dyn Layer, xs: &[Tensor], training: bool) -> Result<(), String> {
    gradcheck(xs, |v| {
        let cx = Ctx::new(v[0].tape(), training, seeded_rng(PASS_SEED));
        joined(layer, v, &cx)
    })
    .map_err(|e| format!("input gradient ({}): {e}", if training { "training" } else { "inference" }))
}

/// Checks that the PyTorch layout, if the layer has one, lists one entry per weight.
fn check_torch_layout(layer: &dyn Layer) -> Result<(), String> {
    let Some(layout) = layer.torch_layout() else { return Ok(()) };
    let weights: Vec<Vec<usize>> =
        layer.params().iter().chain(layer.state().iter()).map(|p| p.value.shape().to_vec()).collect();
    if layout.weights.len() != weights.len() {
        return Err(format!("torch_layout lists {} weights, the layer has {}", layout.weights.len(), weights.len()));
    }
    for (w, shape) in layout.weights.iter().zip(&weights) {
        let probe = Tensor::zeros(shape);
        if w.transform.from_torch(&w.transform.to_torch(&probe), shape).shape() != shape.as_slice() {
            return Err(format!("torch_layout: the transform of {} does not round-trip", w.name));
        }
    }
    Ok(())
}

/// Checks a layer's conformance on a batch of `batch` random inputs of per-sample shape
/// `input_shape`, expecting `param_count` trainable scalar parameters in total.
///
/// Checks: `build`'s output shape equals the forward's (in both modes); the parameter count;
/// gradients with respect to the input and every parameter against finite differences, in
/// inference and in training mode (training-mode randomness is drawn from one seed, so
/// Dropout's mask is the same in every pass); that in inference each row of a batch equals the
/// layer applied to that row alone; that the PyTorch layout covers every weight; and that the
/// layer rebuilt from its serialized config, given the same weights, computes the same output.
///
/// # Errors
/// A message naming the first check that failed.
pub fn check_layer(
    layer: &mut dyn Layer,
    input_shape: &[usize],
    batch: usize,
    param_count: usize,
) -> Result<(), String> {
    check_layer_inputs(layer, &[input_shape], batch, param_count)
}

/// [`check_layer`] for a layer of several inputs (such as [`Add`](crate::Add) or
/// [`Concatenate`](crate::Concatenate)), one per-sample shape each in `input_shapes`: the
/// layer is built with [`Layer::build_inputs`] and run with [`Layer::call`] (without masks),
/// the gradient is checked with respect to every input, and every output is checked.
///
/// ```
/// use kensho_layers::{testing::check_layer_inputs, Concatenate};
/// check_layer_inputs(&mut Concatenate::new(-1), &[&[2, 3], &[2, 4]], 2, 0).unwrap();
/// ```
///
/// # Errors
/// A message naming the first check that failed.
pub fn check_layer_inputs(
    layer: &mut dyn Layer,
    input_shapes: &[&[usize]],
    batch: usize,
    param_count: usize,
) -> Result<(), String> {
    let mut rng = seeded_rng(11);
    if layer.name().is_empty() {
        layer.set_name("layer");
    }
    let shapes: Vec<Shape> = input_shapes.iter().map(|s| Shape::known(s)).collect();
    let out_shapes = layer.build_inputs(&shapes, &mut rng).map_err(|e| format!("build failed: {e}"))?;
    let xs: Vec<Tensor> = input_shapes
        .iter()
        .map(|s| {
            let full: Vec<usize> = std::iter::once(batch).chain(s.iter().copied()).collect();
            Tensor::rand_uniform(&full, -1.0, 1.0, &mut rng)
        })
        .collect();
    let ys = run(layer, &xs, false);
    for training in [false, true] {
        let got: Vec<Vec<usize>> = run(layer, &xs, training).iter().map(|y| y.shape().to_vec()).collect();
        let fits = |(s, promised): (&Vec<usize>, &Shape)| s[0] == batch && promised.accepts(&s[1..]);
        if got.len() != out_shapes.len() || !got.iter().zip(&out_shapes).all(fits) {
            return Err(format!("forward (training: {training}) gave shapes {got:?}, build promised {out_shapes:?}"));
        }
    }
    let count: usize = layer.params().iter().map(|p| p.value.len()).sum();
    if count != param_count {
        return Err(format!("{count} parameters, expected {param_count}"));
    }
    let joined_len = ys.iter().map(Tensor::len).sum();
    let r = Tensor::rand_uniform(&[joined_len], -1.0, 1.0, &mut rng);
    for training in [false, true] {
        check_input_grads(layer, &xs, training)?;
        check_param_grads(layer, &xs, &r, training)?;
    }
    for row in 0..batch {
        let rows: Vec<Tensor> = xs.iter().map(|x| x.slice_axis(0, row, row + 1)).collect();
        for (k, (alone, y)) in run(layer, &rows, false).iter().zip(&ys).enumerate() {
            if !alone.allclose(&y.slice_axis(0, row, row + 1).to_contiguous(), 1e-5, 1e-6) {
                return Err(format!("row {row} of output {k} differs from the row computed alone"));
            }
        }
    }
    check_torch_layout(layer)?;
    let json = serde_json::to_string(&layer.config()).map_err(|e| format!("config does not serialize: {e}"))?;
    let config: crate::LayerConfig = serde_json::from_str(&json).map_err(|e| format!("config does not parse: {e}"))?;
    let mut rebuilt = config.to_layer().map_err(|e| format!("config does not rebuild the layer: {e}"))?;
    rebuilt.build_inputs(&shapes, &mut seeded_rng(99)).map_err(|e| format!("rebuild failed: {e}"))?;
    for (dst, src) in rebuilt.params_mut().into_iter().zip(layer.params()) {
        dst.value = src.value.clone();
    }
    for (dst, src) in rebuilt.state_mut().into_iter().zip(layer.state()) {
        dst.value = src.value.clone();
    }
    if run(rebuilt.as_ref(), &xs, false) != ys {
        return Err("the layer rebuilt from its config computes a different output".to_string());
    }
    Ok(())
}
