//! The attention layers exported to ONNX: `MultiHeadAttention` (self and cross attention, a
//! key of its own, causal at two lengths, an explicit mask input, masks from `Embedding` and
//! `Masking`, without biases, other head and output sizes, the attention scores as a second
//! output, dropout as the identity), `LayerNormalization` (trailing and other axes, without
//! scale or centre, in a `Sequential`), `PositionEmbedding` (sequences of two lengths through
//! one file) and Transformer encoder blocks, each checked by ONNX Runtime at two batch sizes,
//! with random weights (biases, gamma and beta included), and by the structure of the written
//! graph.

use crate::support::{
    assert_runtime_matches, check_model, graph, op_types, random_inputs, randomize_weights, zero_steps,
};
use kensho::prelude::*;

/// The dims of the initializer `name` of the exported graph of `model`.
fn dims(model: &Model, name: &str) -> Vec<i64> {
    let graph = graph(model);
    graph.initializer.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no initializer {name}")).dims.clone()
}

/// How many nodes of `op` the exported graph of `model` has.
fn count(model: &Model, op: &str) -> usize {
    op_types(model).iter().filter(|t| *t == op).count()
}

#[test]
fn self_attention_matches() {
    // Dropout on the attention probabilities is the identity at inference.
    let x = Input::new(&[5, 8]);
    let out = MultiHeadAttention::new(2, 4).dropout(0.3).on_all(&[&x, &x]).unwrap();
    let model = check_model(Model::new(&[&x], &[&out]).unwrap(), 1);
    assert_eq!(count(&model, "MatMul"), 6); // four projections, two products
    assert_eq!((count(&model, "Softmax"), count(&model, "Where")), (1, 0));
}

#[test]
fn cross_attention_with_its_own_key_matches() {
    // A query of 4 steps attends to 6 steps of a value and a key of other widths; two heads of
    // 3, value heads of 5, an output of 7, with and without biases.
    for use_bias in [true, false] {
        let (q, v, k) = (Input::new(&[4, 8]), Input::new(&[6, 6]), Input::new(&[6, 10]));
        let mha = MultiHeadAttention::new(2, 3).value_dim(5).output_shape(7).use_bias(use_bias);
        let out = mha.on_all(&[&q, &v, &k]).unwrap();
        let model = check_model(Model::new(&[&q, &v, &k], &[&out]).unwrap(), 3);
        assert_eq!(count(&model, "Add"), if use_bias { 4 } else { 0 });
        // The kernels as matrices: [d, heads * size] in, [heads * value_dim, output] out.
        let kernel = |sublayer: &str| dims(&model, &format!("multi_head_attention.{sublayer}.kernel"));
        assert_eq!([kernel("query"), kernel("key"), kernel("value")], [[8, 6], [10, 6], [6, 10]]);
        assert_eq!(kernel("attention_output"), [10, 7]);
        if use_bias {
            assert_eq!(dims(&model, "multi_head_attention.value.bias"), [10]);
        }
    }
}

#[test]
fn causal_self_attention_matches_at_any_length() {
    // One file for sequences of 3 and of 6 steps: the causal mask is built from the length.
    let x = Input::with_shape(Shape::new(vec![None, Some(8)]));
    let out = MultiHeadAttention::new(2, 4).use_causal_mask(true).on_all(&[&x, &x]).unwrap();
    let mut model = Model::new(&[&x], &[&out]).unwrap();
    randomize_weights(&mut model, 5);
    assert_eq!((count(&model, "LessOrEqual"), count(&model, "Where")), (1, 2));
    let mut rng = kensho::core::seeded_rng(6);
    let inputs = [[1, 3, 8], [5, 6, 8]].map(|shape| vec![Tensor::rand_uniform(&shape, -2.0, 2.0, &mut rng)]);
    assert_runtime_matches(&model, &inputs);
}

#[test]
fn an_explicit_attention_mask_and_the_scores_output_match() {
    let (q, v, mask) = (Input::new(&[3, 4]), Input::new(&[5, 4]), Input::new(&[3, 5]));
    let mha = MultiHeadAttention::new(2, 2).use_causal_mask(true).return_attention_scores(true).shared();
    let outputs = mha.call_symbolic(&[&q, &v, &v, &mask]).unwrap();
    let mut model = Model::new(&[&q, &v, &mask], &[&outputs[0], &outputs[1]]).unwrap();
    randomize_weights(&mut model, 7);
    assert_eq!((count(&model, "Not"), count(&model, "And")), (1, 1));
    let mut inputs = random_inputs(&model, &[1, 5], 8);
    for case in &mut inputs {
        // Query 1 may attend to nothing; elsewhere a pattern that differs between samples.
        let allowed = |i: &[usize]| i[1] != 1 && !(i[0] + i[1] + 2 * i[2]).is_multiple_of(3);
        case[2] = Tensor::from_fn(case[2].shape(), |i| allowed(i) as u8 as f32);
    }
    assert_runtime_matches(&model, &inputs);
}

#[test]
fn masks_from_masking_layers_match() {
    // Masked query steps get zero attention rows; masked value steps get no attention.
    let (q, v) = (Input::new(&[4, 3]), Input::new(&[5, 3]));
    let (mq, mv) = (Masking::new(0.0).on(&q).unwrap(), Masking::new(0.0).on(&v).unwrap());
    let attended = MultiHeadAttention::new(2, 3).on_all(&[&mq, &mv]).unwrap();
    let pooled = GlobalAveragePooling1d::new().on(&attended).unwrap();
    let mut model = Model::new(&[&q, &v], &[&attended, &pooled]).unwrap();
    randomize_weights(&mut model, 9);
    let mut inputs = random_inputs(&model, &[1, 5], 10);
    for case in &mut inputs {
        for (x, len) in case.iter_mut().zip([4, 5]) {
            // Sample b pads its last (b % 3) steps (query 0 and value 0 always real).
            *x = zero_steps(x, |b, t| t + b % 3 < len);
        }
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
        let model = check_model(Model::new(&[&x], &[&out]).unwrap(), 11 + i as u64);
        assert_eq!(count(&model, "LayerNormalization"), fused as usize, "config {i}");
        assert_eq!(count(&model, "ReduceMean"), 2 * !fused as usize, "config {i}");
    }
}

#[test]
fn layer_normalization_in_a_sequential_model() {
    let model = Sequential::new()
        .add(Input::new(&[6]))
        .add(Dense::new(8).activation(Activation::Relu))
        .add(LayerNormalization::new())
        .add(Dense::new(3))
        .into_model();
    let model = check_model(model, 17);
    assert_eq!(count(&model, "LayerNormalization"), 1);
}

#[test]
fn position_embedding_follows_the_sequence_length() {
    // One file for sequences of any length up to 8: 3 steps, then 8.
    let x = Input::with_shape(Shape::new(vec![None, Some(4)]));
    let positions = PositionEmbedding::new(8).on(&x).unwrap();
    let out = Add::new().on_all(&[&x, &positions]).unwrap();
    let model = Model::with_seed(&[&x], &[&out], 11).unwrap();
    assert_eq!((count(&model, "Slice"), count(&model, "Expand")), (1, 1));
    let mut rng = kensho::core::seeded_rng(12);
    let inputs = vec![
        vec![Tensor::rand_uniform(&[1, 3, 4], -1.0, 1.0, &mut rng)],
        vec![Tensor::rand_uniform(&[5, 8, 4], -1.0, 1.0, &mut rng)],
    ];
    assert_runtime_matches(&model, &inputs);
}

/// One Transformer encoder block on `x` (`[T, 8]` sequences): self-attention, Add,
/// LayerNormalization, a Dense feed-forward, Add, LayerNormalization.
fn encoder_block(x: &SymbolicTensor) -> SymbolicTensor {
    let attended = MultiHeadAttention::new(2, 4).on_all(&[x, x]).unwrap();
    let h = LayerNormalization::new().on(&Add::new().on_all(&[x, &attended]).unwrap()).unwrap();
    let ff = Dense::new(16).activation(Activation::Relu).on(&h).unwrap();
    let ff = Dense::new(8).on(&ff).unwrap();
    LayerNormalization::new().on(&Add::new().on_all(&[&h, &ff]).unwrap()).unwrap()
}

#[test]
fn a_transformer_encoder_block_matches() {
    let x = Input::new(&[6, 8]);
    let positions = PositionEmbedding::new(6).on(&x).unwrap();
    let h = encoder_block(&Add::new().on_all(&[&x, &positions]).unwrap());
    let pooled = GlobalAveragePooling1d::new().on(&h).unwrap();
    let out = Dense::new(3).activation(Activation::Softmax).on(&pooled).unwrap();
    let model = check_model(Model::new(&[&x], &[&out]).unwrap(), 13);
    assert_eq!(count(&model, "LayerNormalization"), 2);
}

#[test]
fn a_masked_token_encoder_matches() {
    // Token ids zero-padded at the end, as tests/suite/transformer.rs: the Embedding's mask
    // keeps the padding out of the attention and of the pooling.
    let tokens = Input::new(&[8]);
    let x = Embedding::new(12, 8).mask_zero(true).on(&tokens).unwrap();
    let positions = PositionEmbedding::new(8).on(&x).unwrap();
    let h = encoder_block(&Add::new().on_all(&[&x, &positions]).unwrap());
    let pooled = GlobalAveragePooling1d::new().on(&h).unwrap();
    let out = Dense::new(2).activation(Activation::Softmax).on(&pooled).unwrap();
    let mut model = Model::new(&[&tokens], &[&out]).unwrap();
    randomize_weights(&mut model, 15);
    assert_eq!(count(&model, "And"), 1); // the query's mask and the value's
    let ids = |batch: usize| {
        Tensor::from_fn(&[batch, 8], |i| {
            if i[1] < 8 - (i[0] * 3) % 7 {
                ((i[0] * 5 + i[1] * 7) % 11 + 1) as f32
            } else {
                0.0
            }
        })
    };
    assert_runtime_matches(&model, &[vec![ids(1)], vec![ids(5)]]);
}
