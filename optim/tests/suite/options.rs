//! The options every optimizer shares (clipping, weight decay, learning rate and schedules),
//! frozen and gradient-less parameters, and configuration round trips. Values hand-computed.

use crate::common::{assert_close, grads, param, step1};
use kensho_optim::{
    Adagrad, Adam, AdamW, CosineDecay, ExponentialDecay, LearningRateSchedule, Optimizer, OptimizerConfig,
    PiecewiseConstantDecay, RmsProp, Sgd,
};

// With plain SGD at lr = 1 from w = 0, the new w is minus the clipped gradient.

#[test]
fn clipnorm_rescales_each_gradient_to_the_norm() {
    let mut opt = Sgd::new(1.0).clipnorm(1.0);
    let mut p = param("w", &[0.0, 0.0, 0.0]);
    step1(&mut opt, &mut p, &[3.0, 4.0, 0.0]); // norm 5 -> [0.6, 0.8, 0]
    assert_close(&p.value.to_vec(), &[-0.6, -0.8, 0.0], 1e-7);
    let mut q = param("q", &[0.0, 0.0]);
    step1(&mut opt, &mut q, &[0.3, -0.4]); // norm 0.5 <= 1: unchanged, exactly
    assert_eq!(q.value.to_vec(), vec![-0.3, 0.4]);
}

#[test]
fn clipvalue_clamps_each_element() {
    let mut opt = Sgd::new(1.0).clipvalue(0.5);
    let mut p = param("w", &[0.0, 0.0, 0.0]);
    step1(&mut opt, &mut p, &[3.0, -0.2, -4.0]);
    assert_close(&p.value.to_vec(), &[-0.5, 0.2, 0.5], 0.0);
}

#[test]
fn global_clipnorm_rescales_all_gradients_together() {
    let (mut a, mut b) = (param("a", &[0.0, 0.0]), param("b", &[0.0, 0.0]));
    let g = grads(&[(&a, &[3.0, 0.0]), (&b, &[0.0, 4.0])]);
    // Global norm 5, limit 2: every gradient times 0.4.
    Sgd::new(1.0).global_clipnorm(2.0).step(&mut [&mut a, &mut b], &g);
    assert_close(&a.value.to_vec(), &[-1.2, 0.0], 1e-7);
    assert_close(&b.value.to_vec(), &[0.0, -1.6], 1e-7);
    // Per-parameter clipnorm 2 on the same gradients: norms 3 and 4 each go to 2.
    let (mut a, mut b) = (param("a", &[0.0, 0.0]), param("b", &[0.0, 0.0]));
    let g = grads(&[(&a, &[3.0, 0.0]), (&b, &[0.0, 4.0])]);
    Sgd::new(1.0).clipnorm(2.0).step(&mut [&mut a, &mut b], &g);
    assert_close(&a.value.to_vec(), &[-2.0, 0.0], 1e-7);
    assert_close(&b.value.to_vec(), &[0.0, -2.0], 1e-7);
}

#[test]
fn clipping_applies_before_the_rule_and_setters_replace_each_other() {
    // Adagrad sees the clipped gradient: acc = 0.1 + 0.5², w = -lr * 0.5 / sqrt(acc + 1e-7).
    let mut opt = Adagrad::new(0.1).clipnorm(0.1).clipvalue(0.5);
    let mut p = param("w", &[0.0]);
    step1(&mut opt, &mut p, &[2.0]);
    let want = -0.1 * 0.5 / (0.1f64 + 0.25 + 1e-7).sqrt();
    assert_close(&p.value.to_vec(), &[want as f32], 1e-7);
    let o = opt.config().options().clone();
    assert_eq!((o.clipnorm, o.clipvalue, o.global_clipnorm), (None, Some(0.5), None));
}

#[test]
fn weight_decay_is_decoupled_and_uses_the_scheduled_rate() {
    // w = 2, g = 1, lr = 0.1 then 0.05 (staircase halving each step), wd = 0.5:
    // step 1: 2 - 2*0.5*0.1 - 0.1 = 1.8; step 2: 1.8 - 1.8*0.5*0.05 - 0.05 = 1.705.
    let schedule = ExponentialDecay::new(0.1, 1, 0.5).staircase(true);
    let mut opt = Sgd::new(0.0).learning_rate_schedule(schedule).weight_decay(0.5);
    let mut p = param("w", &[2.0]);
    step1(&mut opt, &mut p, &[1.0]);
    assert_close(&p.value.to_vec(), &[1.8], 1e-7);
    step1(&mut opt, &mut p, &[1.0]);
    assert_close(&p.value.to_vec(), &[1.705], 1e-6);
    // RMSprop shares the same decay: zero gradient leaves only w - w*wd*lr.
    let mut opt = RmsProp::new(0.1).weight_decay(0.5);
    let mut p = param("w", &[2.0, -4.0]);
    step1(&mut opt, &mut p, &[0.0, 0.0]);
    assert_close(&p.value.to_vec(), &[1.9, -3.8], 1e-7);
}

#[test]
fn exponential_decay() {
    let s = ExponentialDecay::new(0.1, 10, 0.5);
    for (step, want) in [(0, 0.1), (5, 0.070_710_68), (10, 0.05), (25, 0.017_677_67)] {
        assert!((s.at(step) - want).abs() < 1e-8, "step {step}: {}", s.at(step));
    }
    let s = s.staircase(true);
    for (step, want) in [(0, 0.1), (5, 0.1), (10, 0.05), (19, 0.05), (25, 0.025)] {
        assert!((s.at(step) - want).abs() < 1e-8, "staircase step {step}: {}", s.at(step));
    }
}

#[test]
fn piecewise_constant_decay() {
    let s = PiecewiseConstantDecay::new(vec![10, 20], vec![1.0, 0.5, 0.1]).unwrap();
    for (step, want) in [(0, 1.0), (10, 1.0), (11, 0.5), (20, 0.5), (21, 0.1), (1000, 0.1)] {
        assert_eq!(s.at(step), want, "step {step}");
    }
    let err = PiecewiseConstantDecay::new(vec![10, 20], vec![1.0, 0.5]).unwrap_err().to_string();
    assert!(err.contains("number of values") && err.contains('3'), "{err}");
    assert!(PiecewiseConstantDecay::new(vec![20, 10], vec![1.0, 0.5, 0.1]).is_err());
}

#[test]
fn cosine_decay() {
    let s = CosineDecay::new(1.0, 100);
    // 0.5 * (1 + cos(pi * step / 100)), held at 0 after the end.
    for (step, want) in [(0, 1.0), (25, 0.853_553_4), (50, 0.5), (100, 0.0), (150, 0.0)] {
        assert!((s.at(step) - want).abs() < 1e-7, "step {step}: {}", s.at(step));
    }
    let s = s.alpha(0.1); // (1 - alpha) * cosine + alpha
    for (step, want) in [(0, 1.0), (50, 0.55), (200, 0.1)] {
        assert!((s.at(step) - want).abs() < 1e-7, "alpha step {step}: {}", s.at(step));
    }
}

#[test]
fn cosine_decay_with_warmup() {
    // Linear from 0.1 to 1.0 over 10 steps, then cosine from 1.0 over 100 steps.
    let s = CosineDecay::new(0.1, 100).warmup(1.0, 10);
    for (step, want) in
        [(0, 0.1), (5, 0.55), (9, 0.91), (10, 1.0), (35, 0.853_553_4), (60, 0.5), (110, 0.0), (500, 0.0)]
    {
        assert!((s.at(step) - want).abs() < 1e-7, "step {step}: {}", s.at(step));
    }
}

#[test]
fn optimizer_follows_its_schedule_and_set_learning_rate_takes_effect() {
    let mut opt = Sgd::new(0.0).learning_rate_schedule(ExponentialDecay::new(0.1, 1, 0.5).staircase(true));
    let mut p = param("w", &[0.0]);
    assert_eq!(opt.learning_rate(), 0.1);
    step1(&mut opt, &mut p, &[1.0]);
    assert_eq!(opt.learning_rate(), 0.05);
    step1(&mut opt, &mut p, &[1.0]);
    assert_close(&p.value.to_vec(), &[-0.15], 1e-7);
    opt.set_learning_rate(0.5);
    assert_eq!(opt.learning_rate(), 0.5);
    step1(&mut opt, &mut p, &[1.0]);
    assert_close(&p.value.to_vec(), &[-0.65], 1e-7);
    assert_eq!(opt.learning_rate(), 0.5, "a constant after set_learning_rate, no longer the schedule");
    assert_eq!(opt.config().options().learning_rate, LearningRateSchedule::Constant { learning_rate: 0.5 });
}

#[test]
fn frozen_params_and_params_without_gradient_are_untouched() {
    let mut opts: Vec<Box<dyn Optimizer>> = vec![
        Box::new(Sgd::new(0.1).momentum(0.9).weight_decay(0.1)),
        Box::new(AdamW::new(0.1)),
        Box::new(RmsProp::new(0.1).global_clipnorm(0.1)),
        Box::new(Adagrad::new(0.1)),
    ];
    for opt in &mut opts {
        let mut live = param("live", &[1.0, 2.0]);
        let mut frozen = param("frozen", &[1.0, 2.0]);
        frozen.trainable = false;
        let mut no_grad = param("no_grad", &[1.0, 2.0]);
        let g = grads(&[(&live, &[1.0, 1.0]), (&frozen, &[1.0, 1.0])]);
        opt.step(&mut [&mut live, &mut frozen, &mut no_grad], &g);
        assert_ne!(live.value.to_vec(), vec![1.0, 2.0], "{}", opt.name());
        assert_eq!(frozen.value.to_vec(), vec![1.0, 2.0], "{}", opt.name());
        assert_eq!(no_grad.value.to_vec(), vec![1.0, 2.0], "{}", opt.name());
    }
}

#[test]
fn global_clipnorm_ignores_frozen_params() {
    let (mut a, mut frozen) = (param("a", &[0.0]), param("frozen", &[0.0]));
    frozen.trainable = false;
    let g = grads(&[(&a, &[3.0]), (&frozen, &[4.0])]);
    Sgd::new(1.0).global_clipnorm(6.0).step(&mut [&mut a, &mut frozen], &g);
    assert_eq!(a.value.to_vec(), vec![-3.0], "norm 3 < 6: no clipping, the frozen gradient does not count");
}

#[test]
#[should_panic(expected = "the gradient of parameter \"w\" has the wrong shape")]
fn mis_shaped_gradient_panics_with_the_param_name() {
    let mut p = param("w", &[0.0, 0.0]);
    step1(&mut Adam::new(0.1), &mut p, &[1.0]);
}

#[test]
fn configs_round_trip_through_json_and_build() {
    let configs = [
        Sgd::new(0.1).momentum(0.9).nesterov(true).clipvalue(1.0).config(),
        Adam::new(0.01).amsgrad(true).learning_rate_schedule(CosineDecay::new(0.01, 10).warmup(0.1, 5)).config(),
        AdamW::default().global_clipnorm(1.0).config(),
        RmsProp::new(0.02).centered(true).momentum(0.5).clipnorm(2.0).config(),
        Adagrad::new(0.3)
            .learning_rate_schedule(PiecewiseConstantDecay::new(vec![3], vec![0.3, 0.1]).unwrap())
            .weight_decay(0.01)
            .config(),
    ];
    let names = ["sgd", "adam", "adamw", "rmsprop", "adagrad"];
    for (config, name) in configs.iter().zip(names) {
        let json = serde_json::to_string(config).unwrap();
        assert!(json.contains(&format!("\"type\":\"{name}\"")), "{json}");
        let back: OptimizerConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, config);
        back.validate().unwrap();
        let built = back.build().unwrap();
        assert_eq!((built.name(), built.iterations()), (name, 0));
        assert_eq!(&built.config(), config);
    }
    let json = serde_json::to_string(&configs[1]).unwrap();
    assert!(json.contains("\"type\":\"cosine_decay\"") && json.contains("\"warmup_target\":0.1"), "{json}");
}

#[test]
fn validate_rejects_bad_hand_written_configs() {
    let json = r#"{"type":"sgd","learning_rate":{"type":"piecewise_constant_decay","boundaries":[5],"values":[1.0]},
        "clipnorm":null,"clipvalue":null,"global_clipnorm":null,"weight_decay":null,"momentum":0.0,"nesterov":false}"#;
    let config: OptimizerConfig = serde_json::from_str(json).unwrap();
    assert!(config.validate().unwrap_err().to_string().contains("PiecewiseConstantDecay"));
    let json = json.replace("[1.0]", "[1.0, 0.5]").replace(r#""clipnorm":null"#, r#""clipnorm":-1.0"#);
    let config: OptimizerConfig = serde_json::from_str(&json).unwrap();
    assert!(config.validate().unwrap_err().to_string().contains("clipnorm"));
}

/// The Adam JSON of a saved model with one field replaced, as a file could hold it.
fn adam_json_with(field: &str, value: &str) -> OptimizerConfig {
    let mut json = serde_json::to_value(Adam::new(1e-3).config()).unwrap();
    match field {
        "learning_rate" => json["learning_rate"]["learning_rate"] = serde_json::from_str(value).unwrap(),
        _ => json[field] = serde_json::from_str(value).unwrap(),
    }
    serde_json::from_value(json).unwrap()
}

#[test]
fn configs_from_files_are_checked_as_the_constructors_check_them() {
    // Issue 14: a learning rate of -1 or beta_1 = 5 loaded from a model file.
    let cases = [
        ("learning_rate", "-1.0", "learning_rate"),
        ("beta_1", "5.0", "beta_1"),
        ("beta_2", "1.0", "beta_2"),
        ("epsilon", "-0.5", "epsilon"),
        ("clipvalue", "0.0", "clipvalue"),
        ("weight_decay", "-0.5", "weight_decay"),
    ];
    for (field, value, named) in cases {
        let config = adam_json_with(field, value);
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains(named) && err.contains(value.trim_end_matches(".0")), "{field}: {err}");
        assert_eq!(config.build().err().map(|e| e.to_string()), Some(err), "{field}");
    }
    // The same values through the builders panic with the same sentence.
    let panics = [
        std::panic::catch_unwind(|| Adam::new(-1.0)).err(),
        std::panic::catch_unwind(|| Adam::new(1e-3).beta_1(5.0)).err(),
        std::panic::catch_unwind(|| Sgd::new(0.1).momentum(1.5)).err(),
        std::panic::catch_unwind(|| RmsProp::new(0.1).rho(-0.1)).err(),
        std::panic::catch_unwind(|| Adagrad::new(0.1).epsilon(f32::NAN)).err(),
    ];
    let message =
        |p: &Option<Box<dyn std::any::Any + Send>>| p.as_ref().and_then(|p| p.downcast_ref::<String>()).cloned();
    let messages: Vec<Option<String>> = panics.iter().map(message).collect();
    assert_eq!(messages[0], adam_json_with("learning_rate", "-1.0").validate().err().map(|e| e.to_string()));
    assert_eq!(messages[1], adam_json_with("beta_1", "5.0").validate().err().map(|e| e.to_string()));
    for (m, named) in messages[2..].iter().zip(["Sgd momentum", "RmsProp rho", "Adagrad epsilon"]) {
        assert!(m.as_deref().is_some_and(|m| m.contains(named)), "{m:?}");
    }
    // Every variant and the schedules are checked too.
    let sgd = serde_json::to_value(Sgd::new(0.1).config()).unwrap();
    let mut bad = sgd.clone();
    bad["momentum"] = serde_json::json!(2.0);
    assert!(serde_json::from_value::<OptimizerConfig>(bad).unwrap().build().is_err());
    let mut bad = sgd;
    bad["learning_rate"] =
        serde_json::to_value(LearningRateSchedule::from(CosineDecay::new(0.1, 10).alpha(3.0))).unwrap();
    let err = serde_json::from_value::<OptimizerConfig>(bad).unwrap().validate().unwrap_err().to_string();
    assert!(err.contains("alpha"), "{err}");
}
