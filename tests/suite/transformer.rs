//! A Transformer encoder block in the functional API (Embedding + PositionEmbedding ->
//! MultiHeadAttention -> Add -> LayerNormalization -> Dense feed-forward): it trains, summarises,
//! saves and loads in both layouts (PyTorch's `nn.MultiheadAttention` keys), and padding
//! changes nothing.

use kensho::checkpoint::load_tensors;
use kensho::prelude::*;
use kensho::{LoadOptions, WeightsLayout};

const VOCAB: usize = 12;
const WIDTH: usize = 8;

/// Token ids -> class probabilities, one encoder block; `len` is the sequence length (None:
/// any up to 8).
fn encoder(len: Option<usize>, seed: u64) -> Model {
    let tokens = Input::with_shape(Shape::new(vec![len]));
    let x = Embedding::new(VOCAB, WIDTH).mask_zero(true).on(&tokens).unwrap();
    let positions = PositionEmbedding::new(8).on(&x).unwrap();
    let x = Add::new().on_all(&[&x, &positions]).unwrap();
    let attended = MultiHeadAttention::new(2, WIDTH / 2).on_all(&[&x, &x]).unwrap();
    let x = LayerNormalization::new().on(&Add::new().on_all(&[&x, &attended]).unwrap()).unwrap();
    let ff = Dense::new(16).activation(Activation::Relu).on(&x).unwrap();
    let ff = Dense::new(WIDTH).on(&ff).unwrap();
    let x = LayerNormalization::new().on(&Add::new().on_all(&[&x, &ff]).unwrap()).unwrap();
    let pooled = GlobalAveragePooling1d::new().on(&x).unwrap();
    let out = Dense::new(2).activation(Activation::Softmax).on(&pooled).unwrap();
    Model::with_seed(&[&tokens], &[&out], seed).unwrap()
}

/// Sequences of 8 ids (1..VOCAB, then zero padding); label 1 when token 3 occurs.
fn data(n: usize) -> (Tensor, Tensor) {
    let mut rng = kensho::core::seeded_rng(2);
    let x = Tensor::rand_uniform(&[n, 8], 1.0, VOCAB as f32, &mut rng).map(f32::floor);
    let lengths = Tensor::rand_uniform(&[n], 3.0, 9.0, &mut rng).map(f32::floor).to_vec();
    let x = Tensor::from_fn(&[n, 8], |i| if (i[1] as f32) < lengths[i[0]] { x.to_vec()[i[0] * 8 + i[1]] } else { 0.0 });
    let y = x.to_vec().chunks(8).map(|row| row.contains(&3.0) as u8 as f32).collect();
    (x, Tensor::from_vec(y, &[n]).unwrap())
}

#[test]
fn an_encoder_block_trains_and_summarises() {
    let (x, y) = data(256);
    let mut model = encoder(Some(8), 1);
    model.compile(Adam::new(0.01), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
    let history =
        model.fit(&x, &y, FitOptions { epochs: 8, batch_size: 32, verbose: 0, ..Default::default() }).unwrap();
    let loss = history.get("loss").unwrap();
    assert!(loss.last().unwrap() < &(loss[0] * 0.8), "{loss:?}");
    // Keras' count: attention 3 * (8 * 2 * 4 + 2 * 4) + (2 * 4 * 8 + 8), each norm 2 * 8.
    let summary = model.summary();
    assert!(summary.contains("│        288 │") && summary.contains("Total params: 778"), "{summary}");
    assert!(summary.contains("(PositionEmbedding)") && summary.contains("(LayerNormalizatio…"), "{summary}");
    assert!(model.to_mermaid().contains("MultiHeadAttention"));
}

#[test]
fn padding_changes_nothing() {
    // The same 3 tokens alone and padded to 8: the mask keeps the padding out of attention,
    // and the pooling averages the real steps only.
    let model = encoder(None, 3);
    let alone = model.predict(&Tensor::from_vec(vec![4., 3., 7.], &[1, 3]).unwrap()).unwrap();
    let padded = model.predict(&Tensor::from_vec(vec![4., 3., 7., 0., 0., 0., 0., 0.], &[1, 8]).unwrap()).unwrap();
    assert!(alone.allclose(&padded, 1e-5, 1e-6), "{:?} vs {:?}", alone.to_vec(), padded.to_vec());
}

#[test]
fn weights_save_and_load_in_both_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let (x, _) = data(4);
    let model = encoder(Some(8), 4);
    let expected = model.predict(&x).unwrap();
    for layout in [WeightsLayout::Kensho, WeightsLayout::PyTorch] {
        let path = dir.path().join(format!("{layout:?}.safetensors"));
        model.save_weights_with(&path, layout).unwrap();
        let mut other = encoder(Some(8), 5);
        assert!(!other.predict(&x).unwrap().allclose(&expected, 1e-5, 1e-6));
        let report = other.load_weights_with(&path, LoadOptions::default().layout(layout)).unwrap();
        assert!(report.is_complete());
        // A stacked tensor is reported once, though three weights read it.
        let stacked = report.loaded.iter().filter(|k| k.ends_with("in_proj_weight")).count();
        assert_eq!(stacked, usize::from(layout == WeightsLayout::PyTorch));
        assert!(other.predict(&x).unwrap().allclose(&expected, 1e-6, 1e-7));
    }
    // The model file: architecture (every layer's config) and weights.
    model.save(dir.path().join("model.safetensors")).unwrap();
    let loaded = kensho::load_model(dir.path().join("model.safetensors")).unwrap();
    assert!(loaded.predict(&x).unwrap().allclose(&expected, 1e-6, 1e-7));
    let (tensors, _) = load_tensors(dir.path().join("PyTorch.safetensors")).unwrap();
    let shape = |key: &str| tensors.iter().find(|(k, _)| k == key).map(|(_, t)| t.shape().to_vec());
    assert_eq!(shape("multi_head_attention.in_proj_weight"), Some(vec![3 * WIDTH, WIDTH]));
    assert_eq!(shape("multi_head_attention.in_proj_bias"), Some(vec![3 * WIDTH]));
    assert_eq!(shape("multi_head_attention.out_proj.weight"), Some(vec![WIDTH, WIDTH]));
    assert_eq!(shape("layer_normalization.weight"), Some(vec![WIDTH]));
    assert_eq!(shape("position_embedding.weight"), Some(vec![8, WIDTH]));
    // The kensho layout keeps Keras' sublayer names.
    let (tensors, _) = load_tensors(dir.path().join("Kensho.safetensors")).unwrap();
    let names: Vec<&str> = tensors.iter().map(|(k, _)| k.as_str()).collect();
    assert!(names.contains(&"multi_head_attention.query.kernel"), "{names:?}");
    assert!(names.contains(&"multi_head_attention.attention_output.bias"), "{names:?}");
}
