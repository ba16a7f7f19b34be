//! Checkpoints: weights and whole-model round trips, strict and partial loads, the PyTorch
//! layout, corrupt files, atomic writes and the ModelCheckpoint callback.

use kensho::checkpoint::{load_tensors, save_tensors};
use kensho::prelude::*;
use kensho::{load_model, LoadOptions, WeightsLayout};
use std::path::Path;

fn data(n: usize, features: usize, seed: u64) -> (Tensor, Tensor) {
    let mut rng = kensho::core::seeded_rng(seed);
    let x = Tensor::rand_uniform(&[n, features], -1.0, 1.0, &mut rng);
    let labels: Vec<f32> = (0..n).map(|i| (x.to_vec()[i * features] > 0.0) as u8 as f32).collect();
    (x, Tensor::from_vec(labels, &[n]).unwrap())
}

/// Input(3) → Dense(4, relu) → Dense(5, no bias, tanh) → Dropout → Dense(2, softmax), the
/// middle Dense frozen.
fn mlp(seed: u64) -> Sequential {
    let mut model = Sequential::new()
        .seed(seed)
        .add(Input::new(&[3]))
        .add(Dense::new(4).activation(Activation::Relu))
        .add(Dense::new(5).use_bias(false).activation(Activation::Tanh))
        .add(Dropout::new(0.2))
        .add(Dense::new(2).activation(Activation::Softmax));
    model.layer_mut("dense_1").unwrap().set_trainable(false);
    model
}

/// The error of loading a model file that must not load (`Sequential` has no `Debug`).
fn load_err(path: impl AsRef<Path>) -> Error {
    match load_model(path) {
        Ok(_) => panic!("the file loaded"),
        Err(e) => e,
    }
}

fn weights_bits(model: &Model) -> Vec<Vec<u32>> {
    model.get_weights().iter().map(|w| w.to_vec().iter().map(|v| v.to_bits()).collect()).collect()
}

#[test]
fn weights_round_trip_every_parameter_layer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let model = mlp(1);
    model.save_weights(&path).unwrap();
    let (tensors, _) = load_tensors(&path).unwrap();
    let mut names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    names.sort();
    assert_eq!(names, ["dense.bias", "dense.kernel", "dense_1.kernel", "dense_2.bias", "dense_2.kernel"]);

    let mut other = mlp(2);
    assert_ne!(weights_bits(&other), weights_bits(&model));
    other.load_weights(&path).unwrap();
    assert_eq!(weights_bits(&other), weights_bits(&model));
    let (x, _) = data(7, 3, 3);
    assert_eq!(other.predict(&x).unwrap().to_vec(), model.predict(&x).unwrap().to_vec());
    assert!(!other.layers()[2].trainable(), "loading weights keeps the frozen flag");
}

#[test]
fn load_weights_builds_a_declared_model_and_refuses_an_unbuilt_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let model = Sequential::new().add(Dense::new(2).input_shape(&[3]));
    model.save_weights(&path).unwrap();
    let mut unbuilt = Sequential::new().add(Dense::new(2));
    let err = unbuilt.load_weights(&path).unwrap_err().to_string();
    assert!(err.contains("not built"), "{err}");
    assert!(unbuilt.save_weights(&path).is_err());
    assert!(unbuilt.save(&path).is_err());
    let mut declared = Sequential::new().seed(9).add(Dense::new(2).input_shape(&[3]));
    declared.load_weights(&path).unwrap();
    assert_eq!(weights_bits(&declared), weights_bits(&model));
}

/// Input(3) → Dense(4) → Dense(2): dense.kernel, dense.bias, dense_1.kernel, dense_1.bias.
fn source_model() -> Sequential {
    Sequential::new().seed(5).add(Input::new(&[3])).add(Dense::new(4)).add(Dense::new(2))
}

/// dense.* match; dense_1.kernel is [4, 3] (mis-shaped), has no bias (dense_1.bias unexpected);
/// dense_2.kernel and dense_2.bias are missing.
fn target_model() -> Sequential {
    Sequential::new()
        .seed(6)
        .add(Input::new(&[3]))
        .add(Dense::new(4))
        .add(Dense::new(3).use_bias(false))
        .add(Dense::new(1))
}

#[test]
fn strict_load_lists_every_problem_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("src.safetensors");
    source_model().save_weights(&path).unwrap();
    let mut target = target_model();
    let before = weights_bits(&target);
    let err = target.load_weights(&path).unwrap_err();
    assert!(matches!(err, Error::WeightsMismatch { .. }), "{err:?}");
    let msg = err.to_string();
    for needle in ["src.safetensors", "missing 2", "dense_2.kernel", "dense_2.bias", "unexpected 1", "dense_1.bias"] {
        assert!(msg.contains(needle), "{needle:?} not in {msg}");
    }
    assert!(msg.contains("dense_1.kernel (file [4, 2], model [4, 3])"), "{msg}");
    assert!(msg.contains("strict: false"), "{msg}");
    assert_eq!(weights_bits(&target), before, "a failed strict load changes nothing");
}

#[test]
fn non_strict_load_takes_what_matches_and_reports_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("src.safetensors");
    let source = source_model();
    source.save_weights(&path).unwrap();
    let mut target = target_model();
    let before = target.get_weights();
    let report = target.load_weights_with(&path, LoadOptions { strict: false, ..Default::default() }).unwrap();
    assert_eq!(report.loaded, ["dense.kernel", "dense.bias"]);
    assert_eq!(report.missing, ["dense_2.kernel", "dense_2.bias"]);
    assert_eq!(report.unexpected, ["dense_1.bias"]);
    assert_eq!(report.mismatched.len(), 1);
    assert_eq!(report.mismatched[0].name, "dense_1.kernel");
    assert_eq!((report.mismatched[0].expected.clone(), report.mismatched[0].found.clone()), (vec![4, 3], vec![4, 2]));
    assert!(!report.is_complete());
    let after = target.get_weights();
    assert_eq!(after[0].to_vec(), source.get_weights()[0].to_vec());
    assert_eq!(after[1].to_vec(), source.get_weights()[1].to_vec());
    for i in 2..after.len() {
        assert_eq!(after[i].to_vec(), before[i].to_vec(), "parameter {i} is left unchanged");
    }
}

/// Input(4) → Dense(8, relu) → Dropout → Dense(6) → Activation(tanh) → Dense(3, softmax) is
/// Sequential(Linear, ReLU, Dropout, Linear, Tanh, Linear, Softmax) in PyTorch.
fn torch_like(seed: u64) -> Sequential {
    Sequential::new()
        .seed(seed)
        .add(Input::new(&[4]))
        .add(Dense::new(8).activation(Activation::Relu))
        .add(Dropout::new(0.5))
        .add(Dense::new(6))
        .add(ActivationLayer::new(Activation::Tanh))
        .add(Dense::new(3).activation(Activation::Softmax))
}

#[test]
fn pytorch_layout_names_and_transposes_as_state_dict() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("torch.safetensors");
    let model = torch_like(1);
    model.save_weights_with(&path, WeightsLayout::PyTorch).unwrap();
    let (tensors, metadata) = load_tensors(&path).unwrap();
    assert_eq!(metadata.get("format").map(String::as_str), Some("pt"));
    let shapes: Vec<(&str, &[usize])> = tensors.iter().map(|(n, t)| (n.as_str(), t.shape())).collect();
    let mut shapes = shapes;
    shapes.sort();
    let expected: Vec<(&str, &[usize])> = vec![
        ("0.bias", &[8]),
        ("0.weight", &[8, 4]),
        ("3.bias", &[6]),
        ("3.weight", &[6, 8]),
        ("5.bias", &[3]),
        ("5.weight", &[3, 6]),
    ];
    assert_eq!(shapes, expected);
    let get = |name: &str| tensors.iter().find(|(n, _)| n == name).unwrap().1.clone();
    let kernel = &model.get_weights()[0]; // [4, 8]
    let weight = get("0.weight"); // [8, 4]
    for i in 0..4 {
        for j in 0..8 {
            assert_eq!(kernel.to_vec()[i * 8 + j], weight.to_vec()[j * 4 + i]);
        }
    }

    let mut other = torch_like(2);
    other.load_weights_with(&path, LoadOptions::default().layout(WeightsLayout::PyTorch)).unwrap();
    assert_eq!(weights_bits(&other), weights_bits(&model));
    // Read in kensho's layout, the same file matches nothing.
    let err = other.load_weights(&path).unwrap_err().to_string();
    assert!(err.contains("0.weight") && err.contains("dense.kernel"), "{err}");
}

#[test]
fn pytorch_layout_mis_shaped_weight_is_reported_in_file_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("torch.safetensors");
    let bad = vec![
        ("0.weight".to_string(), Tensor::zeros(&[4, 8])), // not transposed
        ("0.bias".to_string(), Tensor::zeros(&[8])),
    ];
    save_tensors(&path, &bad, None).unwrap();
    let mut model = Sequential::new().add(Input::new(&[4])).add(Dense::new(8).activation(Activation::Relu));
    let err = model.load_weights_with(&path, LoadOptions::default().layout(WeightsLayout::PyTorch)).unwrap_err();
    assert!(err.to_string().contains("0.weight (file [4, 8], model [8, 4])"), "{err}");
}

#[test]
fn whole_model_round_trip_predicts_and_compiles_identically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let (x, y) = data(64, 3, 1);
    let mut model = mlp(3);
    model
        .compile(
            Adam::new(0.01).clipnorm(1.0),
            losses::SparseCategoricalCrossentropy::new(),
            vec![Box::new(metrics::Accuracy::new()), Box::new(metrics::SparseTopKCategoricalAccuracy::new(1))],
        )
        .unwrap();
    model.fit(&x, &y, FitOptions { epochs: 2, batch_size: 16, verbose: 0, ..Default::default() }).unwrap();
    model.save(&path).unwrap();

    let loaded = load_model(&path).unwrap();
    assert_eq!(loaded.get_seed(), 3);
    assert_eq!(loaded.input_shape(), Some(&Shape::from([3])));
    let names: Vec<&str> = loaded.layers().iter().map(|l| l.name()).collect();
    assert_eq!(names, ["input_layer", "dense", "dense_1", "dropout", "dense_2"]);
    let configs: Vec<_> = loaded.layers().iter().map(|l| l.config()).collect();
    assert_eq!(configs, model.layers().iter().map(|l| l.config()).collect::<Vec<_>>());
    assert!(!loaded.layers()[2].trainable());
    assert_eq!(weights_bits(&loaded), weights_bits(&model));
    assert_eq!(loaded.predict(&x).unwrap().to_vec(), model.predict(&x).unwrap().to_vec());
    let (opt, loaded_opt) = (model.optimizer().unwrap(), loaded.optimizer().unwrap());
    assert_eq!(loaded_opt.config(), opt.config());
    assert_eq!(loaded_opt.iterations(), 8);
    assert_eq!(loaded.loss().unwrap().config(), model.loss().unwrap().config());
    // Every built-in metric is rebuilt from its config, k included.
    let logs = loaded.evaluate(&x, &y).unwrap();
    assert_eq!(logs.names(), ["loss", "accuracy", "sparse_top_k_categorical_accuracy"]);
    assert_eq!(logs.iter().collect::<Vec<_>>(), model.evaluate(&x, &y).unwrap().iter().collect::<Vec<_>>());
    let with = kensho::checkpoint::load_model_with_metrics(
        &path,
        vec![Box::new(metrics::SparseTopKCategoricalAccuracy::new(1))],
    )
    .unwrap();
    assert_eq!(with.evaluate(&x, &y).unwrap().names(), ["loss", "sparse_top_k_categorical_accuracy"]);
    // The optimizer state travels with the model.
    let params = model.params();
    let state = opt.state(&params);
    let loaded_params = loaded.params();
    let loaded_state = loaded_opt.state(&loaded_params);
    assert_eq!(state.len(), loaded_state.len());
    for ((n1, t1), (n2, t2)) in state.iter().zip(&loaded_state) {
        assert_eq!((n1, t1.to_vec()), (n2, t2.to_vec()));
    }
    // The model file's weights load into a model built in code.
    let mut code = mlp(99);
    code.load_weights(&path).unwrap();
    assert_eq!(weights_bits(&code), weights_bits(&model));
}

/// Three classes: the class of `x` is which of its first three features is largest.
fn three_class_data(n: usize, seed: u64) -> (Tensor, Tensor) {
    let mut rng = kensho::core::seeded_rng(seed);
    let x = Tensor::rand_uniform(&[n, 4], -1.0, 1.0, &mut rng);
    let v = x.to_vec();
    let labels: Vec<f32> = (0..n)
        .map(|i| {
            let row = &v[i * 4..i * 4 + 3];
            (0..3).fold(0, |best, c| if row[c] > row[best] { c } else { best }) as f32
        })
        .collect();
    (x, Tensor::from_vec(labels, &[n]).unwrap())
}

/// The metrics of a model with parameters that change their figures from the defaults.
fn parameterized_metrics() -> Vec<Box<dyn metrics::Metric>> {
    vec![
        Box::new(metrics::Precision::new(3, metrics::Average::Macro)),
        Box::new(metrics::F1Score::new(3, metrics::Average::Weighted)),
        Box::new(metrics::Recall::new(3, metrics::Average::Binary { pos_label: 2 })),
        Box::new(
            metrics::FBetaScore::new(3, metrics::Average::Macro, 2.0).with_zero_division(metrics::ZeroDivision::One),
        ),
        Box::new(metrics::SparseTopKCategoricalAccuracy::new(2)),
    ]
}

/// The figures of `metrics` on the model's predictions, by name.
fn figures(metrics: Vec<Box<dyn metrics::Metric>>, y: &Tensor, pred: &Tensor) -> Vec<(String, f32)> {
    metrics
        .into_iter()
        .map(|mut m| {
            m.update(y, pred).unwrap();
            (m.name().to_string(), m.result())
        })
        .collect()
}

#[test]
fn load_model_restores_metrics_with_their_settings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let (x, y) = three_class_data(60, 5);
    let mut model = Sequential::new().seed(8).add(Input::new(&[4])).add(Dense::new(3).activation(Activation::Softmax));
    model.compile(Adam::new(0.05), losses::SparseCategoricalCrossentropy::new(), parameterized_metrics()).unwrap();
    model.fit(&x, &y, FitOptions { epochs: 3, batch_size: 20, verbose: 0, ..Default::default() }).unwrap();
    model.save(&path).unwrap();

    let loaded = load_model(&path).unwrap();
    let configs = |m: &Model| m.metrics().iter().map(|m| m.config()).collect::<Vec<_>>();
    assert_eq!(configs(&loaded), configs(&model));
    let expected = model.evaluate(&x, &y).unwrap();
    let logs = loaded.evaluate(&x, &y).unwrap();
    let names = ["loss", "precision", "f1_score", "recall", "fbeta_score", "sparse_top_k_categorical_accuracy"];
    assert_eq!(logs.names(), names);
    for name in names {
        assert_eq!(logs.get(name).map(f32::to_bits), expected.get(name).map(f32::to_bits), "{name}");
    }
    // The settings matter: with the defaults (micro / binary averaging, k = 1) every figure differs.
    let pred = model.predict(&x).unwrap();
    let defaults: Vec<Box<dyn metrics::Metric>> = vec![
        Box::new(metrics::Precision::new(3, metrics::Average::Micro)),
        Box::new(metrics::F1Score::new(3, metrics::Average::Micro)),
        Box::new(metrics::Recall::new(3, metrics::Average::Binary { pos_label: 1 })),
        Box::new(metrics::FBetaScore::new(3, metrics::Average::Micro, 1.0)),
        Box::new(metrics::SparseTopKCategoricalAccuracy::new(1)),
    ];
    let wanted = figures(parameterized_metrics(), &y, &pred);
    for ((name, value), (_, default)) in wanted.iter().zip(figures(defaults, &y, &pred)) {
        assert_eq!(logs.get(name), Some(*value), "{name}");
        assert_ne!(*value, default, "{name} must differ from its default-settings figure");
    }
}

/// A user-defined metric: the fraction of predicted class-0 scores above 0.5 (no config).
struct Confident(u64, u64);

impl metrics::Metric for Confident {
    fn name(&self) -> &str {
        "confident"
    }
    fn update(&mut self, _y_true: &Tensor, y_pred: &Tensor) -> kensho::Result<()> {
        let v = y_pred.to_vec();
        self.0 += v.iter().step_by(3).filter(|&&s| s > 0.5).count() as u64;
        self.1 += (v.len() / 3) as u64;
        Ok(())
    }
    fn result(&self) -> f32 {
        if self.1 == 0 {
            0.0
        } else {
            self.0 as f32 / self.1 as f32
        }
    }
    fn reset(&mut self) {
        *self = Confident(0, 0);
    }
    fn clone_box(&self) -> Box<dyn metrics::Metric> {
        Box::new(Confident(0, 0))
    }
}

#[test]
fn user_defined_metrics_are_restored_only_when_passed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let (x, y) = three_class_data(30, 6);
    let mut model = Sequential::new().seed(2).add(Input::new(&[4])).add(Dense::new(3).activation(Activation::Softmax));
    let metrics: Vec<Box<dyn metrics::Metric>> =
        vec![Box::new(Confident(0, 0)), Box::new(metrics::Recall::new(3, metrics::Average::Macro))];
    model.compile(Adam::new(0.01), losses::SparseCategoricalCrossentropy::new(), metrics).unwrap();
    model.save(&path).unwrap();
    let loaded = load_model(&path).unwrap();
    assert_eq!(loaded.evaluate(&x, &y).unwrap().names(), ["loss", "recall"]);
    let passed: Vec<Box<dyn metrics::Metric>> =
        vec![Box::new(Confident(0, 0)), Box::new(metrics::Recall::new(3, metrics::Average::Macro))];
    let with = kensho::checkpoint::load_model_with_metrics(&path, passed).unwrap();
    let expected = model.evaluate(&x, &y).unwrap();
    assert_eq!(with.evaluate(&x, &y).unwrap().iter().collect::<Vec<_>>(), expected.iter().collect::<Vec<_>>());
}

#[test]
fn files_listing_only_metric_names_still_load() {
    // A file as kensho wrote it before metric configs were saved: names only.
    let dir = tempfile::tempdir().unwrap();
    let (path, old) = (dir.path().join("model.safetensors"), dir.path().join("old.safetensors"));
    let mut model = Sequential::new().seed(2).add(Input::new(&[4])).add(Dense::new(3).activation(Activation::Softmax));
    let metrics: Vec<Box<dyn metrics::Metric>> =
        vec![Box::new(metrics::Accuracy::new()), Box::new(metrics::Precision::new(3, metrics::Average::Macro))];
    model.compile(Adam::new(0.01), losses::SparseCategoricalCrossentropy::new(), metrics).unwrap();
    model.save(&path).unwrap();
    let (tensors, mut metadata) = load_tensors(&path).unwrap();
    let mut spec: serde_json::Value = serde_json::from_str(&metadata["kensho.model"]).unwrap();
    assert_eq!(spec["compile"]["metrics"], serde_json::json!(["accuracy", "precision"]));
    assert_eq!(spec["compile"]["metric_configs"][1]["config"]["average"], "macro");
    spec["compile"].as_object_mut().unwrap().remove("metric_configs");
    metadata.insert("kensho.model".to_string(), spec.to_string());
    save_tensors(&old, &tensors, Some(metadata)).unwrap();
    let (x, y) = three_class_data(12, 1);
    assert_eq!(load_model(&old).unwrap().evaluate(&x, &y).unwrap().names(), ["loss", "accuracy"]);
}

#[test]
fn an_uncompiled_model_round_trips_uncompiled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let mut model = Sequential::new().seed(4).add(Flatten::new()).add(Dense::new(2));
    model.build(&[2, 3]).unwrap();
    model.save(&path).unwrap();
    let loaded = load_model(&path).unwrap();
    assert!(loaded.optimizer().is_none());
    assert_eq!(loaded.input_shape(), Some(&Shape::from([2, 3])));
    assert_eq!(weights_bits(&loaded), weights_bits(&model));
}

fn resume_model() -> Sequential {
    let mut model = Sequential::new()
        .seed(11)
        .add(Input::new(&[3]))
        .add(Dense::new(16).activation(Activation::Relu))
        .add(Dropout::new(0.25))
        .add(Dense::new(2).activation(Activation::Softmax));
    let lr = kensho::optim::ExponentialDecay::new(0.02, 10, 0.9);
    model
        .compile(Adam::new(0.02).learning_rate_schedule(lr), losses::SparseCategoricalCrossentropy::new(), vec![])
        .unwrap();
    model
}

fn fit(model: &mut Model, x: &Tensor, y: &Tensor, initial_epoch: usize, epochs: usize) {
    let options = FitOptions { epochs, initial_epoch, batch_size: 10, seed: 3, verbose: 0, ..Default::default() };
    model.fit(x, y, options).unwrap();
}

#[test]
fn resumed_training_equals_uninterrupted_training() {
    // In-process: the resumed model is a new object made by load_model from the file alone
    // (tests/checkpoint_resume.rs repeats this across processes).
    kensho::set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("epoch4.safetensors");
    let (x, y) = data(45, 3, 2);
    let mut straight = resume_model();
    fit(&mut straight, &x, &y, 0, 8);
    let mut first = resume_model();
    fit(&mut first, &x, &y, 0, 4);
    first.save(&path).unwrap();
    drop(first);
    let mut resumed = load_model(&path).unwrap();
    fit(&mut resumed, &x, &y, 4, 8);
    assert_eq!(weights_bits(&resumed), weights_bits(&straight));
    assert_eq!(resumed.optimizer().unwrap().iterations(), straight.optimizer().unwrap().iterations());
}

/// Every way of reading the file: none may panic.
fn read_all_ways(path: &Path) -> [bool; 3] {
    let a = load_model(path).is_ok();
    let b = mlp(0).load_weights(path).is_ok();
    let c = load_tensors(path).is_ok();
    [a, b, c]
}

#[test]
fn truncated_files_give_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.safetensors");
    let mut model = mlp(0);
    model.compile(Sgd::new(0.1), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
    model.save(&good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.safetensors");
    for len in (0..bytes.len()).step_by(7).chain([bytes.len() - 1]) {
        std::fs::write(&cut, &bytes[..len]).unwrap();
        assert_eq!(read_all_ways(&cut), [false; 3], "a file cut at {len} bytes must not load");
        let err = load_err(&cut);
        assert!(matches!(err, Error::Parse { .. }) && err.to_string().contains("cut.safetensors"), "{err}");
    }
    let err = load_err(dir.path().join("absent.safetensors"));
    assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("absent.safetensors"), "{err}");
}

#[test]
fn corrupted_bytes_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.safetensors");
    mlp(0).save(&good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let bad = dir.path().join("bad.safetensors");
    for i in 0..8 + header_len {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[i] ^= flip;
            std::fs::write(&bad, &b).unwrap();
            read_all_ways(&bad); // Ok or Err, never a panic
        }
    }
    // A corrupt length prefix, garbage and an empty file are errors.
    for b in [vec![0xffu8; 64], b"not a safetensors file at all".to_vec(), Vec::new()] {
        std::fs::write(&bad, &b).unwrap();
        assert_eq!(read_all_ways(&bad), [false; 3]);
    }
}

#[test]
fn bad_metadata_dtype_and_shapes_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.safetensors");
    // A weights-only file is not a model file.
    mlp(0).save_weights(&path).unwrap();
    let err = load_err(&path).to_string();
    assert!(err.contains("load_weights") && err.contains("f.safetensors"), "{err}");
    // Bad JSON in the metadata.
    let meta = |json: &str| {
        Some(kensho::checkpoint::Metadata::from([
            ("format".to_string(), "kensho.model".to_string()),
            ("kensho.model".to_string(), json.to_string()),
        ]))
    };
    save_tensors(&path, &[], meta("{\"layers\": [")).unwrap();
    let err = load_err(&path).to_string();
    assert!(err.contains("not valid"), "{err}");
    // A newer format version.
    let json = r#"{"format_version": 99, "seed": 0, "input_shape": [1], "layers": [], "compile": null}"#;
    save_tensors(&path, &[], meta(json)).unwrap();
    assert!(load_err(&path).to_string().contains("newer"));
    // An architecture that cannot be built.
    let json = r#"{"format_version": 1, "seed": 0, "input_shape": [1], "layers": [], "compile": null}"#;
    save_tensors(&path, &[], meta(json)).unwrap();
    assert!(load_err(&path).to_string().contains("cannot be rebuilt"));
    // A tensor of a type that is not a number kensho converts (written with the safetensors
    // crate itself).
    let data = vec![0u8; 4 * 12];
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::I32, vec![3, 4], &data).unwrap();
    std::fs::write(&path, safetensors::serialize([("dense.kernel", view)], &None).unwrap()).unwrap();
    let err = mlp(0).load_weights(&path).unwrap_err().to_string();
    assert!(err.contains("dense.kernel") && err.contains("I32") && err.contains("f.safetensors"), "{err}");
    // A model file whose weights do not match its own architecture.
    let mut model = mlp(0);
    model.compile(Sgd::new(0.1), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
    model.save(&path).unwrap();
    let (mut tensors, metadata) = load_tensors(&path).unwrap();
    tensors.retain(|(n, _)| n != "dense.bias");
    tensors.push(("dense.bias".to_string(), Tensor::zeros(&[5])));
    save_tensors(&path, &tensors, Some(metadata.clone())).unwrap();
    let err = load_err(&path).to_string();
    assert!(err.contains("dense.bias (file [5], model [4])"), "{err}");
    // A model file whose optimizer state is incomplete.
    tensors.retain(|(n, _)| n != "dense.bias" && n != "optimizer/iterations");
    tensors.push(("dense.bias".to_string(), Tensor::zeros(&[4])));
    save_tensors(&path, &tensors, Some(metadata)).unwrap();
    let err = load_err(&path).to_string();
    assert!(err.contains("optimizer state") && err.contains("iterations"), "{err}");
}

#[test]
fn saves_are_atomic_and_replace_whole_files() {
    let dir = tempfile::tempdir().unwrap();
    let listing = |p: &Path| {
        let mut v: Vec<String> =
            std::fs::read_dir(p).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    };
    // A missing folder: an Io error naming the path, nothing left behind.
    let missing = dir.path().join("no/such/dir/w.safetensors");
    let err = mlp(0).save_weights(&missing).unwrap_err();
    assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("w.safetensors"), "{err}");
    assert!(listing(dir.path()).is_empty());
    // The target is a folder: the rename fails after the temporary file was written; it is removed.
    let folder = dir.path().join("taken.safetensors");
    std::fs::create_dir(&folder).unwrap();
    assert!(matches!(mlp(0).save(&folder).unwrap_err(), Error::Io { .. }));
    assert_eq!(listing(dir.path()), ["taken.safetensors"]);
    // Saving over a larger file replaces it whole.
    let path = dir.path().join("m.safetensors");
    let mut big = Sequential::new().add(Input::new(&[50])).add(Dense::new(50));
    big.compile(Adam::new(0.1), losses::MeanSquaredError, vec![]).unwrap();
    big.save(&path).unwrap();
    let big_len = std::fs::metadata(&path).unwrap().len();
    let small = Sequential::new().seed(3).add(Input::new(&[2])).add(Dense::new(1));
    small.save(&path).unwrap();
    let small_len = std::fs::metadata(&path).unwrap().len();
    assert!(small_len < big_len);
    let loaded = load_model(&path).unwrap();
    assert_eq!(weights_bits(&loaded), weights_bits(&small));
    assert_eq!(listing(dir.path()), ["m.safetensors", "taken.safetensors"]);
}

#[test]
fn model_checkpoint_save_best_only_writes_only_on_improvement() {
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("ckpt-{epoch:02}-{val_loss:.2}.safetensors");
    let mut cb = ModelCheckpoint::new(pattern.to_str().unwrap()).save_best_only(true);
    let mut model = mlp(0);
    cb.on_train_begin(&mut model).unwrap();
    for (epoch, val_loss) in [1.0, 0.5, 0.7, 0.4, 0.4].into_iter().enumerate() {
        let mut logs = Logs::new();
        logs.set("loss", 9.0);
        logs.set("val_loss", val_loss);
        cb.on_epoch_end(epoch, &logs, &mut model).unwrap();
    }
    let mut files: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    assert_eq!(files, ["ckpt-01-1.00.safetensors", "ckpt-02-0.50.safetensors", "ckpt-04-0.40.safetensors"]);
    assert_eq!(cb.saved.len(), 3);
    assert!(load_model(&cb.saved[2]).is_ok());
    // A monitored figure that is not logged is an error naming the logged ones.
    let mut logs = Logs::new();
    logs.set("loss", 1.0);
    let err = cb.on_epoch_end(5, &logs, &mut model).unwrap_err().to_string();
    assert!(err.contains("val_loss"), "{err}");
}

#[test]
fn model_checkpoint_in_fit_saves_weights_every_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = data(40, 3, 5);
    let mut model = mlp(0);
    model
        .compile(
            Adam::new(0.01),
            losses::SparseCategoricalCrossentropy::new(),
            vec![Box::new(metrics::Accuracy::new()) as _],
        )
        .unwrap();
    let pattern = format!("{}/w{{epoch}}.safetensors", dir.path().display());
    let mut every = ModelCheckpoint::new(pattern).save_weights_only(true);
    let best = dir.path().join("best.safetensors");
    let mut best_cb = ModelCheckpoint::new(best.to_str().unwrap()).monitor("val_accuracy").save_best_only(true);
    let options = FitOptions {
        epochs: 3,
        validation_split: 0.25,
        verbose: 0,
        callbacks: vec![&mut every, &mut best_cb],
        ..Default::default()
    };
    model.fit(&x, &y, options).unwrap();
    assert_eq!(every.saved.len(), 3);
    for i in 1..=3 {
        assert!(dir.path().join(format!("w{i}.safetensors")).exists());
    }
    let mut other = mlp(7);
    other.load_weights(dir.path().join("w3.safetensors")).unwrap();
    assert_eq!(weights_bits(&other), weights_bits(&model));
    assert!(load_model(dir.path().join("w3.safetensors")).is_err(), "weights only");
    assert!(!best_cb.saved.is_empty() && load_model(&best).is_ok());
}

#[test]
fn model_checkpoint_path_patterns() {
    let mut logs = Logs::new();
    logs.set("val_loss", 0.123456);
    let cb = ModelCheckpoint::new("m-{epoch}-{epoch:03}-{epoch:02d}-{val_loss:.3f}-{val_loss}.st");
    assert_eq!(cb.path_for(6, &logs).unwrap(), Path::new("m-7-007-07-0.123-0.123456.st"));
    for bad in ["m-{loss}.st", "m-{epoch:x}.st", "m-{epoch", "m-{val_loss:.q}.st"] {
        assert!(ModelCheckpoint::new(bad).path_for(0, &logs).is_err(), "{bad}");
    }
}
