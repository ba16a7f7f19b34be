//! Convolution and pooling layers: the conformance harness (shapes, gradients in both modes,
//! batch independence, config round trip, PyTorch layout) on each, literal values, and errors.

use kensho_autograd::Tape;
use kensho_core::{seeded_rng, Initializer, Padding, Tensor};
use kensho_layers::testing::check_layer;
use kensho_layers::{
    Activation, AveragePooling1d, AveragePooling2d, Conv1d, Conv2d, Ctx, GlobalAveragePooling1d,
    GlobalAveragePooling2d, GlobalMaxPooling2d, Layer, MaxPooling1d, MaxPooling2d, Shape,
};

fn run(layer: &dyn Layer, x: &Tensor) -> Tensor {
    let tape = Tape::no_grad();
    let cx = Ctx::new(&tape, false, seeded_rng(0));
    layer.forward(tape.constant(x.clone()), &cx).value()
}

#[test]
fn conv2d_passes_check_layer_with_strides_padding_dilation_and_groups() {
    let cases: Vec<(Conv2d, usize)> = vec![
        (Conv2d::new(3, [3, 3]), 3 * 3 * 2 * 3 + 3),
        (Conv2d::new(3, [3, 2]).strides([2, 1]).padding(Padding::Same).activation(Activation::Tanh), 3 * 2 * 2 * 3 + 3),
        (Conv2d::new(2, [2, 2]).dilation_rate([2, 2]).use_bias(false), 2 * 2 * 2 * 2),
        (Conv2d::new(4, [3, 3]).groups(2).padding(Padding::Same), 3 * 3 * 4 + 4),
    ];
    for (mut layer, params) in cases {
        let config = format!("{:?}", layer.config());
        check_layer(&mut layer, &[5, 6, 2], 2, params).unwrap_or_else(|e| panic!("{config}: {e}"));
    }
}

#[test]
fn conv1d_passes_check_layer_and_equals_conv2d_on_a_height_of_one() {
    let mut conv1 = Conv1d::new(3, [3]).padding(Padding::Same).strides([2]);
    check_layer(&mut conv1, &[7, 2], 3, 3 * 2 * 3 + 3).unwrap();
    let mut conv2 = Conv2d::new(3, [1, 3]).padding(Padding::Same).strides([1, 2]);
    conv2.build(&Shape::from([1, 7, 2]), &mut seeded_rng(0)).unwrap();
    for (dst, src) in conv2.params_mut().into_iter().zip(conv1.params()) {
        dst.value = src.value.reshape_to(dst.value.shape());
    }
    let x = Tensor::rand_uniform(&[3, 7, 2], -1.0, 1.0, &mut seeded_rng(4));
    let one = run(&conv1, &x);
    let two = run(&conv2, &x.reshape_to(&[3, 1, 7, 2]));
    assert_eq!(one.to_vec(), two.to_vec());
    assert_eq!(one.shape(), &[3, 4, 3]);
}

#[test]
fn conv2d_forward_on_literal_values() {
    // One 3x3 single-channel image, a 2x2 kernel of ones plus bias 0.5: each output is the sum
    // of its window plus 0.5.
    let mut conv =
        Conv2d::new(1, [2, 2]).kernel_initializer(Initializer::Ones).bias_initializer(Initializer::Constant(0.5));
    conv.set_name("conv");
    assert_eq!(conv.build(&Shape::from([3, 3, 1]), &mut seeded_rng(0)).unwrap(), vec![2, 2, 1]);
    let x = Tensor::from_vec((1..=9).map(|v| v as f32).collect(), &[1, 3, 3, 1]).unwrap();
    // Windows: [1 2 4 5] = 12, [2 3 5 6] = 16, [4 5 7 8] = 24, [5 6 8 9] = 28.
    assert_eq!(run(&conv, &x).to_vec(), vec![12.5, 16.5, 24.5, 28.5]);
    assert_eq!(conv.params()[0].name(), "conv.kernel");
}

#[test]
fn pooling_layers_pass_check_layer() {
    check_layer(&mut MaxPooling2d::new([2, 2]), &[4, 6, 2], 2, 0).unwrap();
    check_layer(&mut MaxPooling2d::new([3, 3]).strides([2, 2]).padding(Padding::Same), &[5, 5, 2], 2, 0).unwrap();
    check_layer(&mut AveragePooling2d::new([2, 3]).padding(Padding::Same), &[5, 4, 3], 2, 0).unwrap();
    check_layer(&mut MaxPooling1d::new([2]), &[7, 3], 2, 0).unwrap();
    check_layer(&mut AveragePooling1d::new([3]).strides([1]), &[7, 3], 2, 0).unwrap();
    check_layer(&mut GlobalAveragePooling2d::new(), &[3, 4, 2], 2, 0).unwrap();
    check_layer(&mut GlobalMaxPooling2d::new().keepdims(true), &[3, 4, 2], 2, 0).unwrap();
    check_layer(&mut GlobalAveragePooling1d::new(), &[5, 3], 2, 0).unwrap();
}

#[test]
fn pooling_forward_on_literal_values() {
    let x = Tensor::from_vec((1..=16).map(|v| v as f32).collect(), &[1, 4, 4, 1]).unwrap();
    let mut max = MaxPooling2d::new([2, 2]);
    max.build(&Shape::from([4, 4, 1]), &mut seeded_rng(0)).unwrap();
    assert_eq!(run(&max, &x).to_vec(), vec![6.0, 8.0, 14.0, 16.0]);
    let mut avg = AveragePooling2d::new([2, 2]);
    avg.build(&Shape::from([4, 4, 1]), &mut seeded_rng(0)).unwrap();
    assert_eq!(run(&avg, &x).to_vec(), vec![3.5, 5.5, 11.5, 13.5]);
    let mut global = GlobalAveragePooling2d::new();
    global.build(&Shape::from([4, 4, 1]), &mut seeded_rng(0)).unwrap();
    assert_eq!(run(&global, &x).to_vec(), vec![8.5]);
}

#[test]
fn shape_errors_name_the_layer_and_what_fits() {
    let mut conv = Conv2d::new(8, [3, 3]);
    conv.set_name("conv2d");
    let msg = conv.build(&Shape::from([784]), &mut seeded_rng(0)).unwrap_err().to_string();
    assert!(msg.contains("conv2d") && msg.contains("channels last") && msg.contains("[784]"), "{msg}");
    let msg = conv.build(&Shape::from([2, 2, 1]), &mut seeded_rng(0)).unwrap_err().to_string();
    assert!(msg.contains("[2, 2, 1]") && msg.contains("valid"), "{msg}");
    let mut grouped = Conv2d::new(6, [1, 1]).groups(4);
    let msg = grouped.build(&Shape::from([5, 5, 6]), &mut seeded_rng(0)).unwrap_err().to_string();
    assert!(msg.contains("groups"), "{msg}");
    let msg = MaxPooling2d::new([2, 2]).build(&Shape::from([10, 3]), &mut seeded_rng(0)).unwrap_err().to_string();
    assert!(msg.contains("MaxPooling2D") && msg.contains("rank 3"), "{msg}");
    let msg = MaxPooling2d::new([4, 4]).build(&Shape::from([3, 3, 1]), &mut seeded_rng(0)).unwrap_err().to_string();
    assert!(msg.contains("window"), "{msg}");
}
