//! MNIST with a 784-256-128-10 MLP, 5 epochs, Adam.
//!
//! The data are read from a folder (not shipped with kensho: MNIST is CC BY-SA): the first
//! argument, else `$KENSHO_DATA/mnist`, else `~/.cache/kensho/mnist`. The folder holds the four
//! IDX files, plain or gzip'd (`train-images-idx3-ubyte.gz`, ...). The loader returns the raw
//! pixel values 0..=255, as Keras' `mnist.load_data()`; the program divides them by 255.
//!
//! Run: `cargo run --release --example mnist_mlp -- path/to/mnist`

use kensho::data::mnist;
use kensho::prelude::*;
use std::path::PathBuf;

fn main() -> Result<()> {
    let dir = std::env::args().nth(1).map(PathBuf::from);
    let ((x_train, y_train), (x_test, y_test)) = mnist::load_data(dir.as_deref())?;
    // Raw pixels 0..=255, as Keras' `load_data()`: scale to [0, 1] as a Keras program does.
    let (x_train, x_test) = (x_train.reshape(&[-1, 784])? / 255.0, x_test.reshape(&[-1, 784])? / 255.0);
    println!("train: {:?}, test: {:?}", x_train.shape(), x_test.shape());

    let mut model = Sequential::new()
        .seed(7)
        .add(Input::new(&[784]))
        .add(Dense::new(256).activation(Activation::Relu))
        .add(Dense::new(128).activation(Activation::Relu))
        .add(Dense::new(10).activation(Activation::Softmax));
    println!("{}", model.summary());
    model.compile(
        Adam::new(1e-3),
        losses::SparseCategoricalCrossentropy::new(),
        vec![Box::new(metrics::Accuracy::new())],
    )?;
    model.fit(
        &x_train,
        &y_train,
        FitOptions { epochs: 5, batch_size: 64, validation_data: Some((&x_test, &y_test)), ..Default::default() },
    )?;

    let logs = model.evaluate_batched(&x_test, &y_test, 1000)?;
    println!("test loss: {:.4}", logs.get("loss").unwrap_or(f32::NAN));
    println!("test accuracy: {:.4}", logs.get("accuracy").unwrap_or(f32::NAN));
    Ok(())
}
