//! The embedded digits, standardised and split, and the small MLP the suite's digits tests train.

use kensho::data::{datasets, train_test_split, SplitOptions, StandardScaler, Transformer};
use kensho::prelude::*;

/// Standardised digits, split 80/20 with stratification (split seed 7): `(x_train, x_test,
/// y_train, y_test)`.
pub fn standardised_digits() -> (Tensor, Tensor, Tensor, Tensor) {
    let (x, y) = datasets::digits();
    let (x_train, x_test, y_train, y_test) =
        train_test_split(&x, &y, SplitOptions { test_size: 0.2, seed: 7, stratify: true }).unwrap();
    let mut scaler = StandardScaler::new();
    let x_train = scaler.fit_transform(&x_train).unwrap();
    let x_test = scaler.transform(&x_test).unwrap();
    (x_train, x_test, y_train, y_test)
}

/// An MLP on the 64 pixels (one ReLU layer of `hidden` units) ending in `classes` logits.
pub fn mlp(seed: u64, hidden: usize, classes: usize) -> Model {
    Sequential::new()
        .seed(seed)
        .add(Input::new(&[64]))
        .add(Dense::new(hidden).activation(Activation::Relu))
        .add(Dense::new(classes))
        .into_model()
}
