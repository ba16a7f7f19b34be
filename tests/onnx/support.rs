//! Shared helpers of the ONNX tests: [`assert_runtime_matches`] runs an exported model in ONNX
//! Runtime (through scripts/check_onnx.py) and compares it with kensho's `predict`;
//! [`exported`] and [`op_types`] decode the written graph for structure tests without Python.

use kensho::data::npy::write_npy;
use kensho::onnx::proto::{GraphProto, ModelProto};
use kensho::{Model, Tensor};
use prost::Message;
use std::path::Path;
use std::process::Command;

/// The model as exported, decoded again.
pub fn exported(model: &Model) -> ModelProto {
    let bytes = model.export_onnx_bytes().expect("the model exports");
    ModelProto::decode(bytes.as_slice()).expect("the exported bytes decode as a ModelProto")
}

/// The exported graph.
pub fn graph(model: &Model) -> GraphProto {
    exported(model).graph.expect("the model has a graph")
}

/// The op types of the exported graph's nodes, in order.
pub fn op_types(model: &Model) -> Vec<String> {
    graph(model).node.into_iter().map(|n| n.op_type).collect()
}

/// Random inputs for `model`, one case per batch size: a uniform tensor in [-2, 2) per input,
/// of shape `[batch, input shape..]`.
pub fn random_inputs(model: &Model, batch_sizes: &[usize], seed: u64) -> Vec<Vec<Tensor>> {
    let mut rng = kensho::core::seeded_rng(seed);
    let shapes = model.input_shapes().expect("a built model").to_vec();
    batch_sizes
        .iter()
        .map(|&b| {
            shapes
                .iter()
                .map(|s| {
                    let dims: Vec<usize> =
                        std::iter::once(b).chain(s.dims().iter().map(|d| d.expect("known input dims"))).collect();
                    Tensor::rand_uniform(&dims, -2.0, 2.0, &mut rng)
                })
                .collect()
        })
        .collect()
}

/// Exports `model`, then for each case of `inputs` (one tensor per model input) writes the
/// inputs and kensho's predictions as .npy files and runs scripts/check_onnx.py on them: the
/// full ONNX checker, then ONNX Runtime's outputs compared with kensho's to 1e-5 (max abs
/// diff). Runs when `KENSHO_PYTHON` is set; otherwise prints a note and returns.
///
/// # Panics
/// If the export, the checker or the comparison fails (with the script's output).
pub fn assert_runtime_matches(model: &Model, inputs: &[Vec<Tensor>]) {
    assert_runtime_matches_within(model, inputs, 1e-5, 0.0);
}

/// [`assert_runtime_matches`] with an absolute tolerance `atol` and a relative one `rtol`
/// (for outputs with large values only: say why where it is used).
pub fn assert_runtime_matches_within(model: &Model, inputs: &[Vec<Tensor>], atol: f64, rtol: f64) {
    let bytes = model.export_onnx_bytes().expect("the model exports");
    let Some(python) = std::env::var_os("KENSHO_PYTHON") else {
        eprintln!("note: KENSHO_PYTHON is not set; skipping the ONNX Runtime check of {}", model.name());
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let onnx = dir.path().join("model.onnx");
    std::fs::write(&onnx, bytes).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check_onnx.py");
    for (case, x) in inputs.iter().enumerate() {
        let batch = x[0].shape()[0];
        let predicted = model.predict_many(x.clone(), batch.max(1)).expect("kensho predicts");
        let write = |kind: &str, tensors: &[Tensor]| -> Vec<String> {
            tensors
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let path = dir.path().join(format!("case{case}_{kind}{i}.npy"));
                    write_npy(&path, t).unwrap();
                    path.to_string_lossy().into_owned()
                })
                .collect()
        };
        let (input_files, expected_files) = (write("input", x), write("expected", &predicted));
        let output = Command::new(&python)
            .arg(&script)
            .arg(&onnx)
            .arg("--inputs")
            .args(&input_files)
            .arg("--expected")
            .args(&expected_files)
            .args(["--atol", &atol.to_string(), "--rtol", &rtol.to_string()])
            .output()
            .expect("KENSHO_PYTHON runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        println!("{} (batch {batch}):\n{stdout}{stderr}", model.name());
        assert!(output.status.success(), "ONNX check of {} failed (batch {batch}):\n{stdout}\n{stderr}", model.name());
    }
}

/// Gives every weight of `model` random values (uniform in [-0.5, 0.5), variances in
/// [0.5, 1.5)), so that biases and batch statistics are not their trivial initial values.
pub fn randomize_weights(model: &mut Model, seed: u64) {
    let mut rng = kensho::core::seeded_rng(seed);
    let values: Vec<Tensor> = model
        .weights()
        .iter()
        .map(|p| match p.name().ends_with("moving_variance") {
            true => Tensor::rand_uniform(p.value.shape(), 0.5, 1.5, &mut rng),
            false => Tensor::rand_uniform(p.value.shape(), -0.5, 0.5, &mut rng),
        })
        .collect();
    model.set_weights(&values).expect("weights of the same shapes");
}

/// Builds `model`, randomizes its weights and checks it in ONNX Runtime at batch sizes 1 and
/// 5 (see [`assert_runtime_matches`]).
pub fn check_model(mut model: Model, seed: u64) -> Model {
    model.build_model().expect("the model builds");
    randomize_weights(&mut model, seed);
    let inputs = random_inputs(&model, &[1, 5], seed + 1);
    assert_runtime_matches(&model, &inputs);
    model
}

/// `x` (`[batch, time, ..]`) with the steps where `real(sample, step)` is false set to zero,
/// the padding a `Masking(0.0)` layer then marks.
pub fn zero_steps(x: &Tensor, real: impl Fn(usize, usize) -> bool) -> Tensor {
    let shape = x.shape();
    let per_step: usize = shape[2..].iter().product();
    let values = x.to_vec();
    Tensor::from_fn(shape, |i| {
        let flat =
            (i[0] * shape[1] + i[1]) * per_step + i[2..].iter().zip(&shape[2..]).fold(0, |f, (&k, &d)| f * d + k);
        if real(i[0], i[1]) {
            values[flat]
        } else {
            0.0
        }
    })
}
