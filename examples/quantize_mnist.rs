//! Post-training int8 quantization on MNIST: the convnet of workload W3 and the MLP of W2 are
//! trained (or the convnet loaded from a file), quantized with 1,000 training images for
//! calibration, and compared with their float selves: test accuracy, `predict` speed on one
//! thread at batch 128, and file size.
//!
//! The data are read from a folder (MNIST is not shipped with kensho): the first argument, else
//! `$KENSHO_DATA/mnist`, else `~/.cache/kensho/mnist`. A second argument names a convnet model
//! file: loaded if it exists, else written after training.
//!
//! Run: `cargo run --release --example quantize_mnist -- path/to/mnist [convnet.safetensors]`

use kensho::data::mnist;
use kensho::prelude::*;
use kensho::quantization::{load_quantized_model, quantize, QuantizedModel};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Samples per second of `predict` on `x` at batch 128: the best of three timed passes
/// after a warm-up pass.
fn predict_rate(predict: impl Fn(&Tensor, usize) -> Result<Tensor>, x: &Tensor) -> Result<f64> {
    predict(x, 128)?;
    let mut best = 0.0f64;
    for _ in 0..3 {
        let start = Instant::now();
        std::hint::black_box(predict(x, 128)?);
        best = best.max(x.shape()[0] as f64 / start.elapsed().as_secs_f64());
    }
    Ok(best)
}

fn file_size(path: &Path) -> Result<u64> {
    Ok(std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len())
}

/// Quantizes `model`, checks the file round trip, and prints the comparison.
fn compare(name: &str, model: &Model, calibration: Tensor, x_test: &Tensor, y_test: &Tensor, dir: &Path) -> Result<()> {
    let quantized = quantize(model, calibration)?;
    let (float_path, weights_path, int8_path) = (
        dir.join(format!("{name}_f32_model.safetensors")),
        dir.join(format!("{name}_f32_weights.safetensors")),
        dir.join(format!("{name}_int8.safetensors")),
    );
    model.save(&float_path)?;
    model.save_weights(&weights_path)?;
    quantized.save(&int8_path)?;
    let loaded: QuantizedModel = load_quantized_model(&int8_path)?;

    let float_accuracy = model.evaluate_batched(x_test, y_test, 500)?.get("accuracy").unwrap_or(f32::NAN);
    let int8_accuracy = loaded.evaluate_batched(x_test, y_test, 500)?.get("accuracy").unwrap_or(f32::NAN);
    // Speed on one thread, as the target is stated.
    let threads = kensho::core::num_threads();
    kensho::set_num_threads(1);
    let float_rate = predict_rate(|x, b| model.predict_batched(x, b), x_test)?;
    let int8_rate = predict_rate(|x, b| loaded.predict_batched(x, b), x_test)?;
    kensho::set_num_threads(threads);

    println!("== {name} (int8 layers: {})", loaded.quantized_layers().join(", "));
    println!("f32 test accuracy: {float_accuracy:.4}");
    println!("int8 test accuracy: {int8_accuracy:.4}");
    println!("f32 predict samples/s: {float_rate:.0}");
    println!("int8 predict samples/s: {int8_rate:.0}");
    println!("int8 speed-up: {:.2}x", int8_rate / float_rate);
    let (weights, model_file, int8) = (file_size(&weights_path)?, file_size(&float_path)?, file_size(&int8_path)?);
    println!("f32 weights file bytes: {weights}");
    println!("f32 model file bytes (with Adam's state): {model_file}");
    println!("int8 model file bytes: {int8}");
    println!("size ratio (f32 weights / int8): {:.2}x", weights as f64 / int8 as f64);
    Ok(())
}

fn compiled(model: Sequential) -> Result<Model> {
    let mut model = model.into_model();
    let metrics: Vec<Box<dyn kensho::metrics::Metric>> = vec![Box::new(metrics::Accuracy::new())];
    model.compile(Adam::new(1e-3), losses::SparseCategoricalCrossentropy::new(), metrics)?;
    Ok(model)
}

fn main() -> Result<()> {
    let dir = std::env::args().nth(1).map(PathBuf::from);
    let saved = std::env::args().nth(2).map(PathBuf::from);
    let ((x_train, y_train), (x_test, y_test)) = mnist::load_data(dir.as_deref())?;
    let (x_train, x_test) = (x_train / 255.0, x_test / 255.0);
    let out = tempfile_dir()?;
    let fit = |model: &mut Model, x: &Tensor, epochs: usize| -> Result<()> {
        let options = FitOptions { epochs, batch_size: 128, verbose: 2, ..Default::default() };
        model.fit(x, &y_train, options).map(drop)
    };

    // The convnet (W3's, with Dropout before the head).
    let (images, test_images) = (x_train.reshape(&[-1, 28, 28, 1])?, x_test.reshape(&[-1, 28, 28, 1])?);
    let convnet = match &saved {
        Some(path) if path.exists() => {
            println!("loading the convnet from {}", path.display());
            kensho::load_model(path)?
        }
        _ => {
            let mut model = compiled(
                Sequential::new()
                    .seed(7)
                    .add(Input::new(&[28, 28, 1]))
                    .add(Conv2d::new(32, [3, 3]).activation(Activation::Relu))
                    .add(MaxPooling2d::new([2, 2]))
                    .add(Conv2d::new(64, [3, 3]).activation(Activation::Relu))
                    .add(MaxPooling2d::new([2, 2]))
                    .add(Flatten::new())
                    .add(Dropout::new(0.25))
                    .add(Dense::new(128).activation(Activation::Relu))
                    .add(Dense::new(10).activation(Activation::Softmax)),
            )?;
            fit(&mut model, &images, 3)?;
            if let Some(path) = &saved {
                model.save(path)?;
                println!("saved the convnet to {}", path.display());
            }
            model
        }
    };
    compare("convnet", &convnet, images.slice_axis(0, 0, 1000), &test_images, &y_test, &out)?;

    // The MLP of W2.
    let mut mlp = compiled(
        Sequential::new()
            .seed(7)
            .add(Input::new(&[784]))
            .add(Dense::new(256).activation(Activation::Relu))
            .add(Dense::new(128).activation(Activation::Relu))
            .add(Dense::new(10).activation(Activation::Softmax)),
    )?;
    let (rows, test_rows) = (x_train.reshape(&[-1, 784])?, x_test.reshape(&[-1, 784])?);
    fit(&mut mlp, &rows, 5)?;
    compare("mlp", &mlp, rows.slice_axis(0, 0, 1000), &test_rows, &y_test, &out)?;
    std::fs::remove_dir_all(&out).map_err(|e| Error::io(&out, e))
}

/// A fresh folder for the files compared (removed at the end).
fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("kensho-quantize-mnist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    Ok(dir)
}
