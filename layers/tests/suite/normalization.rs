//! BatchNormalization: the conformance harness, literal values in inference and training, the
//! moving-statistics update, freezing, masks, PyTorch layout, configs and build errors.
//!
//! Reference values were computed with Python's `math` module from the formulas
//! `gamma * (x - mean) / sqrt(var + eps) + beta` and `moving * m + batch * (1 - m)` (snippets
//! inline).

use kensho_autograd::Tape;
use kensho_core::{seeded_rng, Tensor};
use kensho_layers::testing::check_layer;
use kensho_layers::{apply_state_updates, BatchNormalization, Ctx, Layer, LayerConfig, Regularizer, Shape};

fn t(data: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(data.to_vec(), shape).unwrap()
}

fn assert_close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{got:?} vs {want:?}");
    }
}

fn built(layer: BatchNormalization, shape: &[usize]) -> BatchNormalization {
    let mut layer = layer.with_name("bn");
    layer.build(&Shape::known(shape), &mut seeded_rng(0)).unwrap();
    layer
}

/// Runs the layer on `x`; returns the output and the state after applying the updates.
fn run(layer: &mut BatchNormalization, x: &Tensor, training: bool) -> (Vec<f32>, Vec<Vec<f32>>) {
    let (y, updates) = {
        let tape = Tape::no_grad();
        let cx = Ctx::new(&tape, training, seeded_rng(0));
        let y = layer.forward(tape.constant(x.clone()), &cx).value().to_vec();
        (y, cx.take_updates())
    };
    apply_state_updates(layer.state_mut(), &updates);
    (y, layer.state().iter().map(|p| p.value.to_vec()).collect())
}

#[test]
fn passes_check_layer_on_vectors_sequences_and_a_middle_axis() {
    check_layer(&mut BatchNormalization::new(), &[3], 6, 6).unwrap();
    check_layer(&mut BatchNormalization::new().momentum(0.5), &[4, 3], 5, 6).unwrap();
    check_layer(&mut BatchNormalization::new().axis(1), &[2, 3], 4, 4).unwrap();
    check_layer(&mut BatchNormalization::new().center(false).scale(false), &[3], 6, 0).unwrap();
}

#[test]
fn inference_uses_the_moving_statistics() {
    let mut bn = built(BatchNormalization::new(), &[2]);
    {
        let mut params = bn.params_mut();
        params[0].value = t(&[2.0, 0.5], &[2]);
        params[1].value = t(&[1.0, -1.0], &[2]);
    }
    {
        let mut state = bn.state_mut();
        state[0].value = t(&[1.0, 2.0], &[2]);
        state[1].value = t(&[4.0, 0.25], &[2]);
    }
    // x=[[3,2.5],[-1,1]]; g=[2,.5]; b=[1,-1]; mm=[1,2]; mv=[4,.25]
    // [[g[j]*(r[j]-mm[j])/math.sqrt(mv[j]+1e-3)+b[j] for j in range(2)] for r in x]
    let want = [2.99975, -0.500_997, -0.99975, -1.998_006];
    let (y, state) = run(&mut bn, &t(&[3.0, 2.5, -1.0, 1.0], &[2, 2]), false);
    assert_close(&y, &want, 1e-6);
    assert_eq!(state, [vec![1.0, 2.0], vec![4.0, 0.25]], "inference leaves the state alone");
}

#[test]
fn training_normalizes_by_the_batch_and_moves_the_statistics() {
    let mut bn = built(BatchNormalization::new(), &[2]);
    // x=[[1,0],[3,4],[5,8]]: mean [3, 4], biased variance [8/3, 32/3].
    // [[(r[j]-m[j])/math.sqrt(v[j]+1e-3) for j in range(2)] for r in x]
    let want = [-1.224_515_3, -1.224_687_5, 0.0, 0.0, 1.224_515_3, 1.224_687_5];
    let (y, state) = run(&mut bn, &t(&[1.0, 0.0, 3.0, 4.0, 5.0, 8.0], &[3, 2]), true);
    assert_close(&y, &want, 1e-5);
    // moving_mean = 0 * 0.99 + mean * 0.01; moving_variance = 1 * 0.99 + var * 0.01.
    assert_close(&state[0], &[0.03, 0.04], 1e-6);
    assert_close(&state[1], &[1.016_666_7, 1.096_666_7], 1e-6);
}

#[test]
fn a_frozen_layer_runs_in_inference_mode_and_keeps_its_state() {
    let mut bn = built(BatchNormalization::new(), &[2]);
    bn.set_trainable(false);
    assert!(bn.per_sample(), "frozen: each sample on its own");
    let x = t(&[1.0, 0.0, 3.0, 4.0, 5.0, 8.0], &[3, 2]);
    let (trained, state) = run(&mut bn, &x, true);
    let (inferred, _) = run(&mut bn, &x, false);
    assert_eq!(trained, inferred);
    assert_eq!(state, [vec![0.0, 0.0], vec![1.0, 1.0]]);
    bn.set_trainable(true);
    assert!(!bn.per_sample());
}

#[test]
fn masked_positions_do_not_count_in_the_batch_statistics() {
    let bn = built(BatchNormalization::new().momentum(0.0), &[3, 1]);
    // One sequence of three steps, the last masked: the statistics are those of [1, 3].
    let x = t(&[1.0, 3.0, 100.0], &[1, 3, 1]);
    let mask = t(&[1.0, 1.0, 0.0], &[1, 3]);
    let tape = Tape::no_grad();
    let cx = Ctx::new(&tape, true, seeded_rng(0));
    let y = bn.call(&[tape.constant(x)], &[Some(mask)], &cx)[0].value().to_vec();
    let s = (1.0f32 + 1e-3).sqrt();
    assert_close(&y[..2], &[-1.0 / s, 1.0 / s], 1e-6);
    let updates = cx.take_updates();
    assert_close(&updates[0].value.to_vec(), &[2.0], 1e-6);
    assert_close(&updates[1].value.to_vec(), &[1.0], 1e-6);
}

#[test]
fn weights_are_named_counted_and_laid_out_as_pytorch_batch_norm() {
    let bn = built(BatchNormalization::new(), &[4, 4, 8]);
    let names: Vec<&str> = bn.params().iter().chain(bn.state().iter()).map(|p| p.name()).collect();
    assert_eq!(names, ["bn.gamma", "bn.beta", "bn.moving_mean", "bn.moving_variance"]);
    assert!(bn.params().iter().all(|p| p.trainable) && bn.state().iter().all(|p| !p.trainable));
    let total: usize = bn.params().iter().chain(bn.state().iter()).map(|p| p.value.len()).sum();
    assert_eq!(total, 4 * 8);
    assert_eq!(bn.state()[1].value.to_vec(), vec![1.0; 8], "moving variance starts at ones");
    let layout = bn.torch_layout().unwrap();
    let keys: Vec<&str> = layout.weights.iter().map(|w| w.name.as_str()).collect();
    assert_eq!((layout.modules, keys), (1, vec!["weight", "bias", "running_mean", "running_var"]));
    let plain = built(BatchNormalization::new().center(false).scale(false), &[8]);
    assert_eq!(plain.torch_layout().unwrap().weights.len(), 2);
    assert!(built(BatchNormalization::new().center(false), &[8]).torch_layout().is_none());
}

#[test]
fn the_regularizers_penalize_gamma_and_beta() {
    let bn = built(
        BatchNormalization::new().gamma_regularizer(Regularizer::l2(0.5)).beta_regularizer(Regularizer::l1(2.0)),
        &[3],
    );
    let tape = Tape::no_grad();
    // gamma = ones, beta = zeros: 0.5 * 3 + 0.
    assert_eq!(bn.regularization(&tape).unwrap().value().item(), 1.5);
    assert!(built(BatchNormalization::new(), &[3]).regularization(&tape).is_none());
}

#[test]
fn a_keras_config_parses_with_defaults_for_missing_fields() {
    let json = r#"{"class_name": "BatchNormalization", "config": {"name": "bn", "momentum": 0.9, "epsilon": 1e-5}}"#;
    let config: LayerConfig = serde_json::from_str(json).unwrap();
    let LayerConfig::BatchNormalization(c) = &config else { panic!("{config:?}") };
    assert_eq!((c.axis, c.momentum, c.epsilon, c.center, c.scale, c.trainable), (-1, 0.9, 1e-5, true, true, true));
    let layer = config.to_layer().unwrap();
    assert_eq!((layer.kind(), layer.name()), ("BatchNormalization", "bn"));
    let back: LayerConfig = serde_json::from_str(&serde_json::to_string(&layer.config()).unwrap()).unwrap();
    assert_eq!(back, config);
}

#[test]
fn build_errors_name_the_layer_and_what_fits() {
    let err = |layer: BatchNormalization, shape: Shape| {
        let mut layer = layer.with_name("bn_7");
        let e = layer.build(&shape, &mut seeded_rng(0)).unwrap_err().to_string();
        assert!(e.contains("BatchNormalization \"bn_7\""), "{e}");
        e
    };
    let e = err(BatchNormalization::new().axis(0), Shape::known(&[4]));
    assert!(e.contains("batch axis") && e.contains("-1..=-1"), "{e}");
    let e = err(BatchNormalization::new().axis(3), Shape::known(&[4, 2]));
    assert!(e.contains("received 3") && e.contains("1..=2"), "{e}");
    let e = err(BatchNormalization::new().momentum(1.5), Shape::known(&[4]));
    assert!(e.contains("momentum") && e.contains("[0, 1]"), "{e}");
    let e = err(BatchNormalization::new().epsilon(0.0), Shape::known(&[4]));
    assert!(e.contains("epsilon") && e.contains("positive"), "{e}");
    let e = err(BatchNormalization::new(), Shape::new(vec![Some(3), None]));
    assert!(e.contains("known size"), "{e}");
}

#[test]
fn rebuilding_with_the_same_shape_keeps_the_weights() {
    let mut bn = built(BatchNormalization::new(), &[3]);
    bn.state_mut()[0].value = t(&[1.0, 2.0, 3.0], &[3]);
    bn.build(&Shape::known(&[3]), &mut seeded_rng(1)).unwrap();
    assert_eq!(bn.state()[0].value.to_vec(), [1.0, 2.0, 3.0]);
}
