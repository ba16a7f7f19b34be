//! Transfer learning on MNIST (issue 17): a convnet pre-trained on the digits 0–4 gives its
//! convolutional base to a classifier of the digits 5–9 that sees only 100 labelled images per
//! class.
//!
//! 1. Pre-train Conv2D 16 → MaxPool → Conv2D 32 → MaxPool → Flatten → Dense 64 → Dense 5 on
//!    every training image of the digits 0–4 (30 596) for 3 epochs.
//! 2. Build the same architecture with a new Dense 5 head, copy the pre-trained `conv1`,
//!    `conv2` and `hidden` weights into it, freeze the two convolutions with
//!    `set_trainable(false)`, and train on 500 images of the digits 5–9 (relabelled 0–4).
//! 3. Train the same architecture from scratch on the same 500 images, for comparison.
//! 4. Unfreeze the base and fine-tune every layer at learning rate 1e-4 for 2 epochs.
//!
//! Each phase prints one line; the three test accuracies are measured on every test image of the
//! digits 5–9. Seeds are fixed, so a run prints the same figures each time.
//!
//! The data are read from a folder (not shipped with kensho: MNIST is CC BY-SA): the first
//! argument, else `$KENSHO_DATA/mnist`, else `~/.cache/kensho/mnist`.
//!
//! # A base trained in PyTorch
//!
//! The pre-training of step 1 can happen elsewhere. A `torch.nn.Sequential` saved with
//! `safetensors.torch.save_file(model.state_dict(), "base.safetensors")` has keys `0.weight`,
//! `0.bias`, ... and PyTorch's layouts (Conv2d weight `[out, in, kh, kw]`, Linear weight
//! `[out, in]`); [`LoadOptions`](kensho::LoadOptions) with [`WeightsLayout::PyTorch`](kensho::WeightsLayout)
//! reads them into a kensho model of the same architecture, transposing as needed. When the
//! file has no head, or a head of another size, load with `.strict(false)`: the tensors that
//! match are loaded and the rest are listed in the returned report. When the PyTorch modules
//! carry names (`features.0.weight`, `fc1.weight`), map them onto kensho's numbering with
//! `.rename(..)` rules, applied to the file's keys before matching:
//!
//! ```ignore
//! use kensho::{LoadOptions, WeightsLayout};
//! let options = LoadOptions::default()
//!     .layout(WeightsLayout::PyTorch)
//!     .rename("features.", "")   // features.0.weight -> 0.weight
//!     .strict(false);            // the 5-class head is new: keep its fresh weights
//! let report = model.load_weights_with("base.safetensors", options)?;
//! println!("loaded {:?}, not found {:?}", report.loaded, report.missing);
//! for name in ["conv1", "conv2"] {
//!     model.layer_mut(name).expect("named layer").set_trainable(false);
//! }
//! ```
//!
//! Run: `cargo run --release --example transfer_digits -- path/to/mnist`

use kensho::data::mnist;
use kensho::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

/// Labelled training images per class of the digits 5–9.
const PER_CLASS: usize = 100;
/// The layers copied from the pre-trained model.
const BASE: [&str; 3] = ["conv1", "conv2", "hidden"];
/// The convolutions, frozen in step 2.
const CONVOLUTIONS: [&str; 2] = ["conv1", "conv2"];

/// The convnet of every phase; the head is a fresh Dense 5 each time.
fn convnet(seed: u64) -> Sequential {
    Sequential::new()
        .seed(seed)
        .add(Input::new(&[28, 28, 1]))
        .add(Conv2d::new(16, [3, 3]).activation(Activation::Relu).with_name("conv1"))
        .add(MaxPooling2d::new([2, 2]))
        .add(Conv2d::new(32, [3, 3]).activation(Activation::Relu).with_name("conv2"))
        .add(MaxPooling2d::new([2, 2]))
        .add(Flatten::new())
        .add(Dense::new(64).activation(Activation::Relu).with_name("hidden"))
        .add(Dense::new(5).with_name("head"))
}

fn compile(model: &mut Sequential, lr: f32) -> Result<()> {
    model.compile(
        Adam::new(lr),
        losses::SparseCategoricalCrossentropy::from_logits(),
        vec![Box::new(metrics::Accuracy::new())],
    )
}

/// The images whose label passes `keep` (at most `per_class` of each label, in file order),
/// with the labels shifted down by `offset`.
fn subset(x: &Tensor, y: &Tensor, keep: impl Fn(usize) -> bool, per_class: usize, offset: f32) -> (Tensor, Tensor) {
    let mut counts = [0usize; 10];
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for (i, &label) in y.to_vec().iter().enumerate() {
        let digit = label as usize;
        if keep(digit) && counts[digit] < per_class {
            counts[digit] += 1;
            rows.push(i);
            labels.push(label - offset);
        }
    }
    let n = rows.len();
    (x.index_select(0, &rows), Tensor::from_vec(labels, &[n]).expect("one label per row"))
}

fn fit(model: &mut Sequential, x: &Tensor, y: &Tensor, epochs: usize, batch_size: usize) -> Result<()> {
    let options = FitOptions { epochs, batch_size, verbose: 0, ..Default::default() };
    model.fit(x, y, options)?;
    Ok(())
}

fn accuracy(model: &mut Sequential, x: &Tensor, y: &Tensor) -> Result<f32> {
    Ok(model.evaluate_batched(x, y, 1000)?.get("accuracy").unwrap_or(f32::NAN))
}

fn main() -> Result<()> {
    let start = Instant::now();
    let dir = std::env::args().nth(1).map(PathBuf::from);
    let ((x_train, y_train), (x_test, y_test)) = mnist::load_data(dir.as_deref())?;
    let (x_train, x_test) = (x_train.reshape(&[-1, 28, 28, 1])? / 255.0, x_test.reshape(&[-1, 28, 28, 1])? / 255.0);

    let (x_pre, y_pre) = subset(&x_train, &y_train, |d| d < 5, usize::MAX, 0.0);
    let (x_few, y_few) = subset(&x_train, &y_train, |d| d >= 5, PER_CLASS, 5.0);
    let (x_eval, y_eval) = subset(&x_test, &y_test, |d| d >= 5, usize::MAX, 5.0);
    println!(
        "pre-training images (0-4): {}, labelled images (5-9): {}, test images (5-9): {}",
        x_pre.shape()[0],
        x_few.shape()[0],
        x_eval.shape()[0]
    );

    // 1. Pre-train on the digits 0-4.
    let mut pretrained = convnet(1);
    compile(&mut pretrained, 1e-3)?;
    fit(&mut pretrained, &x_pre, &y_pre, 3, 64)?;
    let (x_pre_test, y_pre_test) = subset(&x_test, &y_test, |d| d < 5, usize::MAX, 0.0);
    println!(
        "pre-trained on 0-4: test accuracy {:.4} ({:.0} s)",
        accuracy(&mut pretrained, &x_pre_test, &y_pre_test)?,
        start.elapsed().as_secs_f64()
    );

    // 2. The pre-trained base, frozen convolutions, a new head; train on 500 images of 5-9.
    let mut transfer = convnet(2);
    compile(&mut transfer, 1e-3)?;
    for name in BASE {
        let values: Vec<Tensor> =
            pretrained.layer(name).expect("named layer").params().iter().map(|p| p.value.clone()).collect();
        for (param, value) in transfer.layer_mut(name).expect("named layer").params_mut().into_iter().zip(values) {
            param.value = value;
        }
    }
    for name in CONVOLUTIONS {
        transfer.layer_mut(name).expect("named layer").set_trainable(false);
    }
    fit(&mut transfer, &x_few, &y_few, 20, 32)?;
    let transfer_accuracy = accuracy(&mut transfer, &x_eval, &y_eval)?;
    println!("transfer (frozen base) trained ({:.0} s)", start.elapsed().as_secs_f64());

    // 3. The same architecture from scratch on the same 500 images.
    let mut scratch = convnet(2);
    compile(&mut scratch, 1e-3)?;
    fit(&mut scratch, &x_few, &y_few, 20, 32)?;
    let scratch_accuracy = accuracy(&mut scratch, &x_eval, &y_eval)?;
    println!("from scratch trained ({:.0} s)", start.elapsed().as_secs_f64());

    // 4. Unfreeze the base and fine-tune everything at a low learning rate.
    for name in CONVOLUTIONS {
        transfer.layer_mut(name).expect("named layer").set_trainable(true);
    }
    transfer.set_learning_rate(1e-4)?;
    fit(&mut transfer, &x_few, &y_few, 2, 32)?;
    let fine_tuned_accuracy = accuracy(&mut transfer, &x_eval, &y_eval)?;
    println!("fine-tuned ({:.0} s)", start.elapsed().as_secs_f64());

    println!("from scratch test accuracy: {scratch_accuracy:.4}");
    println!("transfer test accuracy: {transfer_accuracy:.4}");
    println!("fine-tuned test accuracy: {fine_tuned_accuracy:.4}");
    println!("total time: {:.0} s", start.elapsed().as_secs_f64());
    Ok(())
}
