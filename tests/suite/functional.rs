//! The functional API end to end: graph construction errors, shared layers' gradients, the
//! equivalence with `Sequential`, several outputs (loss weights, logs, targets by name),
//! several inputs (fit, predict, data by name), whole-model files with branches, a shared
//! layer and a user layer, and a data loader feeding several inputs.
//!
//! Expected values are computed independently of the code under test: by hand in f64 from
//! `predict_many`'s outputs, by central finite differences through `evaluate`, or by an
//! equivalent model built another way (a `Sequential`, an unshared twin, positional data).

use kensho::autograd::{Param, Tape, Var};
use kensho::core::{seeded_rng, Rng};
use kensho::data::{DataLoader, TensorDataset};
use kensho::layers::{register_layer, Ctx, LayerConfig};
use kensho::optim::Sgd;
use kensho::prelude::*;

/// A `[rows, cols]` tensor of uniform values in [-1, 1), reproducible from `seed`.
fn uniform(rows: usize, cols: usize, seed: u64) -> Tensor {
    Tensor::rand_uniform(&[rows, cols], -1.0, 1.0, &mut seeded_rng(seed))
}

/// The bits of every weight, to compare models exactly.
fn bits(weights: &[Tensor]) -> Vec<Vec<u32>> {
    weights.iter().map(|w| w.to_vec().iter().map(|v| v.to_bits()).collect()).collect()
}

fn quiet(epochs: usize, batch_size: usize) -> FitOptions<'static> {
    FitOptions { epochs, batch_size, verbose: 0, ..Default::default() }
}

/// The message of an error that must happen.
fn message<T: std::fmt::Debug>(result: kensho::Result<T>) -> String {
    result.expect_err("an error").to_string()
}

/// Asserts that `text` contains every piece.
#[track_caller]
fn assert_names(text: &str, pieces: &[&str]) {
    for piece in pieces {
        assert!(text.contains(piece), "expected {piece:?} in: {text}");
    }
}

/// `x * s` with one trainable scalar `s`: a user-defined layer, saved through the layer
/// registry under `class` (`Scale`, registered; `UnregisteredScale`, never registered).
struct Scale {
    name: String,
    class: &'static str,
    init: f32,
    scale: Option<Param>,
}

impl Scale {
    fn new(class: &'static str, init: f32) -> Scale {
        Scale { name: String::new(), class, init, scale: None }
    }
}

impl Layer for Scale {
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: &str) {
        self.name = name.to_string();
        if let Some(s) = &mut self.scale {
            s.set_name(format!("{name}.scale"));
        }
    }
    fn kind(&self) -> &'static str {
        self.class
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::registered(self.class, &serde_json::json!({ "name": self.name, "init": self.init }))
    }
    fn build(&mut self, input: &Shape, _rng: &mut Rng) -> kensho::Result<Shape> {
        if self.scale.is_none() {
            self.scale = Some(Param::new(format!("{}.scale", self.name), Tensor::full(&[1], self.init)));
        }
        Ok(input.clone())
    }
    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        x.mul(cx.tape.param(self.scale.as_ref().expect("built")))
    }
    fn params(&self) -> Vec<&Param> {
        self.scale.iter().collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.scale.iter_mut().collect()
    }
}

fn register_scale() {
    register_layer("Scale", |config| {
        let mut layer = Scale::new("Scale", config["init"].as_f64().unwrap_or(1.0) as f32);
        layer.set_name(config["name"].as_str().unwrap_or_default());
        Ok(Box::new(layer))
    });
}

// ---------------------------------------------------------------------------------------------
// 1. Graph construction errors.

#[test]
fn an_output_that_reads_an_input_not_given_names_that_input() {
    let left = Input::new(&[4]).with_name("left");
    let right = Input::new(&[4]).with_name("right");
    let y = Add::new().on_all(&[&left, &right]).unwrap();
    let err = message(Model::new(&[&left], &[&y]));
    assert_names(&err, &["\"right\"", "add \"right\" to the inputs"]);
}

#[test]
fn an_input_connected_to_no_output_is_named() {
    let used = Input::new(&[4]).with_name("used");
    let spare = Input::new(&[4]).with_name("spare");
    let y = Dense::new(2).on(&used).unwrap();
    let err = message(Model::new(&[&used, &spare], &[&y]));
    assert_names(&err, &["\"spare\"", "no output depends on"]);
}

#[test]
fn mismatched_merge_shapes_fail_at_the_call_naming_the_layer_and_shapes() {
    let a = Input::new(&[4]);
    let b = Input::new(&[5]);
    let err = message(Add::new().named("join").on_all(&[&a, &b]));
    assert_names(&err, &["Add \"join\"", "[4]", "[5]"]);
}

#[test]
fn a_shared_layer_called_on_another_shape_names_both_shapes() {
    let tower = Dense::new(3).named("tower");
    tower.on(&Input::new(&[4])).unwrap();
    let err = message(tower.on(&Input::new(&[5])));
    assert_names(&err, &["Dense \"tower\"", "[5]", "first call, [4]"]);
}

#[test]
fn a_layer_owned_by_another_model_is_an_error_in_new_and_at_a_call_naming_it() {
    let tower = Dense::new(3).named("tower");
    let (a, b) = (Input::new(&[4]), Input::new(&[4]).with_name("b"));
    let (ya, yb) = (tower.on(&a).unwrap(), tower.on(&b).unwrap());
    Model::new(&[&a], &[&ya]).unwrap();
    // The second model's graph holds a call of the layer that the first model now owns.
    let err = message(Model::new(&[&b], &[&yb]));
    assert_names(&err, &["Dense \"tower\"", "belongs to another model"]);
    // Calling the layer after a model took it.
    let err = message(tower.on(&Input::new(&[4])));
    assert_names(&err, &["Dense \"tower\"", "belongs to a model already"]);
    // The failed Model::new left the input "b" to its graph: a model of it can still be made.
    let model = Model::new(&[&b], &[&Dense::new(2).on(&b).unwrap()]).unwrap();
    assert_eq!(model.input_names(), ["b"]);
}

#[test]
fn two_layers_with_one_name_are_an_error_naming_it_that_leaves_the_layers_usable() {
    let x = Input::new(&[4]);
    let h = Dense::new(3).named("head").on(&x).unwrap();
    let y = Dense::new(2).named("head").on(&h).unwrap();
    let err = message(Model::new(&[&x], &[&y]));
    assert_names(&err, &["layer name", "head", "unique"]);
    // The layers are still the graph's: the part up to the first "head" makes a model.
    let model = Model::new(&[&x], &[&h]).unwrap();
    assert_eq!(model.output_names(), ["head"]);
    assert_eq!(model.count_params(), 4 * 3 + 3);
}

// ---------------------------------------------------------------------------------------------
// 2. A shared layer's gradient.

/// Two inputs through one Dense tower (tanh), subtracted, then a Dense head.
fn siamese() -> Model {
    let left = Input::new(&[3]).with_name("left");
    let right = Input::new(&[3]).with_name("right");
    let tower = Dense::new(2).activation(Activation::Tanh).named("tower");
    let d = Subtract::new().on_all(&[&tower.on(&left).unwrap(), &tower.on(&right).unwrap()]).unwrap();
    let out = Dense::new(1).named("out").on(&d).unwrap();
    let mut model = Model::with_seed(&[&left, &right], &[&out], 3).unwrap();
    model.compile(Sgd::new(0.1), losses::MeanSquaredError, vec![]).unwrap();
    model
}

/// The same graph with two towers of their own (`tower_l`, `tower_r`).
fn twin() -> Model {
    let left = Input::new(&[3]).with_name("left");
    let right = Input::new(&[3]).with_name("right");
    let l = Dense::new(2).activation(Activation::Tanh).named("tower_l").on(&left).unwrap();
    let r = Dense::new(2).activation(Activation::Tanh).named("tower_r").on(&right).unwrap();
    let d = Subtract::new().on_all(&[&l, &r]).unwrap();
    let out = Dense::new(1).named("out").on(&d).unwrap();
    let mut model = Model::new(&[&left, &right], &[&out]).unwrap();
    model.compile(Sgd::new(0.1), losses::MeanSquaredError, vec![]).unwrap();
    model
}

/// The gradient of the batch loss with respect to each named parameter, from the tape.
fn loss_gradients(model: &Model, x: &[Tensor], y: &Tensor, names: &[&str]) -> Vec<Vec<f32>> {
    let tape = Tape::new();
    let cx = Ctx::new(&tape, false, seeded_rng(0));
    let inputs: Vec<Var<'_>> = x.iter().map(|t| tape.constant(t.clone())).collect();
    let outputs = model.call(&inputs, &cx);
    let loss = model.batch_loss(outputs[0], y, None).unwrap();
    let grads = tape.backward(loss);
    names
        .iter()
        .map(|name| {
            let param = model.params().into_iter().find(|p| p.name() == *name).expect("a parameter of the model");
            grads.get(param.id()).expect("a gradient").to_vec()
        })
        .collect()
}

#[test]
fn a_shared_layer_gets_one_gradient_that_sums_both_uses() {
    let mut model = siamese();
    let (xa, xb, y) = (uniform(6, 3, 1), uniform(6, 3, 2), uniform(6, 1, 3));
    let x = [xa.clone(), xb.clone()];
    // One kernel: 3 * 2 + 2 (tower) + 2 + 1 (out).
    assert_eq!(model.count_params(), 11);
    let analytic = loss_gradients(&model, &x, &y, &["tower.kernel"]).remove(0);

    // Central finite differences of the `evaluate` loss (the same MSE, one batch of 6).
    let k = model.weights().iter().position(|p| p.name() == "tower.kernel").unwrap();
    let original = model.get_weights();
    let eps = 5e-3;
    let loss_with = |model: &mut Model, j: usize, delta: f32| {
        let mut w = original.clone();
        w[k] = w[k].to_contiguous();
        w[k].add_at(j, delta);
        model.set_weights(&w).unwrap();
        f64::from(model.evaluate_batched([&xa, &xb], &y, 6).unwrap().get("loss").unwrap())
    };
    for (j, &a) in analytic.iter().enumerate() {
        let numeric = (loss_with(&mut model, j, eps) - loss_with(&mut model, j, -eps)) / (2.0 * f64::from(eps));
        let a = f64::from(a);
        assert!((a - numeric).abs() <= 1e-3 + 1e-2 * numeric.abs(), "element {j}: analytic {a}, numeric {numeric}");
    }
    model.set_weights(&original).unwrap();

    // The same graph with two towers holding the shared tower's weights: each tower's gradient
    // is one use's share, and the shared gradient is their sum. Both shares are far from
    // zero, so a gradient that kept one use only would fail here (and above).
    let mut separate = twin();
    let by_name = |name: &str| {
        let shared = name.replace("tower_l", "tower").replace("tower_r", "tower");
        model.weights().iter().find(|p| p.name() == shared).expect("a shared weight").value.clone()
    };
    let weights: Vec<Tensor> = separate.weights().iter().map(|p| by_name(p.name())).collect();
    separate.set_weights(&weights).unwrap();
    let parts = loss_gradients(&separate, &x, &y, &["tower_l.kernel", "tower_r.kernel"]);
    for part in &parts {
        assert!(part.iter().map(|g| g.abs()).sum::<f32>() > 1e-2, "{part:?}");
    }
    for (j, &a) in analytic.iter().enumerate() {
        let sum = parts[0][j] + parts[1][j];
        assert!((a - sum).abs() <= 1e-6 + 1e-5 * sum.abs(), "element {j}: shared {a}, sum of uses {sum}");
    }
}

// ---------------------------------------------------------------------------------------------
// 3. A functional chain is the Sequential of the same layers.

#[test]
fn a_functional_chain_matches_the_sequential_of_the_same_layers_bit_for_bit() {
    let functional = |seed: u64| {
        let x = Input::new(&[4]);
        let h = Dense::new(8).activation(Activation::Relu).on(&x).unwrap();
        let y = Dense::new(3).activation(Activation::Softmax).on(&h).unwrap();
        Model::with_seed(&[&x], &[&y], seed).unwrap()
    };
    let mut model = functional(7);
    let mut sequential = Sequential::new()
        .seed(7)
        .add(Input::new(&[4]))
        .add(Dense::new(8).activation(Activation::Relu))
        .add(Dense::new(3).activation(Activation::Softmax));
    sequential.build_model().unwrap();
    let initial = model.get_weights();
    assert_eq!(bits(&initial), bits(&sequential.get_weights()));
    // The seed matters, so the equality above is not a coincidence of the initializers.
    assert_ne!(bits(&initial), bits(&functional(8).get_weights()));

    let x = uniform(40, 4, 11);
    let labels: Vec<f32> = (0..40).map(|i| (i % 3) as f32).collect();
    let y = Tensor::from_vec(labels, &[40]).unwrap();
    let metrics = || -> Vec<Box<dyn kensho::metrics::Metric>> { vec![Box::new(metrics::Accuracy::new())] };
    let loss = losses::SparseCategoricalCrossentropy::new;
    model.compile(Adam::new(0.01), loss(), metrics()).unwrap();
    sequential.compile(Adam::new(0.01), loss(), metrics()).unwrap();
    let options = || FitOptions { validation_split: 0.25, ..quiet(3, 8) };
    let history = model.fit(&x, &y, options()).unwrap();
    let sequential_history = sequential.fit(&x, &y, options()).unwrap();
    assert_eq!(history, sequential_history);
    assert_eq!(history.len(), 3);
    assert_ne!(bits(&model.get_weights()), bits(&initial), "training changed nothing");
    assert_eq!(bits(&model.get_weights()), bits(&sequential.get_weights()));
}

// ---------------------------------------------------------------------------------------------
// 4. Several outputs: loss weights, per-output logs, targets by name.

/// One input, a shared hidden layer, heads "a" (2 values) and "b" (1 value), compiled with MSE
/// on both (loss weights 1 and 0.25) and MAE as a metric.
fn two_heads() -> Model {
    let x = Input::new(&[3]);
    let h = Dense::new(4).activation(Activation::Tanh).on(&x).unwrap();
    let a = Dense::new(2).named("a").on(&h).unwrap();
    let b = Dense::new(1).named("b").on(&h).unwrap();
    let mut model = Model::with_seed(&[&x], &[&a, &b], 5).unwrap();
    let mae = || -> Vec<Box<dyn kensho::metrics::Metric>> { vec![Box::new(metrics::MeanAbsoluteError::new())] };
    model
        .compile_heads(
            Sgd::new(0.05),
            vec![
                ("a", Head::new(losses::MeanSquaredError).metrics(mae())),
                ("b", Head::new(losses::MeanSquaredError).weight(0.25).metrics(mae())),
            ],
        )
        .unwrap();
    model
}

/// Mean of `f(prediction - target)` over all elements, in f64.
fn mean_of(pred: &Tensor, target: &Tensor, f: impl Fn(f64) -> f64) -> f64 {
    assert_eq!(pred.shape(), target.shape());
    let (p, t) = (pred.to_vec(), target.to_vec());
    p.iter().zip(&t).map(|(&p, &t)| f(f64::from(p) - f64::from(t))).sum::<f64>() / p.len() as f64
}

#[track_caller]
fn assert_close(got: f32, expected: f64, what: &str) {
    let got = f64::from(got);
    assert!((got - expected).abs() <= 1e-6 + 1e-5 * expected.abs(), "{what}: got {got}, expected {expected}");
}

#[test]
fn several_outputs_weight_their_losses_and_log_each_output() {
    let model = two_heads();
    let (x, ya, yb) = (uniform(10, 3, 21), uniform(10, 2, 22), uniform(10, 1, 23));
    let predictions = model.predict_many(&x, 32).unwrap();
    assert_eq!(predictions.len(), 2);
    // By hand from the predictions: each output's mean squared error times its weight.
    let mse_a = mean_of(&predictions[0], &ya, |d| d * d);
    let mse_b = mean_of(&predictions[1], &yb, |d| d * d);
    let (mae_a, mae_b) = (mean_of(&predictions[0], &ya, f64::abs), mean_of(&predictions[1], &yb, f64::abs));
    assert!(mse_b > 1e-3, "the weight of b must show");
    // Batches of 10 (one batch) and of 4 (batches of 4, 4, 2, averaged by rows: the same mean).
    for batch_size in [10, 4] {
        let logs = model.evaluate_batched(&x, [&ya, &yb], batch_size).unwrap();
        assert_eq!(logs.names(), ["loss", "a_loss", "b_loss", "a_mae", "b_mae"]);
        assert_close(logs.get("loss").unwrap(), mse_a + 0.25 * mse_b, "loss");
        assert_close(logs.get("a_loss").unwrap(), mse_a, "a_loss");
        assert_close(logs.get("b_loss").unwrap(), 0.25 * mse_b, "b_loss");
        assert_close(logs.get("a_mae").unwrap(), mae_a, "a_mae");
        assert_close(logs.get("b_mae").unwrap(), mae_b, "b_mae");
    }
    let heads = model.heads();
    assert_eq!(heads.iter().map(Head::loss_weight).collect::<Vec<_>>(), [1.0, 0.25]);
}

#[test]
fn targets_by_name_train_as_targets_in_order() {
    let (x, ya, yb) = (uniform(12, 3, 31), uniform(12, 2, 32), uniform(12, 1, 33));
    let (mut named, mut positional) = (two_heads(), two_heads());
    let initial = named.get_weights();
    let h_named = named.fit(&x, [("b", &yb), ("a", &ya)], quiet(2, 4)).unwrap();
    let h_positional = positional.fit(&x, [&ya, &yb], quiet(2, 4)).unwrap();
    assert_ne!(bits(&named.get_weights()), bits(&initial), "training changed nothing");
    assert_eq!(bits(&named.get_weights()), bits(&positional.get_weights()));
    assert_eq!(h_named, h_positional);
    assert_eq!(h_named.names(), ["loss", "a_loss", "b_loss", "a_mae", "b_mae"]);
}

#[test]
fn a_target_of_the_wrong_shape_names_its_output() {
    let (x, ya, yb) = (uniform(12, 3, 31), uniform(12, 2, 32), uniform(12, 1, 33));
    // Swapped positional targets: "a" ([12, 2]) receives [12, 1].
    let err = message(two_heads().fit(&x, [&yb, &ya], quiet(1, 4)));
    assert_names(&err, &["\"a\"", "[12, 2]", "[12, 1]"]);
}

// ---------------------------------------------------------------------------------------------
// 5. Several inputs.

/// Inputs "user" [3] and "item" [2], each through a Dense tower, concatenated, a Dense head.
fn two_towers() -> Model {
    let user = Input::new(&[3]).with_name("user");
    let item = Input::new(&[2]).with_name("item");
    let u = Dense::new(4).activation(Activation::Relu).on(&user).unwrap();
    let i = Dense::new(4).activation(Activation::Relu).on(&item).unwrap();
    let joined = Concatenate::new(-1).on_all(&[&u, &i]).unwrap();
    let y = Dense::new(1).on(&joined).unwrap();
    let mut model = Model::with_seed(&[&user, &item], &[&y], 9).unwrap();
    model.compile(Adam::new(0.02), losses::MeanSquaredError, vec![]).unwrap();
    model
}

#[test]
fn several_inputs_train_and_predict_in_order_or_by_name() {
    let (xu, xi) = (uniform(16, 3, 41), uniform(16, 2, 42));
    // A target the model can learn: a sum of both inputs' features.
    let target: Vec<f32> =
        (0..16).map(|r| xu.to_vec()[r * 3..r * 3 + 3].iter().sum::<f32>() - xi.to_vec()[r * 2]).collect();
    let y = Tensor::from_vec(target, &[16, 1]).unwrap();
    let (mut positional, mut named) = (two_towers(), two_towers());
    assert_eq!(positional.input_names(), ["user", "item"]);
    let history = positional.fit([&xu, &xi], &y, quiet(20, 4)).unwrap();
    named.fit([("item", &xi), ("user", &xu)], &y, quiet(20, 4)).unwrap();
    let losses = history.get("loss").unwrap();
    assert!(losses[19] < 0.5 * losses[0], "the model did not learn: {losses:?}");
    assert_eq!(bits(&positional.get_weights()), bits(&named.get_weights()));

    let by_position = positional.predict_many([&xu, &xi], 5).unwrap();
    let by_name = positional.predict_many([("item", &xi), ("user", &xu)], 5).unwrap();
    assert_eq!(by_position[0].to_vec(), by_name[0].to_vec());
    assert_eq!(by_position[0].shape(), [16, 1]);

    // Wrong names and counts name the model's inputs.
    let expected = ["\"user\"", "\"item\""];
    assert_names(&message(positional.fit([("users", &xu), ("item", &xi)], &y, quiet(1, 4))), &expected);
    assert_names(&message(positional.fit(&xu, &y, quiet(1, 4))), &expected);
    assert_names(&message(positional.predict_many([("user", &xu)], 4)), &expected);
    assert_names(&message(positional.predict_many([&xu, &xi, &xi], 4)), &expected);
    assert_names(&message(positional.evaluate([("users", &xu), ("item", &xi)], &y)), &expected);
}

// ---------------------------------------------------------------------------------------------
// 6. Whole-model files.

/// A residual branch (Add), a user layer (Scale), a Dense shared by two calls, and two
/// outputs "a" and "b" with their own losses, weights and metrics.
fn branched() -> Model {
    let x = Input::new(&[4]).with_name("x");
    let h = Dense::new(4).activation(Activation::Tanh).on(&x).unwrap();
    let residual = Add::new().on_all(&[&x, &h]).unwrap();
    let scaled = Scale::new("Scale", 1.5).on(&residual).unwrap();
    let shared = Dense::new(4).activation(Activation::Tanh).named("shared");
    let (u, v) = (shared.on(&scaled).unwrap(), shared.on(&residual).unwrap());
    let a = Dense::new(2).named("a").on(&u).unwrap();
    let b = Dense::new(1).named("b").on(&Add::new().on_all(&[&u, &v]).unwrap()).unwrap();
    let mut model = Model::with_seed(&[&x], &[&a, &b], 13).unwrap();
    let metric = |m: Box<dyn kensho::metrics::Metric>| vec![m];
    model
        .compile_heads(
            Adam::new(0.01),
            vec![
                ("a", Head::new(losses::MeanSquaredError).metrics(metric(Box::new(metrics::MeanAbsoluteError::new())))),
                (
                    "b",
                    Head::new(losses::MeanAbsoluteError)
                        .weight(0.5)
                        .metrics(metric(Box::new(metrics::MeanSquaredError::new()))),
                ),
            ],
        )
        .unwrap();
    model
}

#[test]
fn a_branched_model_with_shared_and_user_layers_saves_and_loads_exactly() {
    register_scale();
    let mut model = branched();
    let (x, ya, yb) = (uniform(12, 4, 51), uniform(12, 2, 52), uniform(12, 1, 53));
    model.fit(&x, [&ya, &yb], quiet(2, 4)).unwrap();
    let scale = model.layer("scale").unwrap().params()[0].value.item();
    assert_ne!(scale, 1.5, "the user layer's weight trained");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("branched.safetensors");
    model.save(&path).unwrap();
    let mut loaded = kensho::load_model(&path).unwrap();

    assert_eq!(loaded.summary(), model.summary());
    assert_eq!(loaded.layer("scale").unwrap().kind(), "Scale");
    assert_eq!(loaded.input_names(), ["x"]);
    assert_eq!(loaded.output_names(), ["a", "b"]);
    assert_eq!(bits(&loaded.get_weights()), bits(&model.get_weights()));
    // The heads' losses and weights (their metrics show in the evaluate logs below).
    let heads = |m: &Model| -> Vec<(String, f32)> {
        m.heads().iter().map(|h| (h.loss().name().to_string(), h.loss_weight())).collect()
    };
    assert_eq!(heads(&loaded), heads(&model));
    assert_eq!(heads(&loaded)[1].1, 0.5);

    let (p, q) = (model.predict_many(&x, 32).unwrap(), loaded.predict_many(&x, 32).unwrap());
    for (p, q) in p.iter().zip(&q) {
        assert_eq!(p.to_vec(), q.to_vec());
    }
    let logs = loaded.evaluate(&x, [&ya, &yb]).unwrap();
    assert_eq!(logs.names(), ["loss", "a_loss", "b_loss", "a_mae", "b_mse"]);
    assert_eq!(logs, model.evaluate(&x, [&ya, &yb]).unwrap());

    // One more epoch on both: the optimizer state and the seed came back too.
    let h_model = model.fit(&x, [&ya, &yb], quiet(1, 4)).unwrap();
    let h_loaded = loaded.fit(&x, [&ya, &yb], quiet(1, 4)).unwrap();
    assert_eq!(h_model, h_loaded);
    assert_eq!(bits(&loaded.get_weights()), bits(&model.get_weights()));
}

#[test]
fn loading_an_unregistered_user_layer_names_the_class_and_how_to_register() {
    let x = Input::new(&[2]);
    let scaled = Scale::new("UnregisteredScale", 2.0).on(&x).unwrap();
    let y = Dense::new(1).on(&scaled).unwrap();
    let model = Model::new(&[&x], &[&y]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unregistered.safetensors");
    model.save(&path).unwrap();
    let err = message(kensho::load_model(&path));
    assert_names(&err, &["UnregisteredScale", "register_layer"]);
}

// ---------------------------------------------------------------------------------------------
// 7. A data loader yielding several inputs.

/// Inputs "left" and "right", both [3] (so a swap of the two would go unnoticed by shapes),
/// through their own Dense layers, added, a Dense head.
fn two_same_inputs() -> Model {
    let left = Input::new(&[3]).with_name("left");
    let right = Input::new(&[3]).with_name("right");
    let l = Dense::new(4).activation(Activation::Tanh).on(&left).unwrap();
    let r = Dense::new(4).activation(Activation::Relu).on(&right).unwrap();
    let y = Dense::new(1).on(&Add::new().on_all(&[&l, &r]).unwrap()).unwrap();
    let mut model = Model::with_seed(&[&left, &right], &[&y], 17).unwrap();
    model.compile(Sgd::new(0.05), losses::MeanSquaredError, vec![]).unwrap();
    model
}

#[test]
fn a_data_loader_of_several_inputs_drives_fit_loader() {
    let (xl, xr, y) = (uniform(20, 3, 61), uniform(20, 3, 62), uniform(20, 1, 63));
    let dataset = TensorDataset::from_lists(vec![xl.clone(), xr.clone()], vec![y.clone()]).unwrap();
    // Unshuffled batches of 5: the same batches as `fit` without shuffling.
    let loader = DataLoader::new(dataset.clone(), 5).unwrap();
    let (mut from_loader, mut from_tensors) = (two_same_inputs(), two_same_inputs());
    let initial = from_loader.get_weights();
    let h_loader = from_loader.fit_loader(&loader, quiet(3, 5)).unwrap();
    let h_tensors = from_tensors.fit([&xl, &xr], &y, FitOptions { shuffle: false, ..quiet(3, 5) }).unwrap();
    assert_ne!(bits(&from_loader.get_weights()), bits(&initial), "training changed nothing");
    assert_eq!(bits(&from_loader.get_weights()), bits(&from_tensors.get_weights()));
    assert_eq!(h_loader, h_tensors);

    // A shuffled loader trains too, and the loss falls.
    let loader = DataLoader::new(dataset, 4).unwrap().shuffle(1);
    let mut model = two_same_inputs();
    let history = model.fit_loader(&loader, quiet(30, 4)).unwrap();
    let losses = history.get("loss").unwrap();
    assert!(losses[29] < losses[0], "{losses:?}");
}

#[test]
fn output_names_stay_unique_when_a_layer_takes_a_generated_name() {
    // An LSTM "lstm" with its states gives outputs lstm, lstm_1, lstm_2; a layer named "lstm_1"
    // would take the second name again.
    let inputs = Input::new(&[5, 3]);
    let outs = Lstm::new(4).return_state(true).with_name("lstm").shared().call_symbolic(&[&inputs]).unwrap();
    let dense = Dense::new(2).named("lstm_1").on(&outs[0]).unwrap();
    let model = Model::new(&[&inputs], &[&outs[0], &outs[1], &outs[2], &dense]).unwrap();
    assert_eq!(model.output_names(), ["lstm", "lstm_1", "lstm_2", "lstm_1_1"]);
}
