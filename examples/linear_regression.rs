//! The classic first program: fit `y = W x + b` to noisy points, twice.
//!
//! First with the autograd API directly (a tape, two parameters, full-batch gradient descent on
//! the mean squared error), then with a `Sequential` model of one `Dense(1)` layer trained by
//! `fit` with SGD. The data are x ~ U[0, 1), y = 3x + 2 + U[0, 1) noise, so the fit should give
//! W ≈ 3 and b ≈ 2.5 (the noise has mean 0.5).
//!
//! Run: `cargo run --release --example linear_regression`

use kensho::autograd::{Param, Tape};
use kensho::core::seeded_rng;
use kensho::optim::Sgd;
use kensho::prelude::*;

/// `n` points of y = 3x + 2 + U[0, 1) noise.
fn draw(n: usize, seed: u64) -> (Tensor, Tensor) {
    let mut rng = seeded_rng(seed);
    let x = Tensor::rand_uniform(&[n, 1], 0.0, 1.0, &mut rng);
    let noise = Tensor::rand_uniform(&[n, 1], 0.0, 1.0, &mut rng);
    let y = x.mul_scalar(3.0).add_scalar(2.0).add(&noise);
    (x, y)
}

/// Mean squared error of `W x + b` against `y`, on `tape`.
fn mse<'t>(tape: &'t Tape, w: &Param, b: &Param, x: &Tensor, y: &Tensor) -> kensho::autograd::Var<'t> {
    let prediction = tape.constant(x.clone()).matmul(tape.param(w)).add(tape.param(b));
    let error = prediction.sub(tape.constant(y.clone()));
    error.mul(error).mean_all()
}

fn with_autograd(x: &Tensor, y: &Tensor, x_test: &Tensor, y_test: &Tensor) -> (f32, f32) {
    let mut w = Param::new("w", Tensor::zeros(&[1, 1]));
    let mut b = Param::new("b", Tensor::zeros(&[1]));
    let learning_rate = 0.5;
    for step in 0..=1000 {
        let tape = Tape::new();
        let loss = mse(&tape, &w, &b, x, y);
        if step % 100 == 0 {
            println!("step {step:4}: loss {:.5}", loss.value().item());
        }
        let grads = tape.backward(loss);
        drop(tape);
        for p in [&mut w, &mut b] {
            let g = grads.get(p.id()).expect("both parameters contribute").clone();
            p.value = p.value.sub(&g.mul_scalar(learning_rate));
        }
    }
    let test_loss = mse(&Tape::no_grad(), &w, &b, x_test, y_test).value().item();
    println!("test loss (fresh draw): {test_loss:.5}");
    (w.value.item(), b.value.item())
}

fn with_sequential(x: &Tensor, y: &Tensor, x_test: &Tensor, y_test: &Tensor) -> Result<(f32, f32)> {
    let mut model = Sequential::new().add(Input::new(&[1])).add(Dense::new(1));
    model.compile(Sgd::new(0.5), losses::MeanSquaredError, vec![])?;
    let options = FitOptions { epochs: 1000, batch_size: 1000, verbose: 0, ..Default::default() };
    let history = model.fit(x, y, options)?;
    let losses = history.get("loss").expect("loss is always logged");
    for epoch in (0..losses.len()).step_by(100) {
        println!("epoch {epoch:4}: loss {:.5}", losses[epoch]);
    }
    println!("test loss (fresh draw): {:.5}", model.evaluate(x_test, y_test)?.get("loss").unwrap_or(f32::NAN));
    let weights = model.get_weights();
    Ok((weights[0].item(), weights[1].item()))
}

fn main() -> Result<()> {
    let (x, y) = draw(1000, 42);
    let (x_test, y_test) = draw(1000, 7);

    println!("== gradient descent with the autograd API ==");
    let (w, b) = with_autograd(&x, &y, &x_test, &y_test);
    println!("W = {w:.4}, b = {b:.4}");

    println!("\n== the same fit with Sequential + Dense(1) + SGD ==");
    let (w, b) = with_sequential(&x, &y, &x_test, &y_test)?;
    println!("W = {w:.4}, b = {b:.4}");
    Ok(())
}
