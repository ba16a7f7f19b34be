//! The deterministic mode (`kensho::set_deterministic(true)`): training gives bit-identical
//! weights on 1, 2 and 3 threads, for dense, convolutional, recurrent and embedding models, with dropout and batches
//! large enough to be split into shards. One test binary, since the thread count is
//! process-wide.

use kensho::prelude::*;

/// The weights after two epochs of `build()` on `(x, y)` with `threads` kernel threads.
fn train(threads: usize, build: fn() -> Sequential, x: &Tensor, y: &Tensor) -> Vec<Tensor> {
    kensho::set_num_threads(threads);
    let mut model = build();
    model.compile(Adam::new(0.01), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
    let options = FitOptions { epochs: 2, batch_size: 96, verbose: 0, ..Default::default() };
    model.fit(x, y, options).unwrap();
    model.get_weights()
}

fn dense() -> Sequential {
    Sequential::new()
        .seed(1)
        .add(Input::new(&[20]))
        .add(Dense::new(64).activation(Activation::Relu))
        .add(Dropout::new(0.2))
        .add(Dense::new(3).activation(Activation::Softmax))
}

fn conv() -> Sequential {
    Sequential::new()
        .seed(2)
        .add(Input::new(&[8, 8, 1]))
        .add(Conv2d::new(4, [3, 3]).activation(Activation::Relu))
        .add(MaxPooling2d::new([2, 2]))
        .add(Flatten::new())
        .add(Dense::new(3).activation(Activation::Softmax))
}

fn recurrent() -> Sequential {
    Sequential::new()
        .seed(3)
        .add(Input::new(&[6]))
        .add(Embedding::new(12, 8))
        .add(Lstm::new(16))
        .add(Dense::new(3).activation(Activation::Softmax))
}

/// Asserts that `build()` trains to the same bits on 1, 2 and 3 threads, and that the switch
/// matters: with it off, 1 and 2 threads round differently.
fn same_bits_on_every_thread_count(name: &str, build: fn() -> Sequential, x: &Tensor, y: &Tensor) {
    let one = train(1, build, x, y);
    assert_ne!(one, build().get_weights(), "{name}: training moved the weights");
    for threads in [2, 3] {
        let other = train(threads, build, x, y);
        for (a, b) in one.iter().zip(&other) {
            let same = a.to_vec().iter().zip(b.to_vec()).all(|(p, q)| p.to_bits() == q.to_bits());
            assert!(same, "{name}: weights on {threads} threads differ from 1 thread's");
        }
    }
}

#[test]
fn weights_are_the_same_bits_on_one_two_and_three_threads() {
    assert!(!kensho::deterministic(), "thread-dependent splits are the default");
    kensho::set_deterministic(true);
    let mut rng = kensho::core::seeded_rng(7);
    let labels = Tensor::from_fn(&[288], |i| (i[0] % 3) as f32);
    let x = Tensor::rand_uniform(&[288, 20], -1.0, 1.0, &mut rng);
    same_bits_on_every_thread_count("dense", dense, &x, &labels);
    let images = Tensor::rand_uniform(&[288, 8, 8, 1], 0.0, 1.0, &mut rng);
    same_bits_on_every_thread_count("conv", conv, &images, &labels);
    let tokens = Tensor::from_fn(&[288, 6], |i| ((i[0] * 7 + i[1] * 3) % 11 + 1) as f32);
    same_bits_on_every_thread_count("recurrent", recurrent, &tokens, &labels);

    // Without the switch the shards follow the thread count: 1 and 2 threads round the
    // gradient sums differently (this is what the mode is for).
    kensho::set_deterministic(false);
    let (one, two) = (train(1, dense, &x, &labels), train(2, dense, &x, &labels));
    assert_ne!(one, two, "with the switch off, 1 and 2 threads should round differently");
}
