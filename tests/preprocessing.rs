//! The image preprocessing layers and SpatialDropout2D in a model: they train (on two threads,
//! passing gradients through), act only in training except Rescaling, show in the summary and
//! the diagram, take no module in PyTorch's layout (SpatialDropout2D is `nn.Dropout2d`), and
//! come back from the model file.

use kensho::checkpoint::load_tensors;
use kensho::layers::{
    FlipMode, RandomContrast, RandomFlip, RandomRotation, RandomTranslation, RandomZoom, Rescaling, SpatialDropout2d,
};
use kensho::optim::Sgd;
use kensho::prelude::*;
use kensho::WeightsLayout;

fn augmented(scale: f32) -> Sequential {
    Sequential::new()
        .seed(2)
        .add(Input::new(&[6, 6, 2]))
        .add(Rescaling::new(scale))
        .add(RandomFlip::new(FlipMode::Horizontal))
        .add(RandomTranslation::new(0.2, 0.2))
        .add(RandomRotation::new(0.1))
        .add(RandomZoom::new(0.2))
        .add(RandomContrast::new(0.3).value_range(0.0, 1.0))
        .add(SpatialDropout2d::new(0.25))
        .add(Flatten::new())
        .add(Dense::new(2))
}

#[test]
fn an_augmented_image_model_trains_saves_and_loads() {
    let mut rng = kensho::core::seeded_rng(1);
    let x = Tensor::rand_uniform(&[96, 6, 6, 2], 0.0, 255.0, &mut rng);
    let y = Tensor::from_fn(&[96], |i| (i[0] % 2) as f32);
    kensho::set_num_threads(2);
    let mut m = augmented(1.0 / 255.0);
    m.compile(Sgd::new(0.05), losses::SparseCategoricalCrossentropy::from_logits(), vec![]).unwrap();
    let kernel = m.params()[0].value.clone();
    m.fit(&x, &y, FitOptions { epochs: 2, batch_size: 48, verbose: 0, ..Default::default() }).unwrap();
    kensho::set_num_threads(1);
    assert_ne!(m.params()[0].value, kernel, "the gradient reached the Dense behind the augmentations");
    // In inference only Rescaling acts: the model is Dense(Flatten(x / 255)).
    let mut plain = Sequential::new()
        .add(Input::new(&[6, 6, 2]))
        .add(Rescaling::new(1.0 / 255.0))
        .add(Flatten::new())
        .add(Dense::new(2));
    plain.build_model().unwrap();
    plain.set_weights(&m.get_weights()).unwrap();
    assert!(plain.predict(&x).unwrap().allclose(&m.predict(&x).unwrap(), 1e-5, 1e-6));

    let summary = m.summary();
    for kind in [
        "Rescaling",
        "RandomFlip",
        "RandomTranslation",
        "RandomRotation",
        "RandomZoom",
        "RandomContrast",
        "SpatialDropout2D",
    ] {
        assert!(summary.contains(&format!("({kind})")), "{kind} in {summary}");
        assert!(m.to_mermaid().contains(kind), "{kind}");
    }
    // Longer than its column: the type wraps onto a line of its own, as in Keras.
    assert!(summary.contains("│ spatial_dropout2d               │"), "{summary}");
    assert!(summary.contains("│ (SpatialDropout2D)              │"), "{summary}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("torch.safetensors");
    m.save_weights_with(&path, WeightsLayout::PyTorch).unwrap();
    let (tensors, _) = load_tensors(&path).unwrap();
    let mut names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    // Dropout2d is module 0, Flatten 1, Linear 2.
    assert_eq!(names, ["2.bias", "2.weight"]);
    let path = dir.path().join("model.safetensors");
    m.save(&path).unwrap();
    let loaded = kensho::load_model(&path).unwrap();
    assert_eq!(
        loaded.layers().iter().map(|l| l.config()).collect::<Vec<_>>(),
        m.layers().iter().map(|l| l.config()).collect::<Vec<_>>()
    );
    assert_eq!(loaded.predict(&x).unwrap(), m.predict(&x).unwrap());
}
