//! BatchNormalization in a model: its training output depends on the whole batch, so the
//! train step never splits the batch across threads (two threads give the weights and moving
//! statistics of one); the moving statistics after a step are the hand-computed ones; the
//! summary counts its state as non-trainable; it saves and loads in both checkpoint layouts and
//! in the model file; and a model with it learns. One test binary, since the thread count is
//! process-wide.

mod common;

use common::BatchProbe;
use kensho::checkpoint::load_tensors;
use kensho::layers::BatchNormalization;
use kensho::optim::Sgd;
use kensho::prelude::*;
use kensho::{LoadOptions, WeightsLayout};
use std::sync::atomic::{AtomicUsize, Ordering};

/// 128 samples of 6 features with different offsets and scales, and 3 classes.
fn data() -> (Tensor, Tensor) {
    let mut rng = kensho::core::seeded_rng(21);
    let noise = Tensor::rand_uniform(&[128, 6], -1.0, 1.0, &mut rng);
    let x = Tensor::from_fn(&[128, 6], |i| {
        let j = i[1];
        noise.get_flat(i[0] * 6 + j) * (1.0 + j as f32) + 3.0 * j as f32 - 5.0
    });
    let y = Tensor::from_fn(&[128], |i| {
        ((x.get_flat(i[0] * 6) + x.get_flat(i[0] * 6 + 1) > -2.0) as usize + i[0] % 2) as f32
    });
    (x, y)
}

fn model(probe: &'static AtomicUsize, with_bn: bool) -> Sequential {
    let mut m = Sequential::new().seed(3).add(Input::new(&[6]));
    if with_bn {
        m = m.add(BatchNormalization::new());
    }
    m.add(BatchProbe::new(probe, true))
        .add(Dense::new(16).activation(Activation::Relu))
        .add(BatchNormalization::new().momentum(0.9))
        .add(Dense::new(3).activation(Activation::Softmax))
}

/// Three train steps on `threads` threads: the largest batch a layer saw and the weights
/// (parameters and moving statistics).
fn train(threads: usize, with_bn: bool, probe: &'static AtomicUsize) -> (usize, Vec<Tensor>) {
    kensho::set_num_threads(threads);
    probe.store(0, Ordering::Relaxed);
    let (x, y) = data();
    let mut m = model(probe, with_bn);
    m.compile(Sgd::new(0.1), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
    for step in 0..3 {
        m.train_step(&x, &y, None, step).unwrap();
    }
    kensho::set_num_threads(1);
    (probe.load(Ordering::Relaxed), m.get_weights())
}

#[test]
fn two_threads_keep_the_batch_whole_and_give_the_weights_and_statistics_of_one() {
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    // Without the first BatchNormalization the model still has the second: no split either.
    // A model of per-sample layers only does split on two threads (the check means something).
    let plain = {
        kensho::set_num_threads(2);
        SEEN.store(0, Ordering::Relaxed);
        let (x, y) = data();
        let mut m = Sequential::new().add(Input::new(&[6])).add(BatchProbe::new(&SEEN, true)).add(Dense::new(3));
        m.compile(Sgd::new(0.1), losses::SparseCategoricalCrossentropy::from_logits(), vec![]).unwrap();
        m.train_step(&x, &y, None, 0).unwrap();
        kensho::set_num_threads(1);
        SEEN.load(Ordering::Relaxed)
    };
    assert_eq!(plain, 64, "a per-sample model splits its batch of 128 on two threads");
    let (seen_one, one) = train(1, true, &SEEN);
    let (seen_two, two) = train(2, true, &SEEN);
    assert_eq!((seen_one, seen_two), (128, 128), "the batch is never split");
    assert_eq!(one.len(), two.len());
    for (a, b) in one.iter().zip(&two) {
        assert!(a.allclose(b, 1e-5, 1e-6), "{a:?} vs {b:?}");
    }
    let (seen, _) = train(2, false, &SEEN);
    assert_eq!(seen, 128, "one BatchNormalization anywhere keeps the batch whole");
}

#[test]
fn the_moving_statistics_after_one_step_are_the_hand_computed_ones() {
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    let (x, y) = data();
    let mut m = model(&SEEN, true);
    m.compile(Sgd::new(0.1), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
    m.train_step(&x, &y, None, 0).unwrap();
    // The first layer sees x itself: per feature, the mean and the biased variance in f64.
    let (rows, cols) = (128, 6);
    let xs = &x;
    let column = |j: usize| (0..rows).map(move |i| f64::from(xs.get_flat(i * cols + j)));
    let mean: Vec<f64> = (0..cols).map(|j| column(j).sum::<f64>() / rows as f64).collect();
    let var: Vec<f64> =
        (0..cols).map(|j| column(j).map(|v| (v - mean[j]).powi(2)).sum::<f64>() / rows as f64).collect();
    // moving = moving * 0.99 + batch * 0.01, from zeros and ones.
    let state = m.layer("batch_normalization").unwrap().state();
    let (moving_mean, moving_var) = (state[0].value.to_vec(), state[1].value.to_vec());
    for j in 0..cols {
        let (want_mean, want_var) = (0.01 * mean[j], 0.99 + 0.01 * var[j]);
        assert!((f64::from(moving_mean[j]) - want_mean).abs() < 1e-5 * (1.0 + want_mean.abs()), "{moving_mean:?}");
        assert!((f64::from(moving_var[j]) - want_var).abs() < 1e-5 * want_var, "{moving_var:?}");
    }
    // The second layer (momentum 0.9) moved by a tenth of the way from its start.
    let second = m.layer("batch_normalization_1").unwrap().state();
    assert!(second[1].value.to_vec().iter().any(|&v| v != 1.0));
    // Inference leaves the statistics alone.
    m.predict(&x).unwrap();
    m.evaluate(&x, &y).unwrap();
    assert_eq!(m.layer("batch_normalization").unwrap().state()[0].value.to_vec(), moving_mean);
}

#[test]
fn the_summary_counts_four_weights_per_feature_two_of_them_non_trainable() {
    let mut m = Sequential::new().add(Input::new(&[6])).add(BatchNormalization::new()).add(Dense::new(3));
    m.build_model().unwrap();
    let summary = m.summary();
    // Wider than its column: wrapped at the space, as Keras' table (rich) wraps it.
    assert!(
        summary.contains("│ batch_normalization             │ (None, 6)              │            24 │\n"),
        "{summary}"
    );
    assert!(
        summary.contains("│ (BatchNormalization)            │                        │               │\n"),
        "{summary}"
    );
    assert!(summary.contains("Total params: 45 "), "{summary}");
    assert!(summary.contains("Trainable params: 33 "), "{summary}");
    assert!(summary.contains("Non-trainable params: 12 "), "{summary}");
    assert!(m.to_mermaid().contains("BatchNormalization"), "{}", m.to_mermaid());
}

#[test]
fn it_saves_and_loads_in_both_layouts_and_in_the_model_file() {
    let (x, y) = data();
    let build = || Sequential::new().seed(5).add(Input::new(&[6])).add(BatchNormalization::new()).add(Dense::new(3));
    let mut m = build();
    m.compile(Sgd::new(0.1), losses::SparseCategoricalCrossentropy::from_logits(), vec![]).unwrap();
    m.train_step(&x, &y, None, 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for layout in [WeightsLayout::Kensho, WeightsLayout::PyTorch] {
        let path = dir.path().join(format!("{layout:?}.safetensors"));
        m.save_weights_with(&path, layout).unwrap();
        let (tensors, _) = load_tensors(&path).unwrap();
        let mut names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        let expected = match layout {
            WeightsLayout::Kensho => vec![
                "batch_normalization.beta",
                "batch_normalization.gamma",
                "batch_normalization.moving_mean",
                "batch_normalization.moving_variance",
                "dense.bias",
                "dense.kernel",
            ],
            // PyTorch's BatchNorm also holds its step counter, written as 0 (kensho keeps none).
            _ => vec![
                "0.bias",
                "0.num_batches_tracked",
                "0.running_mean",
                "0.running_var",
                "0.weight",
                "1.bias",
                "1.weight",
            ],
        };
        assert_eq!(names, expected, "{layout:?}");
        if layout == WeightsLayout::PyTorch {
            let counter = &tensors.iter().find(|(n, _)| n == "0.num_batches_tracked").expect("listed above").1;
            assert_eq!((counter.shape(), counter.to_vec()), (&[][..], vec![0.0]));
            // A PyTorch file without the counter loads too (it is neither required nor unexpected).
            let without: Vec<(String, kensho::Tensor)> =
                tensors.iter().filter(|(n, _)| n != "0.num_batches_tracked").cloned().collect();
            let short = dir.path().join("no_counter.safetensors");
            kensho::checkpoint::save_tensors(&short, &without, None).unwrap();
            let mut other = build();
            other.build_model().unwrap();
            other.load_weights_with(&short, LoadOptions::default().layout(layout)).unwrap();
            assert_eq!(other.get_weights(), m.get_weights());
        }
        let mut other = build();
        other.build_model().unwrap();
        other.load_weights_with(&path, LoadOptions::default().layout(layout)).unwrap();
        assert_eq!(other.get_weights(), m.get_weights(), "{layout:?}");
    }
    let path = dir.path().join("model.safetensors");
    m.save(&path).unwrap();
    let loaded = kensho::load_model(&path).unwrap();
    assert_eq!(loaded.get_weights(), m.get_weights());
    assert_eq!(loaded.predict(&x).unwrap(), m.predict(&x).unwrap());
}

#[test]
fn a_model_with_batch_normalization_learns_badly_scaled_inputs() {
    let (x, y) = data();
    let mut m = model(Box::leak(Box::new(AtomicUsize::new(0))), true);
    m.compile(Adam::new(0.01), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
    let history = m.fit(&x, &y, FitOptions { epochs: 30, batch_size: 32, verbose: 0, ..Default::default() }).unwrap();
    let loss = history.get("loss").unwrap();
    assert!(loss.last().unwrap() < &(0.7 * loss[0]), "{loss:?}");
}
