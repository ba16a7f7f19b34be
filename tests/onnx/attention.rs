//! The attention layers exported to ONNX: `MultiHeadAttention` (self and cross attention, a
//! key of its own, causal, an explicit mask input, without biases, other head and output
//! sizes, with the attention scores as a second output), `LayerNormalization` (trailing and
//! other axes, without scale or centre), `PositionEmbedding` (sequences of two lengths
//! through one file) and a Transformer encoder block, each checked by ONNX Runtime at two batch
//! sizes and by the structure of the written graph.

use crate::support::{assert_runtime_matches, op_types, random_inputs};
use kensho::prelude::*;

/// Whether the exported graph of `model` has a node of `op`.
fn has(model: &Model, op: &str) -> bool {
    op_types(model).iter().any(|t| t == op)
}

#[test]
fn self_attention_matches() {
    let x = Input::new(&[5, 8]);
    let out = MultiHeadAttention::new(2, 4).on_all(&[&x, &x]).unwrap();
    let model = Model::with_seed(&[&x], &[&out], 1).unwrap();
    let ops = op_types(&model);
    assert_eq!(ops.iter().filter(|t| *t == "MatMul").count(), 6, "{ops:?}"); // 4 projections, 2 products
    assert!(has(&model, "Softmax") && !has(&model, "Where"), "{ops:?}");
    assert_runtime_matches(&model, &random_inputs(&model, &[1, 5], 2));
}

#[test]
fn cross_attention_with_its_own_key_matches() {
    // A query of 4 steps attends to 6 steps of a value and a key of other widths; two heads of
    // 3, value heads of 5, an output of 7, with and without biases.
    for use_bias in [true, false] {
        let (q, v, k) = (Input::new(&[4, 8]), Input::new(&[6, 6]), Input::new(&[6, 10]));
        let mha = MultiHeadAttention::new(2, 3).value_dim(5).output_shape(7).use_bias(use_bias);
        let out = mha.on_all(&[&q, &v, &k]).unwrap();
        let model = Model::with_seed(&[&q, &v, &k], &[&out], 3).unwrap();
        assert_eq!(has(&model, "Add"), use_bias);
        assert_runtime_matches(&model, &random_inputs(&model, &[1, 5], 4));
    }
}

#[test]
fn causal_self_attention_matches() {
    let x = Input::new(&[6, 8]);
    let out = MultiHeadAttention::new(2, 4).use_causal_mask(true).on_all(&[&x, &x]).unwrap();
    let model = Model::with_seed(&[&x], &[&out], 5).unwrap();
    assert!(has(&model, "LessOrEqual") && has(&model, "Where"));
    assert_runtime_matches(&model, &random_inputs(&model, &[1, 5], 6));
}

#[test]
fn an_explicit_attention_mask_and_the_scores_output_match() {
    // The mask input: 0 or 1 per (query, key) pair, a row of zeros included.
    let (q, v, mask) = (Input::new(&[3, 4]), Input::new(&[5, 4]), Input::new(&[3, 5]));
    let mha = MultiHeadAttention::new(2, 2).use_causal_mask(true).return_attention_scores(true).shared();
    let outputs = mha.call_symbolic(&[&q, &v, &v, &mask]).unwrap();
    let model = Model::with_seed(&[&q, &v, &mask], &[&outputs[0], &outputs[1]], 7).unwrap();
    assert!(has(&model, "Not") && has(&model, "And"));
    let mut inputs = random_inputs(&model, &[1, 5], 8);
    for case in &mut inputs {
        // Query 1 may attend to nothing; elsewhere a pattern that differs between samples.
        let allowed = |i: &[usize]| i[1] != 1 && !(i[0] + i[1] + 2 * i[2]).is_multiple_of(3);
        case[2] = Tensor::from_fn(case[2].shape(), |i| allowed(i) as u8 as f32);
    }
    assert_runtime_matches(&model, &inputs);
}

#[test]
fn layer_normalization_on_trailing_and_other_axes() {
    let configs = [
        (LayerNormalization::new(), true),
        (LayerNormalization::new().axes(&[-2, -1]).epsilon(1e-5), true),
        (LayerNormalization::new().center(false), true),
        (LayerNormalization::new().scale(false), true),
        (LayerNormalization::new().axis(1), false),
        (LayerNormalization::new().axes(&[1, 3]).scale(false), false),
    ];
    for (i, (ln, fused)) in configs.into_iter().enumerate() {
        let x = Input::new(&[3, 4, 5]);
        let out = ln.on(&x).unwrap();
        let mut model = Model::with_seed(&[&x], &[&out], 9 + i as u64).unwrap();
        perturb(&mut model, i as u64);
        assert_eq!(has(&model, "LayerNormalization"), fused, "config {i}: {:?}", op_types(&model));
        assert_eq!(has(&model, "ReduceMean"), !fused, "config {i}");
        assert_runtime_matches(&model, &random_inputs(&model, &[1, 5], 10 + i as u64));
    }
}

/// Sets every `gamma` and `beta` of `model` to random values, so that they are not the ones
/// and zeros they start as and a swapped or dropped weight shows.
fn perturb(model: &mut Model, seed: u64) {
    let mut rng = kensho::core::seeded_rng(100 + seed);
    for p in model.params_mut() {
        if p.name().ends_with("gamma") || p.name().ends_with("beta") {
            p.value = Tensor::rand_uniform(p.value.shape(), 0.5, 1.5, &mut rng);
        }
    }
}

#[test]
fn position_embedding_follows_the_sequence_length() {
    // One file for sequences of any length up to 8: 3 steps, then 8.
    let x = Input::with_shape(Shape::new(vec![None, Some(4)]));
    let positions = PositionEmbedding::new(8).on(&x).unwrap();
    let out = Add::new().on_all(&[&x, &positions]).unwrap();
    let model = Model::with_seed(&[&x], &[&out], 11).unwrap();
    assert!(has(&model, "Slice") && has(&model, "Expand"));
    let mut rng = kensho::core::seeded_rng(12);
    let inputs = vec![
        vec![Tensor::rand_uniform(&[1, 3, 4], -1.0, 1.0, &mut rng)],
        vec![Tensor::rand_uniform(&[5, 8, 4], -1.0, 1.0, &mut rng)],
    ];
    assert_runtime_matches(&model, &inputs);
}

#[test]
fn a_transformer_encoder_block_matches() {
    let x = Input::new(&[6, 8]);
    let positions = PositionEmbedding::new(6).on(&x).unwrap();
    let h = Add::new().on_all(&[&x, &positions]).unwrap();
    let attended = MultiHeadAttention::new(2, 4).on_all(&[&h, &h]).unwrap();
    let h = LayerNormalization::new().on(&Add::new().on_all(&[&h, &attended]).unwrap()).unwrap();
    let ff = Dense::new(16).activation(Activation::Relu).on(&h).unwrap();
    let ff = Dense::new(8).on(&ff).unwrap();
    let h = LayerNormalization::new().on(&Add::new().on_all(&[&h, &ff]).unwrap()).unwrap();
    let pooled = Flatten::new().on(&h).unwrap();
    let out = Dense::new(3).activation(Activation::Softmax).on(&pooled).unwrap();
    let mut model = Model::with_seed(&[&x], &[&out], 13).unwrap();
    perturb(&mut model, 13);
    let ops = op_types(&model);
    assert_eq!(ops.iter().filter(|t| *t == "LayerNormalization").count(), 2, "{ops:?}");
    assert_runtime_matches(&model, &random_inputs(&model, &[1, 5], 14));
}
