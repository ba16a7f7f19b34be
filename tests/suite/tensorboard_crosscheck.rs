//! Cross-check with TensorBoard's own readers: scripts/crosscheck_tensorboard.py loads the event
//! files of a small `fit` with the `tensorboard` package and compares tags and values with what
//! this test knows was logged (from the `History` and the batch losses, not from the files).
//! Runs when `KENSHO_PYTHON` names a python with `tensorboard` installed; otherwise prints a
//! note and passes.

use super::tensorboard::tiny_fit;
use kensho::prelude::*;
use serde_json::{json, Value};
use std::process::Command;

fn series(points: impl IntoIterator<Item = (i64, f32)>) -> Value {
    points.into_iter().map(|(step, v)| json!([step, v as f64])).collect()
}

#[test]
fn tensorboard_reads_what_kensho_logged() {
    let Some(python) = std::env::var_os("KENSHO_PYTHON") else {
        eprintln!("note: KENSHO_PYTHON is not set; skipping the TensorBoard cross-check");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let board = TensorBoard::new(&logs).histogram_freq(2).update_freq(UpdateFreq::Batches(5));
    let (model, history, batch_losses) = tiny_fit(&logs, board);

    let per_epoch = |name: &str| series(history.get(name).unwrap().iter().enumerate().map(|(e, &v)| (e as i64, v)));
    let per_iteration =
        |name: &str| series(history.get(name).unwrap().iter().enumerate().map(|(e, &v)| (4 * (e as i64 + 1), v)));
    let weights = ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"];
    let kernel = model.weights().into_iter().find(|p| p.name() == "dense.kernel").unwrap().value.to_vec();
    let expected = json!({
        "runs": {
            "train": {
                "scalars": {
                    "batch_loss": series([(5, batch_losses[4]), (10, batch_losses[9])]),
                    "epoch_loss": per_epoch("loss"),
                    "epoch_binary_accuracy": per_epoch("binary_accuracy"),
                    "epoch_learning_rate": series((0..3).map(|e| (e, 0.02))),
                },
                "histograms": weights.iter().map(|w| format!("{w}/histogram")).collect::<Vec<_>>(),
                "text": ["model_summary"],
            },
            "validation": {
                "scalars": {
                    "epoch_loss": per_epoch("val_loss"),
                    "epoch_binary_accuracy": per_epoch("val_binary_accuracy"),
                    "evaluation_loss_vs_iterations": per_iteration("val_loss"),
                    "evaluation_binary_accuracy_vs_iterations": per_iteration("val_binary_accuracy"),
                },
                "histograms": [],
                "text": [],
            },
        },
        "kernel": {
            "tag": "dense/kernel/histogram",
            "step": 2,
            "values": kernel.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        },
    });
    std::fs::write(dir.path().join("expected.json"), expected.to_string()).unwrap();

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/crosscheck_tensorboard.py");
    let out = Command::new(python).arg(script).arg(dir.path()).output().expect("running python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "the TensorBoard cross-check failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("tensorboard cross-check passed"), "{stdout}");
}
