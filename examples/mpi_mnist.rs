//! MNIST with the W2 MLP (784-256-128-10, Adam), trained data-parallel on MPI: every rank runs
//! this program, reads the data, and trains on its share of each global batch of 512; rank 0
//! prints the progress and writes the checkpoint. The figures printed are the same on every rank.
//!
//! Build and run (OpenMPI: `apt-get install openmpi-bin libopenmpi-dev libclang-dev`):
//! ```text
//! cargo build --release --features mpi --example mpi_mnist
//! mpirun -np 2 target/release/examples/mpi_mnist path/to/mnist [checkpoint.safetensors]
//! ```
//! The folder holds the four MNIST IDX files (see `examples/mnist_mlp.rs`). A checkpoint given
//! as the second argument is written by rank 0 after each epoch and, if it exists at the start,
//! training resumes from it, on any number of ranks.

use kensho::data::mnist;
use kensho::mpi::World;
use kensho::parallel::Communicator;
use kensho::prelude::*;
use std::path::PathBuf;

const EPOCHS: usize = 5;

fn main() -> Result<()> {
    kensho::set_num_threads(1);
    let world = World::init()?;
    let dir = std::env::args().nth(1).map(PathBuf::from);
    let checkpoint = std::env::args().nth(2).map(PathBuf::from);
    let ((x_train, y_train), (x_test, y_test)) = mnist::load_data(dir.as_deref())?;
    let (x_train, x_test) = (x_train.reshape(&[-1, 784])? / 255.0, x_test.reshape(&[-1, 784])? / 255.0);

    let (mut model, initial_epoch) = match checkpoint.as_ref().filter(|p| p.exists()) {
        Some(path) => {
            let model = kensho::load_model(path)?;
            let done = model.optimizer().map_or(0, |o| o.iterations()) as usize / y_train.len().div_ceil(512);
            (model, done)
        }
        None => {
            let mut model = Sequential::new()
                .seed(7)
                .add(Input::new(&[784]))
                .add(Dense::new(256).activation(Activation::Relu))
                .add(Dense::new(128).activation(Activation::Relu))
                .add(Dense::new(10))
                .into_model();
            model.compile(
                Adam::new(1e-3),
                losses::SparseCategoricalCrossentropy::from_logits(),
                vec![Box::new(metrics::SparseCategoricalAccuracy::new())],
            )?;
            (model, 0)
        }
    };
    model.set_data_parallel(world.clone())?;
    if world.rank() == 0 {
        println!("{} ranks, each training on its share of every batch of 512", world.size());
    }
    let mut save = checkpoint.map(|p| ModelCheckpoint::new(p.to_string_lossy()));
    let callbacks: Vec<&mut dyn Callback> = save.iter_mut().map(|c| c as &mut dyn Callback).collect();
    let options = FitOptions {
        epochs: EPOCHS,
        initial_epoch,
        batch_size: 512,
        validation_data: Some((&x_test, &y_test)),
        callbacks,
        ..Default::default()
    };
    model.fit(&x_train, &y_train, options)?;
    let logs = model.evaluate_batched(&x_test, &y_test, 1000)?;
    if world.rank() == 0 {
        println!("test accuracy: {:.4}", logs.get("accuracy").unwrap_or(f32::NAN));
    }
    Ok(())
}
