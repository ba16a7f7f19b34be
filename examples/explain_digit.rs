//! Which pixels a digit classifier looks at (issue 17, interpretability): train a small convnet
//! on MNIST, then draw, for a few test digits, the image beside its saliency map and its
//! integrated gradients, and check the integrated gradients' completeness.
//!
//! 1. Train Conv2D 16 → MaxPool → Conv2D 32 → MaxPool → Flatten → Dense 64 → Dense 10 (logits)
//!    for 2 epochs with Adam, and print the test accuracy.
//! 2. Take the first test image of each of the first four classes met in the test set.
//! 3. Explain the logit (the score before the softmax) of each image's predicted class:
//!    [`saliency`] (its gradient with respect to the pixels) and [`integrated_gradients`] from
//!    an all-black baseline with 64 path points. The logit rather than the probability: a
//!    confident softmax is saturated, its gradient near zero at the image.
//! 4. Write one SVG per digit (`explain_<digit>.svg`, with [`plot_attributions`]) and print the
//!    predicted class, its probability and the completeness error of the integrated gradients,
//!    `|sum(attributions) - (F(x) - F(baseline))| / |F(x) - F(baseline)|` for the logit `F`.
//!
//! In the pictures red pixels raise the logit and blue ones lower it; white is no effect. Each
//! map has its own scale, printed on its colour bar.
//!
//! The data are read from a folder (not shipped with kensho: MNIST is CC BY-SA): the first
//! argument, else `$KENSHO_DATA/mnist`, else `~/.cache/kensho/mnist`. The pictures go to the
//! second argument, `pictures` by default.
//!
//! Run: `cargo run --release --features plot --example explain_digit -- path/to/mnist [OUT_DIR]`

use kensho::data::mnist;
use kensho::explain::{integrated_gradients, saliency, Target};
use kensho::prelude::*;
use std::path::PathBuf;

/// How many test digits are explained (each of another class).
const DIGITS: usize = 4;
/// Path points of the integrated gradients.
const STEPS: usize = 64;

fn main() -> Result<()> {
    let data_dir = std::env::args().nth(1).map(PathBuf::from);
    let out_dir = PathBuf::from(std::env::args().nth(2).unwrap_or_else(|| "pictures".to_string()));
    std::fs::create_dir_all(&out_dir).map_err(|e| Error::io(&out_dir, e))?;
    let ((x_train, y_train), (x_test, y_test)) = mnist::load_data(data_dir.as_deref())?;
    let (x_train, x_test) = (x_train.reshape(&[-1, 28, 28, 1])? / 255.0, x_test.reshape(&[-1, 28, 28, 1])? / 255.0);

    let mut model = Sequential::new()
        .seed(17)
        .add(Input::new(&[28, 28, 1]))
        .add(Conv2d::new(16, [3, 3]).activation(Activation::Relu))
        .add(MaxPooling2d::new([2, 2]))
        .add(Conv2d::new(32, [3, 3]).activation(Activation::Relu))
        .add(MaxPooling2d::new([2, 2]))
        .add(Flatten::new())
        .add(Dense::new(64).activation(Activation::Relu))
        .add(Dense::new(10));
    model.compile(
        Adam::new(1e-3),
        losses::SparseCategoricalCrossentropy::from_logits(),
        vec![Box::new(metrics::Accuracy::new())],
    )?;
    model.fit(&x_train, &y_train, FitOptions { epochs: 2, batch_size: 64, ..Default::default() })?;
    let logs = model.evaluate_batched(&x_test, &y_test, 1000)?;
    println!("test accuracy: {:.4}", logs.get("accuracy").unwrap_or(f32::NAN));

    // The first test image of each of the first DIGITS classes met, in test-set order.
    let mut rows: Vec<usize> = Vec::new();
    let labels: Vec<usize> = y_test.iter().map(|label| label as usize).collect();
    for (row, &label) in labels.iter().enumerate() {
        if rows.len() < DIGITS && !rows.iter().any(|&r| labels[r] == label) {
            rows.push(row);
        }
    }
    let x = x_test.index_select(0, &rows);
    let baseline = x.zeros_like();
    let logits = model.predict(&x)?;
    let baseline_logits = model.predict(&baseline)?;
    let probabilities = logits.softmax(1);
    let predicted = logits.argmax_indices(1);
    let grads = saliency(&model, &x, Target::Predicted)?;
    let ig = integrated_gradients(&model, &x, Some(&baseline), STEPS, Target::Predicted)?;

    println!(
        "{:>5} {:>5} {:>9} {:>11} {:>13} {:>13}",
        "row", "label", "predicted", "probability", "F(x) - F(0)", "completeness"
    );
    for (i, (&row, &class)) in rows.iter().zip(&predicted).enumerate() {
        let one = |t: &Tensor| t.slice_axis(0, i, i + 1).squeeze(0);
        let change = logits.to_vec()[i * 10 + class] - baseline_logits.to_vec()[i * 10 + class];
        let total: f32 = one(&ig).iter().sum();
        let error = (total - change).abs() / change.abs();
        let probability = probabilities.to_vec()[i * 10 + class];
        println!("{row:>5} {:>5} {class:>9} {probability:>11.4} {change:>13.3} {:>12.3} %", labels[row], 100.0 * error);
        let path = out_dir.join(format!("explain_{}.svg", labels[row]));
        let title = format!("test image {row}: label {}, predicted {class} (p = {probability:.4})", labels[row]);
        let maps = [("saliency (gradient)", &one(&grads)), ("integrated gradients", &one(&ig))];
        plot_attributions(&one(&x), &maps, &title, &path)?;
        println!("      wrote {}", path.display());
    }
    Ok(())
}
