//! Post-training int8 quantization: each quantized layer's output against the float one within
//! the error bound its scales allow, a trained model's accuracy kept, the quantized file
//! (smaller, read back identically, refused when damaged), calibration and bad input.

use crate::digits::{mlp, standardised_digits};
use kensho::prelude::*;
use kensho::quantization::{load_quantized_model, quantize, quantize_with, Calibration, QuantizeOptions};

/// Values in `[-2, 3)`, not symmetric, so the input's zero point is not 0.
fn inputs(shape: &[usize], seed: u64) -> Tensor {
    Tensor::rand_uniform(shape, -2.0, 3.0, &mut kensho::core::seeded_rng(seed))
}

fn abs(t: &Tensor) -> Tensor {
    Tensor::from_vec(t.to_vec().iter().map(|v| v.abs()).collect(), t.shape()).unwrap()
}

/// The worst-case error of `x · W` in int8: with `x̂ = s_x (q - z)` and `ŵ = s_j q_w` the
/// rounded values (`|x - x̂| <= s_x / 2`, `|w - ŵ| <= s_j / 2`),
/// `|Σ x w - Σ x̂ ŵ| <= Σ_k (|x_k| s_j / 2 + |w_kj| s_x / 2 + 3/4 s_x s_j)`.
/// `abs_x_sums[r, j]` is `Σ_k |x_k|` over the values output `(r, j)` reads, `abs_w_sums[j]`
/// is `Σ_k |w_kj|`, and `k` the number of products per output.
fn within_bound(
    float: &Tensor,
    int8: &Tensor,
    abs_x_sums: &Tensor,
    abs_w_sums: &[f32],
    s_x: f32,
    s_w: &[f32],
    k: usize,
) {
    let n = s_w.len();
    let (float, int8, sums) = (float.to_vec(), int8.to_vec(), abs_x_sums.to_vec());
    let mut worst = 0.0f32;
    for i in 0..float.len() {
        let j = i % n;
        let bound = sums[i] * s_w[j] / 2.0 + abs_w_sums[j] * s_x / 2.0 + 0.75 * k as f32 * s_x * s_w[j];
        let error = (float[i] - int8[i]).abs();
        assert!(error <= bound * 1.001 + 1e-5, "output {i}: |{} - {}| = {error} > bound {bound}", float[i], int8[i]);
        worst = worst.max(error / bound);
    }
    // The int8 path ran (the outputs differ) and the bound is not vacuous.
    assert!(worst > 0.0 && float != int8);
}

#[test]
fn a_dense_layer_is_within_the_bound_of_its_scales() {
    let x = inputs(&[50, 20], 1);
    let model = Sequential::new().add(Input::new(&[20])).add(Dense::new(7)).into_model();
    let q = quantize(&model, &x).unwrap();
    let input = q.input_quantization("dense").unwrap();
    assert!(input.zero_point > 0 && input.zero_point < 255, "{input:?}");
    let s_w = q.kernel_scales("dense").unwrap();
    let kernel = &model.layer("dense").unwrap().params()[0].value;
    let abs_w_sums = abs(kernel).sum_axes(&[0], false).to_vec();
    let abs_x_sums = abs(&x).sum_axes(&[1], true).broadcast_to(&[50, 7]);
    let (float, int8) = (model.predict(&x).unwrap(), q.predict(&x).unwrap());
    within_bound(&float, &int8, &abs_x_sums, &abs_w_sums, input.scale, s_w, 20);
    // The scales follow their definitions: max |w| / 127 per column, the input's range / 255.
    for (j, s) in s_w.iter().enumerate() {
        let max = (0..20).map(|p| kernel.to_vec()[p * 7 + j].abs()).fold(0.0, f32::max);
        assert!((s - max / 127.0).abs() <= 1e-7 * max, "column {j}");
    }
    let (lo, hi) = x.to_vec().iter().fold((0.0f32, 0.0f32), |(a, b), &v| (a.min(v), b.max(v)));
    assert!((input.scale - (hi - lo) / 255.0).abs() < 1e-6);
}

#[test]
fn a_convolution_is_within_the_bound_of_its_scales() {
    let x = inputs(&[6, 9, 8, 3], 2);
    for padding in [Padding::Valid, Padding::Same] {
        let conv = Conv2d::new(5, [3, 3]).padding(padding).strides([2, 1]);
        let model = Sequential::new().add(Input::new(&[9, 8, 3])).add(conv).into_model();
        let q = quantize(&model, &x).unwrap();
        let input = q.input_quantization("conv2d").unwrap();
        let s_w = q.kernel_scales("conv2d").unwrap();
        let kernel = &model.layer("conv2d").unwrap().params()[0].value;
        let abs_w_sums = abs(kernel).sum_axes(&[0, 1, 2], false).to_vec();
        // Σ|x| over each output's window: the same convolution of |x| with a kernel of ones.
        let mut ones = Sequential::new()
            .add(Input::new(&[9, 8, 3]))
            .add(Conv2d::new(5, [3, 3]).padding(padding).strides([2, 1]).use_bias(false))
            .into_model();
        ones.set_weights(&[Tensor::ones(&[3, 3, 3, 5])]).unwrap();
        let abs_x_sums = ones.predict(&abs(&x)).unwrap();
        let (float, int8) = (model.predict(&x).unwrap(), q.predict(&x).unwrap());
        assert_eq!(float.shape(), int8.shape());
        within_bound(&float, &int8, &abs_x_sums, &abs_w_sums, input.scale, s_w, 27);
    }
}

#[test]
fn a_trained_classifier_keeps_its_accuracy_and_reads_back_identically() {
    let (x_train, x_test, y_train, y_test) = standardised_digits();
    let mut model = mlp(3, 64, 10);
    let metrics: Vec<Box<dyn kensho::metrics::Metric>> = vec![Box::new(kensho::metrics::Accuracy::new())];
    model.compile(Adam::new(0.01), losses::SparseCategoricalCrossentropy::from_logits(), metrics).unwrap();
    model.fit(&x_train, &y_train, FitOptions { epochs: 15, batch_size: 32, verbose: 0, ..Default::default() }).unwrap();
    let q = quantize(&model, x_train.slice_axis(0, 0, 500)).unwrap();
    let float = model.evaluate(&x_test, &y_test).unwrap().get("accuracy").unwrap();
    let int8 = q.evaluate(&x_test, &y_test).unwrap().get("accuracy").unwrap();
    assert!(float > 0.93, "{float}");
    assert!((float - int8).abs() <= 0.01, "float {float}, int8 {int8}");

    let dir = tempfile::tempdir().unwrap();
    let int8_path = dir.path().join("int8.safetensors");
    q.save(&int8_path).unwrap();
    let loaded = load_quantized_model(&int8_path).unwrap();
    assert_eq!(loaded.quantized_layers(), q.quantized_layers());
    assert_eq!(loaded.predict(&x_test).unwrap().to_vec(), q.predict(&x_test).unwrap().to_vec());
    assert_eq!(loaded.evaluate(&x_test, &y_test).unwrap().get("accuracy").unwrap(), int8);
}

#[test]
fn the_file_of_an_mlp_is_over_three_and_a_half_times_smaller() {
    // W2's shape: 784-256-128-10, 235,146 weights (untrained: the sizes do not depend on them).
    let model = Sequential::new()
        .add(Input::new(&[784]))
        .add(Dense::new(256).activation(Activation::Relu))
        .add(Dense::new(128).activation(Activation::Relu))
        .add(Dense::new(10).activation(Activation::Softmax))
        .into_model();
    let q = quantize(&model, inputs(&[16, 784], 8)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (float_path, int8_path) = (dir.path().join("float.safetensors"), dir.path().join("int8.safetensors"));
    model.save(&float_path).unwrap();
    q.save(&int8_path).unwrap();
    let size = |p: &std::path::Path| std::fs::metadata(p).unwrap().len();
    let (float, int8) = (size(&float_path), size(&int8_path));
    // A byte per kernel value, four per bias and kernel scale (394 channels each), the
    // per-layer input scale and zero point, and the JSON header.
    assert!((234_752 + 8 * 394..234_752 + 8 * 394 + 8_192).contains(&int8), "{int8}");
    assert!(float as f64 / int8 as f64 > 3.5, "{float} / {int8}");
}

#[test]
fn a_convnet_with_pooling_and_softmax_round_trips_through_its_file() {
    let x = inputs(&[20, 10, 10, 2], 4);
    let model = Sequential::new()
        .add(Input::new(&[10, 10, 2]))
        .add(Conv2d::new(4, [3, 3]).activation(Activation::Relu).padding(Padding::Same))
        .add(MaxPooling2d::new([2, 2]))
        .add(Conv2d::new(6, [2, 2]).activation(Activation::Relu).use_bias(false))
        .add(Flatten::new())
        .add(Dense::new(3).activation(Activation::Softmax))
        .into_model();
    let q = quantize(&model, &x).unwrap();
    assert_eq!(q.quantized_layers(), ["conv2d", "conv2d_1", "dense"]);
    let summary = q.summary();
    // 3x3x2x4, 2x2x4x6 (no bias), and 4x4x6 inputs to 3 units.
    assert!(summary.contains("   conv2d: 72 int8 values, 4 scales, 4 biases\n"), "{summary}");
    assert!(summary.contains("   conv2d_1: 96 int8 values, 6 scales, 0 biases\n"), "{summary}");
    assert!(summary.contains("   dense: 288 int8 values, 3 scales, 3 biases\n"), "{summary}");
    // int8: 456 values + 4 x (scales, biases and 2 per layer: 10 + 8 + 8); f32: 463 weights.
    assert!(
        summary.contains("Weights: 0.55 KB (int8 layers) + 0.00 KB (f32 layers), against 1.81 KB all in f32"),
        "{summary}"
    );
    let (float, int8) = (model.predict(&x).unwrap(), q.predict(&x).unwrap());
    let worst = float.to_vec().iter().zip(int8.to_vec()).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(worst < 0.02, "{worst}");
    // Softmax still applies after the int8 layer: each row sums to 1.
    for row in int8.to_vec().chunks(3) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.safetensors");
    q.save(&path).unwrap();
    let loaded = load_quantized_model(&path).unwrap();
    assert_eq!(loaded.predict(&x).unwrap().to_vec(), int8.to_vec());
    assert_eq!(loaded.input_quantization("conv2d_1"), q.input_quantization("conv2d_1"));
}

#[test]
fn percentile_calibration_ignores_an_outlier() {
    let mut values = inputs(&[400, 4], 5).to_vec();
    values[0] = 1000.0;
    let x = Tensor::from_vec(values, &[400, 4]).unwrap();
    let model = Sequential::new().add(Input::new(&[4])).add(Dense::new(2)).into_model();
    let min_max = quantize(&model, &x).unwrap().input_quantization("dense").unwrap();
    // 1,600 values: the 0.5 % tail at each end of the central 99 % is 8 of them.
    let options = QuantizeOptions { calibration: Calibration::Percentile(99.0), ..Default::default() };
    let percentile = quantize_with(&model, &x, options).unwrap().input_quantization("dense").unwrap();
    assert!(min_max.scale > 1000.0 / 256.0, "{min_max:?}");
    // The central 99 % lies in [-2, 3), give or take a histogram bin of 1002 / 2048 at each end.
    assert!(percentile.scale > 4.0 / 255.0 && percentile.scale < 6.0 / 255.0, "{percentile:?}");
}

#[test]
fn only_the_layers_named_are_quantized_and_bad_requests_are_refused() {
    let x = inputs(&[10, 4], 6);
    let model = Sequential::new()
        .add(Input::new(&[4]))
        .add(Dense::new(3).activation(Activation::Relu))
        .add(Dropout::new(0.5))
        .add(Dense::new(2))
        .into_model();
    let options = QuantizeOptions { layers: Some(vec!["dense_1".into()]), ..Default::default() };
    assert_eq!(quantize_with(&model, &x, options).unwrap().quantized_layers(), ["dense_1"]);
    let err = |options: QuantizeOptions| quantize_with(&model, &x, options).unwrap_err().to_string();
    assert!(err(QuantizeOptions { layers: Some(vec!["dropout".into()]), ..Default::default() }).contains("Dropout"));
    assert!(err(QuantizeOptions { layers: Some(vec!["nope".into()]), ..Default::default() }).contains("nope"));
    let bad = QuantizeOptions { calibration: Calibration::Percentile(30.0), ..Default::default() };
    assert!(err(bad).contains("Percentile"));
    let e = quantize(&model, inputs(&[10, 5], 0)).unwrap_err().to_string();
    assert!(e.contains("calibration_data"), "{e}");
    let unbuilt = Sequential::new().add(Dense::new(2)).into_model();
    assert!(quantize(&unbuilt, &x).unwrap_err().to_string().contains("not built"));
    let no_dense = Sequential::new().add(Input::new(&[4])).add(Flatten::new()).into_model();
    assert!(quantize(&no_dense, &x).unwrap_err().to_string().contains("no Dense or Conv2D"));
    // An uncompiled model's quantized form evaluates once given a loss.
    let mut q = quantize(&model, &x).unwrap();
    let y = Tensor::zeros(&[10, 2]);
    assert!(q.evaluate(&x, &y).unwrap_err().to_string().contains("compile"));
    q.compile(losses::MeanSquaredError, vec![]).unwrap();
    let mse = q.evaluate(&x, &y).unwrap().get("loss").unwrap();
    let expected = q.predict(&x).unwrap().to_vec().iter().map(|v| v * v).sum::<f32>() / 20.0;
    assert!((mse - expected).abs() < 1e-5 * expected.max(1.0));
}

#[test]
fn damaged_or_wrong_files_are_refused_naming_the_file() {
    let x = inputs(&[10, 4], 7);
    let mut model = Sequential::new().add(Input::new(&[4])).add(Dense::new(3)).into_model();
    let q = quantize(&model, &x).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.safetensors");
    q.save(&path).unwrap();
    // A float model file is not a quantized one, and the reverse.
    let float_path = dir.path().join("float.safetensors");
    model.compile(Sgd::new(0.1), losses::MeanSquaredError, vec![]).unwrap();
    model.save(&float_path).unwrap();
    let e = load_quantized_model(&float_path).unwrap_err().to_string();
    assert!(e.contains("float.safetensors") && e.contains("load_model"), "{e}");
    assert!(kensho::load_model(&path).unwrap_err().to_string().contains("q.safetensors"));
    // A kernel value beyond int8, a zero point beyond u8, a missing scale.
    let (tensors, metadata) = kensho::checkpoint::load_tensors(&path).unwrap();
    let damaged = |name: &str, change: &dyn Fn(&Tensor) -> Option<Tensor>| {
        let tensors: Vec<(String, Tensor)> = tensors
            .iter()
            .filter_map(
                |(n, t)| if n == name { change(t).map(|t| (n.clone(), t)) } else { Some((n.clone(), t.clone())) },
            )
            .collect();
        let bad = dir.path().join("bad.safetensors");
        kensho::checkpoint::save_tensors(&bad, &tensors, Some(metadata.clone())).unwrap();
        load_quantized_model(&bad).unwrap_err().to_string()
    };
    let e = damaged("dense.kernel", &|t| Some(t.add_scalar(300.0)));
    assert!(e.contains("bad.safetensors") && e.contains("int8"), "{e}");
    let e = damaged("dense.input_zero_point", &|_| Some(Tensor::scalar(300.0)));
    assert!(e.contains("zero point"), "{e}");
    let e = damaged("dense.kernel_scale", &|_| None);
    assert!(e.contains("dense.kernel_scale") && e.contains("missing"), "{e}");
    let e = damaged("dense.kernel_scale", &|t| Some(t.mul_scalar(-1.0)));
    assert!(e.contains("kernel_scale"), "{e}");
}
