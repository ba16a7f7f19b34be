//! Layer tests: the conformance harness on every layer, literal forward values, build errors,
//! Dropout in training, freezing, config round trips, parameter naming and initializer defaults.
//!
//! Reference values were computed by hand or with Python's `math` module (snippets inline).

use kensho_autograd::Tape;
use kensho_core::{seeded_rng, Initializer, Tensor};
use kensho_layers::testing::check_layer;
use kensho_layers::{
    Activation, ActivationLayer, Ctx, Dense, Dropout, Flatten, Input, Layer, LayerConfig, Regularizer, Reshape, Shape,
};

fn t(data: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(data.to_vec(), shape).unwrap()
}

/// Runs a built layer on `x` with the given training flag and rng seed.
fn run(layer: &dyn Layer, x: &Tensor, training: bool, seed: u64) -> Tensor {
    let tape = Tape::no_grad();
    let cx = Ctx::new(&tape, training, seeded_rng(seed));
    layer.forward(tape.constant(x.clone()), &cx).value()
}

fn assert_close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{got:?} vs {want:?}");
    }
}

fn all_activations() -> Vec<Activation> {
    vec![
        Activation::Linear,
        Activation::Relu,
        Activation::leaky_relu(),
        Activation::elu(),
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Softmax,
        Activation::Gelu,
        Activation::Silu,
        Activation::Softplus,
    ]
}

/// A 3 → 2 Dense whose kernel and bias are set to known values.
const KERNEL: [f32; 6] = [0.5, -1.0, 2.0, -0.25, 1.5, 3.0];
const BIAS: [f32; 2] = [0.1, -3.0];

fn fixed_dense(activation: Activation) -> Dense {
    let mut dense = Dense::new(2).activation(activation);
    dense.set_name("fixed");
    dense.build(&[3].into(), &mut seeded_rng(0)).unwrap();
    {
        let mut params = dense.params_mut();
        params[0].value = t(&KERNEL, &[3, 2]);
        params[1].value = t(&BIAS, &[2]);
    }
    dense
}

// ---------------------------------------------------------------- conformance harness

#[test]
fn dense_passes_check_layer_with_every_activation() {
    for act in all_activations() {
        let mut layer = Dense::new(3).activation(act);
        check_layer(&mut layer, &[4], 5, 4 * 3 + 3).unwrap_or_else(|e| panic!("{act:?}: {e}"));
    }
}

#[test]
fn dense_without_bias_passes_check_layer() {
    let mut layer = Dense::new(3).use_bias(false).activation(Activation::Tanh);
    check_layer(&mut layer, &[4], 3, 12).unwrap();
    assert_eq!(layer.params().len(), 1);
}

#[test]
fn dense_with_regularizer_passes_check_layer() {
    let mut layer = Dense::new(2).kernel_regularizer(Regularizer { l1: 0.01, l2: 0.1 });
    check_layer(&mut layer, &[3], 4, 8).unwrap();
}

#[test]
fn activation_layer_passes_check_layer_with_every_activation() {
    for act in all_activations() {
        let mut layer = ActivationLayer::new(act);
        check_layer(&mut layer, &[5], 3, 0).unwrap_or_else(|e| panic!("{act:?}: {e}"));
    }
}

#[test]
fn shape_layers_pass_check_layer() {
    check_layer(&mut Flatten::new(), &[2, 3, 4], 2, 0).unwrap();
    check_layer(&mut Reshape::new(&[-1, 4]), &[2, 6], 2, 0).unwrap();
    check_layer(&mut Dropout::new(0.5), &[6], 3, 0).unwrap();
    check_layer(&mut Input::new(&[3, 2]), &[3, 2], 2, 0).unwrap();
}

#[test]
fn check_layer_rejects_a_wrong_param_count() {
    let err = check_layer(&mut Dense::new(3), &[4], 2, 12).unwrap_err();
    assert!(err.contains("15"), "{err}");
}

// ---------------------------------------------------------------- literal forward values

#[test]
fn dense_forward_matches_hand_computation() {
    // x · K + b by hand: row 0 = [0.5+4+4.5, -1-0.5+9] + [0.1, -3] = [9.1, 4.5];
    //                    row 1 = [-0.5+0+0.75, 1+0+1.5] + [0.1, -3] = [0.35, -0.5].
    let x = t(&[1.0, 2.0, 3.0, -1.0, 0.0, 0.5], &[2, 3]);
    let linear = fixed_dense(Activation::Linear);
    assert_close(&run(&linear, &x, false, 0).to_vec(), &[9.1, 4.5, 0.35, -0.5], 1e-6);
    let relu = fixed_dense(Activation::Relu);
    assert_close(&run(&relu, &x, false, 0).to_vec(), &[9.1, 4.5, 0.35, 0.0], 1e-6);

    // A softmax output keeps the pre-activation on the tape, so losses can fuse with it.
    let softmax = fixed_dense(Activation::Softmax);
    let tape = Tape::no_grad();
    let cx = Ctx::new(&tape, false, seeded_rng(0));
    let y = softmax.forward(tape.constant(x.clone()), &cx);
    let z = y.softmax_logits().expect("softmax records its logits");
    assert_close(&z.value().to_vec(), &[9.1, 4.5, 0.35, -0.5], 1e-6);
    assert!(relu.forward(tape.constant(x.clone()), &cx).softmax_logits().is_none());
}

#[test]
fn dense_without_bias_forward_is_x_times_kernel() {
    let mut dense = Dense::new(2).use_bias(false);
    dense.build(&[3].into(), &mut seeded_rng(0)).unwrap();
    dense.params_mut()[0].value = t(&KERNEL, &[3, 2]);
    let x = t(&[1.0, 2.0, 3.0], &[1, 3]);
    assert_close(&run(&dense, &x, false, 0).to_vec(), &[9.0, 7.5], 1e-6);
}

#[test]
fn activations_match_reference_values() {
    // Python: [max(x,0)], [x if x>0 else 0.2*x], [x if x>0 else exp(x)-1], 1/(1+exp(-x)), tanh,
    // x*0.5*(1+erf(x/sqrt(2))), x*sigmoid(x), log1p(exp(x)), exp(x)/sum(exp(x)).
    let x = t(&[-2.0, -0.5, 0.5, 2.0], &[1, 4]);
    let cases: [(Activation, [f32; 4]); 9] = [
        (Activation::Relu, [0.0, 0.0, 0.5, 2.0]),
        (Activation::leaky_relu(), [-0.4, -0.1, 0.5, 2.0]),
        (Activation::elu(), [-0.864_664_7, -0.393_469_34, 0.5, 2.0]),
        (Activation::Sigmoid, [0.119_202_92, 0.377_540_67, 0.622_459_3, 0.880_797_1]),
        (Activation::Tanh, [-0.964_027_6, -0.462_117_15, 0.462_117_15, 0.964_027_6]),
        (Activation::Gelu, [-0.045_500_26, -0.154_268_77, 0.345_731_23, 1.954_499_7]),
        (Activation::Silu, [-0.238_405_84, -0.188_770_33, 0.311_229_66, 1.761_594_2]),
        (Activation::Softplus, [0.126_928, 0.474_077, 0.974_077, 2.126_928]),
        (Activation::Softmax, [0.013_838_468, 0.062_019_71, 0.168_587_06, 0.755_554_8]),
    ];
    for (act, want) in cases {
        let mut layer = ActivationLayer::new(act);
        layer.build(&[4].into(), &mut seeded_rng(0)).unwrap();
        let got = run(&layer, &x, false, 0).to_vec();
        assert_close(&got, &want, 1e-5);
        assert_eq!(layer.kind(), "Activation");
    }
    assert_eq!(run(&ActivationLayer::new(Activation::Linear), &x, false, 0), x);
}

#[test]
fn activation_names_and_serde_use_keras_names() {
    let names: Vec<&str> = all_activations().iter().map(Activation::name).collect();
    assert_eq!(
        names,
        ["linear", "relu", "leaky_relu", "elu", "sigmoid", "tanh", "softmax", "gelu", "silu", "softplus"]
    );
    assert_eq!(serde_json::to_string(&Activation::Relu).unwrap(), "\"relu\"");
    assert_eq!(serde_json::from_str::<Activation>("\"swish\"").unwrap(), Activation::Silu);
    assert_eq!(Activation::leaky_relu(), Activation::LeakyRelu { alpha: 0.2 });
    assert_eq!(Activation::elu(), Activation::Elu { alpha: 1.0 });
}

#[test]
fn flatten_and_reshape_keep_row_major_order() {
    let x = Tensor::from_fn(&[2, 2, 3, 4], |i| (i[0] * 24 + i[1] * 12 + i[2] * 4 + i[3]) as f32);
    let mut flatten = Flatten::new();
    assert_eq!(flatten.build(&[2, 3, 4].into(), &mut seeded_rng(0)).unwrap(), vec![24]);
    let y = run(&flatten, &x, false, 0);
    assert_eq!(y.shape(), &[2, 24]);
    assert_eq!(y.to_vec(), (0..48).map(|v| v as f32).collect::<Vec<_>>());

    let mut reshape = Reshape::new(&[4, -1]);
    assert_eq!(reshape.build(&[24].into(), &mut seeded_rng(0)).unwrap(), vec![4, 6]);
    let z = run(&reshape, &y, false, 0);
    assert_eq!(z.shape(), &[2, 4, 6]);
    assert_eq!(z.to_vec(), y.to_vec());
}

// ---------------------------------------------------------------- build errors

#[test]
fn dense_applies_to_the_last_axis_of_a_sequence() {
    let mut dense = Dense::new(3).activation(Activation::Tanh);
    dense.set_name("dense_7");
    assert_eq!(dense.build(&[4, 5].into(), &mut seeded_rng(0)).unwrap(), vec![4, 3]);
    // Each of the 4 positions of each sample goes through the same kernel: compare with the
    // layer run on the positions as rows of a matrix.
    let x = Tensor::rand_uniform(&[2, 4, 5], -1.0, 1.0, &mut seeded_rng(1));
    let tape = Tape::no_grad();
    let cx = Ctx::new(&tape, false, seeded_rng(2));
    let y = dense.forward(tape.constant(x.clone()), &cx).value();
    let rows = dense.forward(tape.constant(x.reshape_to(&[8, 5])), &cx).value();
    assert_eq!(y.shape(), [2, 4, 3]);
    assert_eq!(y.to_vec(), rows.to_vec());
    check_layer(&mut Dense::new(3).activation(Activation::Tanh), &[4, 5], 2, 5 * 3 + 3).unwrap();
}

#[test]
fn dense_on_an_unknown_last_axis_names_the_layer() {
    let mut dense = Dense::new(3);
    dense.set_name("dense_7");
    let msg = dense.build(&Shape::new(vec![Some(4), None]), &mut seeded_rng(0)).unwrap_err().to_string();
    assert!(msg.contains("dense_7") && msg.contains("last axis"), "{msg}");
    assert!(dense.params().is_empty());
}

#[test]
fn dense_with_zero_units_is_an_error() {
    let mut dense = Dense::new(0);
    dense.set_name("d0");
    let msg = dense.build(&[3].into(), &mut seeded_rng(0)).unwrap_err().to_string();
    assert!(msg.contains("d0"), "{msg}");
}

#[test]
fn dropout_rate_outside_zero_one_is_an_error_at_build() {
    for rate in [-0.1, 1.0, 1.5, f32::NAN] {
        let mut layer = Dropout::new(rate);
        layer.set_name("drop");
        let msg = layer.build(&[3].into(), &mut seeded_rng(0)).unwrap_err().to_string();
        assert!(msg.contains("drop") && msg.contains("rate"), "{rate}: {msg}");
    }
    for rate in [0.0, 0.5, 0.99] {
        assert_eq!(Dropout::new(rate).build(&[3].into(), &mut seeded_rng(0)).unwrap(), vec![3]);
    }
}

#[test]
fn reshape_to_an_incompatible_target_is_an_error() {
    let mut rng = seeded_rng(0);
    for target in [&[5, -1][..], &[5], &[-1, -1], &[2, -3]] {
        let mut layer = Reshape::new(target);
        layer.set_name("rs");
        let msg = layer.build(&[12].into(), &mut rng).unwrap_err().to_string();
        assert!(msg.contains("Reshape") && msg.contains("rs"), "{target:?}: {msg}");
    }
    assert_eq!(Reshape::new(&[3, 4]).build(&[2, 6].into(), &mut rng).unwrap(), vec![3, 4]);
}

/// Shapes as a hostile model file may give them: building works out the output shape without
/// allocating a sample (before, a 2^40-element input allocated 4 TiB and aborted) and refuses
/// products that overflow.
#[test]
fn reshape_and_flatten_build_huge_shapes_without_allocating_and_refuse_overflow() {
    let mut rng = seeded_rng(0);
    let huge: Shape = [1usize << 20, 1 << 20].into();
    assert_eq!(Reshape::new(&[-1]).build(&huge, &mut rng).unwrap(), vec![1usize << 40]);
    assert_eq!(Flatten::new().build(&huge, &mut rng).unwrap(), vec![1usize << 40]);
    let overflowing: Shape = [1usize << 40, 1 << 40].into();
    let msg = Reshape::new(&[-1]).build(&overflowing, &mut rng).unwrap_err().to_string();
    assert!(msg.contains("elements"), "{msg}");
    assert!(Flatten::new().build(&overflowing, &mut rng).is_err());
    let msg = Reshape::new(&[1 << 62, 1 << 62, -1]).build(&[4].into(), &mut rng).unwrap_err().to_string();
    assert!(msg.contains("fits in memory"), "{msg}");
}

#[test]
fn input_rejects_a_shape_other_than_declared() {
    let mut input = Input::new(&[3, 2]);
    assert_eq!(input.declared_input_shape(), Some(Shape::from([3, 2])));
    assert!(input.build(&[2, 3].into(), &mut seeded_rng(0)).is_err());
    assert_eq!(input.build(&[3, 2].into(), &mut seeded_rng(0)).unwrap(), vec![3, 2]);
    assert_eq!(input.kind(), "InputLayer");
}

// ---------------------------------------------------------------- dropout in training

#[test]
fn dropout_in_training_zeroes_about_rate_and_scales_the_rest() {
    let rate = 0.3;
    let mut layer = Dropout::new(rate);
    layer.build(&[100].into(), &mut seeded_rng(0)).unwrap();
    let x = Tensor::rand_uniform(&[100, 100], 0.5, 1.5, &mut seeded_rng(3));
    let y = run(&layer, &x, true, 42);
    let (xs, ys) = (x.to_vec(), y.to_vec());
    let zeros = ys.iter().filter(|&&v| v == 0.0).count();
    // 10_000 Bernoulli(0.3) draws: std of the fraction ≈ 0.0046, so ±0.02 is > 4 sigma.
    let fraction = zeros as f32 / ys.len() as f32;
    assert!((fraction - rate).abs() < 0.02, "dropped fraction {fraction}");
    for (a, b) in xs.iter().zip(&ys) {
        if *b != 0.0 {
            assert!((b - a / (1.0 - rate)).abs() <= 1e-6 * b.abs(), "{a} kept as {b}");
        }
    }
    // The expectation is preserved.
    let (mx, my) = (x.mean_all(), y.mean_all());
    assert!((mx - my).abs() < 0.03, "mean {mx} vs {my}");
}

#[test]
fn dropout_mask_depends_only_on_the_seed() {
    let mut layer = Dropout::new(0.5);
    layer.build(&[64].into(), &mut seeded_rng(0)).unwrap();
    let x = Tensor::ones(&[4, 64]);
    assert_eq!(run(&layer, &x, true, 7), run(&layer, &x, true, 7));
    assert_ne!(run(&layer, &x, true, 7), run(&layer, &x, true, 8));
}

#[test]
fn dropout_outside_training_or_with_rate_zero_is_the_identity() {
    let x = Tensor::rand_uniform(&[8, 16], -1.0, 1.0, &mut seeded_rng(1));
    let mut layer = Dropout::new(0.5);
    layer.build(&[16].into(), &mut seeded_rng(0)).unwrap();
    assert_eq!(run(&layer, &x, false, 7), x);
    let mut zero = Dropout::new(0.0);
    zero.build(&[16].into(), &mut seeded_rng(0)).unwrap();
    assert_eq!(run(&zero, &x, true, 7), x);
}

#[test]
fn dropout_gradient_is_the_mask() {
    let mut layer = Dropout::new(0.25);
    layer.build(&[32].into(), &mut seeded_rng(0)).unwrap();
    let tape = Tape::new();
    let cx = Ctx::new(&tape, true, seeded_rng(5));
    let x = tape.leaf(Tensor::ones(&[2, 32]));
    let y = layer.forward(x, &cx);
    let mask = y.value();
    let grads = tape.backward(y.sum_all());
    assert_eq!(grads.wrt(x).unwrap(), &mask);
    assert!(mask.to_vec().iter().all(|&m| m == 0.0 || (m - 1.0 / 0.75).abs() < 1e-6));
}

// ---------------------------------------------------------------- freezing

fn grads_of_sum(layer: &dyn Layer, x: &Tensor) -> (kensho_autograd::Grads, Option<Tensor>) {
    let tape = Tape::new();
    let cx = Ctx::new(&tape, true, seeded_rng(0));
    let xv = tape.leaf(x.clone());
    let grads = tape.backward(layer.forward(xv, &cx).sum_all());
    let input_grad = grads.wrt(xv).cloned();
    (grads, input_grad)
}

#[test]
fn frozen_dense_gets_no_parameter_gradient() {
    let mut dense = fixed_dense(Activation::Tanh);
    let x = t(&[0.1, 0.2, -0.3], &[1, 3]);
    let (grads, _) = grads_of_sum(&dense, &x);
    assert_eq!(grads.len(), 2);
    assert!(dense.trainable());

    dense.set_trainable(false);
    assert!(!dense.trainable());
    assert!(dense.params().iter().all(|p| !p.trainable));
    let (grads, input_grad) = grads_of_sum(&dense, &x);
    assert!(grads.is_empty(), "frozen layer got {} gradients", grads.len());
    assert!(input_grad.is_some(), "the input still receives a gradient");

    dense.set_trainable(true);
    let (grads, _) = grads_of_sum(&dense, &x);
    assert!(grads.get(dense.params()[0].id()).is_some());
    assert!(grads.get(dense.params()[1].id()).is_some());
}

#[test]
fn freezing_before_build_freezes_the_params_built_later() {
    let mut dense = Dense::new(2);
    dense.set_trainable(false);
    assert!(!dense.trainable(), "trainable() is true right after set_trainable(false)");
    dense.build(&[3].into(), &mut seeded_rng(0)).unwrap();
    assert!(dense.params().iter().all(|p| !p.trainable), "params built after freezing are trainable");
}

// ---------------------------------------------------------------- regularization

#[test]
fn dense_regularization_is_l1_sum_abs_plus_l2_sum_squares() {
    // Kernel [0.5, -1, 2, -0.25, 1.5, 3]: sum|w| = 8.25, sum w² = 16.5625.
    let cases = [
        (Regularizer { l1: 0.01, l2: 0.1 }, 0.01 * 8.25 + 0.1 * 16.5625),
        (Regularizer::l1(0.01), 0.0825),
        (Regularizer::l2(0.01), 0.165_625),
    ];
    for (reg, want) in cases {
        let mut dense = Dense::new(2).kernel_regularizer(reg);
        dense.set_name("r");
        dense.build(&[3].into(), &mut seeded_rng(0)).unwrap();
        dense.params_mut()[0].value = t(&KERNEL, &[3, 2]);
        dense.params_mut()[1].value = t(&BIAS, &[2]);
        let tape = Tape::new();
        let penalty = dense.regularization(&tape).expect("a penalty");
        assert!((penalty.value().item() - want).abs() < 1e-6, "{reg:?}: {} vs {want}", penalty.value().item());
        // d/dw = l1 * sign(w) + 2 l2 w, on the kernel only (the bias is not penalised).
        let grads = tape.backward(penalty);
        let kernel_id = dense.params()[0].id();
        let want_grad: Vec<f32> = KERNEL.iter().map(|&w| reg.l1 * w.signum() + 2.0 * reg.l2 * w).collect();
        assert_close(&grads.get(kernel_id).unwrap().to_vec(), &want_grad, 1e-6);
        assert!(grads.get(dense.params()[1].id()).is_none());
    }
}

#[test]
fn dense_without_regularizer_has_no_penalty() {
    let dense = fixed_dense(Activation::Linear);
    assert!(dense.regularization(&Tape::new()).is_none());
    assert!(Flatten::new().regularization(&Tape::new()).is_none());
}

// ---------------------------------------------------------------- configs, names, initializers

fn every_layer() -> Vec<Box<dyn Layer>> {
    vec![
        Box::new(Input::new(&[4, 2])),
        Box::new(
            Dense::new(5)
                .activation(Activation::LeakyRelu { alpha: 0.3 })
                .use_bias(false)
                .kernel_initializer(Initializer::HeNormal)
                .bias_initializer(Initializer::Constant(0.5))
                .kernel_regularizer(Regularizer { l1: 0.001, l2: 0.02 })
                .input_shape(&[8]),
        ),
        Box::new(Dense::new(3).activation(Activation::Softmax)),
        Box::new(ActivationLayer::new(Activation::Elu { alpha: 0.7 })),
        Box::new(Dropout::new(0.3)),
        Box::new(Flatten::new()),
        Box::new(Reshape::new(&[-1, 3, 2])),
    ]
}

#[test]
fn layer_config_json_round_trip_for_every_layer() {
    for mut layer in every_layer() {
        if layer.name().is_empty() {
            layer.set_name(&format!("my_{}", layer.kind().to_lowercase()));
        }
        let config = layer.config();
        let json = serde_json::to_string(&config).unwrap();
        assert!(json.contains(&format!("\"class_name\":\"{}\"", layer.kind())), "{json}");
        let back: LayerConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, config, "{json}");
        let rebuilt = back.to_layer().unwrap();
        assert_eq!(rebuilt.kind(), layer.kind());
        assert_eq!(rebuilt.name(), layer.name());
        assert_eq!(rebuilt.config(), config);
        assert_eq!(rebuilt.declared_input_shape(), layer.declared_input_shape());
    }
}

#[test]
fn dense_params_are_named_after_the_layer_and_follow_renames() {
    let mut dense = Dense::new(2);
    dense.set_name("head");
    dense.build(&[3].into(), &mut seeded_rng(0)).unwrap();
    let names: Vec<String> = dense.params().iter().map(|p| p.name().to_string()).collect();
    assert_eq!(names, ["head.kernel", "head.bias"]);
    let ids: Vec<_> = dense.params().iter().map(|p| p.id()).collect();
    dense.set_name("dense_2");
    assert_eq!(dense.name(), "dense_2");
    let names: Vec<String> = dense.params().iter().map(|p| p.name().to_string()).collect();
    assert_eq!(names, ["dense_2.kernel", "dense_2.bias"]);
    let ids_after: Vec<_> = dense.params().iter().map(|p| p.id()).collect();
    assert_eq!(ids, ids_after, "renaming keeps the parameter ids");
    let mut built = Dense::new(1).with_name("out");
    built.build(&[2].into(), &mut seeded_rng(0)).unwrap();
    assert_eq!(built.params()[1].name(), "out.bias");
    match dense.config() {
        LayerConfig::Dense(c) => assert_eq!(c.name, "dense_2"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rebuilding_with_the_same_shape_keeps_the_weights() {
    let mut dense = fixed_dense(Activation::Linear);
    dense.build(&[3].into(), &mut seeded_rng(123)).unwrap();
    assert_eq!(dense.params()[0].value.to_vec(), KERNEL);
    dense.build(&[4].into(), &mut seeded_rng(123)).unwrap();
    assert_eq!(dense.params()[0].value.shape(), &[4, 2]);
}

#[test]
fn dense_defaults_are_glorot_uniform_kernel_and_zero_bias() {
    let dense = Dense::new(5);
    match dense.config() {
        LayerConfig::Dense(c) => {
            assert_eq!(c.kernel.kernel_initializer, Initializer::GlorotUniform);
            assert_eq!(c.kernel.bias_initializer, Initializer::Zeros);
            assert_eq!(c.kernel.activation, Activation::Linear);
            assert!(c.kernel.use_bias);
            assert_eq!(c.kernel.kernel_regularizer, None);
        }
        other => panic!("{other:?}"),
    }
    let mut dense = dense;
    dense.build(&[20].into(), &mut seeded_rng(4)).unwrap();
    let kernel = dense.params()[0].value.to_vec();
    assert_eq!(dense.params()[0].value.shape(), &[20, 5]);
    let limit = (6.0f32 / 25.0).sqrt();
    let max = kernel.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(max <= limit, "max |w| = {max} > {limit}");
    // 100 uniform draws: all inside ±0.8·limit has probability 0.8^100 ≈ 2e-10.
    assert!(max > 0.8 * limit, "max |w| = {max}: not Glorot's range");
    let mean = kernel.iter().sum::<f32>() / kernel.len() as f32;
    assert!(mean.abs() < 0.1, "mean {mean}");
    assert!(dense.params()[1].value.to_vec().iter().all(|&b| b == 0.0));
    assert_eq!(dense.params()[1].value.shape(), &[5]);
}

#[test]
fn same_build_seed_gives_the_same_kernel() {
    let build = |seed| {
        let mut d = Dense::new(4);
        d.build(&[3].into(), &mut seeded_rng(seed)).unwrap();
        d.params()[0].value.clone()
    };
    assert_eq!(build(1), build(1));
    assert_ne!(build(1), build(2));
}
