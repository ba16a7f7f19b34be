//! The convolution and pooling layers inside models: summary shapes and parameter counts (as
//! Keras prints them), the Mermaid diagram, both weights layouts, the whole-model file with the
//! optimizer state (training resumes exactly), and the multi-thread train step.

use kensho::prelude::*;
use kensho::{load_model, LoadOptions, WeightsLayout};

/// The convnet of workload W3 (Keras: 225,034 parameters).
fn w3(seed: u64) -> Sequential {
    Sequential::new()
        .seed(seed)
        .add(Input::new(&[28, 28, 1]))
        .add(Conv2d::new(32, [3, 3]).activation(Activation::Relu))
        .add(MaxPooling2d::new([2, 2]))
        .add(Conv2d::new(64, [3, 3]).activation(Activation::Relu))
        .add(MaxPooling2d::new([2, 2]))
        .add(Flatten::new())
        .add(Dense::new(128).activation(Activation::Relu))
        .add(Dense::new(10))
}

/// A sequence model with every 1-D layer and average pooling.
fn sequence(seed: u64) -> Sequential {
    Sequential::new()
        .seed(seed)
        .add(Input::new(&[12, 3]))
        .add(Conv1d::new(4, [3]).padding(Padding::Same).activation(Activation::Tanh))
        .add(MaxPooling1d::new([2]))
        .add(Conv1d::new(5, [2]).dilation_rate([2]))
        .add(AveragePooling1d::new([2]).padding(Padding::Same))
        .add(GlobalAveragePooling1d::new())
        .add(Dense::new(2))
}

fn data(shape: &[usize], seed: u64) -> (Tensor, Tensor) {
    let mut rng = kensho::core::seeded_rng(seed);
    let x = Tensor::rand_uniform(shape, 0.0, 1.0, &mut rng);
    let per: usize = shape[1..].iter().product();
    let y: Vec<f32> = x.to_vec().chunks(per).map(|r| (r.iter().sum::<f32>() > per as f32 / 2.0) as u8 as f32).collect();
    (x, Tensor::from_vec(y, &[shape[0]]).unwrap())
}

fn compiled(mut model: Sequential) -> Sequential {
    model.compile(Adam::new(1e-3), losses::SparseCategoricalCrossentropy::from_logits(), vec![]).unwrap();
    model
}

#[test]
fn summary_and_diagram_show_keras_shapes_and_counts() {
    let summary = w3(0).summary();
    for needle in [
        "conv2d (Conv2D)",
        "(None, 26, 26, 32)",
        "320",
        "max_pooling2d (MaxPooling2D)",
        "(None, 13, 13, 32)",
        "conv2d_1 (Conv2D)",
        "(None, 11, 11, 64)",
        "18,496",
        "(None, 5, 5, 64)",
        "(None, 1600)",
        "204,928",
        "Total params: 225,034",
    ] {
        assert!(summary.contains(needle), "{needle} not in\n{summary}");
    }
    let summary = sequence(0).summary();
    for needle in
        ["conv1d (Conv1D)", "(None, 12, 4)", "40", "(None, 6, 4)", "(None, 4, 5)", "45", "(None, 2, 5)", "(None, 5)"]
    {
        assert!(summary.contains(needle), "{needle} not in\n{summary}");
    }
    let mermaid = w3(0).to_mermaid();
    assert!(mermaid.contains("max_pooling2d_1 (MaxPooling2D)<br/>(None, 5, 5, 64)"), "{mermaid}");
    assert_eq!(mermaid.matches("-->").count(), 8, "input, 7 layers, output\n{mermaid}");
}

#[test]
fn weights_round_trip_in_both_layouts() {
    let dir = tempfile::tempdir().unwrap();
    for (name, build) in [("w3", w3 as fn(u64) -> Sequential), ("sequence", sequence)] {
        let model = build(1);
        for layout in [WeightsLayout::Kensho, WeightsLayout::PyTorch] {
            let path = dir.path().join(format!("{name}-{layout:?}.safetensors"));
            model.save_weights_with(&path, layout).unwrap();
            let mut other = build(2);
            assert_ne!(other.get_weights(), model.get_weights());
            other.load_weights_with(&path, LoadOptions::default().layout(layout)).unwrap();
            assert_eq!(other.get_weights(), model.get_weights(), "{name} {layout:?}");
        }
    }
}

#[test]
fn the_model_file_resumes_training_exactly() {
    kensho::set_num_threads(1);
    let (x, y) = data(&[48, 12, 3], 3);
    let options =
        |initial_epoch, epochs| FitOptions { initial_epoch, epochs, batch_size: 16, verbose: 0, ..Default::default() };
    let mut straight = compiled(sequence(5));
    straight.fit(&x, &y, options(0, 4)).unwrap();
    let mut first = compiled(sequence(5));
    first.fit(&x, &y, options(0, 2)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seq.safetensors");
    first.save(&path).unwrap();
    let mut resumed = load_model(&path).unwrap();
    resumed.fit(&x, &y, options(2, 4)).unwrap();
    assert_eq!(resumed.get_weights(), straight.get_weights(), "optimizer state and seed restored");
}

#[test]
fn two_threads_split_the_batch_and_match_one_thread() {
    let (x, y) = data(&[128, 28, 28, 1], 4);
    let step = |threads| {
        kensho::set_num_threads(threads);
        let mut model = compiled(w3(6));
        let out = model.train_step(&x, &y, None, 0).unwrap();
        (out.loss, model.get_weights())
    };
    let (loss1, w1) = step(1);
    let (loss2, w2) = step(2);
    kensho::set_num_threads(1);
    assert!((loss1 - loss2).abs() < 1e-5, "{loss1} vs {loss2}");
    for (a, b) in w1.iter().zip(&w2) {
        assert!(a.allclose(b, 1e-4, 1e-5), "weights after one step differ beyond rounding");
    }
}
