//! The recurrent layers exported to ONNX: every cell (SimpleRNN, LSTM, GRU) with its outputs
//! (`return_sequences`, `return_state`, `go_backwards`), activations and initial states;
//! `Bidirectional` in every merge mode; `TimeDistributed` of Dense, Conv2D and LSTM. Each model
//! is checked by ONNX Runtime against `predict` at batch sizes 1 and 5 (when `KENSHO_PYTHON`
//! is set), and the written graph's structure (operators, weight layouts, attributes) is
//! checked in Rust. The helpers here serve `masks.rs` too.

use super::masks::padded_ids;
use super::support::{assert_runtime_matches, graph, op_types};
use kensho::onnx::proto::{AttributeProto, GraphProto, NodeProto, TensorProto};
use kensho::prelude::*;

/// The steps of the test sequences.
pub const TIME: usize = 6;
/// The features of each step.
pub const FEATURES: usize = 3;
/// The token ids of the text models.
pub const VOCAB: usize = 12;

/// Random biases, so that the tests see where each bias lands.
pub fn random_bias() -> Initializer {
    Initializer::RandomUniform { min: -0.5, max: 0.5 }
}

/// Random `[batch, TIME, FEATURES]` sequences, at batch sizes 1 and 5.
pub fn sequences(seed: u64) -> Vec<Vec<Tensor>> {
    let mut rng = kensho::core::seeded_rng(seed);
    [1, 5].iter().map(|&b| vec![Tensor::rand_uniform(&[b, TIME, FEATURES], -1.0, 1.0, &mut rng)]).collect()
}

/// A model of `x` to every output of every layer in `branches` (each called on `x`).
pub fn branches(x: &SymbolicTensor, inputs: &[&SymbolicTensor], branches: Vec<Box<dyn Layer>>) -> Model {
    let outputs: Vec<SymbolicTensor> =
        branches.into_iter().flat_map(|l| SharedLayer::from_box(l).call_symbolic(&[x]).unwrap()).collect();
    Model::new(inputs, &outputs.iter().collect::<Vec<_>>()).unwrap()
}

/// A SimpleRNN, an LSTM and a GRU of `units` with random biases and the same setters.
macro_rules! cells {
    ($units:expr $(, $setter:ident($arg:expr))*) => {
        vec![
            Box::new(SimpleRnn::new($units).bias_initializer(random_bias())$(.$setter($arg))*) as Box<dyn Layer>,
            Box::new(Lstm::new($units).bias_initializer(random_bias())$(.$setter($arg))*),
            Box::new(Gru::new($units).bias_initializer(random_bias())$(.$setter($arg))*),
        ]
    };
}
pub(crate) use cells;

/// The one node of `op_type`.
fn node<'a>(graph: &'a GraphProto, op_type: &str) -> &'a NodeProto {
    let mut nodes = graph.node.iter().filter(|n| n.op_type == op_type);
    let node = nodes.next().unwrap_or_else(|| panic!("no {op_type} node"));
    assert!(nodes.next().is_none(), "several {op_type} nodes");
    node
}

/// A node's attribute.
fn attr<'a>(node: &'a NodeProto, name: &str) -> &'a AttributeProto {
    node.attribute.iter().find(|a| a.name == name).unwrap_or_else(|| panic!("no attribute {name}"))
}

/// The float initializer `name`: its dims and values.
fn initializer(graph: &GraphProto, name: &str) -> (Vec<i64>, Vec<f32>) {
    let t: &TensorProto = graph.initializer.iter().find(|t| t.name == name).unwrap();
    let values = t.raw_data.chunks(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
    (t.dims.clone(), values)
}

/// A layer's weight by name (`lstm.kernel`).
fn weight(model: &Model, name: &str) -> Tensor {
    model.weights().into_iter().find(|p| p.name() == name).unwrap().value.clone()
}

#[test]
fn every_cell_exports_its_last_output_its_sequence_and_its_states() {
    let option_sets = [
        cells!(4),
        cells!(4, return_sequences(true), return_state(true)),
        cells!(4, go_backwards(true)),
        cells!(4, go_backwards(true), return_sequences(true), return_state(true)),
    ];
    for (seed, cells) in (1..).zip(option_sets) {
        let x = Input::new(&[TIME, FEATURES]);
        let model = branches(&x, &[&x], cells);
        let ops = op_types(&model);
        for op in ["RNN", "LSTM", "GRU"] {
            assert_eq!(ops.iter().filter(|o| *o == op).count(), 1, "{op} in {ops:?}");
        }
        assert_runtime_matches(&model, &sequences(seed));
    }
}

#[test]
fn every_activation_a_cell_runs_exports() {
    // Linear is ONNX's Affine (alpha 1, beta 0), elu takes its alpha: the alphas are consumed
    // in the order of the activations, so a gate and a candidate that both take one are mixed.
    let x = Input::new(&[TIME, FEATURES]);
    let layers: Vec<Box<dyn Layer>> = vec![
        Box::new(SimpleRnn::new(3).activation(Activation::Relu)),
        Box::new(SimpleRnn::new(3).activation(Activation::Linear).return_sequences(true)),
        Box::new(SimpleRnn::new(3).activation(Activation::Softplus)),
        Box::new(Lstm::new(3).activation(Activation::Elu { alpha: 0.5 }).recurrent_activation(Activation::Linear)),
        Box::new(Gru::new(3).activation(Activation::Relu).recurrent_activation(Activation::Elu { alpha: 0.3 })),
        Box::new(Gru::new(3).activation(Activation::Linear).recurrent_activation(Activation::Tanh)),
    ];
    let model = branches(&x, &[&x], layers);
    let graph = graph(&model);
    let lstm = node(&graph, "LSTM");
    let names: Vec<&[u8]> = attr(lstm, "activations").strings.iter().map(Vec::as_slice).collect();
    assert_eq!(names, [&b"Affine"[..], b"Elu", b"Elu"]);
    assert_eq!(attr(lstm, "activation_alpha").floats, [1.0, 0.5, 0.5]);
    assert_eq!(attr(lstm, "activation_beta").floats, [0.0]);
    assert_runtime_matches(&model, &sequences(10));
}

#[test]
fn lstm_weights_are_transposed_with_onnx_gate_order() {
    let x = Input::new(&[TIME, FEATURES]);
    let lstm = Lstm::new(4).bias_initializer(random_bias()).with_name("lstm").on(&x).unwrap();
    let model = Model::new(&[&x], &[&lstm]).unwrap();
    let graph = graph(&model);
    let node = node(&graph, "LSTM");
    assert_eq!(attr(node, "hidden_size").i, Some(4));
    assert_eq!(attr(node, "layout").i, Some(0));
    assert_eq!(attr(node, "direction").s.as_deref(), Some(&b"forward"[..]));
    let [kernel, recurrent, bias] =
        ["kernel", "recurrent_kernel", "bias"].map(|w| weight(&model, &format!("lstm.{w}")).to_vec());
    let (w_dims, w) = initializer(&graph, &node.input[1]);
    let (r_dims, r) = initializer(&graph, &node.input[2]);
    let (b_dims, b) = initializer(&graph, &node.input[3]);
    assert_eq!((w_dims, r_dims, b_dims), (vec![1, 16, 3], vec![1, 16, 4], vec![1, 32]));
    // ONNX's blocks i, o, f, c are Keras' blocks 0, 3, 1, 2.
    for (onnx_block, keras_block) in [0, 3, 1, 2].into_iter().enumerate() {
        for j in 0..4 {
            let (row, col) = (onnx_block * 4 + j, keras_block * 4 + j);
            for f in 0..3 {
                assert_eq!(w[row * 3 + f], kernel[f * 16 + col]);
            }
            for u in 0..4 {
                assert_eq!(r[row * 4 + u], recurrent[u * 16 + col]);
            }
            assert_eq!(b[row], bias[col]);
            assert_eq!(b[16 + row], 0.0, "one bias: the recurrent half is zeros");
        }
    }
}

#[test]
fn a_gru_resets_after_with_its_two_biases() {
    let x = Input::new(&[TIME, FEATURES]);
    let gru = Gru::new(3).bias_initializer(random_bias()).with_name("gru").on(&x).unwrap();
    let model = Model::new(&[&x], &[&gru]).unwrap();
    let graph = graph(&model);
    let node = node(&graph, "GRU");
    assert_eq!(attr(node, "linear_before_reset").i, Some(1));
    let (dims, b) = initializer(&graph, &node.input[3]);
    assert_eq!(dims, [1, 18]);
    // z, r, h in both: no reordering.
    assert_eq!(b[..9], weight(&model, "gru.bias").to_vec());
    assert_eq!(b[9..], weight(&model, "gru.recurrent_bias").to_vec());
    assert_runtime_matches(&model, &sequences(11));
}

#[test]
fn initial_states_become_initial_h_and_c() {
    let x = Input::new(&[TIME, FEATURES]);
    let (h, c) = (Input::new(&[4]), Input::new(&[4]));
    let lstm = Lstm::new(4).return_sequences(true).on_all(&[&x, &h, &c]).unwrap();
    let gru = Gru::new(4).go_backwards(true).return_sequences(true).on_all(&[&x, &h]).unwrap();
    // The forward direction starts from h, the backward from c.
    let bi = Bidirectional::new(SimpleRnn::new(4)).on_all(&[&x, &h, &c]).unwrap();
    let model = Model::new(&[&x, &h, &c], &[&lstm, &gru, &bi]).unwrap();
    let cases = with_states(sequences(12), 12);
    let graph = graph(&model);
    assert_eq!(node(&graph, "LSTM").input.len(), 7, "X W R B sequence_lens initial_h initial_c");
    assert_runtime_matches(&model, &cases);
}

#[test]
fn bidirectional_merges_its_directions_in_every_mode() {
    let ids = Input::new(&[TIME]);
    let e = Embedding::new(VOCAB, FEATURES).mask_zero(true).on(&ids).unwrap();
    let wrap = |layer: kensho::layers::LayerConfig, mode: Option<MergeMode>| -> Box<dyn Layer> {
        let config =
            kensho::layers::BidirectionalConfig { name: String::new(), layer: Box::new(layer), merge_mode: mode };
        Box::new(Bidirectional::from_config(config).unwrap())
    };
    let modes = [Some(MergeMode::Concat), Some(MergeMode::Sum), Some(MergeMode::Mul), Some(MergeMode::Ave), None];
    let mut layers = Vec::new();
    for (cell, mode) in cells!(3, return_sequences(true)).iter().map(|l| l.config()).cycle().zip(modes) {
        layers.push(wrap(cell, mode));
    }
    // Last outputs and the four last states, merged by the default concatenation.
    layers.extend(cells!(3, return_state(true)).iter().map(|c| wrap(c.config(), Some(MergeMode::Concat))));
    let model = branches(&e, &[&ids], layers);
    let graph = graph(&model);
    let directions: Vec<&[u8]> = graph
        .node
        .iter()
        .filter(|n| ["RNN", "LSTM", "GRU"].contains(&n.op_type.as_str()))
        .map(|n| attr(n, "direction").s.as_deref().unwrap())
        .collect();
    assert_eq!(directions, vec![&b"bidirectional"[..]; 8]);
    assert_runtime_matches(&model, &padded_ids(16));
}

#[test]
fn bidirectional_stacks_the_forward_then_the_backward_weights() {
    let x = Input::new(&[TIME, FEATURES]);
    let bi = Bidirectional::new(Gru::new(3)).with_name("bi").on(&x).unwrap();
    let model = Model::new(&[&x], &[&bi]).unwrap();
    let graph = graph(&model);
    let (dims, w) = initializer(&graph, &node(&graph, "GRU").input[1]);
    assert_eq!(dims, [2, 9, 3]);
    for (k, direction) in ["forward", "backward"].iter().enumerate() {
        let kernel = weight(&model, &format!("bi.{direction}.kernel"));
        assert_eq!(w[k * 27..(k + 1) * 27], kernel.transpose().to_vec()[..], "{direction}");
    }
    assert_runtime_matches(&model, &sequences(17));
}

#[test]
fn time_distributed_dense_folds_time_into_the_batch() {
    // The time is unknown: batch 1 runs 4 steps, batch 5 runs 7.
    let x = Input::with_shape(Shape::new(vec![None, Some(FEATURES)]));
    let y = TimeDistributed::new(Dense::new(3).activation(Activation::Tanh).bias_initializer(random_bias()))
        .on(&x)
        .unwrap();
    let ids = Input::new(&[TIME]);
    let e = Embedding::new(VOCAB, 4).on(&ids).unwrap();
    let z = TimeDistributed::new(Dense::new(2)).on(&e).unwrap();
    let model = Model::new(&[&x, &ids], &[&y, &z]).unwrap();
    let mut rng = kensho::core::seeded_rng(18);
    let cases: Vec<Vec<Tensor>> = [(1, 4), (5, 7)]
        .iter()
        .map(|&(b, t)| {
            let ids = Tensor::rand_uniform(&[b, TIME], 0.0, VOCAB as f32, &mut rng).map(f32::floor);
            vec![Tensor::rand_uniform(&[b, t, FEATURES], -1.0, 1.0, &mut rng), ids]
        })
        .collect();
    let ops = op_types(&model);
    assert_eq!(ops.iter().filter(|o| *o == "MatMul").count(), 2, "{ops:?}");
    assert!(ops.iter().filter(|o| *o == "Reshape").count() >= 4, "{ops:?}");
    assert_runtime_matches(&model, &cases);
}

#[test]
fn time_distributed_wraps_convolutions_and_recurrent_layers() {
    // Frames of images through a convolution; sequences of sequences through an LSTM.
    let frames = Input::new(&[3, 6, 6, 2]);
    let conv = TimeDistributed::new(Conv2d::new(4, [3, 3]).bias_initializer(random_bias())).on(&frames).unwrap();
    let nested = Input::new(&[2, TIME, FEATURES]);
    let lstm =
        TimeDistributed::new(Lstm::new(4).return_sequences(true).bias_initializer(random_bias())).on(&nested).unwrap();
    let model = Model::new(&[&frames, &nested], &[&conv, &lstm]).unwrap();
    let ops = op_types(&model);
    assert!(ops.iter().any(|o| o == "Conv") && ops.iter().any(|o| o == "LSTM"), "{ops:?}");
    assert_runtime_matches(&model, &super::support::random_inputs(&model, &[1, 5], 21));
}

/// Each case with two more inputs: initial states of width 4 (`h` and `c`), random from `seed`.
pub fn with_states(cases: Vec<Vec<Tensor>>, seed: u64) -> Vec<Vec<Tensor>> {
    let mut rng = kensho::core::seeded_rng(seed);
    cases
        .into_iter()
        .map(|mut case| {
            let b = case[0].shape()[0];
            case.extend((0..2).map(|_| Tensor::rand_uniform(&[b, 4], -1.0, 1.0, &mut rng)));
            case
        })
        .collect()
}
