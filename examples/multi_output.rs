//! One input, two outputs: a functional model on the embedded digits (1,797 8x8 images) that
//! names the digit and says whether it is even.
//!
//! A shared trunk (`Dense` relu) feeds two heads: "digit" (10-way softmax, sparse categorical
//! crossentropy) and "even" (one sigmoid unit, binary crossentropy). `compile_heads` gives each
//! head its loss, loss weight (1.0 and 0.5) and metrics; `fit` and `evaluate` take the targets
//! by output name, and the logs name each head's figures as Keras does (`digit_loss`,
//! `even_accuracy`, ...). Each head's loss is logged as it counts in the total, times its
//! weight, so `loss` is `digit_loss + even_loss`.
//!
//! Run: `cargo run --release --example multi_output`

use kensho::data::{datasets, train_test_split, SplitOptions, StandardScaler, Transformer};
use kensho::prelude::*;

/// 1 where the digit is even, 0 where it is odd, as a `[n, 1]` column (the shape of the "even"
/// output).
fn is_even(digits: &Tensor) -> Result<Tensor> {
    let even = digits.to_vec().iter().map(|&d| if d % 2.0 == 0.0 { 1.0 } else { 0.0 }).collect();
    Tensor::from_vec(even, &[digits.len(), 1])
}

fn main() -> Result<()> {
    let (x, y) = datasets::digits();
    let (x_train, x_test, digit_train, digit_test) =
        train_test_split(&x, &y, SplitOptions { test_size: 0.2, seed: 42, stratify: true })?;
    let mut scaler = StandardScaler::new();
    let (x_train, x_test) = (scaler.fit_transform(&x_train)?, scaler.transform(&x_test)?);
    let (even_train, even_test) = (is_even(&digit_train)?, is_even(&digit_test)?);
    println!("train: {:?}, test: {:?}", x_train.shape(), x_test.shape());

    let pixels = Input::new(&[64]).with_name("pixels");
    let trunk = Dense::new(64).activation(Activation::Relu).named("trunk").on(&pixels)?;
    let digit = Dense::new(10).activation(Activation::Softmax).named("digit").on(&trunk)?;
    let even = Dense::new(1).activation(Activation::Sigmoid).named("even").on(&trunk)?;
    let mut model = Model::with_seed(&[&pixels], &[&digit, &even], 42)?;
    println!("{}", model.summary());

    model.compile_heads(
        Adam::new(1e-3),
        vec![
            (
                "digit",
                Head::new(losses::SparseCategoricalCrossentropy::new())
                    .metrics(vec![Box::new(metrics::Accuracy::new())]),
            ),
            (
                "even",
                Head::new(losses::BinaryCrossentropy::new())
                    .weight(0.5)
                    .metrics(vec![Box::new(metrics::Accuracy::new())]),
            ),
        ],
    )?;
    let options = FitOptions { epochs: 30, batch_size: 32, validation_split: 0.1, verbose: 2, ..Default::default() };
    model.fit(&x_train, [("digit", &digit_train), ("even", &even_train)], options)?;

    let logs = model.evaluate(&x_test, [("digit", &digit_test), ("even", &even_test)])?;
    println!("\ntest figures:");
    for (name, value) in logs.iter() {
        println!("  {name}: {value:.4}");
    }
    Ok(())
}
