//! Training pictures without Python: train a small MLP on the embedded digits with validation,
//! then write SVG files of the loss and accuracy per epoch, the test confusion matrix, and the ROC
//! curve of one digit against the rest; plus TensorBoard logs of the same run.
//!
//! Run: `cargo run --release --features plot --example training_pictures -- OUT_DIR`
//! (OUT_DIR defaults to `pictures`). Convert to PNG with `rsvg-convert -w 800 -o a.png a.svg`.

use std::path::PathBuf;

use kensho::data::{datasets, train_test_split, SplitOptions, StandardScaler, Transformer};
use kensho::prelude::*;

/// The digit whose ROC curve against the other nine is drawn (8 is among the hardest).
const DIGIT: usize = 8;

fn main() -> Result<()> {
    let out_dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "pictures".to_string()));
    std::fs::create_dir_all(&out_dir).map_err(|e| Error::io(&out_dir, e))?;

    let (x, y) = datasets::digits();
    let (x_train, x_test, y_train, y_test) =
        train_test_split(&x, &y, SplitOptions { test_size: 0.2, seed: 42, stratify: true })?;
    let mut scaler = StandardScaler::new();
    let x_train = scaler.fit_transform(&x_train)?;
    let x_test = scaler.transform(&x_test)?;

    let mut model = Sequential::new()
        .seed(42)
        .add(Input::new(&[64]))
        .add(Dense::new(32).activation(Activation::Relu))
        .add(Dense::new(10).activation(Activation::Softmax));
    model.compile(
        Adam::new(1e-3),
        losses::SparseCategoricalCrossentropy::new(),
        vec![Box::new(metrics::Accuracy::new())],
    )?;
    let log_dir = out_dir.join("logs");
    let mut board = TensorBoard::new(&log_dir);
    let options =
        FitOptions { epochs: 25, validation_split: 0.2, verbose: 0, callbacks: vec![&mut board], ..Default::default() };
    let history = model.fit(&x_train, &y_train, options)?;
    let history_svg = out_dir.join("history.svg");
    history.plot(&history_svg)?;

    // The test set: predicted classes for the confusion matrix, the score of DIGIT for the ROC.
    let probabilities = model.predict(&x_test)?;
    let mut confusion = metrics::ConfusionMatrix::new(10);
    confusion.update(&y_test, &probabilities)?;
    let names: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let confusion_svg = out_dir.join("confusion.svg");
    plot_confusion_matrix(&confusion, &names, &confusion_svg)?;

    let n = y_test.shape()[0];
    let is_digit: Vec<f32> = y_test.iter().map(|label| f32::from(label as usize == DIGIT)).collect();
    let score: Vec<f32> = probabilities.to_vec().chunks(10).map(|row| row[DIGIT]).collect();
    let roc_svg = out_dir.join("roc.svg");
    plot_roc_curve(&Tensor::from_vec(is_digit, &[n])?, &Tensor::from_vec(score, &[n])?, &roc_svg)?;

    println!("test accuracy: {:.4}", confusion.accuracy());
    println!("wrote {}", history_svg.display());
    println!("wrote {}", confusion_svg.display());
    println!("wrote {} (digit {DIGIT} against the rest)", roc_svg.display());
    println!("TensorBoard logs: tensorboard --logdir {}", log_dir.display());
    Ok(())
}
