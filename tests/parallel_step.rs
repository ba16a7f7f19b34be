//! With the deterministic mode off and two kernel threads, a large batch is split into shards
//! trained side by side (one thread does not split it); the step must give the same loss,
//! gradients and outputs as the unsplit batch (up to float rounding), and never split for a
//! layer that needs the whole batch. One test binary, since the thread count and the switch are
//! process-wide.

mod common;

use common::BatchProbe;
use kensho::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

fn model() -> Sequential {
    Sequential::new()
        .seed(4)
        .add(Input::new(&[6]))
        .add(Dense::new(16).activation(Activation::Tanh).kernel_regularizer(Regularizer::l2(0.01)))
        .add(Dense::new(3).activation(Activation::Softmax))
}

fn step(threads: usize, x: &Tensor, y: &Tensor, w: &Tensor) -> (f32, Tensor, Vec<Tensor>) {
    kensho::set_num_threads(threads);
    let mut m = model();
    m.compile(kensho::optim::Sgd::new(0.5), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
    let out = m.train_step(x, y, Some(w), 1).unwrap();
    (out.loss, out.y_pred().clone(), m.get_weights())
}

#[test]
fn a_split_batch_trains_like_the_whole_batch() {
    kensho::set_deterministic(false);
    let mut rng = kensho::core::seeded_rng(8);
    let x = Tensor::rand_uniform(&[128, 6], -1.0, 1.0, &mut rng);
    let y = Tensor::from_fn(&[128], |i| (i[0] % 3) as f32);
    let w = Tensor::rand_uniform(&[128], 0.5, 1.5, &mut rng);
    let (loss1, pred1, weights1) = step(1, &x, &y, &w);
    let (loss2, pred2, weights2) = step(2, &x, &y, &w);
    assert!((loss1 - loss2).abs() < 1e-5, "{loss1} vs {loss2}");
    assert!(pred1.allclose(&pred2, 1e-6, 1e-6));
    for (a, b) in weights1.iter().zip(&weights2) {
        assert!(a.allclose(b, 1e-5, 1e-6), "weights after the step differ");
    }
    assert_ne!(weights1, model().get_weights(), "the step moved the weights");

    static SEEN: AtomicUsize = AtomicUsize::new(0);
    let mut m = model();
    m.push(Box::new(BatchProbe::new(&SEEN, false)));
    m.compile(kensho::optim::Sgd::new(0.5), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
    m.train_step(&x, &y, None, 1).unwrap();
    assert_eq!(SEEN.load(Ordering::Relaxed), 128, "a batch-dependent layer must see the whole batch");

    // A functional model with two inputs, a shared layer, merges and two weighted heads splits
    // the same way: every output's loss and every weight match the whole batch.
    let xb = Tensor::rand_uniform(&[128, 6], -1.0, 1.0, &mut rng);
    let target = Tensor::rand_uniform(&[128, 1], -1.0, 1.0, &mut rng);
    let (l1, parts1, w1) = functional_step(1, [&x, &xb], [&y, &target]);
    let (l2, parts2, w2) = functional_step(2, [&x, &xb], [&y, &target]);
    kensho::set_num_threads(1);
    assert!((l1 - l2).abs() < 1e-5, "{l1} vs {l2}");
    assert!((parts1[0] + parts1[1] - l1).abs() < 1e-5, "the weighted output losses add up to the loss");
    for (a, b) in parts1.iter().zip(&parts2) {
        assert!((a - b).abs() < 1e-5, "{parts1:?} vs {parts2:?}");
    }
    for (a, b) in w1.iter().zip(&w2) {
        assert!(a.allclose(b, 1e-5, 1e-6), "functional weights after the step differ");
    }

    // Token models (Embedding, TimeDistributed, pooling over time) split the same way.
    let ids = Tensor::from_fn(&[128, 6], |i| ((i[0] * 3 + i[1] * 7) % 20) as f32);
    let token_step = |threads| {
        kensho::set_num_threads(threads);
        let mut m = Sequential::new()
            .seed(6)
            .add(Input::new(&[6]))
            .add(Embedding::new(20, 4))
            .add(TimeDistributed::new(Dense::new(3).activation(Activation::Tanh)))
            .add(GlobalAveragePooling1d::new())
            .add(Dense::new(3).activation(Activation::Softmax));
        m.compile(kensho::optim::Sgd::new(0.5), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
        let loss = m.train_step(&ids, &y, None, 1).unwrap().loss;
        (loss, m.get_weights())
    };
    let ((t1, tw1), (t2, tw2)) = (token_step(1), token_step(2));
    kensho::set_num_threads(1);
    assert!((t1 - t2).abs() < 1e-5, "{t1} vs {t2}");
    for (a, b) in tw1.iter().zip(&tw2) {
        assert!(a.allclose(b, 1e-5, 1e-6), "token model weights after the step differ");
    }
}

/// One step of a two-input, two-output functional model on `threads` threads: the loss, each
/// output's loss and the weights after it.
fn functional_step(threads: usize, x: [&Tensor; 2], y: [&Tensor; 2]) -> (f32, Vec<f32>, Vec<Tensor>) {
    kensho::set_num_threads(threads);
    let (a, b) = (Input::new(&[6]), Input::new(&[6]));
    let shared = Dense::new(8).activation(Activation::Tanh).shared();
    let (ha, hb) = (shared.on(&a).unwrap(), shared.on(&b).unwrap());
    let sum = Add::new().on_all(&[&ha, &hb]).unwrap();
    let joined = Concatenate::new(-1).on_all(&[&sum, &ha]).unwrap();
    let class = Dense::new(3).activation(Activation::Softmax).named("class").on(&joined).unwrap();
    let value = Dense::new(1).named("value").on(&sum).unwrap();
    let mut m = Model::with_seed(&[&a, &b], &[&class, &value], 4).unwrap();
    m.compile_heads(
        kensho::optim::Sgd::new(0.5),
        vec![
            ("class", Head::new(losses::SparseCategoricalCrossentropy::new())),
            ("value", Head::new(losses::MeanSquaredError).weight(0.3)),
        ],
    )
    .unwrap();
    let (x, y): (Vec<Tensor>, Vec<Tensor>) = (x.map(Tensor::clone).to_vec(), y.map(Tensor::clone).to_vec());
    let out = m.fit(x, y, FitOptions { epochs: 1, batch_size: 128, shuffle: false, verbose: 0, ..Default::default() });
    let history = out.unwrap();
    let parts = ["class_loss", "value_loss"].map(|k| history.get(k).unwrap()[0]).to_vec();
    (history.get("loss").unwrap()[0], parts, m.get_weights())
}
