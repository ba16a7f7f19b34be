//! With two kernel threads a large batch is split into shards trained side by side; the step
//! must give the same loss, gradients and outputs as the unsplit batch (up to float rounding),
//! and never split for a layer that needs the whole batch. One test binary, since the thread
//! count is process-wide.

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
}
