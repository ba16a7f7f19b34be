//! Residual connections with the functional API: a small ResNet on the embedded digits (1,797
//! 8x8 grey images, 10 classes) beside a plain convnet with the same layers minus the shortcuts.
//!
//! Each residual block is conv -> batch norm -> relu -> conv -> batch norm, added (`Add`) to the
//! block's input and followed by a relu; where the block changes the number of channels, the
//! shortcut goes through a 1x1 convolution, as in ResNet. Global average pooling and a softmax
//! layer make the head. Both models are trained the same way, with the same seed and epochs, and
//! the example ends with their test accuracies and parameter counts. Both should land near 0.99:
//! five convolutions are few enough to train well without shortcuts, which pay off in deeper
//! networks.
//!
//! Run: `cargo run --release --example resnet_digits`

use kensho::data::{datasets, train_test_split, SplitOptions};
use kensho::prelude::*;
use std::time::Instant;

const SEED: u64 = 42;
const EPOCHS: usize = 20;

/// Two 3x3 convolutions with batch normalization; with `residual`, the block's input is added to
/// their output (through a 1x1 convolution when the channels change) before the last relu.
///
/// The batch norms use momentum 0.9, not Keras' 0.99: an epoch here is only 45 steps, and with
/// 0.99 the moving statistics (used by `evaluate`) lag the weights for several epochs.
fn block(x: &SymbolicTensor, filters: usize, residual: bool) -> Result<SymbolicTensor> {
    let h = Conv2d::new(filters, [3, 3]).padding(Padding::Same).use_bias(false).on(x)?;
    let h = BatchNormalization::new().momentum(0.9).on(&h)?;
    let h = ActivationLayer::new(Activation::Relu).on(&h)?;
    let h = Conv2d::new(filters, [3, 3]).padding(Padding::Same).use_bias(false).on(&h)?;
    let mut h = BatchNormalization::new().momentum(0.9).on(&h)?;
    if residual {
        let shortcut =
            if x.shape().last() == Some(filters) { x.clone() } else { Conv2d::new(filters, [1, 1]).on(x)? };
        h = Add::new().on_all(&[&h, &shortcut])?;
    }
    ActivationLayer::new(Activation::Relu).on(&h)
}

/// Stem convolution, a 16-channel block, 2x2 max pooling, a 32-channel block, global average
/// pooling and a softmax over the 10 digits.
fn convnet(residual: bool) -> Result<Model> {
    let inputs = Input::new(&[8, 8, 1]);
    let x = Rescaling::new(1.0 / 16.0).on(&inputs)?;
    let x = Conv2d::new(16, [3, 3]).padding(Padding::Same).activation(Activation::Relu).on(&x)?;
    let x = block(&x, 16, residual)?;
    let x = MaxPooling2d::new([2, 2]).on(&x)?;
    let x = block(&x, 32, residual)?;
    let x = GlobalAveragePooling2d::new().on(&x)?;
    let outputs = Dense::new(10).activation(Activation::Softmax).on(&x)?;
    Model::with_seed(&[&inputs], &[&outputs], SEED)
}

/// Trains a model and gives its test accuracy.
fn train(
    model: &mut Model,
    (x_train, y_train): (&Tensor, &Tensor),
    (x_test, y_test): (&Tensor, &Tensor),
) -> Result<f32> {
    model.compile(
        Adam::new(2e-3),
        losses::SparseCategoricalCrossentropy::new(),
        vec![Box::new(metrics::Accuracy::new())],
    )?;
    let start = Instant::now();
    let options = FitOptions { epochs: EPOCHS, batch_size: 32, seed: SEED, verbose: 0, ..Default::default() };
    let history = model.fit(x_train, y_train, options)?;
    let accuracy = model.evaluate(x_test, y_test)?.get("accuracy").unwrap_or(f32::NAN);
    let last = |name| history.get(name).and_then(|v| v.last().copied()).unwrap_or(f32::NAN);
    println!(
        "{EPOCHS} epochs in {:.1} s: train loss {:.4}, train accuracy {:.4}, test accuracy {accuracy:.4}",
        start.elapsed().as_secs_f32(),
        last("loss"),
        last("accuracy"),
    );
    Ok(accuracy)
}

fn main() -> Result<()> {
    let (x, y) = datasets::digits();
    let x = x.reshape(&[-1, 8, 8, 1])?;
    let (x_train, x_test, y_train, y_test) =
        train_test_split(&x, &y, SplitOptions { test_size: 0.2, seed: SEED, stratify: true })?;
    println!("train: {:?}, test: {:?}\n", x_train.shape(), x_test.shape());

    let train_data = (&x_train, &y_train);
    let test_data = (&x_test, &y_test);
    let mut resnet = convnet(true)?;
    println!("== residual convnet\n{}", resnet.summary());
    let resnet_accuracy = train(&mut resnet, train_data, test_data)?;
    let mut plain = convnet(false)?;
    println!("\n== plain convnet (no shortcuts)\n{}", plain.summary());
    let plain_accuracy = train(&mut plain, train_data, test_data)?;

    let (resnet_params, plain_params) = (resnet.count_params(), plain.count_params());
    println!("\nresidual: test accuracy {resnet_accuracy:.4}, {resnet_params} parameters");
    println!("plain:    test accuracy {plain_accuracy:.4}, {plain_params} parameters");
    println!(
        "residual vs plain: {:+.4} test accuracy with {:+.1}% parameters",
        resnet_accuracy - plain_accuracy,
        100.0 * (resnet_params as f64 / plain_params as f64 - 1.0),
    );
    Ok(())
}
