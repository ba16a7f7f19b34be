//! The convolution family in a model: Conv2DTranspose, DepthwiseConv2D, SeparableConv2D,
//! ZeroPadding2D, UpSampling2D and Cropping2D named as Keras names them, summarized, trained,
//! saved in PyTorch's layout (keys and shapes of the equivalent `nn.Sequential`) and loaded
//! back, and round-tripped through the model file.

use kensho::checkpoint::load_tensors;
use kensho::prelude::*;
use kensho::{load_model, LoadOptions, WeightsLayout};

/// Input(8, 8, 3) → ZeroPadding2D → DepthwiseConv2D(relu) → SeparableConv2D(tanh) →
/// Conv2DTranspose → Cropping2D → MaxPooling2D → UpSampling2D → Flatten → Dense(softmax).
fn model(seed: u64) -> Sequential {
    Sequential::new()
        .seed(seed)
        .add(Input::new(&[8, 8, 3]))
        .add(ZeroPadding2d::default())
        .add(DepthwiseConv2d::new([3, 3]).depth_multiplier(2).activation(Activation::Relu))
        .add(SeparableConv2d::new(4, [3, 3]).padding(Padding::Same).activation(Activation::Tanh))
        .add(Conv2dTranspose::new(3, [2, 2]).strides([2, 2]))
        .add(Cropping2d::symmetric(2, 2))
        .add(MaxPooling2d::new([2, 2]))
        .add(UpSampling2d::default())
        .add(Flatten::new())
        .add(Dense::new(2).activation(Activation::Softmax))
}

fn images(n: usize, seed: u64) -> Tensor {
    Tensor::rand_uniform(&[n, 8, 8, 3], -1.0, 1.0, &mut kensho::core::seeded_rng(seed))
}

fn bits(model: &Model) -> Vec<Vec<u32>> {
    model.get_weights().iter().map(|w| w.to_vec().iter().map(|v| v.to_bits()).collect()).collect()
}

#[test]
fn layers_are_named_summarized_and_shaped_as_in_keras() {
    let model = model(0);
    let names: Vec<&str> = model.layers().iter().map(|l| l.name()).collect();
    let expected = [
        "input_layer",
        "zero_padding2d",
        "depthwise_conv2d",
        "separable_conv2d",
        "conv2d_transpose",
        "cropping2d",
        "max_pooling2d",
        "up_sampling2d",
        "flatten",
        "dense",
    ];
    assert_eq!(names, expected);
    let summary = model.summary();
    // The type of a long name wraps onto the next line, as in Keras.
    for row in [
        "│ conv2d_transpose                │",
        "│ (Conv2DTranspose)               │",
        "(None, 10, 10, 3)",
        "(None, 16, 16, 3)",
        "(None, 12, 12, 3)",
    ] {
        assert!(summary.contains(row), "{row} in\n{summary}");
    }
    // depthwise 3*3*3*2 + 6, separable 3*3*6 + 6*4 + 4, transpose 2*2*3*4 + 3, dense 432*2 + 2.
    assert_eq!(model.count_params(), 60 + 82 + 51 + 866);
    assert!(model.to_mermaid().contains("SeparableConv2D"));
    assert_eq!(model.predict(&images(3, 1)).unwrap().shape(), &[3, 2]);
}

#[test]
fn pytorch_layout_round_trips_with_state_dict_keys_and_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("torch.safetensors");
    let source = model(1);
    source.save_weights_with(&path, WeightsLayout::PyTorch).unwrap();
    // nn.Sequential(ZeroPad2d, Conv2d(groups=3), ReLU, Conv2d(groups=6, bias=False), Conv2d(6, 4, 1),
    // Tanh, ConvTranspose2d, ZeroPad2d(-2), MaxPool2d, Upsample, Flatten, Linear, Softmax).
    let (tensors, _) = load_tensors(&path).unwrap();
    let mut shapes: Vec<(&str, &[usize])> = tensors.iter().map(|(n, t)| (n.as_str(), t.shape())).collect();
    shapes.sort();
    let expected: Vec<(&str, &[usize])> = vec![
        ("1.bias", &[6]),
        ("1.weight", &[6, 1, 3, 3]),
        ("11.bias", &[2]),
        ("11.weight", &[2, 432]),
        ("3.weight", &[6, 1, 3, 3]),
        ("4.bias", &[4]),
        ("4.weight", &[4, 6, 1, 1]),
        ("6.bias", &[3]),
        ("6.weight", &[4, 3, 2, 2]),
    ];
    assert_eq!(shapes, expected);

    let mut other = model(2);
    assert_ne!(bits(&other), bits(&source));
    other.load_weights_with(&path, LoadOptions::default().layout(WeightsLayout::PyTorch)).unwrap();
    assert_eq!(bits(&other), bits(&source));
    let x = images(4, 3);
    assert_eq!(other.predict(&x).unwrap().to_vec(), source.predict(&x).unwrap().to_vec());
}

#[test]
fn the_model_trains_and_its_file_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let mut model = model(4);
    model.compile(Adam::new(0.01), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
    let x = images(32, 5);
    let labels: Vec<f32> = (0..32).map(|i| (x.to_vec()[i * 192] > 0.0) as u8 as f32).collect();
    let y = Tensor::from_vec(labels, &[32]).unwrap();
    let history = model.fit(&x, &y, FitOptions { epochs: 2, batch_size: 8, verbose: 0, ..Default::default() }).unwrap();
    assert!(history.get("loss").unwrap().iter().all(|l| l.is_finite()));
    model.save(&path).unwrap();
    let loaded = load_model(&path).unwrap();
    assert_eq!(bits(&loaded), bits(&model));
    assert_eq!(loaded.predict(&x).unwrap().to_vec(), model.predict(&x).unwrap().to_vec());
    let kinds: Vec<&str> = loaded.layers().iter().map(|l| l.kind()).collect();
    assert_eq!(kinds[1..6], ["ZeroPadding2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose", "Cropping2D"]);
}
