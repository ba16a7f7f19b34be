//! Resuming training in a new process: 4 epochs, `save`, then a child process (this test binary,
//! running the ignored `resume_child` test) loads the file with `load_model` and trains epochs
//! 5 to 8. The result is bit-identical to 8 epochs in one go.

use kensho::prelude::*;
use kensho::{load_model, set_num_threads};
use std::process::Command;

const DIR_VAR: &str = "KENSHO_RESUME_DIR";

fn data() -> (Tensor, Tensor) {
    let mut rng = kensho::core::seeded_rng(21);
    let x = Tensor::rand_uniform(&[50, 4], -1.0, 1.0, &mut rng);
    let labels: Vec<f32> =
        x.to_vec().chunks(4).map(|r| ((r[0] + r[1] > 0.0) as u8 + (r[2] > 0.5) as u8) as f32).collect();
    (x, Tensor::from_vec(labels, &[50]).unwrap())
}

fn model() -> Sequential {
    let mut model = Sequential::new()
        .seed(42)
        .add(Input::new(&[4]))
        .add(Dense::new(12).activation(Activation::Relu))
        .add(Dropout::new(0.3))
        .add(Dense::new(8).activation(Activation::Tanh))
        .add(Dense::new(3).activation(Activation::Softmax));
    let lr = kensho::optim::ExponentialDecay::new(0.03, 7, 0.8);
    model
        .compile(
            Adam::new(0.03).learning_rate_schedule(lr).clipnorm(2.0),
            losses::SparseCategoricalCrossentropy::new(),
            vec![Box::new(metrics::Accuracy::new())],
        )
        .unwrap();
    model
}

fn fit(model: &mut Model, initial_epoch: usize, epochs: usize) {
    let (x, y) = data();
    let options = FitOptions {
        epochs,
        initial_epoch,
        batch_size: 8,
        seed: 5,
        validation_split: 0.2,
        verbose: 0,
        ..Default::default()
    };
    model.fit(&x, &y, options).unwrap();
}

fn bits(model: &Model) -> Vec<u32> {
    model.get_weights().iter().flat_map(|w| w.to_vec()).map(f32::to_bits).collect()
}

#[test]
fn resume_in_a_new_process_equals_uninterrupted_training() {
    set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    let mut straight = model();
    fit(&mut straight, 0, 8);
    let mut first = model();
    fit(&mut first, 0, 4);
    first.save(dir.path().join("epoch4.safetensors")).unwrap();
    assert_ne!(bits(&first), bits(&straight));

    let status = Command::new(std::env::current_exe().unwrap())
        .args(["resume_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(DIR_VAR, dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "the child process failed: {status}");
    let resumed = load_model(dir.path().join("epoch8.safetensors")).unwrap();
    assert_eq!(bits(&resumed), bits(&straight));
    assert_eq!(resumed.optimizer().unwrap().iterations(), straight.optimizer().unwrap().iterations());
}

/// Run by the test above in a child process; does nothing on its own.
#[test]
#[ignore = "the child half of resume_in_a_new_process_equals_uninterrupted_training"]
fn resume_child() {
    let Some(dir) = std::env::var_os(DIR_VAR) else {
        eprintln!("{DIR_VAR} is not set: nothing to do");
        return;
    };
    set_num_threads(1);
    let dir = std::path::PathBuf::from(dir);
    let mut model = load_model(dir.join("epoch4.safetensors")).unwrap();
    fit(&mut model, 4, 8);
    model.save(dir.join("epoch8.safetensors")).unwrap();
}
