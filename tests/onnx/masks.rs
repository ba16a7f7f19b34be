//! Masks through the exported recurrent layers, from `Embedding(mask_zero)` and `Masking`:
//! padding at the end, at the start, holes, a sample with no real step; output sequences at
//! masked steps (the carried state, the initial state, zeros); the mask through Dense and
//! stacked recurrent layers. Each model is checked by ONNX Runtime against `predict` at batch
//! sizes 1 and 5 (when `KENSHO_PYTHON` is set).
//!
//! (The check script's third opinion, `onnx.reference`, ignores `sequence_lens`, so it reports
//! differences on these models; ONNX Runtime is the judge.)

use super::recurrent::{cells, random_bias, sequences, with_states, FEATURES, TIME, VOCAB};
use super::support::{assert_runtime_matches, op_types};
use kensho::prelude::*;

/// Token ids `[batch, TIME]` in `1..VOCAB`, zero-padded at the end to random lengths of 1 to
/// `TIME` (the last sample full), at batch sizes 1 and 5.
pub fn padded_ids(seed: u64) -> Vec<Vec<Tensor>> {
    let mut rng = kensho::core::seeded_rng(seed);
    [1, 5]
        .iter()
        .map(|&b| {
            let ids = Tensor::rand_uniform(&[b, TIME], 1.0, VOCAB as f32, &mut rng).map(f32::floor).to_vec();
            let lengths = Tensor::rand_uniform(&[b], 1.0, TIME as f32 + 1.0, &mut rng).map(f32::floor).to_vec();
            let length = |row: usize| if row + 1 == b && b > 1 { TIME as f32 } else { lengths[row] };
            vec![Tensor::from_fn(
                &[b, TIME],
                |i| if (i[1] as f32) < length(i[0]) { ids[i[0] * TIME + i[1]] } else { 0.0 },
            )]
        })
        .collect()
}

/// Token ids `[batch, TIME]` with zeros (padding) anywhere, at batch sizes 1 and 5: padding
/// at the start, padding in the middle, padding at both ends, no token at all, none padded.
fn holed_ids(seed: u64) -> Vec<Vec<Tensor>> {
    let patterns: [[bool; TIME]; 5] = [
        [false, false, true, true, true, true],
        [true, true, false, true, false, true],
        [false, true, true, true, true, false],
        [false; TIME],
        [true; TIME],
    ];
    let mut rng = kensho::core::seeded_rng(seed);
    [1, 5]
        .iter()
        .map(|&b| {
            let ids = Tensor::rand_uniform(&[b, TIME], 1.0, VOCAB as f32, &mut rng).map(f32::floor).to_vec();
            let real = |row: usize, t: usize| if b == 1 { patterns[1][t] } else { patterns[row][t] };
            vec![Tensor::from_fn(&[b, TIME], |i| if real(i[0], i[1]) { ids[i[0] * TIME + i[1]] } else { 0.0 })]
        })
        .collect()
}

#[test]
fn a_text_lstm_on_right_padded_ids_matches() {
    let mut model = Sequential::new()
        .seed(3)
        .add(Input::new(&[TIME]))
        .add(Embedding::new(VOCAB, 4).mask_zero(true))
        .add(Lstm::new(5).bias_initializer(random_bias()))
        .add(Dense::new(2))
        .into_model();
    model.build_model().unwrap();
    let ops = op_types(&model);
    for op in ["Cast", "Gather", "Equal", "Not", "ReduceSum", "LSTM"] {
        assert!(ops.iter().any(|o| o == op), "{op} in {ops:?}");
    }
    let cases = padded_ids(13);
    // The padding matters: kensho's result differs from the one without the mask.
    let unmasked = {
        let mut m = Sequential::new()
            .seed(3)
            .add(Input::new(&[TIME]))
            .add(Embedding::new(VOCAB, 4))
            .add(Lstm::new(5).bias_initializer(random_bias()))
            .add(Dense::new(2))
            .into_model();
        m.build_model().unwrap();
        m
    };
    let x = &cases[1][0];
    assert!(!model.predict(x).unwrap().allclose(&unmasked.predict(x).unwrap(), 1e-4, 1e-4));
    assert_runtime_matches(&model, &cases);
}

#[test]
fn masked_output_sequences_repeat_the_carried_state() {
    let ids = Input::new(&[TIME]);
    let h = Input::new(&[4]);
    let e = Embedding::new(VOCAB, FEATURES).mask_zero(true).on(&ids).unwrap();
    // (The layers with states come after the others of their kind: the output `lstm_1`, the
    // state of `lstm`, would otherwise share its name with the layer `lstm_1`.)
    let mut layers = cells!(4, return_sequences(true), go_backwards(true));
    layers.extend(cells!(4, return_sequences(true), return_state(true)));
    let mut outputs: Vec<SymbolicTensor> =
        layers.into_iter().flat_map(|l| SharedLayer::from_box(l).call_symbolic(&[&e]).unwrap()).collect();
    // Backwards from an initial state: the padding (first in processing order) repeats it.
    outputs.push(Gru::new(4).go_backwards(true).return_sequences(true).on_all(&[&e, &h]).unwrap());
    let model = Model::new(&[&ids, &h], &outputs.iter().collect::<Vec<_>>()).unwrap();
    let mut rng = kensho::core::seeded_rng(14);
    let cases = padded_ids(14)
        .into_iter()
        .map(|mut case| {
            let b = case[0].shape()[0];
            case.push(Tensor::rand_uniform(&[b, 4], -1.0, 1.0, &mut rng));
            case
        })
        .collect::<Vec<_>>();
    assert!(op_types(&model).iter().any(|o| o == "Where"));
    assert_runtime_matches(&model, &cases);
}

#[test]
fn masking_zeroes_padded_steps_and_masks_the_recurrence() {
    let x = Input::new(&[TIME, FEATURES]);
    let masked = Masking::new(0.5).on(&x).unwrap();
    let rnn = SimpleRnn::new(4).return_sequences(true).on(&masked).unwrap();
    let lstm = Lstm::new(4).on(&masked).unwrap();
    let model = Model::new(&[&x], &[&masked, &rnn, &lstm]).unwrap();
    // The last steps of each sample are padding; one step in the middle has a feature equal
    // to the padding value, which does not make it padding.
    let cases = sequences(15)
        .into_iter()
        .map(|case| {
            let b = case[0].shape()[0];
            let x = case[0].to_vec();
            let padded = Tensor::from_fn(&[b, TIME, FEATURES], |i| match (i[1], i[2]) {
                (t, _) if t + 1 + i[0] % 3 > TIME => 0.5,
                (1, 0) => 0.5,
                _ => x[(i[0] * TIME + i[1]) * FEATURES + i[2]],
            });
            vec![padded]
        })
        .collect::<Vec<_>>();
    assert!(op_types(&model).iter().any(|o| o == "ReduceMax"));
    assert_runtime_matches(&model, &cases);
}

#[test]
fn masks_with_any_pattern_match_kensho() {
    let ids = Input::new(&[TIME]);
    let (h, c) = (Input::new(&[4]), Input::new(&[4]));
    let e = Embedding::new(VOCAB, FEATURES).mask_zero(true).on(&ids).unwrap();
    let mut outputs = Vec::new();
    for layer in
        cells!(4, return_sequences(true)).into_iter().chain(cells!(4, return_sequences(true), go_backwards(true)))
    {
        outputs.extend(SharedLayer::from_box(layer).call_symbolic(&[&e]).unwrap());
    }
    // From initial states: the output before the first real step, and the last states of a
    // sample with no real step, are the initial states.
    let lstm = Lstm::new(4).return_sequences(true).return_state(true).with_name("lstm_from_states");
    outputs.extend(lstm.shared().call_symbolic(&[&e, &h, &c]).unwrap());
    outputs.push(Gru::new(4).go_backwards(true).return_sequences(true).on_all(&[&e, &h]).unwrap());
    outputs.push(Bidirectional::new(Lstm::new(3).return_sequences(true)).on(&e).unwrap());
    outputs.push(Bidirectional::new(SimpleRnn::new(4)).with_name("bi_last").on_all(&[&e, &h, &c]).unwrap());
    let model = Model::new(&[&ids, &h, &c], &outputs.iter().collect::<Vec<_>>()).unwrap();
    let cases = with_states(holed_ids(19), 19);
    let ops = op_types(&model);
    for op in ["CumSum", "ScatterElements", "GatherElements"] {
        assert!(ops.iter().any(|o| o == op), "{op} in {ops:?}");
    }
    assert_runtime_matches(&model, &cases);
}

#[test]
fn the_mask_flows_through_dense_and_stacked_recurrent_layers() {
    let mut model = Sequential::new()
        .seed(5)
        .add(Input::new(&[TIME]))
        .add(Embedding::new(VOCAB, 4).mask_zero(true))
        .add(Dense::new(FEATURES).activation(Activation::Tanh))
        .add(Lstm::new(4).return_sequences(true))
        .add(Bidirectional::new(Gru::new(3).return_sequences(true)))
        .add(SimpleRnn::new(3).go_backwards(true))
        .add(Dense::new(2))
        .into_model();
    model.build_model().unwrap();
    let ops = op_types(&model);
    assert_eq!(
        ops.iter().filter(|o| *o == "ScatterElements").count(),
        3,
        "one compaction per recurrent layer: {ops:?}"
    );
    assert_runtime_matches(&model, &holed_ids(20));
}
