//! XOR: the smallest problem a linear model cannot solve. Dense(8, tanh) + Dense(1, sigmoid),
//! binary cross-entropy, Adam. Ends with `accuracy: 1.0000`.
//!
//! Run: `cargo run --release --example xor`

use kensho::prelude::*;

fn main() -> Result<()> {
    let x = Tensor::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2])?;
    let y = Tensor::from_vec(vec![0., 1., 1., 0.], &[4, 1])?;
    let mut model = Sequential::new()
        .seed(1)
        .add(Input::new(&[2]))
        .add(Dense::new(8).activation(Activation::Tanh))
        .add(Dense::new(1).activation(Activation::Sigmoid));
    println!("{}", model.summary());
    model.compile(
        Adam::new(0.05),
        losses::BinaryCrossentropy::new(),
        vec![Box::new(metrics::BinaryAccuracy::new(0.5))],
    )?;
    let history = model.fit(&x, &y, FitOptions { epochs: 500, batch_size: 4, verbose: 0, ..Default::default() })?;
    println!("final training loss: {:.4}", history.get("loss").and_then(|l| l.last()).unwrap_or(&f32::NAN));
    println!("predictions: {:?}", model.predict(&x)?.to_vec());
    let logs = model.evaluate(&x, &y)?;
    println!("accuracy: {:.4}", logs.get("binary_accuracy").unwrap_or(0.0));
    Ok(())
}
