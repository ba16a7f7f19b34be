//! NaN and infinite values in a model's data are refused before any work, with the first bad
//! value's row and column, so that one missing value can never silently turn the weights into
//! NaN (as it did: ReLU hid the NaN from the loss while its gradient reached 256 weights).

use kensho::data::{DataLoader, TensorDataset};
use kensho::prelude::*;

fn model() -> Sequential {
    let mut model = Sequential::new()
        .seed(2)
        .add(Input::new(&[4]))
        .add(Dense::new(8).activation(Activation::Relu))
        .add(Dense::new(3).activation(Activation::Softmax));
    model.compile(Adam::new(0.01), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
    model
}

fn data() -> (Tensor, Tensor) {
    let mut rng = kensho::core::seeded_rng(4);
    (Tensor::rand_uniform(&[100, 4], -1.0, 1.0, &mut rng), Tensor::from_fn(&[100], |i| (i[0] % 3) as f32))
}

/// `t` with `value` at `[row, col]` (or `[row]` for a 1-D tensor).
fn with_value(t: &Tensor, at: &[usize], value: f32) -> Tensor {
    let mut values = t.to_vec();
    let row_len: usize = t.shape()[1..].iter().product();
    values[at[0] * row_len + at.get(1).copied().unwrap_or(0)] = value;
    Tensor::from_vec(values, t.shape()).unwrap()
}

fn quiet<'a>() -> FitOptions<'a> {
    FitOptions { epochs: 1, batch_size: 16, verbose: 0, ..Default::default() }
}

#[test]
fn fit_refuses_a_nan_in_x_before_touching_the_weights() {
    let (x, y) = data();
    let mut model = model();
    let before = model.get_weights();
    let err = model.fit(with_value(&x, &[57, 2], f32::NAN), &y, quiet()).unwrap_err().to_string();
    assert!(err.contains("fit: x") && err.contains("NaN at row 57, column 2"), "{err}");
    assert_eq!(model.get_weights(), before, "no step may run on data with a NaN");
}

#[test]
fn fit_evaluate_and_train_step_refuse_non_finite_targets() {
    let (x, y) = data();
    let mut model = model();
    let bad_y = with_value(&y, &[9], f32::INFINITY);
    let err = model.fit(&x, &bad_y, quiet()).unwrap_err().to_string();
    assert!(err.contains("fit: y") && err.contains("inf at row 9"), "{err}");
    let err = model.evaluate(&x, &bad_y).unwrap_err().to_string();
    assert!(err.contains("evaluate: y") && err.contains("row 9"), "{err}");
    let err = model.train_step(&with_value(&x, &[3, 0], f32::NEG_INFINITY), &y, None, 0).unwrap_err().to_string();
    assert!(err.contains("train_step: x") && err.contains("-inf at row 3, column 0"), "{err}");
}

#[test]
fn predict_and_validation_data_refuse_non_finite_inputs() {
    let (x, y) = data();
    let mut model = model();
    let err = model.predict(&with_value(&x, &[99, 3], f32::NAN)).unwrap_err().to_string();
    assert!(err.contains("predict: x") && err.contains("NaN at row 99, column 3"), "{err}");
    // predict checks piece by piece (32 rows each here, side by side on several threads): the
    // first bad row in order is the one reported.
    let two_bad = with_value(&with_value(&x, &[90, 0], f32::NAN), &[40, 2], f32::INFINITY);
    let err = model.predict(&two_bad).unwrap_err().to_string();
    assert!(err.contains("inf at row 40, column 2"), "{err}");
    let (vx, vy) = (with_value(&x, &[1, 1], f32::NAN), y.clone());
    let before = model.get_weights();
    let options = FitOptions { validation_data: Some((&vx, &vy)), ..quiet() };
    let err = model.fit(&x, &y, options).unwrap_err().to_string();
    assert!(err.contains("validation") && err.contains("row 1, column 1"), "{err}");
    assert_eq!(model.get_weights(), before);
}

#[test]
fn a_data_loader_batch_with_a_nan_stops_fit_with_its_row() {
    let (x, y) = data();
    let dataset = TensorDataset::new(with_value(&x, &[37, 1], f32::NAN), y).unwrap();
    let loader = DataLoader::new(dataset, 16).unwrap();
    let err = model().fit_loader(&loader, quiet()).unwrap_err().to_string();
    // Row 37 is row 5 of the third batch of 16.
    assert!(err.contains("a batch of the data loader") && err.contains("NaN at row 5, column 1"), "{err}");
}

#[test]
fn several_inputs_name_the_input_that_holds_the_nan() {
    let (x, y) = data();
    let (left, right) = (Input::new(&[4]).with_name("left"), Input::new(&[4]).with_name("right"));
    let merged = Concatenate::new(-1).on_all(&[&left, &right]).unwrap();
    let out = Dense::new(3).activation(Activation::Softmax).on(&merged).unwrap();
    let mut model = Model::new(&[&left, &right], &[&out]).unwrap();
    model.compile(Adam::new(0.01), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
    let err = model.fit([&x, &with_value(&x, &[8, 3], f32::NAN)], &y, quiet()).unwrap_err().to_string();
    assert!(err.contains("x of input \"right\"") && err.contains("row 8, column 3"), "{err}");
}
