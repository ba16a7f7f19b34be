//! Recurrent layers in models: an Embedding -> LSTM classifier trains, summarises and ignores
//! padding; a Bidirectional GRU saves and loads in both layouts (nn.GRU's `_reverse` keys) and
//! in the model file; an encoder's last states start a decoder (return_state and initial states
//! in the functional API); and a split batch on two threads trains like the whole batch.

use kensho::checkpoint::load_tensors;
use kensho::prelude::*;
use kensho::{LoadOptions, WeightsLayout};

const VOCAB: usize = 16;

/// Sequences of 10 ids in `1..VOCAB`, zero-padded after 3 to 10 tokens; label 1 when token 3
/// occurs.
fn data(n: usize, seed: u64) -> (Tensor, Tensor) {
    let mut rng = kensho::core::seeded_rng(seed);
    let ids = Tensor::rand_uniform(&[n, 10], 1.0, VOCAB as f32, &mut rng).map(f32::floor).to_vec();
    let lengths = Tensor::rand_uniform(&[n], 3.0, 11.0, &mut rng).map(f32::floor).to_vec();
    let x = Tensor::from_fn(&[n, 10], |i| if (i[1] as f32) < lengths[i[0]] { ids[i[0] * 10 + i[1]] } else { 0.0 });
    let y = x.to_vec().chunks(10).map(|row| f32::from(u8::from(row.contains(&3.0)))).collect();
    (x, Tensor::from_vec(y, &[n, 1]).unwrap())
}

/// `ids [len] -> Embedding(mask_zero) -> LSTM(12) -> Dense(1, sigmoid)`.
fn classifier(len: Option<usize>, seed: u64) -> Sequential {
    Sequential::new()
        .seed(seed)
        .add(Input::with_shape(Shape::new(vec![len])))
        .add(Embedding::new(VOCAB, 6).mask_zero(true))
        .add(Lstm::new(12))
        .add(Dense::new(1).activation(Activation::Sigmoid))
}

#[test]
fn an_lstm_classifier_trains_summarises_and_ignores_padding() {
    let (x, y) = data(256, 1);
    let mut model = classifier(Some(10), 1);
    model.compile(Adam::new(0.02), losses::BinaryCrossentropy::new(), vec![]).unwrap();
    let history =
        model.fit(&x, &y, FitOptions { epochs: 8, batch_size: 32, verbose: 0, ..Default::default() }).unwrap();
    let loss = history.get("loss").unwrap();
    assert!(loss.last().unwrap() < &(loss[0] * 0.6), "{loss:?}");
    // Keras' count: 4 * (6 * 12 + 12 * 12 + 12).
    let summary = model.summary();
    assert!(summary.contains("lstm (LSTM)") && summary.contains("(None, 12)") && summary.contains("912"), "{summary}");
    assert!(model.to_mermaid().contains("LSTM"));
    // The same tokens alone and padded: the mask keeps the padding out of the state.
    let any = classifier(None, 2);
    let alone = any.predict(&Tensor::from_vec(vec![4., 3., 7.], &[1, 3]).unwrap()).unwrap();
    let padded = any.predict(&Tensor::from_vec(vec![4., 3., 7., 0., 0., 0.], &[1, 6]).unwrap()).unwrap();
    assert!(alone.allclose(&padded, 1e-6, 1e-7), "{:?} vs {:?}", alone.to_vec(), padded.to_vec());
}

/// `ids [10] -> Embedding -> Bidirectional(GRU(5, return_sequences)) -> average -> Dense(1)`.
fn bidirectional(seed: u64) -> Model {
    let ids = Input::new(&[10]);
    let x = Embedding::new(VOCAB, 4).mask_zero(true).on(&ids).unwrap();
    let x = Bidirectional::new(Gru::new(5).return_sequences(true)).on(&x).unwrap();
    let x = GlobalAveragePooling1d::new().on(&x).unwrap();
    let out = Dense::new(1).activation(Activation::Sigmoid).on(&x).unwrap();
    Model::with_seed(&[&ids], &[&out], seed).unwrap()
}

#[test]
fn a_bidirectional_gru_saves_and_loads_in_both_layouts_and_the_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let (x, _) = data(6, 3);
    let model = bidirectional(4);
    let expected = model.predict(&x).unwrap();
    for layout in [WeightsLayout::Kensho, WeightsLayout::PyTorch] {
        let path = dir.path().join(format!("{layout:?}.safetensors"));
        model.save_weights_with(&path, layout).unwrap();
        let mut other = bidirectional(5);
        assert!(!other.predict(&x).unwrap().allclose(&expected, 1e-5, 1e-6));
        let report = other.load_weights_with(&path, LoadOptions::default().layout(layout)).unwrap();
        assert!(report.is_complete(), "{report:?}");
        assert!(other.predict(&x).unwrap().allclose(&expected, 1e-6, 1e-7));
    }
    let (tensors, _) = load_tensors(dir.path().join("PyTorch.safetensors")).unwrap();
    let shape = |key: &str| tensors.iter().find(|(k, _)| k == key).map(|(_, t)| t.shape().to_vec());
    // A chain: nn.Sequential's numbering, the GRU module second.
    for suffix in ["", "_reverse"] {
        assert_eq!(
            shape(&format!("1.weight_ih_l0{suffix}")),
            Some(vec![15, 4]),
            "{:?}",
            tensors.iter().map(|(k, _)| k).collect::<Vec<_>>()
        );
        assert_eq!(shape(&format!("1.weight_hh_l0{suffix}")), Some(vec![15, 5]));
        assert_eq!(shape(&format!("1.bias_ih_l0{suffix}")), Some(vec![15]));
        assert_eq!(shape(&format!("1.bias_hh_l0{suffix}")), Some(vec![15]));
    }
    let (tensors, _) = load_tensors(dir.path().join("Kensho.safetensors")).unwrap();
    let names: Vec<&str> = tensors.iter().map(|(k, _)| k.as_str()).collect();
    assert!(names.contains(&"bidirectional.backward.recurrent_bias"), "{names:?}");
    model.save(dir.path().join("model.safetensors")).unwrap();
    let loaded = kensho::load_model(dir.path().join("model.safetensors")).unwrap();
    assert!(loaded.predict(&x).unwrap().allclose(&expected, 1e-6, 1e-7));
}

#[test]
fn a_chain_writes_nn_sequential_keys() {
    let dir = tempfile::tempdir().unwrap();
    let model = classifier(Some(10), 6);
    model.save_weights_with(dir.path().join("w.safetensors"), WeightsLayout::PyTorch).unwrap();
    let (tensors, _) = load_tensors(dir.path().join("w.safetensors")).unwrap();
    let mut keys: Vec<(String, Vec<usize>)> = tensors.iter().map(|(k, t)| (k.clone(), t.shape().to_vec())).collect();
    keys.sort();
    let want = [
        ("0.weight", vec![VOCAB, 6]),
        ("1.bias_hh_l0", vec![48]),
        ("1.bias_ih_l0", vec![48]),
        ("1.weight_hh_l0", vec![48, 12]),
        ("1.weight_ih_l0", vec![48, 6]),
        ("2.bias", vec![1]),
        ("2.weight", vec![1, 12]),
    ];
    assert_eq!(keys, want.map(|(k, s)| (k.to_string(), s)));
}

#[test]
fn an_encoders_last_states_start_a_decoder() {
    let source = Input::new(&[5, 3]);
    let target = Input::new(&[4, 2]);
    let encoded = Lstm::new(6).return_state(true).shared().call_symbolic(&[&source]).unwrap();
    assert_eq!(encoded.len(), 3);
    let decoded = Lstm::new(6).return_sequences(true).on_all(&[&target, &encoded[1], &encoded[2]]).unwrap();
    let out = Dense::new(1).on(&decoded).unwrap();
    let mut model = Model::with_seed(&[&source, &target], &[&out], 7).unwrap();
    model.compile(Adam::new(0.01), losses::MeanSquaredError, vec![]).unwrap();
    let mut rng = kensho::core::seeded_rng(9);
    let xs = Tensor::rand_uniform(&[16, 5, 3], -1.0, 1.0, &mut rng);
    let xt = Tensor::rand_uniform(&[16, 4, 2], -1.0, 1.0, &mut rng);
    // The target depends on the source only through the encoder's states.
    let y =
        xs.sum_axes(&[1, 2], false).reshape_to(&[16, 1, 1]).broadcast_to(&[16, 4, 1]).mul_scalar(0.2).to_contiguous();
    let history =
        model.fit([&xs, &xt], &y, FitOptions { epochs: 30, batch_size: 8, verbose: 0, ..Default::default() }).unwrap();
    let loss = history.get("loss").unwrap();
    assert!(loss.last().unwrap() < &(loss[0] * 0.5), "{loss:?}");
    assert!(model.summary().contains("lstm[0][1]"), "{}", model.summary());
}

#[test]
fn a_split_batch_trains_like_the_whole_batch() {
    let (x, y) = data(64, 8);
    let step = |threads: usize| {
        kensho::set_num_threads(threads);
        // Without a mask-making layer, so that the model may split the batch across threads.
        let mut m = Sequential::new()
            .seed(3)
            .add(Input::new(&[10]))
            .add(Embedding::new(VOCAB, 6))
            .add(Bidirectional::new(SimpleRnn::new(4)))
            .add(Dense::new(1).activation(Activation::Sigmoid));
        m.compile(kensho::optim::Sgd::new(0.5), losses::BinaryCrossentropy::new(), vec![]).unwrap();
        let out = m.train_step(&x, &y, None, 1).unwrap();
        (out.loss, m.get_weights())
    };
    let (loss1, weights1) = step(1);
    let (loss2, weights2) = step(2);
    kensho::set_num_threads(1);
    assert!((loss1 - loss2).abs() < 1e-5, "{loss1} vs {loss2}");
    for (a, b) in weights1.iter().zip(&weights2) {
        assert!(a.allclose(b, 1e-5, 1e-6), "weights after the step differ");
    }
}
