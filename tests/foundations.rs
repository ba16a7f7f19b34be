//! The model core's seams, each through a user-defined piece: a layer with state, a layer that
//! makes a mask, a layer on sequences of any length, user classes that save and load through
//! the registries, and a gradient reducer.

use kensho::autograd::{Param, Var};
use kensho::checkpoint::load_tensors;
use kensho::core::Rng;
use kensho::layers::{register_layer, Ctx, LayerConfig, TorchLayout, TorchTransform, TorchWeight};
use kensho::optim::Sgd;
use kensho::prelude::*;
use kensho::{GradientReducer, WeightsLayout};
use std::sync::{Arc, Mutex};

fn t(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).unwrap()
}

/// The identity, keeping a moving average (momentum 0.9) of its inputs' per-feature means in
/// training, as BatchNormalization keeps its moving mean.
struct MovingMean {
    name: String,
    mean: Option<Param>,
}

impl MovingMean {
    fn new() -> MovingMean {
        MovingMean { name: String::new(), mean: None }
    }
}

impl Layer for MovingMean {
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: &str) {
        self.name = name.to_string();
        if let Some(m) = &mut self.mean {
            m.set_name(format!("{name}.moving_mean"));
        }
    }
    fn kind(&self) -> &'static str {
        "MovingMean"
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::registered("MovingMean", &self.name)
    }
    fn build(&mut self, input: &Shape, _rng: &mut Rng) -> kensho::Result<Shape> {
        if self.mean.is_none() {
            let mut mean =
                Param::new(format!("{}.moving_mean", self.name), Tensor::zeros(&input.require_known("MovingMean")?));
            mean.trainable = false;
            self.mean = Some(mean);
        }
        Ok(input.clone())
    }
    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        let mean = self.mean.as_ref().expect("built");
        if cx.training {
            let batch = x.value().mean_axes(&[0], false);
            cx.update_state(mean, mean.value.mul_scalar(0.9).add(&batch.mul_scalar(0.1)));
        }
        x
    }
    fn state(&self) -> Vec<&Param> {
        self.mean.iter().collect()
    }
    fn state_mut(&mut self) -> Vec<&mut Param> {
        self.mean.iter_mut().collect()
    }
    fn per_sample(&self) -> bool {
        false
    }
    fn torch_layout(&self) -> Option<TorchLayout> {
        let weights = vec![TorchWeight::new("running_mean", TorchTransform::Identity)];
        Some(TorchLayout { modules: 1, weights, ..TorchLayout::default() })
    }
}

fn register_moving_mean() {
    register_layer("MovingMean", |config| {
        let mut layer = MovingMean::new();
        layer.set_name(config.as_str().unwrap_or_default());
        Ok(Box::new(layer))
    });
}

fn stateful_model() -> Sequential {
    Sequential::new().add(Input::new(&[2])).add(MovingMean::new()).add(Dense::new(1))
}

#[test]
fn state_is_updated_after_the_step_counted_saved_and_loaded_in_both_layouts() {
    register_moving_mean();
    let mut model = stateful_model();
    model.compile(Sgd::new(0.1), losses::MeanSquaredError, vec![]).unwrap();
    let x = t(&[1.0, 2.0, 3.0, 6.0], &[2, 2]);
    let y = t(&[1.0, 0.0], &[2, 1]);
    let kernel_before = model.params()[0].value.to_vec();
    model.train_step(&x, &y, None, 0).unwrap();
    // The state moved by 0.1 of the batch mean [2, 4]; the trainable kernel moved too.
    let state = model.layer("moving_mean").unwrap().state()[0].value.to_vec();
    assert_eq!(state, vec![0.2, 0.4]);
    assert_ne!(model.params()[0].value.to_vec(), kernel_before);
    // Inference leaves the state alone.
    model.predict(&x).unwrap();
    model.evaluate(&x, &y).unwrap();
    assert_eq!(model.layer("moving_mean").unwrap().state()[0].value.to_vec(), vec![0.2, 0.4]);
    // The summary counts the state as non-trainable.
    let summary = model.summary();
    assert!(summary.contains("Non-trainable params: 2 "), "{summary}");
    assert!(summary.contains("Total params: 5 "), "{summary}");

    let dir = tempfile::tempdir().unwrap();
    for layout in [WeightsLayout::Kensho, WeightsLayout::PyTorch] {
        let path = dir.path().join(format!("{layout:?}.safetensors"));
        model.save_weights_with(&path, layout).unwrap();
        let (tensors, _) = load_tensors(&path).unwrap();
        let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
        let expected = match layout {
            WeightsLayout::Kensho => ["moving_mean.moving_mean", "dense.kernel", "dense.bias"],
            WeightsLayout::PyTorch => ["0.running_mean", "1.weight", "1.bias"],
        };
        for name in expected {
            assert!(names.contains(&name), "{name} not in {names:?}");
        }
        let mut other = stateful_model();
        other.load_weights_with(&path, kensho::LoadOptions::default().layout(layout)).unwrap();
        assert_eq!(other.get_weights(), model.get_weights(), "{layout:?}");
    }
    // The whole-model file rebuilds the registered layer with its state.
    let path = dir.path().join("model.safetensors");
    model.save(&path).unwrap();
    let loaded = kensho::load_model(&path).unwrap();
    assert_eq!(loaded.layers()[1].kind(), "MovingMean");
    assert_eq!(loaded.get_weights(), model.get_weights());
}

#[test]
fn a_batch_dependent_layer_keeps_the_batch_whole_and_its_state_is_exact_on_two_threads() {
    kensho::set_num_threads(2);
    let mut model = stateful_model();
    model.compile(Sgd::new(0.0), losses::MeanSquaredError, vec![]).unwrap();
    let x = Tensor::from_fn(&[128, 2], |i| (i[0] * 2 + i[1]) as f32);
    model.train_step(&x, &Tensor::zeros(&[128, 1]), None, 0).unwrap();
    let mean = x.mean_axes(&[0], false).mul_scalar(0.1).to_vec();
    assert_eq!(model.layer("moving_mean").unwrap().state()[0].value.to_vec(), mean);
    kensho::set_num_threads(1);
}

/// The mean over the time axis of `[batch, time, features]` inputs of any length.
struct MeanOverTime(String);

impl Layer for MeanOverTime {
    fn name(&self) -> &str {
        &self.0
    }
    fn set_name(&mut self, name: &str) {
        self.0 = name.to_string();
    }
    fn kind(&self) -> &'static str {
        "MeanOverTime"
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::registered("MeanOverTime", &self.0)
    }
    fn build(&mut self, input: &Shape, _rng: &mut Rng) -> kensho::Result<Shape> {
        Ok(Shape::new(vec![input.last()]))
    }
    fn forward<'t>(&self, x: Var<'t>, _cx: &Ctx<'t>) -> Var<'t> {
        x.mean_axes(&[1], false)
    }
}

#[test]
fn inputs_of_unknown_length_build_once_and_run_on_any_length() {
    let mut model = Sequential::new()
        .add(Input::with_shape(Shape::new(vec![None, Some(3)])))
        .add(MeanOverTime(String::new()))
        .add(Dense::new(2));
    model.build_model().unwrap();
    assert_eq!(model.input_shape().unwrap().to_string(), "[None, 3]");
    assert!(model.summary().contains("(None, 2)"), "{}", model.summary());
    let short = model.predict(&Tensor::ones(&[4, 5, 3])).unwrap();
    let long = model.predict(&Tensor::ones(&[4, 9, 3])).unwrap();
    assert_eq!(short.shape(), &[4, 2]);
    // The mean of ones is one whatever the length.
    assert!(short.allclose(&long, 1e-6, 1e-6));
    let err = model.predict(&Tensor::ones(&[4, 5, 2])).unwrap_err().to_string();
    assert!(err.contains("[batch, None, 3]") && err.contains("[4, 5, 2]"), "{err}");
}

/// The identity on `[batch, time, classes]`, masking the time steps whose values are all zero
/// (as `Masking(mask_value=0)` does).
struct MaskZeros(String);

impl Layer for MaskZeros {
    fn name(&self) -> &str {
        &self.0
    }
    fn set_name(&mut self, name: &str) {
        self.0 = name.to_string();
    }
    fn kind(&self) -> &'static str {
        "MaskZeros"
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::registered("MaskZeros", &self.0)
    }
    fn build(&mut self, input: &Shape, _rng: &mut Rng) -> kensho::Result<Shape> {
        Ok(input.clone())
    }
    fn forward<'t>(&self, x: Var<'t>, _cx: &Ctx<'t>) -> Var<'t> {
        x
    }
    fn makes_mask(&self) -> bool {
        true
    }
    fn compute_mask(&self, inputs: &[Var<'_>], _masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        let x = inputs[0].value();
        let any = x.abs().sum_axes(&[2], false);
        vec![Some(any.map(|v| if v > 0.0 { 1.0 } else { 0.0 }))]
    }
}

#[test]
fn an_output_mask_weights_the_loss_and_its_sum_divides_it() {
    // Logits [1, 3, 2]: time steps 0 and 2 are real, step 1 is padding.
    let x = t(&[2.0, 0.0, 0.0, 0.0, 0.5, 1.5], &[1, 3, 2]);
    let y = t(&[0.0, 1.0, 1.0], &[1, 3]);
    // Cross-entropy of the real steps: -log softmax([2, 0])[0] and -log softmax([0.5, 1.5])[1].
    let ce = |z: [f32; 2], label: usize| {
        let lse = (z[0].exp() + z[1].exp()).ln();
        lse - z[label]
    };
    let expected = (ce([2.0, 0.0], 0) + ce([0.5, 1.5], 1)) / 2.0;
    for threads in [1, 2] {
        kensho::set_num_threads(threads);
        let mut model = Sequential::new().add(Input::new(&[3, 2])).add(MaskZeros(String::new()));
        model.compile(Sgd::new(0.1), losses::SparseCategoricalCrossentropy::from_logits(), vec![]).unwrap();
        let logs = model.evaluate(&x, &y).unwrap();
        assert!((logs.get("loss").unwrap() - expected).abs() < 1e-6, "{logs} vs {expected}");
        // A batch large enough to split on two threads still divides by the whole mask.
        let big_x = Tensor::concat(&vec![x.clone(); 128], 0);
        let big_y = Tensor::concat(&vec![y.clone(); 128], 0);
        let out = model.train_step(&big_x, &big_y, None, 0).unwrap();
        assert!((out.loss - expected).abs() < 1e-5, "{} vs {expected} on {threads} threads", out.loss);
    }
    kensho::set_num_threads(1);
}

/// A loss of a user class: `factor * mean((y_pred - y)^2)` over the last axis.
#[derive(serde::Serialize, serde::Deserialize)]
struct ScaledSquares {
    factor: f32,
}

impl losses::Loss for ScaledSquares {
    fn name(&self) -> &str {
        "scaled_squares"
    }
    fn check(&self, output_shape: &[usize], y_true: &Tensor) -> kensho::Result<()> {
        losses::MeanSquaredError.check(output_shape, y_true)
    }
    fn per_element<'t>(&self, y_pred: Var<'t>, y_true: &Tensor) -> Var<'t> {
        losses::MeanSquaredError.per_element(y_pred, y_true).mul_scalar(self.factor)
    }
    fn config(&self) -> losses::LossConfig {
        losses::LossConfig::registered("ScaledSquares", self)
    }
}

/// A metric of a user class: the largest absolute error seen, scaled.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct WorstError {
    scale: f32,
    #[serde(skip)]
    worst: f32,
}

impl metrics::Metric for WorstError {
    fn name(&self) -> &str {
        "worst_error"
    }
    fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) -> kensho::Result<()> {
        let diff = y_pred.sub(&y_true.reshape_to(y_pred.shape())).abs();
        self.worst = diff.to_vec().into_iter().fold(self.worst, f32::max);
        Ok(())
    }
    fn result(&self) -> f32 {
        self.worst * self.scale
    }
    fn reset(&mut self) {
        self.worst = 0.0;
    }
    fn config(&self) -> Option<metrics::MetricConfig> {
        Some(metrics::MetricConfig::registered("WorstError", self))
    }
}

#[test]
fn user_layers_losses_and_metrics_save_and_load_through_the_registries() {
    register_moving_mean();
    losses::register_loss("ScaledSquares", |config| {
        Ok(Box::new(
            serde_json::from_value::<ScaledSquares>(config.clone())
                .map_err(|e| kensho::Error::invalid("ScaledSquares config", config, e.to_string()))?,
        ))
    });
    metrics::register_metric("WorstError", |config| {
        let scale = config["scale"].as_f64().unwrap_or(1.0) as f32;
        Ok(Box::new(WorstError { scale, worst: 0.0 }))
    });
    let mut model = stateful_model();
    let metric = WorstError { scale: 2.0, worst: 0.0 };
    model.compile(Adam::new(0.01), ScaledSquares { factor: 3.0 }, vec![Box::new(metric)]).unwrap();
    let x = t(&[1.0, 2.0, 3.0, 6.0, -1.0, 0.5], &[3, 2]);
    let y = t(&[1.0, 0.0, 2.0], &[3, 1]);
    model.fit(&x, &y, FitOptions { epochs: 2, batch_size: 2, verbose: 0, ..Default::default() }).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("user.safetensors");
    model.save(&path).unwrap();
    let loaded = kensho::load_model(&path).unwrap();
    assert_eq!(loaded.loss().unwrap().name(), "scaled_squares");
    assert_eq!(loaded.metrics()[0].name(), "worst_error");
    assert_eq!(loaded.evaluate(&x, &y).unwrap(), model.evaluate(&x, &y).unwrap());

    // A class that was never registered is named in the error.
    let json = serde_json::to_string(&LayerConfig::registered("Unheard", &0)).unwrap();
    let config: LayerConfig = serde_json::from_str(&json).unwrap();
    let err = config.to_layer().err().unwrap().to_string();
    assert!(err.contains("Unheard") && err.contains("register_layer"), "{err}");
    // A malformed built-in configuration reports serde's reason.
    let err = serde_json::from_str::<LayerConfig>(r#"{"class_name": "Dense", "config": {"unit": 3}}"#).unwrap_err();
    assert!(err.to_string().contains("Dense config"), "{err}");
}

/// Records what it sees and scales every gradient.
struct Recorder {
    seen: Arc<Mutex<Vec<Vec<usize>>>>,
    scale: f32,
}

impl GradientReducer for Recorder {
    fn reduce(&mut self, grads: &mut [Tensor]) -> kensho::Result<()> {
        *self.seen.lock().unwrap() = grads.iter().map(|g| g.shape().to_vec()).collect();
        for g in grads.iter_mut() {
            *g = g.mul_scalar(self.scale);
        }
        Ok(())
    }
}

#[test]
fn the_gradient_reducer_sees_every_trainable_gradient_in_order_and_its_result_is_applied() {
    let x = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let y = t(&[1.0, 0.0], &[2, 1]);
    let model = |scale: f32| {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut m = Sequential::new().add(Input::new(&[2])).add(Dense::new(3)).add(Dense::new(1));
        m.compile(Sgd::new(0.1), losses::MeanSquaredError, vec![]).unwrap();
        m.layer_mut("dense").unwrap().set_trainable(false);
        m.set_gradient_reducer(Recorder { seen: Arc::clone(&seen), scale });
        m.train_step(&x, &y, None, 0).unwrap();
        (m.get_weights(), seen)
    };
    let (halved, seen) = model(0.5);
    // Only the trainable parameters, in parameter order: dense_1's kernel, then its bias.
    assert_eq!(*seen.lock().unwrap(), vec![vec![3, 1], vec![1]]);
    let (frozen, _) = model(0.0);
    let (plain, _) = model(1.0);
    let untouched = Sequential::new().add(Input::new(&[2])).add(Dense::new(3)).add(Dense::new(1)).get_weights();
    assert_eq!(frozen, untouched, "zeroed gradients leave every weight as initialised");
    // SGD is linear in the gradient: half the gradient moves the weights half as far.
    for ((h, p), u) in halved.iter().zip(&plain).zip(&untouched) {
        let expected = u.add(&p.sub(u).mul_scalar(0.5));
        assert!(h.allclose(&expected, 1e-6, 1e-7), "{h:?} vs {expected:?}");
    }
}

#[test]
fn a_dense_after_a_flatten_of_images_is_saved_with_channels_first_columns_for_pytorch() {
    let (h, w, c) = (2, 3, 4);
    let model =
        Sequential::new().add(Input::new(&[h, w, c])).add(Flatten::new()).add(Dropout::new(0.2)).add(Dense::new(5));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pt.safetensors");
    model.save_weights_with(&path, WeightsLayout::PyTorch).unwrap();
    let (tensors, _) = load_tensors(&path).unwrap();
    let weight = &tensors.iter().find(|(n, _)| n == "2.weight").expect("Flatten 0, Dropout 1, Linear 2").1;
    assert_eq!(weight.shape(), &[5, h * w * c]);
    let (weight, kernel) = (weight.to_vec(), model.params()[0].value.to_vec());
    for o in 0..5 {
        for (hi, wi, ci) in [(0, 0, 0), (1, 2, 3), (0, 2, 1), (1, 0, 2)] {
            // PyTorch column (c, h, w); kensho row (h, w, c).
            let column = (ci * h + hi) * w + wi;
            let row = (hi * w + wi) * c + ci;
            assert_eq!(weight[o * h * w * c + column], kernel[row * 5 + o]);
        }
    }
    let mut other = Sequential::new()
        .seed(9)
        .add(Input::new(&[h, w, c]))
        .add(Flatten::new())
        .add(Dropout::new(0.2))
        .add(Dense::new(5));
    other.load_weights_with(&path, kensho::LoadOptions::default().layout(WeightsLayout::PyTorch)).unwrap();
    assert_eq!(other.get_weights(), model.get_weights());
}
