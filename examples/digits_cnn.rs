//! A small convnet on the embedded digits (1,797 8x8 grey images), with augmentation: runs in
//! seconds on a fresh clone.
//!
//! Images are channels_last, `[batch, 8, 8, 1]`. Rescaling brings the pixel values (0..16) to
//! 0..1; RandomTranslation and RandomRotation move the training images a little each step (they
//! are the identity in `evaluate` and `predict`).
//!
//! Run: `cargo run --release --example digits_cnn`

use kensho::data::{datasets, train_test_split, SplitOptions};
use kensho::prelude::*;

fn main() -> Result<()> {
    let (x, y) = datasets::digits();
    let x = x.reshape(&[-1, 8, 8, 1])?;
    let (x_train, x_test, y_train, y_test) =
        train_test_split(&x, &y, SplitOptions { test_size: 0.2, seed: 42, stratify: true })?;
    println!("train: {:?}, test: {:?}", x_train.shape(), x_test.shape());

    let mut model = Sequential::new()
        .seed(42)
        .add(Input::new(&[8, 8, 1]))
        .add(Rescaling::new(1.0 / 16.0))
        .add(RandomTranslation::new(0.1, 0.1))
        .add(RandomRotation::new(0.03))
        .add(Conv2d::new(32, [3, 3]).padding(Padding::Same).activation(Activation::Relu))
        .add(MaxPooling2d::new([2, 2]))
        .add(Conv2d::new(64, [3, 3]).padding(Padding::Same).activation(Activation::Relu))
        .add(Flatten::new())
        .add(Dropout::new(0.2))
        .add(Dense::new(10).activation(Activation::Softmax));
    println!("{}", model.summary());
    model.compile(
        Adam::new(2e-3),
        losses::SparseCategoricalCrossentropy::new(),
        vec![Box::new(metrics::Accuracy::new()), Box::new(metrics::F1Score::new(10, metrics::Average::Macro))],
    )?;
    let options = FitOptions { epochs: 30, batch_size: 32, validation_split: 0.1, ..Default::default() };
    model.fit(&x_train, &y_train, options)?;

    let logs = model.evaluate(&x_test, &y_test)?;
    println!("test loss: {:.4}", logs.get("loss").unwrap_or(f32::NAN));
    println!("macro F1: {:.4}", logs.get("f1_score").unwrap_or(f32::NAN));
    println!("test accuracy: {:.4}", logs.get("accuracy").unwrap_or(f32::NAN));
    Ok(())
}
