//! SimpleRNN, LSTM, GRU and Bidirectional: the conformance harness (gradients against finite
//! differences in inference and training, batch independence, configs, PyTorch layout), the
//! forward pass against PyTorch's formulas run step by step on the tensors of the PyTorch
//! layout, masks (padded steps change nothing), return_state, go_backwards, Bidirectional
//! against two plain layers, configs and PyTorch keys.

use kensho_autograd::{Tape, Var};
use kensho_core::{seeded_rng, Tensor};
use kensho_layers::testing::{check_layer, check_layer_inputs};
use kensho_layers::{
    Activation, Bidirectional, Ctx, Gru, Layer, LayerConfig, Lstm, MergeMode, Regularizer, Shape, SimpleRnn,
};
use std::collections::HashMap;

/// Runs a built layer on `inputs` with an optional mask (inference): its outputs.
fn run(layer: &dyn Layer, inputs: &[Tensor], mask: Option<&Tensor>) -> Vec<Tensor> {
    let tape = Tape::no_grad();
    let cx = Ctx::new(&tape, false, seeded_rng(0));
    let vars: Vec<Var> = inputs.iter().map(|x| tape.constant(x.clone())).collect();
    let mut masks = vec![None; inputs.len()];
    masks[0] = mask.cloned();
    layer.call(&vars, &masks, &cx).iter().map(Var::value).collect()
}

/// [`run`] on one input.
fn run1(layer: &dyn Layer, x: &Tensor, mask: Option<&Tensor>) -> Vec<Tensor> {
    run(layer, std::slice::from_ref(x), mask)
}

fn built(mut layer: impl Layer, time: usize, features: usize) -> impl Layer {
    layer.set_name("rnn");
    layer.build(&Shape::known(&[time, features]), &mut seeded_rng(3)).unwrap();
    // Non-zero biases, so that the tests see them.
    for p in layer.params_mut() {
        if p.value.ndim() == 1 {
            p.value = Tensor::rand_uniform(p.value.shape(), -0.5, 0.5, &mut seeded_rng(p.value.len() as u64));
        }
    }
    layer
}

fn close(a: &Tensor, b: &Tensor) -> bool {
    a.shape() == b.shape() && a.allclose(b, 1e-4, 1e-5)
}

// ----------------------------------------------------------------- the PyTorch-formula reference

/// The layer's tensors as PyTorch's `state_dict` holds them (its PyTorch layout).
fn torch_tensors(layer: &dyn Layer) -> HashMap<String, Tensor> {
    let layout = layer.torch_layout().expect("a PyTorch layout");
    let mut map: HashMap<String, Tensor> = layout
        .weights
        .iter()
        .zip(layer.params())
        .map(|(w, p)| (w.name.clone(), w.transform.to_torch(&p.value)))
        .collect();
    map.extend(layout.buffers.iter().map(|b| (b.name.clone(), b.value.clone())));
    map
}

/// `w v` for `w: [rows, cols]`, in f64.
fn matvec(w: &Tensor, v: &[f64]) -> Vec<f64> {
    let (rows, cols, d) = (w.shape()[0], w.shape()[1], w.to_vec());
    (0..rows).map(|r| (0..cols).map(|c| f64::from(d[r * cols + c]) * v[c]).sum()).collect()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[derive(Clone, Copy, PartialEq)]
enum Torch {
    Rnn { relu: bool },
    Lstm,
    Gru,
}

/// `nn.RNN` / `nn.LSTM` / `nn.GRU` (one layer, `batch_first`), as PyTorch's documentation writes
/// them, on the tensors named `{weight_ih_l0, ..}{suffix}`, one sample and one step at a time;
/// masked steps (Keras semantics) carry the states. Per sample and processed step: `(h, c)`.
fn torch_reference(
    kind: Torch,
    sd: &HashMap<String, Tensor>,
    suffix: &str,
    x: &Tensor,
    mask: Option<&Tensor>,
    reverse: bool,
) -> Vec<Vec<(Vec<f64>, Vec<f64>)>> {
    let get = |name: &str| &sd[&format!("{name}{suffix}")];
    let (w_ih, w_hh, b_ih, b_hh) = (get("weight_ih_l0"), get("weight_hh_l0"), get("bias_ih_l0"), get("bias_hh_l0"));
    let units = w_hh.shape()[1];
    let (batch, time, features) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let (xv, b_ih, b_hh) = (x.to_vec(), b_ih.to_vec(), b_hh.to_vec());
    let mut out = Vec::new();
    for b in 0..batch {
        let (mut h, mut c) = (vec![0.0; units], vec![0.0; units]);
        let mut steps = Vec::new();
        for s in 0..time {
            let t = if reverse { time - 1 - s } else { s };
            if mask.is_none_or(|m| m.get_flat(b * time + t) != 0.0) {
                let xt: Vec<f64> = (0..features).map(|k| f64::from(xv[(b * time + t) * features + k])).collect();
                let gi: Vec<f64> = matvec(w_ih, &xt).iter().zip(&b_ih).map(|(g, &b)| g + f64::from(b)).collect();
                let gh: Vec<f64> = matvec(w_hh, &h).iter().zip(&b_hh).map(|(g, &b)| g + f64::from(b)).collect();
                match kind {
                    Torch::Rnn { relu } => {
                        h = (0..units)
                            .map(|j| gi[j] + gh[j])
                            .map(|v| if relu { v.max(0.0) } else { v.tanh() })
                            .collect();
                    }
                    Torch::Lstm => {
                        let g = |k: usize, j: usize| gi[k * units + j] + gh[k * units + j];
                        for j in 0..units {
                            let (i, f, gg, o) = (sigmoid(g(0, j)), sigmoid(g(1, j)), g(2, j).tanh(), sigmoid(g(3, j)));
                            c[j] = f * c[j] + i * gg;
                            h[j] = o * c[j].tanh();
                        }
                    }
                    Torch::Gru => {
                        h = (0..units)
                            .map(|j| {
                                let r = sigmoid(gi[j] + gh[j]);
                                let z = sigmoid(gi[units + j] + gh[units + j]);
                                let n = (gi[2 * units + j] + r * gh[2 * units + j]).tanh();
                                (1.0 - z) * n + z * h[j]
                            })
                            .collect();
                    }
                }
            }
            steps.push((h.clone(), c.clone()));
        }
        out.push(steps);
    }
    out
}

/// `[batch, time, units]` of the reference's `h` (or `c` with `cell`).
fn sequence(reference: &[Vec<(Vec<f64>, Vec<f64>)>], cell: bool) -> Tensor {
    let (b, t, u) = (reference.len(), reference[0].len(), reference[0][0].0.len());
    let values = reference.iter().flatten().flat_map(|(h, c)| if cell { c } else { h }).map(|&v| v as f32).collect();
    Tensor::from_vec(values, &[b, t, u]).unwrap()
}

/// The last step of a `[batch, time, units]` sequence, `[batch, units]`.
fn last(seq: &Tensor) -> Tensor {
    let (b, t, u) = (seq.shape()[0], seq.shape()[1], seq.shape()[2]);
    seq.slice_axis(1, t - 1, t).reshape_to(&[b, u])
}

#[test]
fn forward_matches_pytorch_formulas_on_the_pytorch_tensors() {
    let x = Tensor::rand_uniform(&[3, 5, 4], -1.0, 1.0, &mut seeded_rng(1));
    let layers: Vec<(Torch, Box<dyn Layer>)> = vec![
        (
            Torch::Rnn { relu: false },
            Box::new(built(SimpleRnn::new(3).return_sequences(true).return_state(true), 5, 4)),
        ),
        (
            Torch::Rnn { relu: true },
            Box::new(built(
                SimpleRnn::new(3).activation(Activation::Relu).return_sequences(true).return_state(true),
                5,
                4,
            )),
        ),
        (Torch::Lstm, Box::new(built(Lstm::new(3).return_sequences(true).return_state(true), 5, 4))),
        (Torch::Gru, Box::new(built(Gru::new(3).return_sequences(true).return_state(true), 5, 4))),
    ];
    for (kind, layer) in layers {
        let reference = torch_reference(kind, &torch_tensors(layer.as_ref()), "", &x, None, false);
        let outputs = run1(layer.as_ref(), &x, None);
        let want = sequence(&reference, false);
        assert!(close(&outputs[0], &want), "{}: {:?} vs {want:?}", layer.kind(), outputs[0]);
        assert!(close(&outputs[1], &last(&want)), "{} state h", layer.kind());
        if kind == Torch::Lstm {
            assert_eq!(outputs.len(), 3);
            assert!(close(&outputs[2], &last(&sequence(&reference, true))), "LSTM state c");
        } else {
            assert_eq!(outputs.len(), 2);
        }
    }
}

#[test]
fn return_state_gives_the_last_output_and_states() {
    let x = Tensor::rand_uniform(&[2, 6, 3], -1.0, 1.0, &mut seeded_rng(2));
    let mut lstm = built(Lstm::new(4).return_state(true), 6, 3);
    let outs = run1(&lstm, &x, None);
    assert_eq!(outs.iter().map(|o| o.shape().to_vec()).collect::<Vec<_>>(), [[2, 4], [2, 4], [2, 4]]);
    assert_eq!(outs[0], outs[1], "the output is the last h");
    // The last states as initial states continue the sequence: two halves equal the whole.
    let halves =
        lstm.build_inputs(&[Shape::known(&[3, 3]), Shape::known(&[4]), Shape::known(&[4])], &mut seeded_rng(0));
    assert!(halves.is_ok());
    let first = run(&lstm, &[x.slice_axis(1, 0, 3).to_contiguous()], None);
    let second = run(&lstm, &[x.slice_axis(1, 3, 6).to_contiguous(), first[1].clone(), first[2].clone()], None);
    for (a, b) in second.iter().zip(&outs) {
        assert!(close(a, b));
    }
}

#[test]
fn padded_steps_change_nothing() {
    // Three real steps, padded with noise before, between and after them.
    let real = Tensor::rand_uniform(&[1, 3, 2], -1.0, 1.0, &mut seeded_rng(4));
    let noise = Tensor::rand_uniform(&[1, 3, 2], -5.0, 5.0, &mut seeded_rng(5));
    let step = |t: &Tensor, i: usize| t.slice_axis(1, i, i + 1);
    let padded = Tensor::concat(
        &[step(&noise, 0), step(&real, 0), step(&real, 1), step(&noise, 1), step(&real, 2), step(&noise, 2)],
        1,
    );
    let mask = Tensor::from_vec(vec![0., 1., 1., 0., 1., 0.], &[1, 6]).unwrap();
    let layers: Vec<Box<dyn Layer>> = vec![
        Box::new(built(SimpleRnn::new(3).return_sequences(true).return_state(true), 6, 2)),
        Box::new(built(Lstm::new(3).return_sequences(true).return_state(true), 6, 2)),
        Box::new(built(Gru::new(3).return_sequences(true).return_state(true), 6, 2)),
    ];
    for layer in layers {
        let alone = run1(layer.as_ref(), &real, None);
        let masked = run1(layer.as_ref(), &padded, Some(&mask));
        // The last output and states are those of the real steps alone.
        for (a, m) in alone[1..].iter().zip(&masked[1..]) {
            assert!(close(a, m), "{}: states {a:?} vs {m:?}", layer.kind());
        }
        // Real steps give the same outputs; a masked step repeats the previous output (zeros
        // before the first real step).
        let out = |t: &Tensor, i: usize| step(t, i).to_contiguous().to_vec();
        assert_eq!(out(&masked[0], 0), vec![0.0; 3]);
        for (pos, real_pos) in [(1, 0), (2, 1), (4, 2)] {
            assert!(close(&step(&masked[0], pos).to_contiguous(), &step(&alone[0], real_pos).to_contiguous()));
        }
        assert_eq!(out(&masked[0], 3), out(&masked[0], 2));
        assert_eq!(out(&masked[0], 5), out(&masked[0], 4));
        // The output sequence keeps the mask; a last output has none.
        let tape = Tape::no_grad();
        let xv = [tape.constant(padded.clone())];
        assert_eq!(layer.compute_mask(&xv, &[Some(mask.clone())])[0], Some(mask.clone()));
    }
    let last_only = built(Lstm::new(3), 6, 2);
    let tape = Tape::no_grad();
    assert_eq!(last_only.compute_mask(&[tape.constant(padded)], &[Some(mask)]), vec![None]);
}

#[test]
fn go_backwards_is_the_layer_on_the_reversed_sequence() {
    let x = Tensor::rand_uniform(&[2, 5, 3], -1.0, 1.0, &mut seeded_rng(6));
    let reversed = x.index_select(1, &[4, 3, 2, 1, 0]);
    let forward = built(Gru::new(4).return_sequences(true), 5, 3);
    let mut backward = Gru::new(4).return_sequences(true).go_backwards(true).with_name("rnn");
    backward.build(&Shape::known(&[5, 3]), &mut seeded_rng(0)).unwrap();
    for (dst, src) in backward.params_mut().into_iter().zip(forward.params()) {
        dst.value = src.value.clone();
    }
    // Keras returns the backward layer's outputs in processing order.
    assert!(close(&run(&backward, &[x], None)[0], &run(&forward, &[reversed], None)[0]));
}

#[test]
fn bidirectional_is_a_forward_and_a_reversed_layer_merged() {
    let x = Tensor::rand_uniform(&[2, 5, 3], -1.0, 1.0, &mut seeded_rng(7));
    let mask = Tensor::from_vec(vec![1., 1., 1., 0., 0., 1., 1., 1., 1., 1.], &[2, 5]).unwrap();
    for (return_sequences, merge) in [
        (true, Some(MergeMode::Concat)),
        (false, Some(MergeMode::Sum)),
        (true, Some(MergeMode::Ave)),
        (false, Some(MergeMode::Mul)),
        (true, None),
    ] {
        let template = Lstm::new(4).return_sequences(return_sequences).return_state(true);
        let mut bi = Bidirectional::new(template.clone()).merge_mode(merge);
        bi.set_name("bi");
        bi.build(&Shape::known(&[5, 3]), &mut seeded_rng(8)).unwrap();
        let params: Vec<Tensor> = bi.params().iter().map(|p| p.value.clone()).collect();
        let names: Vec<&str> = bi.params().iter().map(|p| p.name()).collect();
        assert_eq!(names[0], "bi.forward.kernel");
        assert_eq!(names[5], "bi.backward.bias");
        let mut forward = template.clone().with_name("f");
        let mut backward = template.go_backwards(true).with_name("b");
        for (layer, values) in [(&mut forward, &params[..3]), (&mut backward, &params[3..])] {
            layer.build(&Shape::known(&[5, 3]), &mut seeded_rng(0)).unwrap();
            for (p, v) in layer.params_mut().into_iter().zip(values) {
                p.value = v.clone();
            }
        }
        for m in [None, Some(&mask)] {
            let got = run1(&bi, &x, m);
            let (f, b) = (run1(&forward, &x, m), run1(&backward, &x, m));
            let zero = |y: &Tensor| match (m, return_sequences) {
                // Inside Bidirectional, masked steps of output sequences are zeros.
                (Some(mask), true) => y.mul(&mask.reshape_to(&[2, 5, 1])),
                _ => y.clone(),
            };
            let (yf, mut yb) = (zero(&f[0]), b[0].clone());
            if return_sequences {
                yb = zero(&yb.index_select(1, &[4, 3, 2, 1, 0]));
            }
            let merged = match merge {
                Some(MergeMode::Concat) => vec![Tensor::concat(&[yf.clone(), yb], yf.ndim() - 1)],
                Some(MergeMode::Sum) => vec![yf.add(&yb)],
                Some(MergeMode::Ave) => vec![yf.add(&yb).mul_scalar(0.5)],
                Some(MergeMode::Mul) => vec![yf.mul(&yb)],
                None => vec![yf, yb],
            };
            let want: Vec<Tensor> =
                merged.into_iter().chain(f[1..].iter().cloned()).chain(b[1..].iter().cloned()).collect();
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert!(close(g, w), "{return_sequences} {merge:?} masked {}: {g:?} vs {w:?}", m.is_some());
            }
        }
    }
}

// ------------------------------------------------------------------------- conformance harness

#[test]
fn every_layer_passes_the_conformance_harness() {
    // (layer, parameter count) for 3 features and 2 units.
    let cases: Vec<(Box<dyn Layer>, usize)> = vec![
        (Box::new(SimpleRnn::new(2)), 3 * 2 + 2 * 2 + 2),
        (Box::new(SimpleRnn::new(2).activation(Activation::Relu).return_sequences(true).go_backwards(true)), 12),
        (Box::new(Lstm::new(2)), 3 * 8 + 2 * 8 + 8),
        (Box::new(Lstm::new(2).return_sequences(true).return_state(true).dropout(0.3).recurrent_dropout(0.4)), 48),
        (Box::new(Lstm::new(2).use_bias(false).unit_forget_bias(false).go_backwards(true)), 40),
        (Box::new(Gru::new(2)), 3 * 6 + 2 * 6 + 6 + 6),
        (Box::new(Gru::new(2).return_sequences(true).return_state(true).dropout(0.2).recurrent_dropout(0.5)), 42),
        (Box::new(Bidirectional::new(Lstm::new(2).return_sequences(true))), 96),
        (Box::new(Bidirectional::new(Gru::new(2).return_state(true)).merge_mode(None)), 84),
        (Box::new(Bidirectional::new(SimpleRnn::new(2)).merge_mode(Some(MergeMode::Mul))), 24),
    ];
    for (mut layer, count) in cases {
        let kind = layer.kind();
        check_layer(layer.as_mut(), &[4, 3], 2, count).unwrap_or_else(|e| panic!("{kind} ({count}): {e}"));
    }
}

#[test]
fn initial_states_are_inputs_with_gradients() {
    check_layer_inputs(&mut Lstm::new(2).return_sequences(true), &[&[3, 2], &[2], &[2]], 2, 2 * 8 + 2 * 8 + 8).unwrap();
    check_layer_inputs(&mut Gru::new(2).return_state(true), &[&[3, 2], &[2]], 2, 2 * 6 + 2 * 6 + 12).unwrap();
    check_layer_inputs(&mut Bidirectional::new(SimpleRnn::new(2)), &[&[3, 2], &[2], &[2]], 2, 2 * 10).unwrap();
}

#[test]
fn unknown_sequence_lengths_build_and_run() {
    let mut lstm = Lstm::new(3).return_sequences(true).with_name("lstm");
    let out = lstm.build(&Shape::new(vec![None, Some(2)]), &mut seeded_rng(0)).unwrap();
    assert_eq!(out, Shape::new(vec![None, Some(3)]));
    for time in [1, 4, 9] {
        let y = run(&lstm, &[Tensor::ones(&[2, time, 2])], None);
        assert_eq!(y[0].shape(), &[2, time, 3]);
    }
}

// ------------------------------------------------------------------------------- configs, errors

#[test]
fn configs_round_trip_through_json_with_keras_names() {
    let layers: Vec<Box<dyn Layer>> = vec![
        Box::new(SimpleRnn::new(5).with_name("s")),
        Box::new(
            Lstm::new(4).return_sequences(true).dropout(0.25).kernel_regularizer(Regularizer::l2(0.01)).with_name("l"),
        ),
        Box::new(Gru::new(3).go_backwards(true).recurrent_activation(Activation::Relu).with_name("g")),
        Box::new(Bidirectional::new(Lstm::new(2).return_state(true)).merge_mode(Some(MergeMode::Ave)).with_name("b")),
    ];
    for layer in layers {
        let json = serde_json::to_value(layer.config()).unwrap();
        assert_eq!(json["class_name"], layer.kind());
        let back: LayerConfig = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, layer.config(), "{json}");
        assert_eq!(back.to_layer().unwrap().config(), layer.config());
    }
    let json = serde_json::to_value(Lstm::new(4).with_name("l").config()).unwrap();
    let config = &json["config"];
    for (key, value) in [
        ("units", serde_json::json!(4)),
        ("activation", serde_json::json!("tanh")),
        ("recurrent_activation", serde_json::json!("sigmoid")),
        ("use_bias", serde_json::json!(true)),
        ("unit_forget_bias", serde_json::json!(true)),
        ("return_sequences", serde_json::json!(false)),
        ("go_backwards", serde_json::json!(false)),
        ("dropout", serde_json::json!(0.0)),
    ] {
        assert_eq!(config[key], value, "{key} in {config}");
    }
    let bi = serde_json::to_value(Bidirectional::new(Gru::new(2)).config()).unwrap();
    assert_eq!(
        (&bi["config"]["merge_mode"], &bi["config"]["layer"]["class_name"]),
        (&serde_json::json!("concat"), &serde_json::json!("GRU"))
    );
}

#[test]
fn bad_options_and_shapes_are_errors_naming_the_layer() {
    let mut rng = seeded_rng(0);
    let err = |mut l: Box<dyn Layer>, shapes: &[Shape], rng: &mut kensho_core::Rng| {
        l.build_inputs(shapes, rng).unwrap_err().to_string()
    };
    let seq = Shape::known(&[4, 3]);
    let e = err(Box::new(Gru::new(2).reset_after(false).with_name("g")), std::slice::from_ref(&seq), &mut rng);
    assert!(e.contains("GRU \"g\" reset_after"), "{e}");
    let e =
        err(Box::new(Lstm::new(2).activation(Activation::Gelu).with_name("l")), std::slice::from_ref(&seq), &mut rng);
    assert!(e.contains("LSTM \"l\" activation") && e.contains("gelu"), "{e}");
    let e = err(Box::new(SimpleRnn::new(2).with_name("s")), &[Shape::known(&[3])], &mut rng);
    assert!(e.contains("SimpleRNN \"s\" inputs") && e.contains("[time, features]"), "{e}");
    let e = err(Box::new(Lstm::new(2).dropout(1.0).with_name("l")), std::slice::from_ref(&seq), &mut rng);
    assert!(e.contains("dropout"), "{e}");
    let e = err(Box::new(Lstm::new(2).with_name("l")), &[seq.clone(), Shape::known(&[3])], &mut rng);
    assert!(e.contains("LSTM \"l\" inputs"), "{e}");
    let e = err(
        Box::new(Bidirectional::new(kensho_layers::Dense::new(2)).with_name("b")),
        std::slice::from_ref(&seq),
        &mut rng,
    );
    assert!(e.contains("Bidirectional \"b\" layer") && e.contains("Dense"), "{e}");
    let e = err(Box::new(Bidirectional::new(Lstm::new(2).go_backwards(true))), &[seq], &mut rng);
    assert!(e.contains("go_backwards"), "{e}");
}

// --------------------------------------------------------------------------------- PyTorch layout

#[test]
fn pytorch_layout_uses_pytorch_names_shapes_and_gate_orders() {
    let shapes = |layer: &dyn Layer| -> Vec<(String, Vec<usize>)> {
        let layout = layer.torch_layout().unwrap();
        let mut keys: Vec<(String, Vec<usize>)> = layout
            .weights
            .iter()
            .zip(layer.params())
            .map(|(w, p)| (w.name.clone(), w.transform.torch_shape(p.value.shape())))
            .chain(layout.buffers.iter().map(|b| (b.name.clone(), b.value.shape().to_vec())))
            .collect();
        keys.sort();
        keys
    };
    let key = |n: &str, s: &[usize]| (n.to_string(), s.to_vec());
    let lstm = built(Lstm::new(3), 5, 2);
    assert_eq!(
        shapes(&lstm),
        [
            key("bias_hh_l0", &[12]),
            key("bias_ih_l0", &[12]),
            key("weight_hh_l0", &[12, 3]),
            key("weight_ih_l0", &[12, 2])
        ]
    );
    let sd = torch_tensors(&lstm);
    assert_eq!(sd["bias_hh_l0"], Tensor::zeros(&[12]));
    assert_eq!(sd["weight_ih_l0"], lstm.params()[0].value.transpose().to_contiguous());
    // GRU: Keras' z, r, h blocks are PyTorch's r, z, n; the recurrent bias is bias_hh.
    let gru = built(Gru::new(2), 5, 2);
    let sd = torch_tensors(&gru);
    let kernel = gru.params()[0].value.clone();
    let block = |t: &Tensor, k: usize| t.slice_axis(1, 2 * k, 2 * k + 2).transpose().to_contiguous();
    assert_eq!(sd["weight_ih_l0"].slice_axis(0, 0, 2).to_contiguous(), block(&kernel, 1));
    assert_eq!(sd["weight_ih_l0"].slice_axis(0, 2, 4).to_contiguous(), block(&kernel, 0));
    assert_eq!(
        sd["bias_hh_l0"].slice_axis(0, 4, 6).to_contiguous(),
        gru.params()[3].value.slice_axis(0, 4, 6).to_contiguous()
    );
    // Bidirectional: nn.LSTM(bidirectional=True)'s keys; both directions compute PyTorch's function.
    let mut bi = Bidirectional::new(Lstm::new(3).return_sequences(true));
    bi.set_name("bi");
    bi.build(&Shape::known(&[5, 2]), &mut seeded_rng(1)).unwrap();
    let names: Vec<String> = shapes(&bi).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names.len(), 8);
    assert!(names.contains(&"weight_hh_l0_reverse".to_string()) && names.contains(&"bias_hh_l0_reverse".to_string()));
    assert_eq!(bi.torch_layout().unwrap().modules, 1);
    let x = Tensor::rand_uniform(&[2, 5, 2], -1.0, 1.0, &mut seeded_rng(2));
    let sd = torch_tensors(&bi);
    let fwd = sequence(&torch_reference(Torch::Lstm, &sd, "", &x, None, false), false);
    let bwd = sequence(&torch_reference(Torch::Lstm, &sd, "_reverse", &x, None, true), false)
        .index_select(1, &[4, 3, 2, 1, 0]);
    assert!(close(&run(&bi, &[x], None)[0], &Tensor::concat(&[fwd, bwd], 2)));
    // No PyTorch module for other activations.
    assert!(built(Lstm::new(2).activation(Activation::Relu), 3, 2).torch_layout().is_none());
    assert!(built(SimpleRnn::new(2).activation(Activation::Sigmoid), 3, 2).torch_layout().is_none());
}

/// Units as a hostile model file may give them: a gate width that overflows is an error naming
/// the layer, not an arithmetic panic (found by the model-file fuzzer).
#[test]
fn units_whose_gate_width_overflows_are_an_error() {
    let mut lstm = Lstm::new(1 << 62);
    let err = lstm.build(&[5, 3].into(), &mut seeded_rng(0)).unwrap_err().to_string();
    assert!(err.contains("LSTM") && err.contains("units") && err.contains("4611686018427387904"), "{err}");
}
