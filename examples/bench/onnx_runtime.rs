//! Workload O of the benchmark harness (issue 20): the W2 MLP and the W3 convnet exported to ONNX
//! and run by ONNX Runtime, beside kensho's own `predict_batched`, at batch 128, in one run.
//!
//! Each model is exported with its synthetic inputs (those of workload Q) and kensho's predictions
//! of them to a temporary directory; each repetition times kensho, then runs
//! `scripts/bench_onnx_runtime.py` once (`--reps 1`) under `KENSHO_PYTHON` (or `python3`), so the
//! two alternate and see the same machine state.

use super::{emit, predict_rate, predict_workloads};
use kensho::data::npy::write_npy;
use kensho::prelude::*;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

/// The batch size of every figure of workload O.
const BATCH: usize = 128;

/// What one run of the ONNX Runtime script reported.
struct RuntimeFigure {
    samples_per_s: f64,
    max_abs_diff: f64,
    version: String,
}

/// Runs workload O: per model, `predict_samples_per_s_kensho`, `predict_samples_per_s_onnxruntime`
/// (with ONNX Runtime's version and the largest difference of its outputs from kensho's) and
/// `onnxruntime_vs_kensho_percent`, each repetition's ratio.
pub fn o(threads: usize, reps: usize) -> Result<()> {
    let dir = tempfile::tempdir().map_err(|e| Error::io("a temporary directory for workload O", e))?;
    for (name, model, x) in predict_workloads()? {
        let files = dir.path().join(name);
        std::fs::create_dir_all(&files).map_err(|e| Error::io(&files, e))?;
        let (onnx, inputs, expected) = (files.join("model.onnx"), files.join("inputs.npy"), files.join("expected.npy"));
        model.export_onnx(&onnx)?;
        write_npy(&inputs, &x)?;
        write_npy(&expected, &model.predict_batched(&x, BATCH)?)?;

        let (mut kensho, mut runtime, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        let (mut max_abs_diff, mut version) = (0.0f64, String::new());
        for _ in 0..reps {
            let k = predict_rate(|x| model.predict_batched(x, BATCH), &x)?;
            let r = run_onnx_runtime(&onnx, &inputs, &expected, threads)?;
            kensho.push(k);
            runtime.push(r.samples_per_s);
            ratios.push(r.samples_per_s / k * 100.0);
            max_abs_diff = max_abs_diff.max(r.max_abs_diff);
            version = r.version;
        }
        let extra = [("model", json!(name)), ("batch", json!(BATCH))];
        emit("O", threads, "predict_samples_per_s_kensho", &kensho, &extra);
        let runtime_extra = [
            extra[0].clone(),
            extra[1].clone(),
            ("onnxruntime", json!(version)),
            ("max_abs_diff", json!(max_abs_diff)),
        ];
        emit("O", threads, "predict_samples_per_s_onnxruntime", &runtime, &runtime_extra);
        emit("O", threads, "onnxruntime_vs_kensho_percent", &ratios, &extra);
    }
    Ok(())
}

/// One repetition of `scripts/bench_onnx_runtime.py` on `onnx` with `threads` intra-op threads.
fn run_onnx_runtime(onnx: &Path, inputs: &Path, expected: &Path, threads: usize) -> Result<RuntimeFigure> {
    let python = std::env::var_os("KENSHO_PYTHON").unwrap_or_else(|| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench_onnx_runtime.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(onnx)
        .arg(inputs)
        .args(["--batch", &BATCH.to_string(), "--reps", "1", "--threads", &threads.to_string()])
        .arg("--expected")
        .arg(expected)
        .output()
        .map_err(|e| Error::io(&python, e))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Error::invalid(
            format!("{} (workload O, under {})", script.display(), python.to_string_lossy()),
            format!("{} with {stdout}{stderr}", output.status),
            "exit status 0 (set KENSHO_PYTHON to a python with onnxruntime and numpy)",
        ));
    }
    let line: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .map_err(|e| Error::parse(&script, format!("its output {stdout:?} is not one JSON line: {e}")))?;
    let number = |key: &str| {
        line[key].as_f64().ok_or_else(|| Error::parse(&script, format!("no number {key:?} in its output {stdout:?}")))
    };
    Ok(RuntimeFigure {
        samples_per_s: number("value")?,
        max_abs_diff: number("max_abs_diff")?,
        version: line["version"].as_str().unwrap_or("unknown").to_string(),
    })
}
