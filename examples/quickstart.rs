//! Quick start: the whole path on the embedded digits data set (1,797 8x8 images, 10 classes).
//!
//! Load, standardise, split 80/20, train a small MLP with `fit` (progress bar on a terminal),
//! evaluate accuracy / precision / recall / F1, print scikit-learn's classification report.
//!
//! Run: `cargo run --example quickstart` (the dev profile is enough: it trains in a fraction of a second)

use kensho::data::{datasets, train_test_split, SplitOptions, StandardScaler, Transformer};
use kensho::prelude::*;

fn main() -> Result<()> {
    let (x, y) = datasets::digits();
    let (x_train, x_test, y_train, y_test) =
        train_test_split(&x, &y, SplitOptions { test_size: 0.2, seed: 42, stratify: true })?;
    let mut scaler = StandardScaler::new();
    let x_train = scaler.fit_transform(&x_train)?;
    let x_test = scaler.transform(&x_test)?;
    println!("train: {:?}, test: {:?}", x_train.shape(), x_test.shape());

    let mut model = Sequential::new()
        .seed(42)
        .add(Input::new(&[64]))
        .add(Dense::new(64).activation(Activation::Relu))
        .add(Dropout::new(0.1))
        .add(Dense::new(10).activation(Activation::Softmax));
    println!("{}", model.summary());
    model.compile(
        Adam::new(1e-3),
        losses::SparseCategoricalCrossentropy::new(),
        vec![
            Box::new(metrics::Accuracy::new()),
            Box::new(metrics::Precision::new(10, metrics::Average::Macro)),
            Box::new(metrics::Recall::new(10, metrics::Average::Macro)),
            Box::new(metrics::F1Score::new(10, metrics::Average::Macro)),
        ],
    )?;
    let options = FitOptions { epochs: 30, batch_size: 32, validation_split: 0.1, ..Default::default() };
    model.fit(&x_train, &y_train, options)?;

    let logs = model.evaluate(&x_test, &y_test)?;
    let predictions = model.predict(&x_test)?;
    println!("\n{}", metrics::classification_report(&y_test, &predictions, None, 4)?);
    println!("test loss: {:.4}", logs.get("loss").unwrap_or(f32::NAN));
    println!("macro precision: {:.4}", logs.get("precision").unwrap_or(f32::NAN));
    println!("macro recall: {:.4}", logs.get("recall").unwrap_or(f32::NAN));
    println!("test accuracy: {:.4}", logs.get("accuracy").unwrap_or(f32::NAN));
    println!("macro F1: {:.4}", logs.get("f1_score").unwrap_or(f32::NAN));
    Ok(())
}
