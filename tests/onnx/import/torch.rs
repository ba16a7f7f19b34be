//! ONNX import of PyTorch's exports: a tiny MLP and tiny convnets (tests/data/onnx, made by
//! scripts/make_torch_onnx_fixtures.py with both of PyTorch's exporters) compared with
//! PyTorch's outputs on channels_last inputs, and fine-tuned in kensho.

use super::{kinds, max_abs_diff};
use kensho::data::npy::read_npy;
use kensho::onnx::import_onnx;
use kensho::prelude::*;
use std::path::PathBuf;

/// The fixture `name` (`.onnx`, input `.x.npy` and PyTorch's output `.y.npy`) in tests/data/onnx.
pub(super) fn fixture(name: &str) -> (PathBuf, Tensor, Tensor) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/onnx");
    let npy = |suffix: &str| read_npy(dir.join(format!("{name}.{suffix}.npy"))).unwrap();
    (dir.join(format!("{name}.onnx")), npy("x"), npy("y"))
}

/// Checks `model` on `x` against PyTorch's `y`, at the whole batch and at batch size 1.
fn assert_matches_torch(model: &Model, x: &Tensor, y: &Tensor) {
    let diff = max_abs_diff(&model.predict(x).unwrap(), y);
    println!("{}: batch {}, max abs diff to PyTorch {diff:e}", model.name(), x.shape()[0]);
    assert!(diff <= 1e-5, "max abs diff to PyTorch {diff}");
    let one = model.predict(&x.slice_axis(0, 2, 3)).unwrap();
    assert!(max_abs_diff(&one, &y.slice_axis(0, 2, 3)) <= 1e-5);
}

#[test]
fn import_of_a_pytorch_mlp_matches_pytorch() {
    let (path, x, y) = fixture("torch_mlp");
    let model = import_onnx(path).unwrap();
    assert_eq!(kinds(&model), ["InputLayer", "Dense", "Dense"]);
    assert_eq!((model.input_names(), model.output_names()), (vec!["x".to_string()], vec!["y".to_string()]));
    assert_matches_torch(&model, &x, &y);
}

#[test]
fn import_of_a_pytorch_convnet_takes_channels_last_inputs_and_matches_pytorch() {
    // Written by the TorchScript exporter and by the dynamo one (a Reshape for the Flatten).
    for name in ["torch_convnet", "torch_convnet_dynamo"] {
        let (path, x_nchw, y) = fixture(name);
        let model = import_onnx(path).unwrap();
        // Conv2d(padding=1) is Keras' same; Conv2d(stride 2, padding=1) is not, so it reads a
        // ZeroPadding2D.
        assert_eq!(
            kinds(&model),
            [
                "InputLayer",
                "Conv2D",
                "BatchNormalization",
                "MaxPooling2D",
                "ZeroPadding2D",
                "Conv2D",
                "Flatten",
                "Dense"
            ],
            "{name}"
        );
        assert_eq!(model.input_shape().unwrap().to_string(), "[8, 8, 2]");
        let x = x_nchw.permute(&[0, 2, 3, 1]).to_contiguous();
        assert_matches_torch(&model, &x, &y);
    }
}

#[test]
fn import_of_a_pytorch_convnet_with_global_pooling_matches_pytorch() {
    let (path, x_nchw, y) = fixture("torch_pooled");
    let model = import_onnx(path).unwrap();
    // PyTorch folds the BatchNorm after the second Conv into it; the Softmax over dim 1 is
    // the last Dense's activation.
    assert_eq!(
        kinds(&model),
        ["InputLayer", "Conv2D", "AveragePooling2D", "Conv2D", "GlobalAveragePooling2D", "Flatten", "Dense"]
    );
    let x = x_nchw.permute(&[0, 2, 3, 1]).to_contiguous();
    assert_matches_torch(&model, &x, &y);
}

#[test]
fn a_pytorch_convnet_fine_tunes_in_kensho() {
    let (path, x_nchw, y) = fixture("torch_convnet");
    let mut model = import_onnx(path).unwrap();
    let x = x_nchw.permute(&[0, 2, 3, 1]).to_contiguous();
    // Fit PyTorch's outputs shifted by one: the loss starts near 1 and must go down.
    let target = y.add_scalar(1.0);
    model.compile(Adam::new(0.01), losses::MeanSquaredError, vec![]).unwrap();
    let options = FitOptions { epochs: 20, batch_size: 5, verbose: 0, ..Default::default() };
    let loss = model.fit(&x, &target, options).unwrap().get("loss").unwrap().to_vec();
    assert!(loss[loss.len() - 1] < 0.5 * loss[0], "the loss did not go down enough: {loss:?}");
}
