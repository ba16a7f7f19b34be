//! Checkpoints: `state()` → `load_state()` continues bit-identically, entry names, and errors.

use crate::common::{grads, param};
use kensho_autograd::Param;
use kensho_core::{Error, Tensor};
use kensho_optim::{Adagrad, Adam, AdamW, CosineDecay, Optimizer, RmsProp, Sgd};

fn all_optimizers() -> Vec<Box<dyn Optimizer>> {
    vec![
        Box::new(Sgd::new(0.1).momentum(0.9).nesterov(true)),
        Box::new(Sgd::new(0.1)),
        Box::new(Adam::new(0.05).amsgrad(true).clipnorm(1.0)),
        Box::new(AdamW::new(0.05).learning_rate_schedule(CosineDecay::new(0.05, 4).warmup(0.1, 2))),
        Box::new(RmsProp::new(0.01).momentum(0.5).centered(true)),
        Box::new(Adagrad::new(0.1).global_clipnorm(0.5)),
    ]
}

/// Deterministic gradients that depend on the step and the current value.
fn step(opt: &mut dyn Optimizer, a: &mut Param, b: &mut Param, t: usize) {
    let ga: Vec<f32> = a.value.to_vec().iter().enumerate().map(|(i, w)| w * 0.5 + (t + i) as f32 * 0.1).collect();
    let gb: Vec<f32> = b.value.to_vec().iter().map(|w| (w - t as f32).sin()).collect();
    let g = grads(&[(a, &ga), (b, &gb)]);
    opt.step(&mut [a, b], &g);
}

#[test]
fn state_round_trip_continues_bit_identically() {
    for mut opt in all_optimizers() {
        let (mut a, mut b) = (param("dense.kernel", &[1.0, -2.0, 3.0]), param("dense.bias", &[0.5, 0.25]));
        for t in 0..3 {
            step(opt.as_mut(), &mut a, &mut b, t);
        }
        let saved = opt.state(&[&a, &b]);
        // A fresh optimizer from the config, on fresh params (new ids) with the same names.
        let mut resumed = opt.config().build().unwrap();
        let (mut a2, mut b2) = (Param::new("dense.kernel", a.value.clone()), Param::new("dense.bias", b.value.clone()));
        resumed.load_state(&[&a2, &b2], &saved).unwrap();
        assert_eq!(resumed.iterations(), 3);
        assert_eq!(resumed.learning_rate().to_bits(), opt.learning_rate().to_bits(), "{}", opt.name());
        // The same restart without the state, to show that the state matters.
        let mut lost = opt.config().build().unwrap();
        let (mut a3, mut b3) = (Param::new("dense.kernel", a.value.clone()), Param::new("dense.bias", b.value.clone()));
        for t in 3..6 {
            step(opt.as_mut(), &mut a, &mut b, t);
            step(resumed.as_mut(), &mut a2, &mut b2, t);
            step(lost.as_mut(), &mut a3, &mut b3, t);
        }
        let bits = |p: &Param| p.value.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&a2), "{}", opt.name());
        assert_eq!(bits(&b), bits(&b2), "{}", opt.name());
        let stateless = saved.len() == 1; // plain SGD with a constant rate: only "iterations"
        assert_eq!(bits(&a) == bits(&a3), stateless, "{}", opt.name());
    }
}

#[test]
fn state_names_are_param_slash_slot_plus_iterations() {
    let (a, mut frozen) = (param("dense.kernel", &[1.0, 2.0]), param("frozen", &[1.0]));
    frozen.trainable = false;
    let names = |opt: &dyn Optimizer| opt.state(&[&a, &frozen]).into_iter().map(|(n, _)| n).collect::<Vec<_>>();
    assert_eq!(names(&Adam::default()), ["dense.kernel/m", "dense.kernel/v", "iterations"]);
    assert_eq!(
        names(&Adam::default().amsgrad(true)),
        ["dense.kernel/m", "dense.kernel/v", "dense.kernel/v_hat", "iterations"]
    );
    assert_eq!(names(&Sgd::default()), ["iterations"]);
    assert_eq!(names(&Sgd::default().momentum(0.9)), ["dense.kernel/momentum", "iterations"]);
    assert_eq!(
        names(&RmsProp::default().momentum(0.9).centered(true)),
        ["dense.kernel/velocity", "dense.kernel/momentum", "dense.kernel/average_gradient", "iterations"]
    );
    // Slots not yet used hold their initial values.
    let state = Adagrad::default().initial_accumulator_value(0.25).state(&[&a]);
    assert_eq!(state[0].1.to_vec(), vec![0.25, 0.25]);
}

#[test]
fn iterations_survive_beyond_f32_integer_precision() {
    let a = param("w", &[1.0]);
    let mut opt = Adam::default();
    let big = Tensor::from_vec(vec![64.0, 5.0], &[2]).unwrap();
    let state = vec![
        ("w/m".to_string(), Tensor::zeros(&[1])),
        ("w/v".to_string(), Tensor::zeros(&[1])),
        ("iterations".to_string(), big.clone()),
    ];
    opt.load_state(&[&a], &state).unwrap();
    assert_eq!(opt.iterations(), 64 * (1 << 24) + 5);
    assert_eq!(opt.state(&[&a]).last().unwrap().1, big);
}

#[test]
fn load_state_errors_name_the_missing_or_mis_shaped_entry() {
    let (mut a, mut b) = (param("dense.kernel", &[1.0, 2.0, 3.0]), param("dense.bias", &[0.0]));
    let mut opt = Adam::default();
    let g = grads(&[(&a, &[1.0, 1.0, 1.0]), (&b, &[1.0])]);
    opt.step(&mut [&mut a, &mut b], &g);
    let good = opt.state(&[&a, &b]);

    let mut fresh = Adam::default();
    let missing: Vec<_> = good.iter().filter(|(n, _)| n != "dense.bias/v").cloned().collect();
    match fresh.load_state(&[&a, &b], &missing) {
        Err(e @ Error::InvalidArgument { .. }) => assert!(e.to_string().contains("\"dense.bias/v\""), "{e}"),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    let mut bad = good.clone();
    bad.iter_mut().find(|(n, _)| n == "dense.kernel/m").unwrap().1 = Tensor::zeros(&[2]);
    match fresh.load_state(&[&a, &b], &bad) {
        Err(Error::Shape { op, expected, got }) => {
            assert!(op.contains("\"dense.kernel/m\"") && expected.contains("[3]"), "{op} / {expected}");
            assert_eq!(got, vec![2]);
        }
        other => panic!("expected Shape, got {other:?}"),
    }
    let no_iterations: Vec<_> = good.iter().filter(|(n, _)| n != "iterations").cloned().collect();
    assert!(fresh.load_state(&[&a, &b], &no_iterations).unwrap_err().to_string().contains("iterations"));
    let mut fractional = good.clone();
    fractional.last_mut().unwrap().1 = Tensor::scalar(1.5);
    assert!(fresh.load_state(&[&a, &b], &fractional).is_err());
    // Nothing changed by the failed loads; then the good one works.
    assert_eq!(fresh.iterations(), 0);
    fresh.load_state(&[&a, &b], &good).unwrap();
    assert_eq!(fresh.iterations(), 1);
}
