//! A Keras user's first hour (issue 15): each friction found by writing programs from the README
//! alone, shown fixed. The training-output test runs a fit in a child process (this test binary,
//! re-run on one ignored test) to see which stream each line reaches.

use kensho::callbacks::{EarlyStopping, ModelCheckpoint, ReduceLROnPlateau};
use kensho::checkpoint::{load_tensors, save_tensors};
use kensho::prelude::*;
use kensho::{Error, LoadOptions, Mode, WeightsLayout};
use std::process::Command;

/// 40 samples of 4 features; the label is 1 when the first two features sum above 1.
fn toy() -> (Tensor, Tensor) {
    let x: Vec<f32> = (0..160).map(|i| ((i * 37 % 101) as f32) / 100.0).collect();
    let y: Vec<f32> = x.chunks(4).map(|r| f32::from(r[0] + r[1] > 1.0)).collect();
    (Tensor::from_vec(x, &[40, 4]).unwrap(), Tensor::from_vec(y, &[40]).unwrap())
}

fn classifier(units: usize, activation: Activation) -> Sequential {
    Sequential::new()
        .add(Input::new(&[4]))
        .add(Dense::new(8).activation(Activation::Relu))
        .add(Dense::new(units).activation(activation))
}

fn quiet<'a>() -> FitOptions<'a> {
    FitOptions { epochs: 2, batch_size: 8, verbose: 0, ..Default::default() }
}

/// 1. Keras creates the checkpoint's folder; so does kensho.
#[test]
fn model_checkpoint_creates_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("out/nested/best-{epoch:02}.safetensors");
    let (x, y) = toy();
    let mut model = classifier(1, Activation::Sigmoid);
    model.compile(Adam::new(0.01), losses::BinaryCrossentropy::new(), vec![]).unwrap();
    let mut checkpoint = ModelCheckpoint::new(pattern.to_str().unwrap());
    model.fit(&x, &y, FitOptions { callbacks: vec![&mut checkpoint], ..quiet() }).unwrap();
    assert_eq!(checkpoint.saved.len(), 2);
    assert!(dir.path().join("out/nested/best-02.safetensors").is_file());
}

/// Runs inside the child process of `training_output_goes_to_stdout_in_keras_words`.
#[test]
#[ignore = "run by training_output_goes_to_stdout_in_keras_words in a child process"]
fn child_training_run() {
    println!(); // ends the harness' `test child_training_run ... ` line
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = toy();
    let mut model = classifier(1, Activation::Sigmoid);
    model.compile(Adam::new(0.01), losses::BinaryCrossentropy::new(), vec![]).unwrap();
    let path = dir.path().join("best.safetensors");
    let mut checkpoint = ModelCheckpoint::new(path.to_str().unwrap()).save_best_only(true).verbose(1);
    // Watched in mode max with a huge min_delta, `loss` never improves after the first epoch:
    // the stop and the reduction happen at epoch 2 whatever the figures.
    let mut stop =
        EarlyStopping::new("loss").mode(Mode::Max).min_delta(1e6).patience(1).restore_best_weights(true).verbose(1);
    let mut reduce = ReduceLROnPlateau::new("loss").mode(Mode::Max).min_delta(1e6).patience(1).verbose(1);
    let options = FitOptions {
        epochs: 5,
        validation_split: 0.25,
        verbose: 1,
        callbacks: vec![&mut checkpoint, &mut reduce, &mut stop],
        ..quiet()
    };
    model.fit(&x, &y, options).unwrap();
}

/// 2 and 11. Every line of training (epochs, figures, ModelCheckpoint, ReduceLROnPlateau,
/// EarlyStopping) goes to stdout, in order, in Keras' words, with no bar when stdout is not a
/// terminal.
#[test]
fn training_output_goes_to_stdout_in_keras_words() {
    // The child test's name as the harness knows it: its module path without the crate's name.
    let child = module_path!().split_once("::").map_or(String::new(), |(_, m)| format!("{m}::")) + "child_training_run";
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &child, "--include-ignored", "--nocapture", "--test-threads=1"])
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(!stderr.contains("Epoch"), "training lines on stderr:\n{stderr}");
    assert!(!stdout.contains('\r') && !stdout.contains('\x1b'), "a bar was drawn into a pipe:\n{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let at = |prefix: &str| {
        lines.iter().position(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no line {prefix:?} in\n{stdout}"))
    };
    let improved = at("Epoch 1: val_loss improved from inf to ");
    let saved = lines[improved];
    let value = saved["Epoch 1: val_loss improved from inf to ".len()..].split(',').next().unwrap();
    assert_eq!(value.split('.').nth(1).map(str::len), Some(5), "five decimals: {saved}");
    assert!(saved.contains(", saving model to ") && saved.ends_with("best.safetensors"), "{saved}");
    assert!(!stdout.contains("Some(") && !stdout.contains("None"), "{stdout}");
    let reduced = at("Epoch 2: ReduceLROnPlateau reducing learning rate to 0.00");
    let stopped = at("Epoch 2: early stopping");
    let restored = at("Restoring model weights from the end of the best epoch: 1.");
    assert!(at("Epoch 1/5") < at("4/4 - ") && at("4/4 - ") < improved, "{stdout}");
    assert!(improved < at("Epoch 2/5") && at("Epoch 2/5") < reduced && reduced < stopped && stopped < restored);
    assert!(!stdout.contains("Epoch 3/5"), "{stdout}");
}

/// 3. `fn main() -> Result<()>` prints the error's Debug: it is the sentence, not the fields.
#[test]
fn an_error_returned_from_main_prints_the_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = classifier(1, Activation::Sigmoid);
    let err = model.load_weights(dir.path().join("missing.safetensors")).unwrap_err();
    let printed = format!("Error: {err:?}"); // what std prints for a main returning Err(err)
    assert_eq!(printed, format!("Error: {err}"));
    assert!(printed.contains("missing.safetensors: ") && !printed.contains("Io {"), "{printed}");
}

/// 4. A two-output softmax with a binary loss says what is wrong and both fixes.
#[test]
fn binary_crossentropy_on_two_softmax_outputs_names_the_mistake() {
    let (x, y) = toy();
    let mut model = classifier(2, Activation::Softmax);
    model.compile(Adam::new(0.01), losses::BinaryCrossentropy::new(), vec![]).unwrap();
    let err = model.fit(&x, &y, quiet()).unwrap_err().to_string();
    for needle in ["binary_crossentropy", "[40]", "[40, 2]", "2 values per sample", "Dense(1)", "sigmoid"] {
        assert!(err.contains(needle), "{needle:?} not in: {err}");
    }
    assert!(err.contains("SparseCategoricalCrossentropy"), "{err}");
    assert!(!err.contains("or [40]"), "the received shape is offered as acceptable: {err}");
}

/// 5. Singular and plural in messages.
#[test]
fn messages_count_in_the_singular_for_one() {
    let (x, y) = toy();
    let mut model = classifier(1, Activation::Linear);
    model.compile(Adam::new(0.01), losses::SparseCategoricalCrossentropy::from_logits(), vec![]).unwrap();
    let err = model.fit(&x, &y, quiet()).unwrap_err().to_string();
    assert!(err.contains("a model with 1 output") && !err.contains("1 outputs"), "{err}");
    assert!(err.contains("BinaryCrossentropy"), "{err}");

    let report = kensho::LoadReport { missing: vec!["0.bias".into()], ..Default::default() };
    assert_eq!(report.problems(), "missing 1 tensor: 0.bias");
}

/// 10. `?` on the errors a program meets beside kensho, in a function returning kensho's Result.
#[test]
fn question_mark_converts_std_and_json_errors() {
    fn first_number(path: &std::path::Path) -> kensho::Result<f32> {
        let text = std::fs::read_to_string(path)?;
        let settings: serde_json::Value = serde_json::from_str(&text)?;
        let epochs: usize = settings["epochs"].as_str().unwrap_or("x").parse()?;
        let rate: f32 = settings["rate"].as_str().unwrap_or("x").parse()?;
        Ok(rate * epochs as f32)
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.json");
    assert!(matches!(first_number(&path), Err(Error::Io { .. })));
    std::fs::write(&path, "{ not json").unwrap();
    assert!(first_number(&path).unwrap_err().to_string().starts_with("invalid JSON: "));
    std::fs::write(&path, r#"{"epochs": "ten", "rate": "0.1"}"#).unwrap();
    assert!(first_number(&path).unwrap_err().to_string().starts_with("could not parse an integer: "));
    std::fs::write(&path, r#"{"epochs": "10", "rate": "fast"}"#).unwrap();
    assert!(first_number(&path).unwrap_err().to_string().starts_with("could not parse a number: "));
    std::fs::write(&path, r#"{"epochs": "10", "rate": "0.5"}"#).unwrap();
    assert_eq!(first_number(&path).unwrap(), 5.0);
}

fn logs(name: &str, value: f32) -> Logs {
    let mut logs = Logs::new();
    logs.set(name, value);
    logs
}

/// Feeds `values` to `stop` as the epochs' figure; returns the epoch (0-based) it stopped at.
fn run(stop: &mut EarlyStopping, values: &[f32]) -> Option<usize> {
    let mut model = classifier(1, Activation::Sigmoid).into_model();
    model.compile(Adam::new(0.01), losses::BinaryCrossentropy::new(), vec![]).unwrap();
    stop.on_train_begin(&mut model).unwrap();
    (0..values.len())
        .find(|&e| stop.on_epoch_end(e, &logs("val_loss", values[e]), &mut model).unwrap() == Control::Stop)
}

/// 11. Keras' `baseline` and `start_from_epoch`.
#[test]
fn early_stopping_baseline_and_start_from_epoch_follow_keras() {
    // Improving, but never below the baseline 0.5: the patience runs out at a non-improving epoch.
    let mut stop = EarlyStopping::new("val_loss").baseline(0.5).patience(2);
    assert_eq!(run(&mut stop, &[0.9, 0.8, 0.85, 0.7, 0.6]), Some(2));
    assert_eq!(stop.best_epoch, Some(1));
    // Below the baseline, the patience restarts as without one.
    let mut stop = EarlyStopping::new("val_loss").baseline(0.5).patience(2);
    assert_eq!(run(&mut stop, &[0.4, 0.3, 0.35, 0.32, 0.31]), Some(3));
    // No watching before epoch 3 (0-based): the early plateau does not stop training.
    let mut stop = EarlyStopping::new("val_loss").start_from_epoch(3).patience(1);
    assert_eq!(run(&mut stop, &[0.5, 0.9, 0.9, 0.9, 0.8, 0.85, 0.86]), Some(5));
    assert_eq!(stop.best_epoch, Some(4));
}

/// A PyTorch `nn.Module` with attributes `fc1`, `fc2` (ReLU applied in `forward`), saved as
/// kensho's Sequential numbering `0.`, `2.` renamed to `fc1.`, `fc2.`; returns (path, model).
fn torch_module_file(dir: &std::path::Path) -> (std::path::PathBuf, Model) {
    let source = classifier(3, Activation::Linear).seed(11).into_model();
    let sequential = dir.join("sequential.safetensors");
    source.save_weights_with(&sequential, WeightsLayout::PyTorch).unwrap();
    let (tensors, _) = load_tensors(&sequential).unwrap();
    let renamed: Vec<(String, Tensor)> =
        tensors.into_iter().map(|(k, t)| (k.replacen("0.", "fc1.", 1).replacen("2.", "fc2.", 1), t)).collect();
    let path = dir.join("net.safetensors");
    save_tensors(&path, &renamed, None).unwrap();
    (path, source)
}

/// 14. Renaming a state_dict's keys, and no silent empty load.
#[test]
fn a_state_dict_with_other_module_names_loads_through_rename_rules() {
    let dir = tempfile::tempdir().unwrap();
    let (path, source) = torch_module_file(dir.path());
    let mut model = classifier(3, Activation::Linear).seed(5).into_model();
    let before = model.get_weights()[0].to_vec();
    let torch = LoadOptions::default().layout(WeightsLayout::PyTorch);

    // Strict: the mismatch lists both sides and suggests the rules.
    let err = model.load_weights_with(&path, torch.clone()).unwrap_err().to_string();
    assert!(err.contains(r#".rename("fc1.", "0.").rename("fc2.", "2.")"#), "{err}");
    // Not strict: loading nothing is an error, not an empty report.
    let err = model.load_weights_with(&path, torch.clone().strict(false)).unwrap_err().to_string();
    for needle in ["net.safetensors", "strict: false", "no tensor can be loaded", "fc1.weight", "0.weight", "rename"] {
        assert!(err.contains(needle), "{needle:?} not in: {err}");
    }
    assert_eq!(model.get_weights()[0].to_vec(), before, "a failed load changes nothing");

    let report = model.load_weights_with(&path, torch.clone().rename("fc1.", "0.").rename("fc2.", "2.")).unwrap();
    assert_eq!(report.loaded, ["0.weight", "0.bias", "2.weight", "2.bias"]);
    for (a, b) in model.get_weights().iter().zip(source.get_weights()) {
        assert_eq!(a.to_vec(), b.to_vec());
    }

    // Rules that give two keys one name are refused.
    let err = model.load_weights_with(&path, torch.rename("fc1.", "0.").rename("fc2.", "0.")).unwrap_err().to_string();
    assert!(err.contains("\"fc1.") && err.contains("\"fc2.") && err.contains(" as \"0."), "{err}");
}

/// 14. A non-strict load whose every matching key has another shape loads nothing: an error.
#[test]
fn a_non_strict_load_of_only_mismatched_shapes_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.safetensors");
    Sequential::new().add(Input::new(&[6])).add(Dense::new(5)).save_weights(&path).unwrap();
    let mut model = Sequential::new().add(Input::new(&[4])).add(Dense::new(3)).into_model();
    let err = model.load_weights_with(&path, LoadOptions::default().strict(false)).unwrap_err().to_string();
    assert!(err.contains("another shape") && err.contains("same architecture"), "{err}");
}
