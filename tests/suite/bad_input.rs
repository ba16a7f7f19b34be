//! Every bad input a user can give the model returns an error that says what was wrong and how
//! to fix it; a diverging loss is reported.

use kensho::optim::Sgd;
use kensho::prelude::*;

fn model() -> Sequential {
    Sequential::new().add(Input::new(&[4])).add(Dense::new(8).activation(Activation::Relu)).add(Dense::new(3))
}

fn compiled() -> Sequential {
    let mut m = model();
    m.compile(
        Adam::new(0.01),
        losses::SparseCategoricalCrossentropy::from_logits(),
        vec![Box::new(metrics::Accuracy::new())],
    )
    .unwrap();
    m
}

fn data(n: usize) -> (Tensor, Tensor) {
    let x = Tensor::rand_uniform(&[n, 4], 0.0, 1.0, &mut kensho::core::seeded_rng(0));
    let y = Tensor::from_fn(&[n], |i| (i[0] % 3) as f32);
    (x, y)
}

fn quiet<'a>() -> FitOptions<'a> {
    FitOptions { verbose: 0, ..Default::default() }
}

fn fit_error(model: &mut Model, x: &Tensor, y: &Tensor, options: FitOptions) -> String {
    model.fit(x, y, options).expect_err("fit should fail").to_string()
}

#[test]
fn x_and_y_of_different_lengths() {
    let (x, _) = data(10);
    let (_, y) = data(9);
    let err = fit_error(&mut compiled(), &x, &y, quiet());
    assert!(err.contains("10") && err.contains('9') && err.contains("one per input sample"), "{err}");
}

#[test]
fn label_out_of_range_for_sparse_categorical_crossentropy() {
    let (x, _) = data(4);
    let y = Tensor::from_vec(vec![0.0, 1.0, 7.0, 2.0], &[4]).unwrap();
    let err = fit_error(&mut compiled(), &x, &y, quiet());
    assert!(err.contains('7') && err.contains("[0, 3)") && err.contains("units"), "{err}");
}

#[test]
fn predict_with_the_wrong_feature_count_names_the_first_layer() {
    let err = compiled().predict(&Tensor::zeros(&[2, 5])).unwrap_err().to_string();
    assert!(
        err.contains("predict") && err.contains("dense") && err.contains("[batch, 4]") && err.contains("[2, 5]"),
        "{err}"
    );
}

#[test]
fn images_into_dense_then_flat_labels_say_which_shapes_differ() {
    // As in Keras, Dense applies to the last axis: [28, 28] -> [28, 10]. Labels for a flat
    // output then do not fit, and the error says which shapes differ.
    let mut m = Sequential::new().add(Input::new(&[28, 28])).add(Dense::new(10));
    m.compile(Adam::default(), losses::SparseCategoricalCrossentropy::from_logits(), vec![]).unwrap();
    assert_eq!(m.output_shape().unwrap().to_string(), "[28, 10]");
    let (x, y) = (Tensor::zeros(&[4, 28, 28]), Tensor::zeros(&[4]));
    let err = m.fit(&x, &y, FitOptions { verbose: 0, ..Default::default() }).unwrap_err().to_string();
    assert!(err.contains("labels of shape [4, 28]") && err.contains("[4]"), "{err}");
}

#[test]
fn fit_evaluate_and_learning_rate_before_compile() {
    let (x, y) = data(8);
    let mut m = model();
    let err = fit_error(&mut m, &x, &y, quiet());
    assert!(err.contains("compile"), "{err}");
    assert!(m.evaluate(&x, &y).unwrap_err().to_string().contains("compile"));
    assert!(m.learning_rate().is_err());
}

#[test]
fn an_empty_data_set() {
    let x = Tensor::zeros(&[0, 4]);
    let y = Tensor::zeros(&[0]);
    let err = fit_error(&mut compiled(), &x, &y, quiet());
    assert!(err.contains("empty"), "{err}");
    assert!(compiled().predict(&x).unwrap_err().to_string().contains("empty"));
}

#[test]
fn a_batch_size_of_zero() {
    let (x, y) = data(8);
    let err = fit_error(&mut compiled(), &x, &y, FitOptions { batch_size: 0, ..quiet() });
    assert!(err.contains("batch_size") && err.contains('0') && err.contains("positive"), "{err}");
    assert!(compiled().predict_batched(&x, 0).is_err());
}

#[test]
fn validation_split_outside_zero_to_one() {
    let (x, y) = data(8);
    for split in [-0.1, 1.0, 1.5] {
        let err = fit_error(&mut compiled(), &x, &y, FitOptions { validation_split: split, ..quiet() });
        assert!(err.contains("validation_split") && err.contains("[0, 1)"), "{err}");
    }
    // A split that leaves no training sample.
    let (x1, y1) = data(1);
    let err = fit_error(&mut compiled(), &x1, &y1, FitOptions { validation_split: 0.5, ..quiet() });
    assert!(err.contains("no training samples"), "{err}");
}

#[test]
fn validation_data_and_sample_weights_of_the_wrong_shape() {
    let (x, y) = data(8);
    let (vx, _) = data(3);
    let vy = Tensor::zeros(&[2]);
    let err = fit_error(&mut compiled(), &x, &y, FitOptions { validation_data: Some((&vx, &vy)), ..quiet() });
    assert!(err.contains("validation_data"), "{err}");
    let w = Tensor::ones(&[5]);
    let err = fit_error(&mut compiled(), &x, &y, FitOptions { sample_weight: Some(&w), ..quiet() });
    assert!(err.contains("sample_weight") && err.contains("[8]"), "{err}");
}

#[test]
fn nan_in_regression_targets_is_rejected() {
    let mut m = Sequential::new().add(Input::new(&[4])).add(Dense::new(1));
    m.compile(Sgd::new(0.1), losses::MeanSquaredError, vec![]).unwrap();
    let (x, _) = data(4);
    let y = Tensor::from_vec(vec![0.0, f32::NAN, 1.0, 2.0], &[4]).unwrap();
    assert!(fit_error(&mut m, &x, &y, quiet()).contains("NaN"));
}

#[test]
fn a_diverging_loss_is_reported_not_silent() {
    let x = Tensor::full(&[16, 4], 1e3);
    let y = Tensor::full(&[16, 1], 1e3);
    let mut m = Sequential::new().add(Input::new(&[4])).add(Dense::new(1));
    m.compile(Sgd::new(1e6), losses::MeanSquaredError, vec![]).unwrap();
    let history = m.fit(&x, &y, FitOptions { epochs: 5, batch_size: 4, ..quiet() }).unwrap();
    assert!(history.get("loss").unwrap().iter().any(|l| !l.is_finite()), "the run did not diverge");
    // The warning goes to stderr; the history keeps the NaN rather than hiding it.
}

#[test]
fn train_step_checks_its_batch_for_custom_loops() {
    let mut m = compiled();
    let (x, y) = data(8);
    assert!(m.train_step(&x, &y, None, 0).is_ok());
    let err = m.train_step(&Tensor::zeros(&[8, 5]), &y, None, 0).unwrap_err().to_string();
    assert!(err.contains("train_step") && err.contains("[8, 5]"), "{err}");
    let bad_labels = Tensor::full(&[8], 3.0);
    assert!(m.train_step(&x, &bad_labels, None, 0).unwrap_err().to_string().contains("[0, 3)"));
    let err = m.train_step(&x, &y, Some(&Tensor::ones(&[3])), 0).unwrap_err().to_string();
    assert!(err.contains("sample_weight"), "{err}");
    assert!(model().train_step(&x, &y, None, 0).unwrap_err().to_string().contains("compile"));
}
