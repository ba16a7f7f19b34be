//! Loss tests: per-sample values against references, gradient checks, the fused (stable)
//! softmax / sigmoid paths, `check()` errors and config round trips.
//!
//! Reference values were computed with Python's `math` module, e.g.
//! ```text
//! mse  = [mean((p-t)**2 for p,t in zip(P,T)) for P,T in rows]
//! huber(e,d) = 0.5*e*e if abs(e) <= d else d*(abs(e) - 0.5*d)        # then mean per row
//! bce(p,t)   = -(t*log(p) + (1-t)*log(1-p));  logits: p = 1/(1+exp(-z))  # mean per row
//! cce(p,t)   = -sum(t_i*log(p_i/sum(p)));     logits: p = softmax(z)
//! scce(p,l)  = -log(p[l]/sum(p))
//! ```

use kensho_autograd::{gradcheck, Tape};
use kensho_core::Tensor;
use kensho_layers::{
    Activation, BinaryCrossentropy, CategoricalCrossentropy, Huber, Loss, LossConfig, MeanAbsoluteError,
    MeanSquaredError, SparseCategoricalCrossentropy,
};

fn t(data: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(data.to_vec(), shape).unwrap()
}

/// The loss of each element of `output` (taken as the model's final output) against `y`:
/// one value per position of the output without its last axis.
fn per_sample(loss: &dyn Loss, output: &Tensor, y: &Tensor) -> Vec<f32> {
    let tape = Tape::new();
    let v = loss.per_element(tape.constant(output.clone()), y);
    let shape = output.shape();
    assert_eq!(v.shape(), shape[..shape.len() - 1].to_vec(), "one value per position");
    v.value().to_vec()
}

fn assert_close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{got:?} vs {want:?}");
    }
}

/// Gradient check of `loss.per_sample` with respect to the prediction.
fn gradcheck_loss(loss: &dyn Loss, output: &Tensor, y: &Tensor) {
    gradcheck(std::slice::from_ref(output), |v| loss.per_element(v[0], y))
        .unwrap_or_else(|e| panic!("{}: {e}", loss.name()));
}

// Regression data: errors p - t are [-0.5, -1, -0.5] and [2, -0.25, -0.5] (away from |e| = 0).
const REG_P: [f32; 6] = [0.5, -1.0, 2.0, 1.5, 0.0, -0.5];
const REG_T: [f32; 6] = [1.0, 0.0, 2.5, -0.5, 0.25, 0.0];
// Huber data: errors [0.3, -2.5, 3.0] and [1.2, -1.7, -3.5], none within 0.2 of delta 1 or 2.
const HUB_P: [f32; 6] = [0.3, -2.0, 4.0, 1.0, 0.0, -3.5];
const HUB_T: [f32; 6] = [0.0, 0.5, 1.0, -0.2, 1.7, 0.0];

// ---------------------------------------------------------------- regression losses

#[test]
fn mean_squared_error_per_sample() {
    let (p, y) = (t(&REG_P, &[2, 3]), t(&REG_T, &[2, 3]));
    assert_close(&per_sample(&MeanSquaredError, &p, &y), &[0.5, 1.4375], 1e-6);
    gradcheck_loss(&MeanSquaredError, &p, &y);
}

#[test]
fn mean_squared_error_accepts_flat_targets_for_one_output() {
    let p = t(&[1.0, 2.0, -1.0], &[3, 1]);
    assert_close(&per_sample(&MeanSquaredError, &p, &t(&[0.0, 4.0, 1.0], &[3])), &[1.0, 4.0, 4.0], 1e-6);
}

#[test]
fn mean_absolute_error_per_sample() {
    let (p, y) = (t(&REG_P, &[2, 3]), t(&REG_T, &[2, 3]));
    assert_close(&per_sample(&MeanAbsoluteError, &p, &y), &[0.666_666_7, 0.916_666_7], 1e-6);
    gradcheck_loss(&MeanAbsoluteError, &p, &y);
}

#[test]
fn huber_per_sample_with_delta_one_and_two() {
    let (p, y) = (t(&HUB_P, &[2, 3]), t(&HUB_T, &[2, 3]));
    assert_eq!(Huber::default(), Huber::new(1.0));
    assert_close(&per_sample(&Huber::new(1.0), &p, &y), &[1.515, 1.633_333_3], 1e-6);
    assert_close(&per_sample(&Huber::new(2.0), &p, &y), &[2.348_333_3, 2.388_333_3], 1e-6);
    gradcheck_loss(&Huber::new(1.0), &p, &y);
    gradcheck_loss(&Huber::new(2.0), &p, &y);
}

// ---------------------------------------------------------------- binary cross-entropy

#[test]
fn binary_crossentropy_on_probabilities() {
    let p = t(&[0.9, 0.2, 0.3, 0.6], &[2, 2]);
    let y = t(&[1.0, 0.0, 0.25, 1.0], &[2, 2]);
    let bce = BinaryCrossentropy::new();
    assert_close(&per_sample(&bce, &p, &y), &[0.164_252_03, 0.539_662_5], 1e-5);
    gradcheck_loss(&bce, &p, &y);
}

#[test]
fn binary_crossentropy_from_logits() {
    let z = t(&[2.0, -1.0, 0.5, -3.0], &[2, 2]);
    let y = t(&[1.0, 0.0, 0.25, 1.0], &[2, 2]);
    let bce = BinaryCrossentropy::from_logits();
    assert_close(&per_sample(&bce, &z, &y), &[0.220_094_85, 1.948_832_2], 1e-5);
    gradcheck_loss(&bce, &z, &y);
}

#[test]
fn binary_crossentropy_with_one_output_and_flat_labels() {
    // [n, 1] outputs against [n] labels: -log(0.8), -log(1 - 0.4).
    let p = t(&[0.8, 0.4], &[2, 1]);
    let got = per_sample(&BinaryCrossentropy::new(), &p, &t(&[1.0, 0.0], &[2]));
    assert_close(&got, &[-(0.8f32.ln()), -(0.6f32.ln())], 1e-6);
}

#[test]
fn binary_crossentropy_clips_raw_probabilities() {
    // p = 0 with t = 1 is clipped to 1e-7: loss -ln(1e-7) ≈ 16.118. p = 1 with t = 0 is clipped
    // to 1 - 1e-7, which rounds in f32 to 1 - 2^-23 (as in Keras' float32): loss ≈ 15.942.
    let got = per_sample(&BinaryCrossentropy::new(), &t(&[0.0, 1.0], &[2, 1]), &t(&[1.0, 0.0], &[2]));
    assert!(got.iter().all(|v| v.is_finite()), "{got:?}");
    let one_minus_hi = 1.0 - (1.0f32 - 1e-7);
    assert_close(&got, &[16.118_095, -one_minus_hi.ln()], 1e-5);
}

// ---------------------------------------------------------------- categorical cross-entropy

#[test]
fn categorical_crossentropy_on_probabilities() {
    // The third row is unnormalised ([2, 1, 1] → [0.5, 0.25, 0.25]) as Keras normalises it.
    let p = t(&[0.7, 0.2, 0.1, 0.1, 0.3, 0.6, 2.0, 1.0, 1.0], &[3, 3]);
    let y = t(&[1.0, 0.0, 0.0, 0.2, 0.3, 0.5, 0.0, 1.0, 0.0], &[3, 3]);
    let cce = CategoricalCrossentropy::new();
    assert_close(&per_sample(&cce, &p, &y), &[0.356_674_94, 1.077_121_7, 1.386_294_4], 1e-5);
    gradcheck_loss(&cce, &p, &y);
}

#[test]
fn categorical_crossentropy_from_logits() {
    let z = t(&[1.0, 2.0, 3.0, 0.5, -0.5, 0.0], &[2, 3]);
    let y = t(&[0.0, 0.0, 1.0, 0.2, 0.3, 0.5], &[2, 3]);
    let cce = CategoricalCrossentropy::from_logits();
    assert_close(&per_sample(&cce, &z, &y), &[0.407_605_96, 1.230_269_7], 1e-5);
    gradcheck_loss(&cce, &z, &y);
}

#[test]
fn sparse_categorical_crossentropy_on_probabilities() {
    let p = t(&[0.7, 0.2, 0.1, 0.1, 0.3, 0.6, 2.0, 1.0, 1.0], &[3, 3]);
    let want = [0.356_674_94, 0.510_825_6, 1.386_294_4];
    let scce = SparseCategoricalCrossentropy::new();
    for shape in [&[3][..], &[3, 1]] {
        let labels = t(&[0.0, 2.0, 1.0], shape);
        assert_close(&per_sample(&scce, &p, &labels), &want, 1e-5);
        scce.check(&[3, 3], &labels).unwrap();
        gradcheck_loss(&scce, &p, &labels);
    }
}

#[test]
fn sparse_categorical_crossentropy_from_logits() {
    let z = t(&[1.0, 2.0, 3.0, 0.5, -0.5, 0.0], &[2, 3]);
    let scce = SparseCategoricalCrossentropy::from_logits();
    for shape in [&[2][..], &[2, 1]] {
        let labels = t(&[2.0, 0.0], shape);
        assert_close(&per_sample(&scce, &z, &labels), &[0.407_605_96, 0.680_269_7], 1e-5);
        gradcheck_loss(&scce, &z, &labels);
    }
}

#[test]
fn sparse_equals_categorical_on_one_hot_labels() {
    let z = t(&[0.3, -1.2, 2.0, 0.7, 1.1, 0.0, -0.4, 0.9], &[2, 4]);
    let one_hot = t(&[0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0], &[2, 4]);
    let labels = t(&[2.0, 3.0], &[2]);
    for (sparse, dense) in [
        (SparseCategoricalCrossentropy::from_logits(), CategoricalCrossentropy::from_logits()),
        (SparseCategoricalCrossentropy::new(), CategoricalCrossentropy::new()),
    ] {
        let p = if dense.from_logits { z.clone() } else { z.softmax(1) };
        assert_close(&per_sample(&sparse, &p, &labels), &per_sample(&dense, &p, &one_hot), 1e-6);
    }
}

// ---------------------------------------------------------------- fused paths

/// Per-sample loss of the prediction `activation(z)`: the activation records `z` on the tape,
/// where the loss finds it.
fn fused(loss: &dyn Loss, z: &Tensor, activation: Activation, y: &Tensor) -> Vec<f32> {
    let tape = Tape::new();
    let zv = tape.constant(z.clone());
    loss.per_element(activation.apply(zv), y).value().to_vec()
}

#[test]
fn softmax_output_with_categorical_crossentropy_uses_the_logits() {
    let y = t(&[0.0, 0.0, 1.0, 0.2, 0.3, 0.5], &[2, 3]);
    let z = t(&[1.0, 2.0, 3.0, 0.5, -0.5, 0.0], &[2, 3]);
    let want = per_sample(&CategoricalCrossentropy::from_logits(), &z, &y);
    assert_close(&fused(&CategoricalCrossentropy::new(), &z, Activation::Softmax, &y), &want, 1e-6);

    // Confident and wrong: log-sum-exp = 1000, so the loss of class 2 is 1000 - (-1000) = 2000.
    let z = t(&[1000.0, 0.0, -1000.0], &[1, 3]);
    let y = t(&[0.0, 0.0, 1.0], &[1, 3]);
    let got = fused(&CategoricalCrossentropy::new(), &z, Activation::Softmax, &y);
    assert!(got[0].is_finite(), "{got:?}");
    assert_close(&got, &[2000.0], 1e-5);
    assert_close(&got, &per_sample(&CategoricalCrossentropy::from_logits(), &z, &y), 1e-6);
    // Without the fused path the probability would be clipped to 1e-7 (loss ≈ 16.1).
    let clipped = per_sample(&CategoricalCrossentropy::new(), &z.softmax(1), &y);
    assert!(clipped[0] < 20.0, "{clipped:?}");

    let labels = t(&[2.0], &[1]);
    let sparse = fused(&SparseCategoricalCrossentropy::new(), &z, Activation::Softmax, &labels);
    assert_close(&sparse, &[2000.0], 1e-5);
}

#[test]
fn sigmoid_output_with_binary_crossentropy_uses_the_logits() {
    let z = t(&[2.0, -1.0, 0.5, -3.0], &[2, 2]);
    let y = t(&[1.0, 0.0, 0.25, 1.0], &[2, 2]);
    let want = per_sample(&BinaryCrossentropy::from_logits(), &z, &y);
    assert_close(&fused(&BinaryCrossentropy::new(), &z, Activation::Sigmoid, &y), &want, 1e-6);

    // z = -1000 with t = 1 and z = 1000 with t = 0: each loss is 1000.
    let z = t(&[-1000.0, 1000.0], &[2, 1]);
    let y = t(&[1.0, 0.0], &[2]);
    let got = fused(&BinaryCrossentropy::new(), &z, Activation::Sigmoid, &y);
    assert!(got.iter().all(|v| v.is_finite()), "{got:?}");
    assert_close(&got, &[1000.0, 1000.0], 1e-5);
}

#[test]
fn fused_paths_have_finite_gradients_for_confident_wrong_predictions() {
    // d loss / dz = softmax(z) - onehot = [1, 0, -1].
    let tape = Tape::new();
    let z = tape.leaf(t(&[1000.0, 0.0, -1000.0], &[1, 3]));
    let loss = CategoricalCrossentropy::new().per_element(z.softmax(1), &t(&[0.0, 0.0, 1.0], &[1, 3]));
    let grads = tape.backward(loss.sum_all());
    assert_close(&grads.wrt(z).unwrap().to_vec(), &[1.0, 0.0, -1.0], 1e-6);
}

#[test]
fn fused_paths_pass_gradcheck() {
    let z = t(&[1.0, 2.0, 3.0, 0.5, -0.5, 0.0], &[2, 3]);
    let y = t(&[0.0, 0.0, 1.0, 0.2, 0.3, 0.5], &[2, 3]);
    gradcheck(std::slice::from_ref(&z), |v| CategoricalCrossentropy::new().per_element(v[0].softmax(1), &y)).unwrap();
    gradcheck(std::slice::from_ref(&z), |v| BinaryCrossentropy::new().per_element(v[0].sigmoid(), &y)).unwrap();
}

#[test]
fn a_mismatched_pre_activation_is_not_fused() {
    // A sigmoid output given to categorical cross-entropy is treated as probabilities.
    let z = t(&[1.0, -2.0, 0.5], &[1, 3]);
    let y = t(&[0.0, 1.0, 0.0], &[1, 3]);
    let want = per_sample(&CategoricalCrossentropy::new(), &z.sigmoid(), &y);
    assert_close(&fused(&CategoricalCrossentropy::new(), &z, Activation::Sigmoid, &y), &want, 1e-6);
    // And a softmax output given to binary cross-entropy likewise.
    let want = per_sample(&BinaryCrossentropy::new(), &z.softmax(1), &y);
    assert_close(&fused(&BinaryCrossentropy::new(), &z, Activation::Softmax, &y), &want, 1e-6);
}

// ---------------------------------------------------------------- check() errors

fn err(loss: &dyn Loss, output_shape: &[usize], y: &Tensor) -> String {
    loss.check(output_shape, y).unwrap_err().to_string()
}

#[test]
fn sparse_label_out_of_range_names_the_label_and_the_class_count() {
    let scce = SparseCategoricalCrossentropy::new();
    let msg = err(&scce, &[3, 4], &t(&[0.0, 7.0, 1.0], &[3]));
    assert!(msg.contains('7') && msg.contains('4'), "{msg}");
    assert!(scce.check(&[3, 4], &t(&[0.0, 3.0, 1.0], &[3])).is_ok());
    let msg = err(&scce, &[3, 4], &t(&[0.0, -1.0, 1.0], &[3]));
    assert!(msg.contains("-1"), "{msg}");
}

#[test]
fn sparse_rejects_non_integer_labels_and_wrong_lengths() {
    let scce = SparseCategoricalCrossentropy::from_logits();
    let msg = err(&scce, &[3, 4], &t(&[0.0, 1.5, 1.0], &[3]));
    assert!(msg.contains("1.5"), "{msg}");
    assert!(scce.check(&[3, 4], &t(&[0.0, f32::NAN, 1.0], &[3])).is_err());
    assert!(scce.check(&[3, 4], &t(&[0.0, 1.0], &[2])).is_err());
    assert!(scce.check(&[3, 4], &t(&[0.0, 1.0, 2.0, 3.0], &[4])).is_err());
    // One-hot targets are the wrong shape for the sparse loss.
    assert!(scce.check(&[2, 2], &t(&[1.0, 0.0, 0.0, 1.0], &[2, 2])).is_err());
    // And the output must be [batch, classes].
    assert!(scce.check(&[3], &t(&[0.0, 1.0, 2.0], &[3])).is_err());
}

#[test]
fn categorical_given_integer_labels_suggests_the_sparse_loss() {
    let cce = CategoricalCrossentropy::new();
    let msg = err(&cce, &[3, 4], &t(&[0.0, 2.0, 1.0], &[3]));
    assert!(msg.contains("SparseCategoricalCrossentropy"), "{msg}");
    assert!(cce.check(&[3, 4], &Tensor::zeros(&[3, 4])).is_ok());
    assert!(cce.check(&[3, 4], &Tensor::zeros(&[3, 3])).is_err());
    assert!(cce.check(&[1, 2], &t(&[f32::INFINITY, 0.0], &[1, 2])).is_err());
}

#[test]
fn binary_targets_outside_zero_one_are_rejected() {
    let bce = BinaryCrossentropy::from_logits();
    for bad in [1.5, -0.5] {
        let msg = err(&bce, &[2, 1], &t(&[0.0, bad], &[2]));
        assert!(msg.contains("binary_crossentropy"), "{msg}");
    }
    assert!(bce.check(&[2, 1], &t(&[0.0, 0.25], &[2])).is_ok());
    assert!(bce.check(&[2, 1], &t(&[0.0, 1.0, 1.0], &[3])).is_err());
}

#[test]
fn regression_losses_reject_the_wrong_number_of_targets() {
    let losses: [&dyn Loss; 3] = [&MeanSquaredError, &MeanAbsoluteError, &Huber::default()];
    for loss in losses {
        let msg = err(loss, &[4, 2], &Tensor::zeros(&[4]));
        assert!(msg.contains(loss.name()) && msg.contains("[4, 2]"), "{msg}");
        assert!(loss.check(&[4, 2], &Tensor::zeros(&[3, 2])).is_err());
        assert!(loss.check(&[4, 2], &Tensor::zeros(&[2, 4])).is_err());
        assert!(loss.check(&[4, 2], &Tensor::zeros(&[4, 2])).is_ok());
        assert!(loss.check(&[4, 1], &Tensor::zeros(&[4])).is_ok());
        assert!(loss.check(&[2, 1], &t(&[0.0, f32::NAN], &[2])).is_err());
    }
}

// ---------------------------------------------------------------- configs

#[test]
fn loss_config_json_round_trip_and_keras_names() {
    let losses: Vec<(Box<dyn Loss>, &str)> = vec![
        (Box::new(MeanSquaredError), "mean_squared_error"),
        (Box::new(MeanAbsoluteError), "mean_absolute_error"),
        (Box::new(Huber::new(2.0)), "huber"),
        (Box::new(BinaryCrossentropy::from_logits()), "binary_crossentropy"),
        (Box::new(CategoricalCrossentropy::new()), "categorical_crossentropy"),
        (Box::new(CategoricalCrossentropy::from_logits()), "categorical_crossentropy"),
        (Box::new(SparseCategoricalCrossentropy::from_logits()), "sparse_categorical_crossentropy"),
    ];
    for (loss, name) in losses {
        assert_eq!(loss.name(), name);
        let config = loss.config();
        let json = serde_json::to_string(&config).unwrap();
        let back: LossConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, config, "{json}");
        let rebuilt = back.to_loss().unwrap();
        assert_eq!(rebuilt.name(), name);
        assert_eq!(rebuilt.config(), config);
    }
    let json = serde_json::to_string(&Huber::new(2.0).config()).unwrap();
    assert!(json.contains("\"class_name\":\"Huber\"") && json.contains("2.0"), "{json}");
}

// ---------------------------------------------------------------- outputs of rank 3

#[test]
fn cross_entropies_reduce_the_last_axis_of_sequence_outputs() {
    // Logits [batch 2, time 3, classes 4]; one label per (sample, step).
    let z = Tensor::from_fn(&[2, 3, 4], |i| ((i[0] * 12 + i[1] * 4 + i[2]) as f32 * 0.37).sin() * 3.0);
    let labels = t(&[0.0, 3.0, 1.0, 2.0, 2.0, 0.0], &[2, 3]);
    let scce = SparseCategoricalCrossentropy::from_logits();
    assert!(scce.check(&[2, 3, 4], &labels).is_ok());
    assert!(scce.check(&[2, 3, 4], &t(&[0.0, 1.0], &[2])).is_err(), "one label per sample is too few");
    let got = per_sample(&scce, &z, &labels);
    // Reference: log-sum-exp minus the labelled logit, computed row by row in f64.
    let zv = z.to_vec();
    let want: Vec<f32> = (0..6)
        .map(|row| {
            let logits: Vec<f64> = zv[row * 4..row * 4 + 4].iter().map(|&v| f64::from(v)).collect();
            let lse = logits.iter().map(|v| v.exp()).sum::<f64>().ln();
            (lse - logits[labels.to_vec()[row] as usize]) as f32
        })
        .collect();
    assert_eq!(got.len(), 6);
    assert_close(&got, &want, 1e-5);
    // The softmax output fuses the same way, and one-hot targets give the same values.
    assert_close(&fused(&SparseCategoricalCrossentropy::new(), &z, Activation::Softmax, &labels), &want, 1e-5);
    let one_hot =
        Tensor::from_fn(&[2, 3, 4], |i| if labels.to_vec()[i[0] * 3 + i[1]] as usize == i[2] { 1.0 } else { 0.0 });
    assert_close(&per_sample(&CategoricalCrossentropy::from_logits(), &z, &one_hot), &want, 1e-5);
    // Raw probabilities of rank 3 are normalised over the last axis too.
    assert_close(&per_sample(&SparseCategoricalCrossentropy::new(), &z.softmax(2), &labels), &want, 1e-4);
    gradcheck_loss(&scce, &z, &labels);
}
