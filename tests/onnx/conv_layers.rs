//! The convolution, pooling, normalization and preprocessing families in ONNX: each layer
//! with its options through ONNX Runtime (batch sizes 1 and 5), and the structure of the
//! written graph (the channels_first Transposes, explicit pads).

use super::support::{check_model, graph, op_types};
use kensho::onnx::proto::NodeProto;
use kensho::prelude::*;

/// The integer list attribute `name` of `node`.
fn ints(node: &NodeProto, name: &str) -> Vec<i64> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.ints.clone()).unwrap_or_default()
}

#[test]
fn conv1d_and_1d_pooling_match_onnx_runtime() {
    let model = Sequential::new()
        .add(Input::new(&[11, 3]))
        .add(Conv1d::new(4, [3]).activation(Activation::Relu))
        .add(Conv1d::new(6, [3]).strides([2]).padding(Padding::Same).dilation_rate([1]))
        .add(Conv1d::new(4, [2]).dilation_rate([2]).padding(Padding::Same).groups(2))
        .add(MaxPooling1d::new([2]).padding(Padding::Same))
        .add(AveragePooling1d::new([2]).strides([1]).padding(Padding::Same))
        .add(GlobalMaxPooling1d::new().keepdims(true))
        .into_model();
    check_model(model, 1);
    let model = Sequential::new()
        .add(Input::new(&[9, 2]))
        .add(Conv1d::new(3, [3]).activation(Activation::Tanh))
        .add(AveragePooling1d::new([3]).strides([2]))
        .add(GlobalAveragePooling1d::new())
        .into_model();
    check_model(model, 2);
}

#[test]
fn conv2d_strides_padding_dilation_groups_match_onnx_runtime() {
    let model = Sequential::new()
        .add(Input::new(&[7, 9, 4]))
        .add(Conv2d::new(6, [3, 3]).strides([2, 2]).padding(Padding::Same).activation(Activation::Relu))
        .add(Conv2d::new(4, [2, 3]).padding(Padding::Same).groups(2))
        .add(Conv2d::new(5, [2, 2]).dilation_rate([2, 1]).activation(Activation::Softmax))
        .add(Conv2d::new(3, [3, 2]).strides([1, 2]).padding(Padding::Same).use_bias(false))
        .into_model();
    check_model(model, 3);
}

#[test]
fn transposed_depthwise_and_separable_convolutions_match_onnx_runtime() {
    let model = Sequential::new()
        .add(Input::new(&[5, 6, 3]))
        .add(Conv2dTranspose::new(4, [3, 3]).strides([2, 2]).activation(Activation::Elu { alpha: 1.0 }))
        .add(Conv2dTranspose::new(3, [4, 3]).strides([2, 1]).padding(Padding::Same))
        .add(Conv2dTranspose::new(2, [3, 3]).strides([2, 2]).padding(Padding::Same).output_padding([1, 0]))
        .add(Conv2dTranspose::new(2, [1, 1]).strides([3, 2]))
        .into_model();
    check_model(model, 4);
    let model = Sequential::new()
        .add(Input::new(&[8, 7, 3]))
        .add(DepthwiseConv2d::new([3, 3]).depth_multiplier(2).strides([2, 2]).padding(Padding::Same))
        .add(DepthwiseConv2d::new([2, 2]).dilation_rate([2, 2]).activation(Activation::Relu))
        .add(SeparableConv2d::new(5, [3, 3]).depth_multiplier(2).padding(Padding::Same).activation(Activation::Silu))
        .add(SeparableConv2d::new(4, [2, 2]).strides([2, 2]).use_bias(false))
        .into_model();
    check_model(model, 5);
}

#[test]
fn padding_cropping_upsampling_and_2d_pooling_match_onnx_runtime() {
    let model = Sequential::new()
        .add(Input::new(&[6, 5, 2]))
        .add(ZeroPadding2d::new([[1, 2], [0, 3]]))
        .add(Cropping2d::new([[2, 0], [1, 1]]))
        .add(UpSampling2d::new([2, 3]))
        .add(MaxPooling2d::new([3, 3]).strides([2, 2]).padding(Padding::Same))
        .add(AveragePooling2d::new([2, 3]).padding(Padding::Same))
        .add(MaxPooling2d::new([2, 2]))
        .add(GlobalAveragePooling2d::new().keepdims(true))
        .into_model();
    check_model(model, 6);
    let model = Sequential::new()
        .add(Input::new(&[7, 7, 3]))
        .add(AveragePooling2d::new([3, 3]).strides([2, 2]).padding(Padding::Same))
        .add(GlobalMaxPooling2d::new())
        .into_model();
    check_model(model, 7);
}

#[test]
fn batch_normalization_on_any_axis_matches_onnx_runtime() {
    let model = Sequential::new()
        .add(Input::new(&[5, 4, 3]))
        .add(BatchNormalization::new())
        .add(BatchNormalization::new().axis(1).epsilon(0.01))
        .add(BatchNormalization::new().axis(-2).center(false))
        .add(Flatten::new())
        .add(BatchNormalization::new().scale(false))
        .into_model();
    check_model(model, 8);
}

#[test]
fn preprocessing_layers_match_onnx_runtime() {
    let model = Sequential::new()
        .add(Input::new(&[6, 6, 2]))
        .add(Rescaling::new(1.0 / 127.5).offset(-1.0))
        .add(RandomFlip::new(FlipMode::Horizontal))
        .add(RandomTranslation::new(0.2, 0.2))
        .add(RandomRotation::new(0.1))
        .add(RandomZoom::new(0.2))
        .add(RandomContrast::new(0.3))
        .add(SpatialDropout2d::new(0.3))
        .add(Rescaling::new(2.0))
        .into_model();
    let model = check_model(model, 9);
    assert_eq!(op_types(&model), ["Mul", "Add", "Mul", "Identity"]);
}

#[test]
fn convolutions_are_wrapped_in_transposes_with_explicit_pads() {
    let mut model = Sequential::new()
        .add(Input::new(&[7, 7, 3]))
        .add(Conv2d::new(4, [3, 3]).strides([2, 2]).padding(Padding::Same).activation(Activation::Relu))
        .add(MaxPooling2d::new([2, 2]).padding(Padding::Same))
        .into_model();
    model.build_model().unwrap();
    let expected = ["Transpose", "Conv", "Transpose", "Relu", "Transpose", "MaxPool", "Transpose", "Identity"];
    assert_eq!(op_types(&model), expected);
    let g = graph(&model);
    let (conv, pool) = (&g.node[1], &g.node[5]);
    // 7 -> 4 with stride 2 and a 3x3 kernel: (4 - 1) * 2 + 3 - 7 = 2 padded, 1 before, 1 after.
    assert_eq!(ints(conv, "pads"), vec![1, 1, 1, 1]);
    assert_eq!(ints(&g.node[0], "perm"), vec![0, 3, 1, 2]);
    assert_eq!(ints(&g.node[2], "perm"), vec![0, 2, 3, 1]);
    // 4 -> 2 with stride 2 and a 2x2 window: no padding needed.
    assert_eq!(ints(pool, "pads"), vec![0, 0, 0, 0]);
    let kernel = g.initializer.iter().find(|t| t.name == "conv2d.kernel").unwrap();
    assert_eq!(kernel.dims, vec![4, 3, 3, 3], "ONNX's [out, in, kh, kw]");
}

#[test]
fn global_pooling_of_masked_sequences_matches_onnx_runtime() {
    use super::masks::padded_ids;
    use super::recurrent::{TIME, VOCAB};
    let ids = Input::new(&[TIME]);
    let embedded = Embedding::new(VOCAB, 4).mask_zero(true).on(&ids).unwrap();
    let max = GlobalMaxPooling1d::new().named("max").on(&embedded).unwrap();
    let mean = GlobalAveragePooling1d::new().keepdims(true).named("mean").on(&embedded).unwrap();
    let mut model = Model::with_seed(&[&ids], &[&max, &mean], 3).unwrap();
    model.build_model().unwrap();
    super::support::randomize_weights(&mut model, 13);
    let ops = op_types(&model);
    assert!(ops.contains(&"ReduceMax".to_string()) && ops.contains(&"ReduceSum".to_string()), "{ops:?}");
    // Ids zero-padded at the end to random lengths: the pools see the real steps only.
    super::support::assert_runtime_matches(&model, &padded_ids(14));
}
