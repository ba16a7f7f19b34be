//! `Model::feature_extractor`: a model from a trained model's inputs to an intermediate layer's
//! output, with copies of the weights (Keras' `Model(m.input, m.get_layer("x").output)`).

use kensho::prelude::*;

/// A two-input model trained a little: `features = relu(Dense(3)(a))`, output from features and `b`.
fn trained() -> (Model, Tensor, Tensor) {
    let mut rng = kensho::core::seeded_rng(1);
    let (a, b) = (Input::new(&[4]).with_name("a"), Input::new(&[2]).with_name("b"));
    let features = Dense::new(3).activation(Activation::Relu).named("features").on(&a).unwrap();
    let joined = Concatenate::new(-1).on_all(&[&features, &b]).unwrap();
    let y = Dense::new(1).named("out").on(&joined).unwrap();
    let mut model = Model::with_seed(&[&a, &b], &[&y], 2).unwrap();
    let (xa, xb) =
        (Tensor::rand_uniform(&[20, 4], -1.0, 1.0, &mut rng), Tensor::rand_uniform(&[20, 2], -1.0, 1.0, &mut rng));
    let target = Tensor::rand_uniform(&[20, 1], -1.0, 1.0, &mut rng);
    model.compile(Adam::new(0.05), losses::MeanSquaredError, vec![]).unwrap();
    model.fit([&xa, &xb], &target, FitOptions { epochs: 3, batch_size: 5, verbose: 0, ..Default::default() }).unwrap();
    (model, xa, xb)
}

#[test]
fn the_extractor_gives_the_trained_layer_output_and_keeps_only_the_inputs_it_reads() {
    let (model, xa, _) = trained();
    let extractor = model.feature_extractor(&["features"]).unwrap();
    assert_eq!(extractor.input_names(), ["a"], "the second input is not read by the features");
    // relu(xa W + b) with the trained model's weights, computed here by hand.
    let layer = model.layer("features").unwrap();
    let expected = xa.matmul(&layer.params()[0].value).add(&layer.params()[1].value).map(|v| v.max(0.0));
    assert_eq!(extractor.predict(&xa).unwrap().to_vec(), expected.to_vec());
}

#[test]
fn the_extractor_owns_copies_of_the_weights() {
    let (model, xa, _) = trained();
    let before = model.get_weights();
    let mut extractor = model.feature_extractor(&["features"]).unwrap();
    extractor.compile(Sgd::new(0.5), losses::MeanSquaredError, vec![]).unwrap();
    let zeros = Tensor::zeros(&[20, 3]);
    extractor.fit(&xa, &zeros, FitOptions { epochs: 1, batch_size: 20, verbose: 0, ..Default::default() }).unwrap();
    assert_ne!(extractor.get_weights()[0].to_vec(), before[0].to_vec(), "the copy trained");
    let after: Vec<Vec<f32>> = model.get_weights().iter().map(Tensor::to_vec).collect();
    assert_eq!(after, before.iter().map(Tensor::to_vec).collect::<Vec<_>>(), "the original did not change");
}

#[test]
fn unknown_shared_and_input_layers_are_refused_by_name() {
    let (model, _, _) = trained();
    let unknown = model.feature_extractor(&["feature"]).unwrap_err().to_string();
    assert!(unknown.contains("feature") && unknown.contains("\"features\""), "{unknown}");
    let input = model.feature_extractor(&["a"]).unwrap_err().to_string();
    assert!(input.contains("input declaration"), "{input}");
    let x = Input::new(&[2]);
    let shared = Dense::new(2).named("twice");
    let y = shared.on(&shared.on(&x).unwrap()).unwrap();
    let twice = Model::new(&[&x], &[&y]).unwrap().feature_extractor(&["twice"]).unwrap_err().to_string();
    assert!(twice.contains("called 2 times"), "{twice}");
}
