//! Models called as layers of other models (Keras' nested models): the inner weights are the
//! outer model's, train with it, keep dotted names in both checkpoint layouts, and survive a
//! save and load.

use kensho::prelude::*;
use kensho::WeightsLayout;

/// An encoder `[4] -> [2]` and the inputs it is tried on.
fn encoder() -> (Model, Tensor) {
    let x = Input::new(&[4]);
    let code = Dense::new(2).activation(Activation::Tanh).named("code").on(&x).unwrap();
    let model = Model::with_seed(&[&x], &[&code], 3).unwrap().with_name("encoder");
    let data = Tensor::rand_uniform(&[6, 4], -1.0, 1.0, &mut kensho::core::seeded_rng(9));
    (model, data)
}

/// `x -> encoder -> Dense(4) "decoder"`.
fn autoencoder(encoder: Model) -> Model {
    let x = Input::new(&[4]);
    let code = encoder.on(&x).unwrap();
    let y = Dense::new(4).named("decoder").on(&code).unwrap();
    Model::with_seed(&[&x], &[&y], 4).unwrap()
}

#[test]
fn a_nested_model_computes_its_own_function_inside_the_outer_one() {
    let (inner, x) = encoder();
    let codes = inner.predict(&x).unwrap();
    let outer = autoencoder(inner);
    assert_eq!(outer.layers().iter().map(|l| l.kind()).collect::<Vec<_>>(), ["InputLayer", "Functional", "Dense"]);
    assert_eq!(outer.count_params(), (4 * 2 + 2) + (2 * 4 + 4));
    // The outer model is the decoder applied to the encoder's codes: recompute the decoder by hand.
    let decoder = outer.layer("decoder").unwrap();
    let (kernel, bias) = (&decoder.params()[0].value, &decoder.params()[1].value);
    let expected = codes.matmul(kernel).add(bias);
    let got = outer.predict(&x).unwrap();
    let diff = got.sub(&expected).iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(diff < 1e-6, "max difference {diff}");
}

#[test]
fn nested_weights_are_named_with_dotted_paths_and_train_with_the_outer_model() {
    let (inner, x) = encoder();
    let mut outer = autoencoder(inner);
    let names: Vec<&str> = outer.weights().iter().map(|p| p.name()).collect();
    assert_eq!(names, ["encoder.code.kernel", "encoder.code.bias", "decoder.kernel", "decoder.bias"]);
    let before = outer.get_weights();
    outer.compile(Sgd::new(0.1), losses::MeanSquaredError, vec![]).unwrap();
    outer.fit(&x, &x, FitOptions { epochs: 2, batch_size: 3, verbose: 0, ..Default::default() }).unwrap();
    let after = outer.get_weights();
    // The encoder's kernel (inside the nested model) moved, so gradients reached it.
    assert_ne!(before[0].to_vec(), after[0].to_vec());
}

#[test]
fn a_model_with_a_nested_model_saves_and_loads_in_both_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let (inner, x) = encoder();
    let mut outer = autoencoder(inner);
    outer.compile(Adam::new(0.01), losses::MeanSquaredError, vec![]).unwrap();
    outer.fit(&x, &x, FitOptions { epochs: 2, batch_size: 3, verbose: 0, ..Default::default() }).unwrap();
    let path = dir.path().join("autoencoder.safetensors");
    outer.save(&path).unwrap();
    let loaded = kensho::load_model(&path).unwrap();
    assert_eq!(loaded.predict(&x).unwrap().to_vec(), outer.predict(&x).unwrap().to_vec());
    assert_eq!(loaded.summary(), outer.summary());

    // PyTorch's layout: Input -> encoder -> decoder is a chain, so the file is the state_dict of
    // nn.Sequential(nn.Sequential(nn.Linear(4, 2), nn.Tanh()), nn.Linear(2, 4)).
    let torch = dir.path().join("autoencoder_pt.safetensors");
    outer.save_weights_with(&torch, WeightsLayout::PyTorch).unwrap();
    let (tensors, _) = kensho::checkpoint::load_tensors(&torch).unwrap();
    let mut keys: Vec<&str> = tensors.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["0.0.bias", "0.0.weight", "1.bias", "1.weight"]);
    let mut fresh = autoencoder(encoder().0);
    let options = kensho::LoadOptions::default().layout(WeightsLayout::PyTorch);
    fresh.load_weights_with(&torch, options).unwrap();
    assert_eq!(fresh.predict(&x).unwrap().to_vec(), outer.predict(&x).unwrap().to_vec());
}

#[test]
fn a_branching_model_keys_its_nested_model_by_name_in_pytorch_layout() {
    let (inner, x) = encoder();
    let input = Input::new(&[4]);
    let code = inner.on(&input).unwrap();
    let skip = Dense::new(2).named("skip").on(&input).unwrap();
    let y = Add::new().on_all(&[&code, &skip]).unwrap();
    let model = Model::new(&[&input], &[&y]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let torch = dir.path().join("branching.safetensors");
    model.save_weights_with(&torch, WeightsLayout::PyTorch).unwrap();
    let (tensors, _) = kensho::checkpoint::load_tensors(&torch).unwrap();
    let mut keys: Vec<&str> = tensors.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    // An nn.Module with attributes `encoder` (itself nn.Sequential(Linear, Tanh)) and `skip`.
    assert_eq!(keys, ["encoder.0.bias", "encoder.0.weight", "skip.bias", "skip.weight"]);
    assert!(Model::new(&[&input], &[&y]).is_err(), "the layers belong to the first model");
    // The same architecture with other initial weights computes the same function once loaded.
    let (inner, _) = encoder();
    let input = Input::new(&[4]);
    let code = inner.on(&input).unwrap();
    let skip = Dense::new(2).named("skip").on(&input).unwrap();
    let y = Add::new().on_all(&[&code, &skip]).unwrap();
    let mut fresh = Model::with_seed(&[&input], &[&y], 99).unwrap();
    fresh.load_weights_with(&torch, kensho::LoadOptions::default().layout(WeightsLayout::PyTorch)).unwrap();
    assert_eq!(fresh.predict(&x).unwrap().to_vec(), model.predict(&x).unwrap().to_vec());
}

#[test]
fn a_sequential_nests_with_numbered_pytorch_keys_inside_a_chain() {
    let inner = Sequential::new().add(Input::new(&[3])).add(Dense::new(2)).into_model().with_name("block");
    let outer = Sequential::new().add(Input::new(&[3])).add(Dense::new(3)).into_model();
    let x = Input::new(&[3]);
    let h = outer.on(&x).unwrap();
    let y = inner.on(&h).unwrap();
    let model = Model::new(&[&x], &[&y]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let torch = dir.path().join("chain.safetensors");
    model.save_weights_with(&torch, WeightsLayout::PyTorch).unwrap();
    let (tensors, _) = kensho::checkpoint::load_tensors(&torch).unwrap();
    let mut keys: Vec<&str> = tensors.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    // Input -> Sequential -> Sequential is a chain: nn.Sequential(nn.Sequential(..), nn.Sequential(..)).
    assert_eq!(keys, ["0.0.bias", "0.0.weight", "1.0.bias", "1.0.weight"]);
}
