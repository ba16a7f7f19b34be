//! Magnitude pruning: the `PolynomialDecay` schedule against its formula, the
//! `PruneLowMagnitude` callback during `fit` (exact zero counts, masks that hold, biases left
//! alone), its errors, and a pruned MLP on the embedded digits.

use kensho::callbacks::PruneLowMagnitude;
use kensho::prelude::*;
use kensho::PolynomialDecay;

fn close(a: Option<f32>, b: f32) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-6)
}

#[test]
fn the_schedule_follows_its_formula() {
    // s = 0.9 + (0.1 - 0.9) * (1 - (step - 10) / 40)^3, by hand:
    // step 10: 1^3 = 1 -> 0.1;  step 20: 0.75^3 = 0.421875 -> 0.9 - 0.3375 = 0.5625;
    // step 30: 0.5^3 = 0.125 -> 0.8;  step 40: 0.25^3 = 0.015625 -> 0.8875;  step 50: 0 -> 0.9.
    let s = PolynomialDecay::new(0.1, 0.9, 10, 50).unwrap().frequency(10).unwrap();
    assert!(close(s.sparsity_at(10), 0.1));
    assert!(close(s.sparsity_at(20), 0.5625));
    assert!(close(s.sparsity_at(30), 0.8));
    assert!(close(s.sparsity_at(40), 0.8875));
    assert!(close(s.sparsity_at(50), 0.9));
    // Power 1 is a straight line: 0.5 * step / 4 at steps 1 and 3.
    let line = PolynomialDecay::new(0.0, 0.5, 0, 4).unwrap().power(1.0).unwrap().frequency(1).unwrap();
    assert!(close(line.sparsity_at(1), 0.125));
    assert!(close(line.sparsity_at(3), 0.375));
}

#[test]
fn the_schedule_fires_on_its_frequency_within_its_bounds() {
    let s = PolynomialDecay::new(0.1, 0.9, 10, 50).unwrap().frequency(10).unwrap();
    for step in [0, 9, 11, 15, 29, 49, 51, 60, 1000] {
        assert_eq!(s.sparsity_at(step), None, "step {step}");
    }
    // Defaults: power 3, every 100 steps. Step 500 of 0..1000: 0.5 - 0.5 * 0.5^3 = 0.4375.
    let d = PolynomialDecay::new(0.0, 0.5, 0, 1000).unwrap();
    assert!(close(d.sparsity_at(0), 0.0));
    assert_eq!(d.sparsity_at(50), None);
    assert!(close(d.sparsity_at(500), 0.4375));
    assert!(close(d.sparsity_at(1000), 0.5));
    assert_eq!(d.sparsity_at(1100), None);
}

#[test]
fn bad_schedules_are_errors_naming_the_argument() {
    let message = |r: kensho::Result<PolynomialDecay>| r.unwrap_err().to_string();
    assert!(message(PolynomialDecay::new(0.0, 1.0, 0, 10)).contains("final_sparsity"));
    assert!(message(PolynomialDecay::new(-0.1, 0.5, 0, 10)).contains("initial_sparsity"));
    assert!(message(PolynomialDecay::new(0.0, f32::NAN, 0, 10)).contains("final_sparsity"));
    assert!(message(PolynomialDecay::new(0.0, 0.5, 10, 10)).contains("end_step"));
    assert!(message(PolynomialDecay::new(0.0, 0.5, 10, 3)).contains("end_step"));
    let ok = PolynomialDecay::new(0.0, 0.5, 0, 10).unwrap();
    assert!(message(ok.clone().frequency(0)).contains("frequency"));
    assert!(message(ok.power(0.0)).contains("power"));
}

/// 8 features -> 16 -> 3, on random data: 256 rows in batches of 32 are 8 steps per epoch.
fn small_model() -> (Model, Tensor, Tensor) {
    let mut model = Sequential::new()
        .seed(3)
        .add(Input::new(&[8]))
        .add(Dense::new(16).activation(Activation::Relu))
        .add(Dense::new(3))
        .into_model();
    model.compile(Adam::new(1e-2), losses::MeanSquaredError, vec![]).unwrap();
    let mut rng = kensho::core::seeded_rng(9);
    let x = Tensor::rand_uniform(&[256, 8], -1.0, 1.0, &mut rng);
    let y = Tensor::rand_uniform(&[256, 3], -1.0, 1.0, &mut rng);
    (model, x, y)
}

fn quiet<'a>(epochs: usize, callbacks: Vec<&'a mut dyn Callback>) -> FitOptions<'a> {
    FitOptions { epochs, batch_size: 32, verbose: 0, callbacks, ..Default::default() }
}

/// Each named weight's positions of exact zeros.
fn zeros(model: &Model) -> Vec<(String, Vec<usize>)> {
    model
        .params()
        .iter()
        .map(|p| {
            let at = p.value.to_vec().iter().enumerate().filter(|(_, v)| **v == 0.0).map(|(i, _)| i).collect();
            (p.name().to_string(), at)
        })
        .collect()
}

/// Records the zero counts of every weight after each train step.
#[derive(Default)]
struct Recorder(Vec<(u64, Vec<usize>)>);

impl Callback for Recorder {
    fn on_train_step_end(&mut self, step: u64, model: &mut Model) -> kensho::Result<()> {
        self.0.push((step, zeros(model).into_iter().map(|(_, z)| z.len()).collect()));
        Ok(())
    }
}

#[test]
fn fit_reaches_the_final_sparsity_exactly_and_pruned_weights_stay_zero() {
    let (mut model, x, y) = small_model();
    // Prune at steps 0, 4, 8, 12, 16; 3 epochs are steps 0..=23.
    let schedule = PolynomialDecay::new(0.0, 0.8, 0, 16).unwrap().frequency(4).unwrap();
    let mut prune = PruneLowMagnitude::new(schedule.clone());
    let mut recorder = Recorder::default();
    model.fit(&x, &y, quiet(3, vec![&mut prune, &mut recorder])).unwrap();

    // Weights in order: dense.kernel [8, 16] (128), dense.bias, dense_1.kernel [16, 3] (48), dense_1.bias.
    let names: Vec<String> = model.params().iter().map(|p| p.name().to_string()).collect();
    assert_eq!(names, ["dense.kernel", "dense.bias", "dense_1.kernel", "dense_1.bias"]);
    assert_eq!(prune.masked(), ["dense.kernel", "dense_1.kernel"]);
    let steps: Vec<u64> = recorder.0.iter().map(|(s, _)| *s).collect();
    assert_eq!(steps, (0..24).collect::<Vec<u64>>());
    let mut last = 0.0;
    for (step, counts) in &recorder.0 {
        let s = schedule.sparsity_at(*step).unwrap_or(last);
        last = s;
        let expected = |n: usize| (s as f64 * n as f64).round() as usize;
        assert_eq!(counts[0], expected(128), "kernel zeros at step {step}, sparsity {s}");
        assert_eq!(counts[2], expected(48), "kernel zeros at step {step}, sparsity {s}");
        assert_eq!(counts[1], 0, "a bias weight became zero at step {step}");
        assert_eq!(counts[3], 0, "a bias weight became zero at step {step}");
    }
    // 0.8 * 128 = 102.4 -> 102 zeros; 0.8 * 48 = 38.4 -> 38.
    let report = kensho::sparsity(&model);
    assert_eq!(report, vec![("dense.kernel".to_string(), 102.0 / 128.0), ("dense_1.kernel".to_string(), 38.0 / 48.0)]);

    // More training (steps 24.., past the schedule): the masks hold while the kept weights move.
    let before = zeros(&model);
    let kept_before = model.params()[0].value.to_vec();
    model.fit(&x, &y, quiet(2, vec![&mut prune])).unwrap();
    assert_eq!(zeros(&model), before);
    let kept_after = model.params()[0].value.to_vec();
    assert!(kept_before.iter().zip(&kept_after).any(|(a, b)| a != b), "training did not move the kept weights");

    // Without the masks, the optimizer brings pruned weights back: the masks are what held them.
    prune.strip();
    model.fit(&x, &y, quiet(1, vec![&mut prune])).unwrap();
    let revived = kensho::sparsity(&model);
    assert!(revived[0].1 < 102.0 / 128.0, "{revived:?}");
}

#[test]
fn pruning_removes_the_smallest_magnitudes_with_ties_by_index() {
    let mut model = Sequential::new().add(Input::new(&[2])).add(Dense::new(3)).into_model();
    model.compile(Sgd::new(0.1), losses::MeanSquaredError, vec![]).unwrap();
    model.build_model().unwrap();
    // Kernel [2, 3]; |w| = 0.5, 0.1, 0.3, 0.1, 0.9, 0.3: 50 % prunes 3 weights, the two 0.1s
    // and the 0.3 at index 2 (the first of the tied 0.3s).
    let kernel = Tensor::from_vec(vec![0.5, -0.1, 0.3, 0.1, -0.9, -0.3], &[2, 3]).unwrap();
    model.set_weights(&[kernel, Tensor::zeros(&[3])]).unwrap();
    let mut prune = PruneLowMagnitude::new(PolynomialDecay::new(0.5, 0.5, 0, 1).unwrap().frequency(1).unwrap());
    let x = Tensor::zeros(&[4, 2]);
    let y = Tensor::zeros(&[4, 3]);
    model.fit(&x, &y, quiet(1, vec![&mut prune])).unwrap();
    assert_eq!(model.params()[0].value.to_vec(), vec![0.5, 0.0, 0.0, 0.0, -0.9, -0.3]);
}

#[test]
fn named_layers_restrict_pruning_and_unknown_names_are_errors() {
    let (mut model, x, y) = small_model();
    let schedule = PolynomialDecay::new(0.5, 0.5, 0, 1).unwrap().frequency(1).unwrap();
    let mut prune = PruneLowMagnitude::new(schedule.clone()).layers(&["dense_1"]);
    model.fit(&x, &y, quiet(1, vec![&mut prune])).unwrap();
    let report = kensho::sparsity(&model);
    assert_eq!(report[0].1, 0.0);
    assert_eq!(report[1].1, 0.5);

    let mut unknown = PruneLowMagnitude::new(schedule.clone()).layers(&["dense_9"]);
    let err = model.fit(&x, &y, quiet(1, vec![&mut unknown])).unwrap_err().to_string();
    assert!(err.contains("dense_9") && err.contains("dense_1"), "{err}");

    let mut flat = Sequential::new().add(Input::new(&[2, 4])).add(Flatten::new()).add(Dense::new(3)).into_model();
    flat.compile(Adam::new(1e-3), losses::MeanSquaredError, vec![]).unwrap();
    let mut no_kernel = PruneLowMagnitude::new(schedule).layers(&["flatten"]);
    let err = flat
        .fit(Tensor::zeros(&[4, 2, 4]), Tensor::zeros(&[4, 3]), quiet(1, vec![&mut no_kernel]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("flatten") && err.contains("kernel"), "{err}");
}

#[test]
fn an_mlp_pruned_to_80_percent_still_reads_the_digits() {
    let (x_train, x_test, y_train, y_test) = crate::digits::standardised_digits();
    let mut model = crate::digits::mlp(1, 64, 10);
    model
        .compile(
            Adam::new(1e-3),
            losses::SparseCategoricalCrossentropy::from_logits(),
            vec![Box::new(metrics::Accuracy::new())],
        )
        .unwrap();
    // 1437 training rows in batches of 32: 45 steps per epoch. Prune every 45 steps from step 90
    // to step 540 (epochs 3 to 13), then 2 epochs of fine-tuning under the masks.
    let schedule = PolynomialDecay::new(0.0, 0.8, 90, 540).unwrap().frequency(45).unwrap();
    let mut prune = PruneLowMagnitude::new(schedule);
    model.fit(&x_train, &y_train, quiet(15, vec![&mut prune])).unwrap();
    let accuracy = model.evaluate(&x_test, &y_test).unwrap().get("accuracy").unwrap();
    let report = kensho::sparsity(&model);
    println!("pruned digits MLP: test accuracy {accuracy:.3}, sparsity {report:?}");
    // Observed (seed 1, split seed 7): 0.953 test accuracy with 3277 of 4096 and 512 of 640
    // kernel weights zero; the same model and schedule with nothing pruned reach 0.972.
    // Chance is 0.1 on ten balanced classes.
    assert_eq!(report[0].1, (0.8f64 * 4096.0).round() as f32 / 4096.0);
    assert_eq!(report[1].1, 0.8);
    assert!(accuracy > 0.7, "accuracy {accuracy}");
}

#[test]
fn convolution_kernels_are_pruned_by_default_and_other_kernels_by_name() {
    let conv_model = || {
        let mut model = Sequential::new()
            .seed(5)
            .add(Input::new(&[6, 6, 2]))
            .add(Conv2d::new(4, [3, 3]).activation(Activation::Relu))
            .add(DepthwiseConv2d::new([3, 3]))
            .add(Flatten::new())
            .add(Dense::new(2))
            .into_model();
        model.compile(Adam::new(1e-2), losses::MeanSquaredError, vec![]).unwrap();
        model
    };
    let depthwise_kernel = |model: &Model| {
        let layer = model.layers().iter().find(|l| l.kind() == "DepthwiseConv2D").unwrap();
        (layer.name().to_string(), layer.params()[0].value.to_vec())
    };
    let mut rng = kensho::core::seeded_rng(4);
    let x = Tensor::rand_uniform(&[16, 6, 6, 2], -1.0, 1.0, &mut rng);
    let y = Tensor::rand_uniform(&[16, 2], -1.0, 1.0, &mut rng);
    let schedule = PolynomialDecay::new(0.5, 0.5, 0, 1).unwrap().frequency(1).unwrap();

    // Default: the Conv2D kernel [3, 3, 2, 4] (72 -> 36 zeros) and the Dense kernel [16, 2]
    // (32 -> 16), not the depthwise kernel; `sparsity` lists the same kernels.
    let mut model = conv_model();
    let mut prune = PruneLowMagnitude::new(schedule.clone());
    model.fit(&x, &y, quiet(3, vec![&mut prune])).unwrap();
    let names: Vec<String> = kensho::sparsity(&model).into_iter().map(|(n, _)| n).collect();
    assert_eq!(prune.masked(), names);
    assert_eq!(kensho::sparsity(&model).iter().map(|(_, s)| *s).collect::<Vec<f32>>(), vec![0.5, 0.5]);
    let (_, depthwise) = depthwise_kernel(&model);
    assert_eq!(depthwise.len(), 36);
    assert!(depthwise.iter().all(|v| *v != 0.0));

    // By name: only the depthwise kernel [3, 3, 4, 1] (36 -> 18 zeros).
    let mut model = conv_model();
    let (name, _) = depthwise_kernel(&model);
    let mut prune = PruneLowMagnitude::new(schedule).layers(&[&name]);
    model.fit(&x, &y, quiet(3, vec![&mut prune])).unwrap();
    let (_, depthwise) = depthwise_kernel(&model);
    assert_eq!(depthwise.iter().filter(|v| **v == 0.0).count(), 18);
    assert!(kensho::sparsity(&model).iter().all(|(_, s)| *s == 0.0));
}

#[test]
fn the_summary_reports_each_kernels_sparsity_once_pruned_and_nothing_before() {
    let (mut model, x, y) = small_model();
    model.fit(&x, &y, quiet(1, vec![])).unwrap();
    // Trained but not pruned: Keras' table and totals alone.
    let plain = model.summary();
    assert!(plain.ends_with(" Non-trainable params: 0 (0.00 B)\n"), "{plain}");
    assert!(!plain.contains("sparsity"), "{plain}");

    // Only dense_1 pruned, to 80 %: 0.8 * 48 = 38.4 -> 38 zeros (79.2 %); dense's kernel is
    // listed at 0 % so that the reader sees it was left dense.
    // Steps count on across fits: 8 per epoch, so the second fit runs steps 8..16.
    let at = |step| PolynomialDecay::new(0.8, 0.8, step, step + 1).unwrap().frequency(1).unwrap();
    let mut prune = PruneLowMagnitude::new(at(8)).layers(&["dense_1"]);
    model.fit(&x, &y, quiet(1, vec![&mut prune])).unwrap();
    let expected_footer = " Kernel sparsity (weights exactly zero):\n   dense.kernel: 0.0 % (0 of 128)\n   \
                           dense_1.kernel: 79.2 % (38 of 48)\n";
    assert_eq!(model.summary(), format!("{plain}{expected_footer}"));

    // Every kernel pruned to 80 %: 102 of 128 (79.7 %) and 38 of 48; the table is unchanged.
    let mut prune = PruneLowMagnitude::new(at(16));
    model.fit(&x, &y, quiet(1, vec![&mut prune])).unwrap();
    let expected_footer = " Kernel sparsity (weights exactly zero):\n   dense.kernel: 79.7 % (102 of 128)\n   \
                           dense_1.kernel: 79.2 % (38 of 48)\n";
    assert_eq!(model.summary(), format!("{plain}{expected_footer}"));
}
