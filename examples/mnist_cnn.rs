//! MNIST with the convnet of workload W3 (Conv2D 32 → MaxPool → Conv2D 64 → MaxPool → Dense 128
//! → Dense 10, with Dropout before the head), 5 epochs, Adam; prints the time of each epoch.
//!
//! The data are read from a folder (not shipped with kensho: MNIST is CC BY-SA): the first
//! argument, else `$KENSHO_DATA/mnist`, else `~/.cache/kensho/mnist`. Images become channels_last
//! `[n, 28, 28, 1]`, and their raw pixel values 0..=255 (as Keras' `mnist.load_data()` returns
//! them) are divided by 255.
//!
//! Run: `cargo run --release --example mnist_cnn -- path/to/mnist`

use kensho::data::mnist;
use kensho::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

/// Prints how long each epoch took (training and validation).
struct EpochTimer(Option<Instant>);

impl Callback for EpochTimer {
    fn on_epoch_begin(&mut self, _epoch: usize, _model: &mut Model) -> Result<()> {
        self.0 = Some(Instant::now());
        Ok(())
    }
    fn on_epoch_end(&mut self, epoch: usize, _logs: &Logs, _model: &mut Model) -> Result<Control> {
        if let Some(start) = self.0.take() {
            println!("epoch {} took {:.1} s", epoch + 1, start.elapsed().as_secs_f64());
        }
        Ok(Control::Continue)
    }
}

fn main() -> Result<()> {
    let dir = std::env::args().nth(1).map(PathBuf::from);
    let ((x_train, y_train), (x_test, y_test)) = mnist::load_data(dir.as_deref())?;
    // Raw pixels 0..=255, as Keras' `load_data()`: scale to [0, 1] as a Keras program does.
    let (x_train, x_test) = (x_train.reshape(&[-1, 28, 28, 1])? / 255.0, x_test.reshape(&[-1, 28, 28, 1])? / 255.0);
    println!("train: {:?}, test: {:?}", x_train.shape(), x_test.shape());

    let mut model = Sequential::new()
        .seed(7)
        .add(Input::new(&[28, 28, 1]))
        .add(Conv2d::new(32, [3, 3]).activation(Activation::Relu))
        .add(MaxPooling2d::new([2, 2]))
        .add(Conv2d::new(64, [3, 3]).activation(Activation::Relu))
        .add(MaxPooling2d::new([2, 2]))
        .add(Flatten::new())
        .add(Dropout::new(0.25))
        .add(Dense::new(128).activation(Activation::Relu))
        .add(Dense::new(10).activation(Activation::Softmax));
    println!("{}", model.summary());
    model.compile(
        Adam::new(1e-3),
        losses::SparseCategoricalCrossentropy::new(),
        vec![Box::new(metrics::Accuracy::new())],
    )?;
    let mut timer = EpochTimer(None);
    let options = FitOptions {
        epochs: 5,
        batch_size: 64,
        validation_data: Some((&x_test, &y_test)),
        callbacks: vec![&mut timer],
        ..Default::default()
    };
    model.fit(&x_train, &y_train, options)?;

    let logs = model.evaluate_batched(&x_test, &y_test, 1000)?;
    println!("test loss: {:.4}", logs.get("loss").unwrap_or(f32::NAN));
    println!("test accuracy: {:.4}", logs.get("accuracy").unwrap_or(f32::NAN));
    Ok(())
}
