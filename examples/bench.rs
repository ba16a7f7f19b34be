//! Benchmark harness: runs the workloads of the shared `WORKLOADS.md` (W1 gemm, W2 mlp, W3 cnn,
//! W4 tiny, W5 lstm) and prints one JSON object per line per figure on stdout, nothing else.
//!
//! Run: `cargo run --release --example bench -- <W1|W2|W3|W4|W5|W6|Q|F|all> --threads <N>`
//! (workload O needs the `onnx` feature: `cargo run --release --features onnx --example bench -- O`)
//!
//! Rules (same as the peers in `peers/bench.py`): data is synthetic, drawn once from a fixed seed
//! before any timing (inputs uniform in [0,1), labels uniform over the classes); every figure is
//! taken after a warm-up of at least 5 steps; each figure is the median of 3 repetitions (`reps`
//! lists all three). `--threads N` calls `kensho::set_num_threads(N)` before anything else.
//!
//! Figures:
//! - W1: `gflops` = 2n³/t for `Tensor::matmul` on n×n f32 matrices, n = 128, 256, 512, 1024,
//!   the product repeated until at least 0.5 s have passed (one line per n).
//! - W2: `train_samples_per_s` = 60,000 / seconds of one shuffled epoch of `Sequential::fit`
//!   (batch 128, 469 steps), and `train_samples_per_s_functional` the same for the model built
//!   with the functional API (the two alternate within each repetition); `predict_samples_per_s` on 10,000 rows with `predict_batched` at
//!   batch 1024 (and `predict_samples_per_s_batch128`, the batch size the PyTorch peer uses).
//! - W4: `train_steps_per_s` = 1,000 / seconds of `fit` for 100 epochs of 10 steps (150 rows,
//!   batch 16, unshuffled as the peers); `train_steps_per_s_train_step` is the same 1,000 steps as
//!   a plain loop over `train_step` on pre-cut batches (the difference is `fit`'s overhead);
//!   `train_steps_per_s_functional` is `fit` on the model built with the functional API.
//! - W3: `train_samples_per_s` = 6,400 / seconds of one shuffled epoch of `fit` on the convnet
//!   (batch 64, 100 steps), after 5 warm-up steps; `gflops` is the median rate times the
//!   step's multiply-adds per sample (see `w3_train_flops_per_sample`), to compare with W1.
//! - W5: `train_samples_per_s` = 1,600 / seconds of one unshuffled pass of `fit` (batch 32,
//!   50 steps, after 5 warm-up steps) on Embedding -> LSTM 128 -> Dense, as the peers.
//! - W6 (kensho's own, see BENCHMARKS.md): `train_samples_per_s` = 1,600 / seconds of one
//!   unshuffled pass of `fit` (batch 32, 50 steps, after 5 warm-up steps) on a Transformer
//!   encoder block over W5's tokens; the PyTorch peer is `scripts/bench_w6_torch.py`.
//!
//! - Q (issue 17, int8): `predict_samples_per_s_f32` and `predict_samples_per_s_int8` of the W2
//!   MLP (10,000 rows) and the W3 convnet (2,000 rows), `predict_batched` at batch 128, the
//!   model and its `quantize`d form (calibrated on 512 rows) timed alternately within each
//!   repetition; `int8_speedup` is each repetition's ratio.
//! - F (issue 19, audio features): `mel_clips_per_s` = log-mel spectrograms per second of
//!   1-second 8 kHz clips (window 200, hop 80, FFT 256, 40 bands), batches of 64 clips.
//! - O (issue 20, ONNX; feature `onnx`): `predict_samples_per_s_kensho` and
//!   `predict_samples_per_s_onnxruntime` of Q's two models and inputs at batch 128: kensho's
//!   `predict_batched`, and the model exported to ONNX and run by ONNX Runtime (CPU, `--threads`
//!   intra-op threads, sequential, all graph optimizations) through `scripts/bench_onnx_runtime.py`
//!   under the python named by `KENSHO_PYTHON` (default `python3`), the two alternating within each
//!   repetition; `onnxruntime_vs_kensho_percent` is each repetition's ratio, and the ONNX Runtime
//!   line carries its version and the largest difference of its outputs from kensho's.
//!
//! Bad arguments print a usage message on stderr and exit with code 2.

use kensho::core::seeded_rng;
use kensho::prelude::*;
use rand::Rng as _;
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::Instant;

#[cfg(feature = "onnx")]
#[path = "bench/onnx_runtime.rs"]
mod onnx_runtime;

const USAGE: &str = "usage: bench <W1|W2|W3|W4|W5|W6|Q|F|O|all> [--threads N] [--reps R] [--deterministic]
  runs the workloads of WORKLOADS.md and prints one JSON object per figure on stdout
  (O, ONNX Runtime beside kensho, needs --features onnx and KENSHO_PYTHON or python3 with onnxruntime)
  --threads N           kernel threads (kensho::set_num_threads), default 1
  --reps R              repetitions per figure, median reported (default 3)
  --deterministic       kensho::set_deterministic(true): weights independent of the thread count";

struct Args {
    workloads: Vec<&'static str>,
    threads: usize,
    reps: usize,
    deterministic: bool,
}

fn usage_exit(msg: &str) -> ! {
    eprintln!("bench: {msg}\n{USAGE}");
    std::process::exit(2);
}

fn parse_args() -> Args {
    let mut workloads = None;
    let mut threads = 1usize;
    let mut reps = 3usize;
    let mut deterministic = false;
    let mut it = std::env::args().skip(1);
    let positive = |flag: &str, v: Option<String>| -> usize {
        match v.as_deref().map(str::parse::<usize>) {
            Some(Ok(n)) if n > 0 => n,
            _ => usage_exit(&format!("{flag} needs a positive integer")),
        }
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--threads" => threads = positive("--threads", it.next()),
            "--reps" => reps = positive("--reps", it.next()),
            "--deterministic" => deterministic = true,
            "-h" | "--help" => {
                eprintln!("{USAGE}");
                std::process::exit(2);
            }
            s if s.starts_with("--threads=") => threads = positive("--threads", Some(s[10..].to_string())),
            s if s.starts_with("--reps=") => reps = positive("--reps", Some(s[7..].to_string())),
            s if workloads.is_none() => {
                workloads = Some(match s.to_ascii_uppercase().as_str() {
                    "W1" => vec!["W1"],
                    "W2" => vec!["W2"],
                    "W3" => vec!["W3"],
                    "W4" => vec!["W4"],
                    "W5" => vec!["W5"],
                    "W6" => vec!["W6"],
                    "Q" => vec!["Q"],
                    "F" => vec!["F"],
                    #[cfg(feature = "onnx")]
                    "O" => vec!["O"],
                    #[cfg(not(feature = "onnx"))]
                    "O" => usage_exit(
                        "workload O needs the onnx feature (cargo run --release --features onnx --example bench -- O)",
                    ),
                    "ALL" => vec!["W1", "W2", "W3", "W4", "W5", "W6", "Q"],
                    _ => usage_exit(&format!("unknown workload {s:?}")),
                })
            }
            s => usage_exit(&format!("unexpected argument {s:?}")),
        }
    }
    let workloads = workloads.unwrap_or_else(|| usage_exit("missing workload"));
    Args { workloads, threads, reps, deterministic }
}

/// Prints one figure: the median of `reps` and all of them, keys in a fixed order.
fn emit(workload: &str, threads: usize, figure: &str, reps: &[f64], extra: &[(&str, Value)]) {
    let mut sorted = reps.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let mut fields = vec![("workload", json!(workload)), ("threads", json!(threads))];
    fields.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    fields.push(("figure", json!(figure)));
    fields.push(("value", json!(round(median))));
    fields.push(("reps", json!(reps.iter().map(|&r| round(r)).collect::<Vec<_>>())));
    print_object(&fields);
}

/// One JSON object on one line, keys in the given order.
fn print_object(fields: &[(&str, Value)]) {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{}:{}", json!(k), v)).collect();
    println!("{{{}}}", body.join(","));
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// `rows` x `features` inputs uniform in [0,1) and `rows` integer labels in [0, classes), as f32.
fn synthetic(rows: usize, features: usize, classes: usize, seed: u64) -> (Tensor, Tensor) {
    let mut rng = seeded_rng(seed);
    let x = Tensor::rand_uniform(&[rows, features], 0.0, 1.0, &mut rng);
    let labels: Vec<f32> = (0..rows).map(|_| rng.random_range(0..classes) as f32).collect();
    let y = Tensor::from_vec(labels, &[rows]).expect("length matches");
    (x, y)
}

/// Seconds taken by `f`.
fn seconds(f: impl FnOnce()) -> f64 {
    let t0 = Instant::now();
    f();
    t0.elapsed().as_secs_f64()
}

/// Calls `f` until at least `min_secs` have passed; returns (calls, seconds).
fn repeat_for(min_secs: f64, mut f: impl FnMut()) -> (usize, f64) {
    let t0 = Instant::now();
    let mut calls = 0;
    loop {
        f();
        calls += 1;
        let el = t0.elapsed().as_secs_f64();
        if el >= min_secs {
            return (calls, el);
        }
    }
}

// ------------------------------------------------------------------------------------------ W1

fn w1(threads: usize, reps: usize) {
    use kensho::core::quant::{gemm_u8i8_f32, Dequantize, PackedI8Matrix};
    for n in [128usize, 256, 512, 1024] {
        let mut rng = seeded_rng(1);
        let a = Tensor::rand_uniform(&[n, n], 0.0, 1.0, &mut rng);
        let b = Tensor::rand_uniform(&[n, n], 0.0, 1.0, &mut rng);
        for _ in 0..5 {
            black_box(a.matmul(&b));
        }
        let flop = 2.0 * (n as f64).powi(3);
        let figures: Vec<f64> = (0..reps)
            .map(|_| {
                let (calls, secs) = repeat_for(0.5, || {
                    black_box(black_box(&a).matmul(black_box(&b)));
                });
                flop * calls as f64 / secs / 1e9
            })
            .collect();
        emit("W1", threads, "gflops", &figures, &[("n", json!(n))]);

        // `gemm_int8_gmacs` = n³/t (multiply-adds, so compare with gflops / 2) for the int8 product
        // of quantized inference on the same shape: u8 inputs x packed i8 weights, dequantized to
        // f32 by `gemm_u8i8_f32` (zero point, per-column scale, bias); the packing is done once.
        let a: Vec<u8> = (0..n * n).map(|_| rng.random()).collect();
        let b: Vec<i8> = (0..n * n).map(|_| rng.random()).collect();
        let b = PackedI8Matrix::pack(&b, n, n).expect("n * n values");
        let (scales, bias) = (vec![1e-4f32; n], vec![0.5f32; n]);
        let dq = Dequantize { input_zero_point: 3, scales: &scales, bias: Some(&bias), relu: false };
        let mut out = vec![0f32; n * n];
        let mut product = || gemm_u8i8_f32(n, black_box(&a), n, &b, black_box(&mut out), n, &dq);
        for _ in 0..5 {
            product();
        }
        let figures: Vec<f64> = (0..reps)
            .map(|_| {
                let (calls, secs) = repeat_for(0.5, &mut product);
                flop / 2.0 * calls as f64 / secs / 1e9
            })
            .collect();
        emit("W1", threads, "gemm_int8_gmacs", &figures, &[("n", json!(n))]);
    }
}

// ------------------------------------------------------------------------------------------ W2

/// How a benchmark model is built: with `Sequential`, or the same layers with the functional API
/// (the figures named `_functional` measure the graph executor's overhead).
#[derive(Clone, Copy, PartialEq)]
enum Api {
    Sequential,
    Functional,
}

/// The multilayer perceptron `widths[0] -> Dense relu -> ... -> Dense (logits)`, seed 0.
fn mlp(api: Api, widths: &[usize]) -> Result<Model> {
    let (hidden, last) = (&widths[1..widths.len() - 1], widths[widths.len() - 1]);
    let dense = |units: usize, relu: bool| {
        Dense::new(units).activation(if relu { Activation::Relu } else { Activation::Linear })
    };
    if api == Api::Sequential {
        let mut model = Sequential::new().seed(0).add(Input::new(&widths[..1]));
        for &units in hidden {
            model = model.add(dense(units, true));
        }
        return Ok(model.add(dense(last, false)).into_model());
    }
    let inputs = Input::new(&widths[..1]);
    let mut x = inputs.clone();
    for &units in hidden {
        x = dense(units, true).on(&x)?;
    }
    let outputs = dense(last, false).on(&x)?;
    Model::with_seed(&[&inputs], &[&outputs], 0)
}

fn w2_model(api: Api) -> Result<Model> {
    let mut model = mlp(api, &[784, 256, 128, 10])?;
    model.compile(Adam::new(1e-3), losses::SparseCategoricalCrossentropy::from_logits(), vec![])?;
    Ok(model)
}

fn w2(threads: usize, reps: usize) -> Result<()> {
    let (x, y) = synthetic(60_000, 784, 10, 42);
    let (tx, _) = synthetic(10_000, 784, 10, 43);
    // Warm-up slices as the Keras peer: 5 full batches and the 96-row last batch.
    let (wx, wy) = (x.slice_axis(0, 0, 736), y.slice_axis(0, 0, 736));
    let mut train = Vec::new();
    let mut train_functional = Vec::new();
    let mut predict = Vec::new();
    let mut predict128 = Vec::new();
    let options = || FitOptions { epochs: 1, batch_size: 128, verbose: 0, ..Default::default() };
    for rep in 0..reps {
        // A fresh model per repetition, so that every repetition times the same work; the two
        // APIs alternate which goes first.
        let order = if rep % 2 == 0 { [Api::Sequential, Api::Functional] } else { [Api::Functional, Api::Sequential] };
        for api in order {
            let mut model = w2_model(api)?;
            model.fit(&wx, &wy, options())?;
            let mut result = Ok(());
            let secs = seconds(|| result = model.fit(&x, &y, options()).map(|h| drop(black_box(h))));
            result?;
            if api == Api::Functional {
                train_functional.push(60_000.0 / secs);
                continue;
            }
            train.push(60_000.0 / secs);
            for (batch, out) in [(1024usize, &mut predict), (128, &mut predict128)] {
                for _ in 0..2 {
                    black_box(model.predict_batched(&tx, batch)?);
                }
                let mut err = Ok(());
                let (calls, secs) = repeat_for(0.5, || {
                    if let Err(e) = model.predict_batched(&tx, batch).map(black_box) {
                        err = Err(e);
                    }
                });
                err?;
                out.push(10_000.0 * calls as f64 / secs);
            }
        }
    }
    emit("W2", threads, "train_samples_per_s", &train, &[("batch", json!(128))]);
    emit("W2", threads, "train_samples_per_s_functional", &train_functional, &[("batch", json!(128))]);
    emit("W2", threads, "predict_samples_per_s", &predict, &[("batch", json!(1024))]);
    emit("W2", threads, "predict_samples_per_s_batch128", &predict128, &[("batch", json!(128))]);
    Ok(())
}

// ------------------------------------------------------------------------------------------ W3

fn w3_model() -> Result<Sequential> {
    let mut model = Sequential::new()
        .seed(0)
        .add(Input::new(&[28, 28, 1]))
        .add(Conv2d::new(32, [3, 3]).activation(Activation::Relu))
        .add(MaxPooling2d::new([2, 2]))
        .add(Conv2d::new(64, [3, 3]).activation(Activation::Relu))
        .add(MaxPooling2d::new([2, 2]))
        .add(Flatten::new())
        .add(Dense::new(128).activation(Activation::Relu))
        .add(Dense::new(10));
    model.compile(Adam::new(1e-3), losses::SparseCategoricalCrossentropy::from_logits(), vec![])?;
    Ok(model)
}

/// Multiply-adds per sample of one W3 training step: each layer's forward product, its kernel
/// gradient and (except the first convolution, whose input needs none) its input gradient.
fn w3_train_flops_per_sample() -> f64 {
    let conv1 = 26.0 * 26.0 * 32.0 * 9.0;
    let conv2 = 11.0 * 11.0 * 64.0 * 9.0 * 32.0;
    let dense = 1600.0 * 128.0 + 128.0 * 10.0;
    2.0 * (2.0 * conv1 + 3.0 * (conv2 + dense))
}

fn w3(threads: usize, reps: usize) -> Result<()> {
    let (x, y) = synthetic(6_400, 28 * 28, 10, 42);
    let x = x.reshape_to(&[6_400, 28, 28, 1]);
    let options = || FitOptions { epochs: 1, batch_size: 64, verbose: 0, ..Default::default() };
    let mut rates = Vec::new();
    for _ in 0..reps {
        let mut model = w3_model()?;
        model.fit(x.slice_axis(0, 0, 320), y.slice_axis(0, 0, 320), options())?; // warm-up: 5 steps
        let mut result = Ok(());
        let secs = seconds(|| result = model.fit(&x, &y, options()).map(|h| drop(black_box(h))));
        result?;
        rates.push(6_400.0 / secs);
    }
    let mut sorted = rates.clone();
    sorted.sort_by(f64::total_cmp);
    let gflops = sorted[sorted.len() / 2] * w3_train_flops_per_sample() / 1e9;
    emit("W3", threads, "train_samples_per_s", &rates, &[("batch", json!(64)), ("gflops", json!(round(gflops)))]);
    Ok(())
}

// ------------------------------------------------------------------------------------------ W4

fn w4_model(api: Api) -> Result<Model> {
    let mut model = mlp(api, &[4, 16, 3])?;
    model.compile(Sgd::new(0.1), losses::SparseCategoricalCrossentropy::from_logits(), vec![])?;
    Ok(model)
}

fn w4(threads: usize, reps: usize) -> Result<()> {
    let (x, y) = synthetic(150, 4, 3, 42);
    let options = |epochs| FitOptions { epochs, batch_size: 16, shuffle: false, verbose: 0, ..Default::default() };
    let batches: Vec<(Tensor, Tensor)> = (0..150)
        .step_by(16)
        .map(|a| (x.slice_axis(0, a, (a + 16).min(150)).to_contiguous(), y.slice_axis(0, a, (a + 16).min(150))))
        .collect();
    let mut fit_rates = Vec::new();
    let mut functional_rates = Vec::new();
    let mut loop_rates = Vec::new();
    for rep in 0..reps {
        let order = if rep % 2 == 0 { [Api::Sequential, Api::Functional] } else { [Api::Functional, Api::Sequential] };
        for api in order {
            let mut model = w4_model(api)?;
            model.fit(&x, &y, options(1))?; // warm-up: 10 steps
            let mut result = Ok(());
            let secs = seconds(|| result = model.fit(&x, &y, options(100)).map(|h| drop(black_box(h))));
            result?;
            let rates = if api == Api::Sequential { &mut fit_rates } else { &mut functional_rates };
            rates.push(1000.0 / secs);
        }

        let mut model = w4_model(Api::Sequential)?;
        for (bx, by) in &batches {
            model.train_step(bx, by, None, 0)?;
        }
        let t0 = Instant::now();
        for epoch in 0..100u64 {
            for (i, (bx, by)) in batches.iter().enumerate() {
                black_box(model.train_step(bx, by, None, epoch * 16 + i as u64)?.loss);
            }
        }
        loop_rates.push(1000.0 / t0.elapsed().as_secs_f64());
    }
    emit("W4", threads, "train_steps_per_s", &fit_rates, &[("method", json!("fit"))]);
    emit("W4", threads, "train_steps_per_s_functional", &functional_rates, &[("method", json!("fit"))]);
    emit("W4", threads, "train_steps_per_s_train_step", &loop_rates, &[("method", json!("train_step loop"))]);
    Ok(())
}

// ------------------------------------------------------------------------------------ W5 and W6

/// Token sequences as the peers draw them for W5: ids uniform over the vocabulary, binary labels.
fn tokens(rows: usize, length: usize, vocabulary: usize, seed: u64) -> (Tensor, Tensor) {
    let mut rng = seeded_rng(seed);
    let ids: Vec<f32> = (0..rows * length).map(|_| rng.random_range(0..vocabulary) as f32).collect();
    let labels: Vec<f32> = (0..rows).map(|_| rng.random_range(0..2) as f32).collect();
    (
        Tensor::from_vec(ids, &[rows, length]).expect("rows x length"),
        Tensor::from_vec(labels, &[rows, 1]).expect("rows"),
    )
}

/// Times a sequence workload as the peers do: 5 warm-up steps, then one unshuffled pass over
/// 1,600 samples in batches of 32 (50 steps); returns samples per second, one per repetition.
fn time_sequence_model(build: impl Fn() -> Result<Model>, reps: usize) -> Result<Vec<f64>> {
    let (x, y) = tokens(1600, 64, 10_000, 42);
    let options = |epochs| FitOptions { epochs, batch_size: 32, shuffle: false, verbose: 0, ..Default::default() };
    let mut rates = Vec::new();
    for _ in 0..reps {
        let mut model = build()?;
        model.fit(x.slice_axis(0, 0, 160), y.slice_axis(0, 0, 160), options(1))?; // warm-up: 5 steps
        let mut result = Ok(());
        let secs = seconds(|| result = model.fit(&x, &y, options(1)).map(|h| drop(black_box(h))));
        result?;
        rates.push(1600.0 / secs);
    }
    Ok(rates)
}

/// W5: Embedding 64 -> LSTM 128 (last state) -> Dense 1 sigmoid, binary cross-entropy.
fn w5_model() -> Result<Model> {
    let ids = Input::new(&[64]);
    let state = Lstm::new(128).on(&Embedding::new(10_000, 64).on(&ids)?)?;
    let out = Dense::new(1).activation(Activation::Sigmoid).on(&state)?;
    let mut model = Model::with_seed(&[&ids], &[&out], 0)?;
    model.compile(Adam::new(1e-3), losses::BinaryCrossentropy::new(), vec![])?;
    Ok(model)
}

fn w5(threads: usize, reps: usize) -> Result<()> {
    let rates = time_sequence_model(w5_model, reps)?;
    emit("W5", threads, "train_samples_per_s", &rates, &[("batch", json!(32))]);
    Ok(())
}

/// W6 (kensho's own workload, see BENCHMARKS.md; PyTorch peer in scripts/bench_w6_torch.py):
/// Embedding 64 + positions -> one Transformer encoder block (4 heads of 16, feed-forward 128,
/// post-norm, no dropout) -> mean over the sequence -> Dense 1 sigmoid.
fn w6_model() -> Result<Model> {
    let ids = Input::new(&[64]);
    let words = Embedding::new(10_000, 64).on(&ids)?;
    let x = Add::new().on_all(&[&words, &PositionEmbedding::new(64).on(&words)?])?;
    let attended = MultiHeadAttention::new(4, 16).on_all(&[&x, &x])?;
    let x = LayerNormalization::new().on(&Add::new().on_all(&[&x, &attended])?)?;
    let hidden = Dense::new(128).activation(Activation::Relu).on(&x)?;
    let x = LayerNormalization::new().on(&Add::new().on_all(&[&x, &Dense::new(64).on(&hidden)?])?)?;
    let out = Dense::new(1).activation(Activation::Sigmoid).on(&GlobalAveragePooling1d::new().on(&x)?)?;
    let mut model = Model::with_seed(&[&ids], &[&out], 0)?;
    model.compile(Adam::new(1e-3), losses::BinaryCrossentropy::new(), vec![])?;
    Ok(model)
}

fn w6(threads: usize, reps: usize) -> Result<()> {
    let rates = time_sequence_model(w6_model, reps)?;
    emit("W6", threads, "train_samples_per_s", &rates, &[("batch", json!(32))]);
    Ok(())
}

// ------------------------------------------------------------------------------------------ Q

/// Samples per second of `predict` over `x` at batch 128 (after two warm-up passes).
fn predict_rate(predict: impl Fn(&Tensor) -> Result<Tensor>, x: &Tensor) -> Result<f64> {
    for _ in 0..2 {
        black_box(predict(x)?);
    }
    let mut err = Ok(());
    let (calls, secs) = repeat_for(0.5, || {
        if let Err(e) = predict(x).map(black_box) {
            err = Err(e);
        }
    });
    err?;
    Ok(x.shape()[0] as f64 * calls as f64 / secs)
}

/// The models and inputs whose inference Q and O time: the W2 MLP on 10,000 rows and the W3
/// convnet on 2,000 images, untrained (the weights do not change the work).
fn predict_workloads() -> Result<[(&'static str, Model, Tensor); 2]> {
    let (w2_x, _) = synthetic(10_000, 784, 10, 43);
    let (w3_x, _) = synthetic(2_000, 28 * 28, 10, 44);
    let w3_x = w3_x.reshape_to(&[2_000, 28, 28, 1]);
    Ok([("W2", w2_model(Api::Sequential)?, w2_x), ("W3", w3_model()?.into_model(), w3_x)])
}

fn q(threads: usize, reps: usize) -> Result<()> {
    for (name, model, x) in predict_workloads()? {
        let quantized = kensho::quantization::quantize(&model, x.slice_axis(0, 0, 512))?;
        let (mut float, mut int8, mut speedup) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps {
            let f = predict_rate(|x| model.predict_batched(x, 128), &x)?;
            let i = predict_rate(|x| quantized.predict_batched(x, 128), &x)?;
            float.push(f);
            int8.push(i);
            speedup.push(i / f);
        }
        let extra = [("model", json!(name)), ("batch", json!(128))];
        emit("Q", threads, "predict_samples_per_s_f32", &float, &extra);
        emit("Q", threads, "predict_samples_per_s_int8", &int8, &extra);
        let ratios: Vec<f64> = speedup.iter().map(|r| r * 100.0).collect();
        emit("Q", threads, "int8_speedup_percent", &ratios, &extra);
    }
    Ok(())
}

/// Log-mel extraction rate on 1-second 8 kHz clips (25 ms windows, 10 ms hop, 40 bands).
fn f(threads: usize, reps: usize) -> Result<()> {
    use kensho::core::audio::{mel_spectrogram, MelOptions};
    let clips = Tensor::rand_uniform(&[64, 8000], -0.5, 0.5, &mut seeded_rng(45));
    let options = MelOptions {
        sampling_rate: 8000,
        fft_length: 256,
        sequence_length: Some(200),
        sequence_stride: 80,
        num_mel_bins: 40,
        ..MelOptions::default()
    };
    let rates =
        (0..reps).map(|_| predict_rate(|x| mel_spectrogram(x, &options), &clips)).collect::<Result<Vec<_>>>()?;
    emit("F", threads, "mel_clips_per_s", &rates, &[("batch", json!(64))]);
    Ok(())
}

// ------------------------------------------------------------------------------------------ main

fn main() {
    let args = parse_args();
    kensho::set_num_threads(args.threads);
    kensho::set_deterministic(args.deterministic);
    let threads = args.threads;
    for w in &args.workloads {
        let result = match *w {
            "W1" => {
                w1(threads, args.reps);
                Ok(())
            }
            "W2" => w2(threads, args.reps),
            "W3" => w3(threads, args.reps),
            "W4" => w4(threads, args.reps),
            "W5" => w5(threads, args.reps),
            "W6" => w6(threads, args.reps),
            "Q" => q(threads, args.reps),
            "F" => f(threads, args.reps),
            #[cfg(feature = "onnx")]
            "O" => onnx_runtime::o(threads, args.reps),
            _ => unreachable!("parse_args accepts only W1..W6, Q, F and (with the onnx feature) O"),
        };
        if let Err(e) = result {
            eprintln!("bench: {w} failed: {e}");
            std::process::exit(1);
        }
    }
}
