//! The Sequential model: building, naming, summary, weights, freezing, fit options and
//! determinism, on small data sets.

use kensho::data::datasets;
use kensho::optim::Sgd;
use kensho::prelude::*;

fn mlp_784() -> Sequential {
    Sequential::new()
        .add(Input::new(&[784]))
        .add(Dense::new(256).activation(Activation::Relu))
        .add(Dense::new(128).activation(Activation::Relu))
        .add(Dense::new(10).activation(Activation::Softmax))
}

fn iris_model(seed: u64) -> Sequential {
    Sequential::new()
        .seed(seed)
        .add(Input::new(&[4]))
        .add(Dense::new(16).activation(Activation::Relu))
        .add(Dense::new(3).activation(Activation::Softmax))
}

/// The iris model compiled with Adam, sparse cross-entropy and accuracy.
fn compiled_iris_model(seed: u64) -> Sequential {
    let mut model = iris_model(seed);
    let accuracy: Box<dyn metrics::Metric> = Box::new(metrics::Accuracy::new());
    model.compile(Adam::new(0.01), losses::SparseCategoricalCrossentropy::new(), vec![accuracy]).unwrap();
    model
}

fn quiet<'a>(epochs: usize) -> FitOptions<'a> {
    FitOptions { epochs, batch_size: 16, verbose: 0, ..Default::default() }
}

#[test]
fn summary_of_the_mnist_mlp_counts_235146_params() {
    let model = mlp_784();
    let summary = model.summary();
    assert!(summary.contains("Total params: 235,146"), "{summary}");
    assert!(summary.contains("Trainable params: 235,146"), "{summary}");
    assert!(summary.contains("dense_2 (Dense)"), "{summary}");
    assert!(summary.contains("(None, 256)") && summary.contains("200,960"), "{summary}");
    assert!(!summary.contains("InputLayer"), "the input declaration is not a row, as in Keras");
}

#[test]
fn layers_are_named_as_keras_names_them() {
    let model = Sequential::new()
        .add(Input::new(&[4, 2]))
        .add(Flatten::new())
        .add(Dense::new(3))
        .add(Dropout::new(0.5))
        .add(Dense::new(2).with_name("head"))
        .add(Dense::new(1));
    let names: Vec<&str> = model.layers().iter().map(|l| l.name()).collect();
    assert_eq!(names, ["input_layer", "flatten", "dense", "dropout", "head", "dense_1"]);
    let params: Vec<&str> = model.params().iter().map(|p| p.name()).collect();
    assert_eq!(params[..2], ["dense.kernel", "dense.bias"]);
    assert_eq!(params[2], "head.kernel");
}

#[test]
fn mermaid_diagram_lists_input_layers_and_output() {
    let mermaid = mlp_784().to_mermaid();
    assert!(mermaid.starts_with("graph TD\n"));
    for needle in ["Input<br/>(None, 784)", "dense_1 (Dense)<br/>(None, 128)", "Output<br/>(None, 10)", "-->"] {
        assert!(mermaid.contains(needle), "missing {needle} in\n{mermaid}");
    }
    assert_eq!(mermaid.matches("-->").count(), 4);
}

#[test]
fn iris_reaches_90_percent_and_the_same_seed_repeats_the_loss_curve_exactly() {
    kensho::set_num_threads(1);
    let (x, y) = datasets::iris();
    let train = |seed| {
        let mut model = compiled_iris_model(seed);
        let history = model.fit(&x, &y, quiet(60)).unwrap();
        (history, model.evaluate(&x, &y).unwrap())
    };
    let (first, logs) = train(3);
    assert!(logs.get("accuracy").unwrap() > 0.9, "{logs}");
    let (second, _) = train(3);
    assert_eq!(first.get("loss"), second.get("loss"), "same seed, different loss curve");
    let (third, _) = train(4);
    assert_ne!(first.get("loss"), third.get("loss"), "the seed does not reach the weights or the shuffle");
}

#[test]
fn shuffle_seed_changes_the_order_and_no_shuffle_is_deterministic() {
    let (x, y) = datasets::iris();
    let run = |shuffle: bool, seed: u64| {
        let mut model = iris_model(0);
        model.compile(Sgd::new(0.05), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
        model.fit(&x, &y, FitOptions { shuffle, seed, ..quiet(2) }).unwrap().get("loss").unwrap().to_vec()
    };
    assert_eq!(run(true, 1), run(true, 1));
    assert_ne!(run(true, 1), run(true, 2));
    assert_eq!(run(false, 1), run(false, 2));
}

#[test]
fn validation_split_holds_out_the_last_samples_before_shuffling() {
    let (x, y) = datasets::iris();
    let mut model = compiled_iris_model(1);
    let history = model.fit(&x, &y, FitOptions { validation_split: 0.2, ..quiet(3) }).unwrap();
    // floor(150 * 0.8) = 120: the validation figures are those of rows 120..150.
    let tail = model.evaluate(x.slice_axis(0, 120, 150), y.slice_axis(0, 120, 150)).unwrap();
    let val_loss = *history.get("val_loss").unwrap().last().unwrap();
    assert!((val_loss - tail.get("loss").unwrap()).abs() < 1e-6, "{val_loss} vs {tail}");
    assert_eq!(history.get("val_accuracy").unwrap().len(), 3);
    assert_eq!(history.names(), ["loss", "accuracy", "val_loss", "val_accuracy"]);
}

#[test]
fn sample_and_class_weights_scale_each_sample_loss() {
    // With a learning rate of 0 the weights never move, so the epoch's loss is the weighted mean
    // of the per-sample losses of the initial model, computed here independently from evaluate.
    let x = Tensor::from_vec(vec![0.5, -1.0, 2.0, 0.0], &[4, 1]).unwrap();
    let y = Tensor::from_vec(vec![1.0, 0.0, 1.0, 2.0], &[4]).unwrap();
    let mut model = Sequential::new().add(Input::new(&[1])).add(Dense::new(3));
    model.compile(Sgd::new(0.0), losses::SparseCategoricalCrossentropy::from_logits(), vec![]).unwrap();
    let per_sample: Vec<f32> = (0..4)
        .map(|i| model.evaluate(x.slice_axis(0, i, i + 1), y.slice_axis(0, i, i + 1)).unwrap().get("loss").unwrap())
        .collect();
    let weights = Tensor::from_vec(vec![1.0, 2.0, 0.0, 0.5], &[4]).unwrap();
    let class_weight = [(2usize, 3.0f32)].into_iter().collect();
    let options = FitOptions {
        batch_size: 4,
        shuffle: false,
        sample_weight: Some(&weights),
        class_weight: Some(class_weight),
        ..quiet(1)
    };
    let loss = model.fit(&x, &y, options).unwrap().get("loss").unwrap()[0];
    let w = [1.0, 2.0, 0.0, 0.5 * 3.0];
    let expected: f32 = per_sample.iter().zip(w).map(|(l, w)| l * w).sum::<f32>() / 4.0;
    assert!((loss - expected).abs() < 1e-5, "{loss} vs {expected}");
}

#[test]
fn initial_epoch_numbers_the_history_from_where_training_resumes() {
    let (x, y) = datasets::iris();
    let mut model = iris_model(0);
    model.compile(Adam::new(0.01), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
    let history = model.fit(&x, &y, FitOptions { initial_epoch: 3, ..quiet(5) }).unwrap();
    assert_eq!(history.epochs, vec![3, 4]);
}

#[test]
fn frozen_layers_keep_their_weights_and_show_as_non_trainable() {
    let (x, y) = datasets::iris();
    let mut model = iris_model(0);
    model.layer_mut("dense").unwrap().set_trainable(false);
    let before = model.get_weights();
    model.compile(Adam::new(0.05), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
    model.fit(&x, &y, quiet(2)).unwrap();
    let after = model.get_weights();
    assert_eq!(before[0], after[0]);
    assert_eq!(before[1], after[1]);
    assert_ne!(before[2], after[2], "the unfrozen layer must train");
    assert!(model.summary().contains("Non-trainable params: 80 "), "{}", model.summary());
}

#[test]
fn get_and_set_weights_round_trip_and_reject_mismatches() {
    let mut a = iris_model(1);
    let b = iris_model(2);
    assert_ne!(a.get_weights(), b.get_weights());
    a.set_weights(&b.get_weights()).unwrap();
    assert_eq!(a.get_weights(), b.get_weights());
    let mut wrong = b.get_weights();
    wrong[1] = Tensor::zeros(&[5]);
    let err = a.set_weights(&wrong).unwrap_err().to_string();
    assert!(err.contains("dense.bias") && err.contains("[5]"), "{err}");
    assert_eq!(a.get_weights(), b.get_weights(), "a failed set_weights changed the model");
    assert!(a.set_weights(&wrong[..2]).is_err());
}

#[test]
fn predict_is_the_same_in_any_batch_size_and_dropout_is_off() {
    let (x, _) = datasets::iris();
    let model = Sequential::new()
        .add(Input::new(&[4]))
        .add(Dense::new(8).activation(Activation::Relu))
        .add(Dropout::new(0.5))
        .add(Dense::new(3).activation(Activation::Softmax));
    let whole = model.predict_batched(&x, 150).unwrap();
    let pieces = model.predict_batched(&x, 7).unwrap();
    assert_eq!(whole.shape(), &[150, 3]);
    assert!(whole.allclose(&pieces, 1e-6, 1e-7));
    assert_eq!(model.predict(&x).unwrap(), model.predict(&x).unwrap());
    let many = Tensor::concat(&[x.clone(), x.clone(), x.clone(), x.clone()], 0);
    let big = model.predict_batched(&many, 600).unwrap();
    assert_eq!(big.shape(), &[600, 3]);
    assert!(big.slice_axis(0, 450, 600).allclose(&whole, 1e-6, 1e-7), "pieces of a large batch differ");
    let sums = whole.sum_axes(&[1], false);
    assert!(sums.allclose(&Tensor::ones(&[150]), 1e-5, 1e-5));
}

#[test]
fn regularization_penalty_is_part_of_the_loss() {
    let x = Tensor::ones(&[2, 2]);
    let y = Tensor::zeros(&[2, 1]);
    let mut model = Sequential::new().add(Input::new(&[2])).add(
        Dense::new(1).use_bias(false).kernel_initializer(Initializer::Ones).kernel_regularizer(Regularizer::l2(0.1)),
    );
    model.compile(Sgd::new(0.0), losses::MeanSquaredError, vec![]).unwrap();
    // Prediction 2 for each row: MSE 4, plus 0.1 * (1 + 1) = 0.2.
    let loss = model.evaluate(&x, &y).unwrap().get("loss").unwrap();
    assert!((loss - 4.2).abs() < 1e-6, "{loss}");
}

#[test]
fn fit_loader_trains_from_a_prefetching_loader_like_from_tensors() {
    use kensho::data::{DataLoader, StreamDataset, TensorDataset};
    let (x, y) = datasets::iris();
    let in_memory = TensorDataset::new(x.clone(), y.clone()).unwrap();
    let rows = (x.clone(), y.clone());
    let streamed = StreamDataset::new(150, &[4], &[], move |i| {
        Ok((rows.0.slice_axis(0, i, i + 1).to_vec(), rows.1.slice_axis(0, i, i + 1).to_vec()))
    });
    let train = |loader: &DataLoader| {
        let mut model = compiled_iris_model(5);
        let history = model.fit_loader(loader, FitOptions { epochs: 40, verbose: 0, ..Default::default() }).unwrap();
        (history.get("loss").unwrap().to_vec(), model.evaluate(&x, &y).unwrap().get("accuracy").unwrap())
    };
    let (direct, accuracy) = train(&DataLoader::new(in_memory, 16).unwrap().shuffle(3));
    let (prefetched, _) = train(&DataLoader::new(streamed, 16).unwrap().shuffle(3).prefetch(2));
    assert_eq!(direct, prefetched, "streaming with prefetch must give the same training");
    assert!(accuracy > 0.9, "{accuracy}");
}

#[test]
fn a_bad_label_from_a_loader_is_an_error_not_a_panic() {
    use kensho::data::{DataLoader, TensorDataset};
    let (x, mut y) = datasets::iris();
    y.as_mut_slice()[149] = 9.0;
    let loader = DataLoader::new(TensorDataset::new(x, y).unwrap(), 16).unwrap();
    let mut model = compiled_iris_model(5);
    let err = model.fit_loader(&loader, FitOptions { verbose: 0, ..Default::default() }).unwrap_err().to_string();
    assert!(err.contains('9') && err.contains("[0, 3)"), "{err}");
    assert_eq!(model.metrics().len(), 1, "a failed epoch must give the compiled metrics back");
}
