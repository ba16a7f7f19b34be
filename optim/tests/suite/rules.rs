//! Each update rule for 3 steps on a 3-element parameter against the NumPy reference values
//! of `tests/reference.md` (w0 = [1, -2, 3], gradients `G`).
// The literals are the float64 reference output, pasted as printed.
#![allow(clippy::excessive_precision)]

use crate::common::{assert_close, param, step1};
use kensho_optim::{Adagrad, Adam, AdamW, Optimizer, RmsProp, Sgd};

const W0: [f32; 3] = [1.0, -2.0, 3.0];
const G: [[f32; 3]; 3] = [[0.5, -1.0, 2.0], [0.3, 0.2, -0.4], [-0.1, 0.6, 0.05]];

#[track_caller]
fn check(mut opt: impl Optimizer, want: [[f32; 3]; 3]) {
    let mut p = param("w", &W0);
    for (g, want) in G.iter().zip(want) {
        step1(&mut opt, &mut p, g);
        assert_close(&p.value.to_vec(), &want, 1e-6);
    }
    assert_eq!(opt.iterations(), 3);
}

#[test]
fn sgd_plain() {
    check(Sgd::new(0.1), [[0.95, -1.9, 2.8], [0.92, -1.92, 2.84], [0.93, -1.98, 2.835]]);
}

#[test]
fn sgd_momentum() {
    check(Sgd::new(0.1).momentum(0.9), [[0.95, -1.9, 2.8], [0.875, -1.83, 2.66], [0.8175, -1.827, 2.529]]);
}

#[test]
fn sgd_nesterov() {
    let want = [[0.905, -1.81, 2.62], [0.8075, -1.767, 2.534], [0.76575, -1.8243, 2.4111]];
    check(Sgd::new(0.1).momentum(0.9).nesterov(true), want);
}

#[test]
fn sgd_weight_decay() {
    let want = [[0.9, -1.8, 2.65], [0.825, -1.73, 2.5575], [0.79375, -1.7035, 2.424625]];
    check(Sgd::new(0.1).weight_decay(0.5), want);
}

#[test]
fn adam() {
    let want = [
        [0.990000063, -1.99000003, 2.99000002],
        [0.980425213, -1.98488979, 2.98488976],
        [0.974211205, -1.9847277, 2.980784],
    ];
    check(Adam::new(0.01), want);
    check(Adam::default().learning_rate_schedule(0.01), want);
}

#[test]
fn adam_beta_2_and_amsgrad() {
    let plain =
        [[0.990000003, -1.99, 2.99], [0.979573614, -1.98385965, 2.98385965], [0.971385225, -1.98367515, 2.97771345]];
    check(Adam::new(0.01).beta_2(0.5), plain);
    let ams =
        [[0.990000003, -1.99, 2.99], [0.980330967, -1.98548778, 2.98548778], [0.97471729, -1.98534134, 2.98229043]];
    check(Adam::new(0.01).beta_2(0.5).amsgrad(true), ams);
}

#[test]
fn adamw_decoupled_weight_decay() {
    let want = [
        [0.989000063, -1.98800003, 2.98700002],
        [0.978436213, -1.98090179, 2.97890276],
        [0.971243768, -1.9787588, 2.9718181],
    ];
    check(AdamW::new(0.01).weight_decay(0.1), want);
    // Keras 3 semantics: weight_decay on Adam is the same decoupled decay.
    check(Adam::new(0.01).weight_decay(0.1), want);
}

#[test]
fn adamw_default_weight_decay_is_0_004() {
    let mut p = param("w", &[2.0]);
    let mut opt = AdamW::new(0.1);
    step1(&mut opt, &mut p, &[0.0]);
    // Zero gradient: only the decay acts, w = 2 - 2 * 0.004 * 0.1.
    assert_close(&p.value.to_vec(), &[2.0 - 2.0 * 0.004 * 0.1], 1e-7);
    assert_eq!(opt.config().options().weight_decay, Some(0.004));
    assert_eq!(Adam::default().config().options().weight_decay, None);
}

#[test]
fn rmsprop() {
    let want = [
        [0.968377287, -1.96837724, 2.96837723],
        [0.951474228, -1.97490052, 2.97490051],
        [0.957311302, -1.99217788, 2.97404131],
    ];
    check(RmsProp::new(0.01), want);
}

#[test]
fn rmsprop_centered_momentum() {
    let want = [
        [0.966666741, -1.96666669, 2.96666667],
        [0.931350051, -1.95670028, 2.95670026],
        [0.91988822, -1.96899508, 2.95083522],
    ];
    check(RmsProp::new(0.01).momentum(0.5).centered(true), want);
}

#[test]
fn adagrad() {
    let want = [
        [0.915484587, -1.90465375, 2.90122704],
        [0.87025789, -1.92338546, 2.9206071],
        [0.885165008, -1.97237525, 2.91818531],
    ];
    check(Adagrad::new(0.1), want);
}

#[test]
fn keras_defaults() {
    assert_eq!(Sgd::default().learning_rate(), 0.01);
    for (opt, lr) in [
        (Box::new(Adam::default()) as Box<dyn Optimizer>, 1e-3),
        (Box::new(AdamW::default()), 1e-3),
        (Box::new(RmsProp::default()), 1e-3),
        (Box::new(Adagrad::default()), 1e-3),
    ] {
        assert_eq!(opt.learning_rate(), lr, "{}", opt.name());
    }
    let json = serde_json::to_value(Adam::default().config()).unwrap();
    assert_eq!((json["beta_1"].as_f64(), json["beta_2"].as_f64()), (Some(0.9f32 as f64), Some(0.999f32 as f64)));
    assert_eq!(json["epsilon"].as_f64(), Some(1e-7f32 as f64));
    let json = serde_json::to_value(Adagrad::default().config()).unwrap();
    assert_eq!(json["initial_accumulator_value"].as_f64(), Some(0.1f32 as f64));
    let json = serde_json::to_value(RmsProp::default().config()).unwrap();
    assert_eq!((json["rho"].as_f64(), json["momentum"].as_f64()), (Some(0.9f32 as f64), Some(0.0)));
}

/// f(w) = ½ Σ a_i (w_i - c_i)², gradient a ⊙ (w - c).
#[track_caller]
fn converges(mut opt: impl Optimizer, steps: usize, tol: f32) {
    let (a, c) = ([1.0f32, 4.0, 0.5], [1.5f32, -0.5, 2.0]);
    let mut p = param("w", &[0.0, 0.0, 0.0]);
    for _ in 0..steps {
        let g: Vec<f32> = p.value.to_vec().iter().zip(a.iter().zip(&c)).map(|(w, (a, c))| a * (w - c)).collect();
        step1(&mut opt, &mut p, &g);
    }
    assert_close(&p.value.to_vec(), &c, tol);
}

#[test]
fn convergence_on_a_quadratic() {
    converges(Sgd::new(0.1), 500, 1e-4);
    converges(Sgd::new(0.05).momentum(0.9).nesterov(true), 500, 1e-4);
    converges(Adam::new(0.05), 2000, 1e-3);
    converges(Adam::new(0.05).amsgrad(true), 2000, 1e-3);
    converges(AdamW::new(0.05).weight_decay(0.0001), 2000, 1e-2);
    converges(RmsProp::new(0.01).learning_rate_schedule(kensho_optim::CosineDecay::new(0.01, 2000)), 2000, 1e-3);
    converges(RmsProp::new(0.001).momentum(0.9).centered(true), 3000, 1e-2);
    converges(Adagrad::new(0.5), 2000, 1e-3);
}
