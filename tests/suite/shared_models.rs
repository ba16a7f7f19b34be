//! A trained model is `Send + Sync`: one model behind an `Arc` serves predictions from several
//! threads at once, and each prediction equals the one-thread result bit for bit.

use kensho::prelude::*;
use std::sync::Arc;
use std::thread;

/// Compiles only if `T` can be shared between threads.
fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn models_are_send_and_sync() {
    assert_send_sync::<Model>();
    assert_send_sync::<Sequential>();
}

/// A compiled and briefly trained model with dropout (inactive in `predict`) and a softmax head.
fn trained_model() -> Sequential {
    let mut model = Sequential::new()
        .seed(3)
        .add(Input::new(&[8]))
        .add(Dense::new(32).activation(Activation::Relu))
        .add(Dropout::new(0.3))
        .add(Dense::new(4).activation(Activation::Softmax));
    model.compile(Adam::new(0.01), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
    let mut rng = kensho::core::seeded_rng(5);
    let x = Tensor::rand_uniform(&[256, 8], -1.0, 1.0, &mut rng);
    let y = Tensor::from_fn(&[256], |i| (i[0] % 4) as f32);
    model.fit(&x, &y, FitOptions { epochs: 2, verbose: 0, ..Default::default() }).unwrap();
    model
}

#[test]
fn four_threads_share_one_model_and_predict_as_one_thread_does() {
    let model = Arc::new(trained_model());
    let mut rng = kensho::core::seeded_rng(9);
    let inputs: Arc<Vec<Tensor>> =
        Arc::new((0..100).map(|i| Tensor::rand_uniform(&[1 + i % 7, 8], -2.0, 2.0, &mut rng)).collect());
    let expected: Vec<Vec<f32>> = inputs.iter().map(|x| model.predict(x).unwrap().to_vec()).collect();
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let (model, inputs) = (Arc::clone(&model), Arc::clone(&inputs));
            // Each thread walks the inputs from its own starting point, so different
            // predictions run at the same time.
            thread::spawn(move || {
                (0..inputs.len())
                    .map(|i| (i + 25 * t) % inputs.len())
                    .map(|i| (i, model.predict(&inputs[i]).unwrap().to_vec()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for worker in workers {
        let results = worker.join().expect("a prediction thread panicked");
        assert_eq!(results.len(), 100);
        for (i, values) in results {
            let same_bits = values.iter().zip(&expected[i]).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same_bits && values.len() == expected[i].len(), "prediction {i} differs from one thread's");
        }
    }
}
