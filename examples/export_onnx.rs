//! Trains the digits convnet (the embedded 8x8 digits), exports it to ONNX and writes 64 test
//! images with kensho's predictions as .npy files, so that ONNX Runtime can be checked against
//! kensho.
//!
//! Run: `cargo run --release --features onnx --example export_onnx -- OUT_DIR`, then the
//! command it prints (needs `pip install onnx onnxruntime numpy`).

use kensho::data::npy::write_npy;
use kensho::data::{datasets, train_test_split, SplitOptions};
use kensho::prelude::*;
use std::path::PathBuf;

fn main() -> Result<()> {
    let Some(out_dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: cargo run --release --features onnx --example export_onnx -- OUT_DIR");
        std::process::exit(2);
    };
    std::fs::create_dir_all(&out_dir).map_err(|e| Error::io(&out_dir, e))?;

    let (x, y) = datasets::digits();
    let x = x.reshape(&[-1, 8, 8, 1])?;
    let (x_train, x_test, y_train, y_test) =
        train_test_split(&x, &y, SplitOptions { test_size: 0.2, seed: 42, stratify: true })?;
    let mut model = Sequential::new()
        .seed(42)
        .add(Input::new(&[8, 8, 1]))
        .add(Rescaling::new(1.0 / 16.0))
        .add(RandomTranslation::new(0.1, 0.1))
        .add(Conv2d::new(32, [3, 3]).padding(Padding::Same).activation(Activation::Relu))
        .add(BatchNormalization::new())
        .add(MaxPooling2d::new([2, 2]))
        .add(Conv2d::new(64, [3, 3]).padding(Padding::Same).activation(Activation::Relu))
        .add(Flatten::new())
        .add(Dropout::new(0.2))
        .add(Dense::new(10).activation(Activation::Softmax))
        .into_model()
        .with_name("digits_cnn");
    model.compile(
        Adam::new(2e-3),
        losses::SparseCategoricalCrossentropy::new(),
        vec![Box::new(metrics::Accuracy::new())],
    )?;
    model.fit(&x_train, &y_train, FitOptions { epochs: 8, batch_size: 32, verbose: 0, ..Default::default() })?;
    let accuracy = model.evaluate(&x_test, &y_test)?.get("accuracy").unwrap_or(f32::NAN);
    println!("test accuracy: {accuracy:.4}");

    let (onnx, inputs, outputs) = (out_dir.join("model.onnx"), out_dir.join("inputs.npy"), out_dir.join("outputs.npy"));
    model.export_onnx(&onnx)?;
    let images = x_test.slice_axis(0, 0, 64);
    write_npy(&inputs, &images)?;
    write_npy(&outputs, &model.predict(&images)?)?;
    println!("wrote {}, {} and {}", onnx.display(), inputs.display(), outputs.display());
    println!("check them with ONNX Runtime:");
    println!(
        "python scripts/check_onnx.py {} --inputs {} --expected {}",
        onnx.display(),
        inputs.display(),
        outputs.display()
    );
    Ok(())
}
