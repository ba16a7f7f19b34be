//! Token models: an Embedding with `mask_zero` feeding mask-aware pooling inside a model, bad
//! token ids refused before any work, and save / load.

use kensho::prelude::*;

/// `ids -> Embedding(mask_zero) -> GlobalAveragePooling1D -> Dense(2)`.
fn model(length: usize) -> Model {
    let ids = Input::new(&[length]);
    let vectors = Embedding::new(20, 4).mask_zero(true).on(&ids).unwrap();
    let pooled = GlobalAveragePooling1d::new().on(&vectors).unwrap();
    let out = Dense::new(2).activation(Activation::Softmax).on(&pooled).unwrap();
    Model::with_seed(&[&ids], &[&out], 3).unwrap()
}

#[test]
fn padding_changes_nothing_once_the_mask_flows() {
    let (short, long) = (model(3), model(6));
    let unpadded = Tensor::from_vec(vec![5.0, 7.0, 2.0, 1.0, 19.0, 3.0], &[2, 3]).unwrap();
    let padded = Tensor::from_vec(vec![5.0, 7.0, 2.0, 0.0, 0.0, 0.0, 1.0, 19.0, 3.0, 0.0, 0.0, 0.0], &[2, 6]).unwrap();
    // Same seed and layers: the same weights whatever the sequence length.
    assert_eq!(short.get_weights(), long.get_weights());
    let (a, b) = (short.predict(&unpadded).unwrap(), long.predict(&padded).unwrap());
    assert!(a.allclose(&b, 1e-6, 1e-7), "{:?} vs {:?}", a.to_vec(), b.to_vec());
}

#[test]
fn out_of_range_ids_are_refused_with_the_layer_name_and_the_model_trains_saves_and_loads() {
    let mut m = model(4);
    m.compile(Adam::new(0.05), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
    let bad = Tensor::from_vec(vec![1.0, 2.0, 20.0, 0.0], &[1, 4]).unwrap();
    let err = m.fit(&bad, Tensor::zeros(&[1]), FitOptions { verbose: 0, ..Default::default() }).unwrap_err();
    assert!(err.to_string().contains("Embedding \"embedding\"") && err.to_string().contains("0..20"), "{err}");
    assert!(m.predict(&bad).is_err());

    let x = Tensor::from_fn(&[32, 4], |i| ((i[0] * 7 + i[1] * 3) % 20) as f32);
    let y = Tensor::from_fn(&[32], |i| (i[0] % 2) as f32);
    let history = m.fit(&x, &y, FitOptions { epochs: 5, batch_size: 8, verbose: 0, ..Default::default() }).unwrap();
    let losses = history.get("loss").unwrap();
    assert!(losses[4] < losses[0], "{losses:?}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.safetensors");
    m.save(&path).unwrap();
    let loaded = kensho::load_model(&path).unwrap();
    assert_eq!(loaded.predict(&x).unwrap().to_vec(), m.predict(&x).unwrap().to_vec());
    assert!(m.summary().contains("embedding (Embedding)"));
}

/// `ids [6] -> Embedding(20, 4) -> TimeDistributed(Dense(3, tanh)) -> mean over time -> Dense(2)`.
fn token_chain(seed: u64) -> Sequential {
    Sequential::new()
        .seed(seed)
        .add(Input::new(&[6]))
        .add(Embedding::new(20, 4))
        .add(TimeDistributed::new(Dense::new(3).activation(Activation::Tanh)))
        .add(GlobalAveragePooling1d::new())
        .add(Dense::new(2).activation(Activation::Softmax))
}

#[test]
fn embedding_and_time_distributed_summarise_draw_and_load_in_both_layouts() {
    let m = token_chain(1);
    let summary = m.summary();
    // Keras' shapes and counts: 20 x 4 vectors; a 4 -> 3 kernel and 3 biases shared by every step.
    for needle in ["embedding (Embedding)", "(None, 6, 4)", "80", "time_distributed", "(None, 6, 3)", "15"] {
        assert!(summary.contains(needle), "missing {needle} in\n{summary}");
    }
    assert!(m.to_mermaid().contains("embedding (Embedding)<br/>(None, 6, 4)"), "{}", m.to_mermaid());
    let x = Tensor::from_fn(&[5, 6], |i| ((i[0] * 5 + i[1] * 7) % 20) as f32);
    let dir = tempfile::tempdir().unwrap();
    for layout in [kensho::WeightsLayout::Kensho, kensho::WeightsLayout::PyTorch] {
        let path = dir.path().join(format!("{layout:?}.safetensors"));
        m.save_weights_with(&path, layout).unwrap();
        let mut other = token_chain(2);
        assert_ne!(other.predict(&x).unwrap().to_vec(), m.predict(&x).unwrap().to_vec());
        other.load_weights_with(&path, kensho::LoadOptions::default().layout(layout)).unwrap();
        assert_eq!(other.predict(&x).unwrap().to_vec(), m.predict(&x).unwrap().to_vec(), "{layout:?}");
    }
    // nn.Embedding's `weight` is the table itself, module 0 of the chain.
    let (tensors, _) = kensho::checkpoint::load_tensors(dir.path().join("PyTorch.safetensors")).unwrap();
    let table = tensors.iter().find(|(k, _)| k == "0.weight").expect("0.weight");
    assert_eq!(table.1.shape(), [20, 4]);
}
