//! The convolution family beyond Conv1D / Conv2D: Conv2DTranspose, DepthwiseConv2D,
//! SeparableConv2D, ZeroPadding2D, UpSampling2D and Cropping2D. The conformance harness on each
//! (with strides, padding, dilation and output padding), literal values computed by hand or by
//! direct loops in the test, configs under Keras' names, PyTorch layouts, and shape errors.

use kensho_autograd::Tape;
use kensho_core::{seeded_rng, Initializer, Padding, Tensor};
use kensho_layers::testing::check_layer;
use kensho_layers::{
    Activation, Conv2dTranspose, Cropping2d, Ctx, DepthwiseConv2d, Layer, LayerConfig, Regularizer, SeparableConv2d,
    Shape, UpSampling2d, ZeroPadding2d,
};

fn run(layer: &dyn Layer, x: &Tensor) -> Tensor {
    let tape = Tape::no_grad();
    let cx = Ctx::new(&tape, false, seeded_rng(0));
    layer.forward(tape.constant(x.clone()), &cx).value()
}

fn tensor(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).unwrap()
}

/// The build error of `layer` on `shape`, as text.
fn build_err(mut layer: impl Layer, shape: &[usize]) -> String {
    if layer.name().is_empty() {
        layer.set_name("layer");
    }
    layer.build(&Shape::from(shape.to_vec()), &mut seeded_rng(0)).unwrap_err().to_string()
}

/// The element of a row-major tensor at a multi-index.
fn at(t: &Tensor, index: &[usize]) -> f32 {
    let flat = index.iter().zip(t.shape()).fold(0, |acc, (&i, &d)| acc * d + i);
    t.to_vec()[flat]
}

#[test]
fn conv2d_transpose_passes_check_layer_with_strides_padding_and_output_padding() {
    let cases: Vec<(Conv2dTranspose, usize)> = vec![
        (Conv2dTranspose::new(3, [3, 3]), 3 * 3 * 3 * 2 + 3),
        (Conv2dTranspose::new(3, [3, 3]).strides([2, 2]).padding(Padding::Same).activation(Activation::Tanh), 57),
        (Conv2dTranspose::new(2, [2, 3]).strides([2, 3]).output_padding([1, 2]), 2 * 3 * 2 * 2 + 2),
        (Conv2dTranspose::new(2, [3, 3]).strides([2, 1]).padding(Padding::Same).output_padding([1, 0]), 3 * 3 * 4 + 2),
        (Conv2dTranspose::new(2, [2, 2]).dilation_rate([2, 1]).use_bias(false), 2 * 2 * 2 * 2),
        (Conv2dTranspose::new(1, [1, 1]).strides([3, 2]), 2 + 1),
    ];
    for (mut layer, params) in cases {
        let config = format!("{:?}", layer.config());
        check_layer(&mut layer, &[3, 4, 2], 2, params).unwrap_or_else(|e| panic!("{config}: {e}"));
    }
}

#[test]
fn conv2d_transpose_on_a_hand_computed_2x2_case() {
    // x = [[1, 2], [3, 4]], kernel k = [[1, 2], [3, 4]]: each input pixel adds x * k into the
    // output window at its place (stride apart), plus the bias 0.5.
    let x = tensor(&[1., 2., 3., 4.], &[1, 2, 2, 1]);
    let k = tensor(&[1., 2., 3., 4.], &[2, 2, 1, 1]);
    let layer = |strides: [usize; 2]| {
        let mut up = Conv2dTranspose::new(1, [2, 2]).strides(strides).bias_initializer(Initializer::Constant(0.5));
        up.build(&Shape::from([2, 2, 1]), &mut seeded_rng(0)).unwrap();
        up.params_mut()[0].value = k.clone();
        up
    };
    // Stride 1, 3x3: y[i + a][j + b] += x[i][j] k[a][b], e.g. the centre 1*4 + 2*3 + 3*2 + 4*1 = 20.
    let y = run(&layer([1, 1]), &x);
    assert_eq!(y.shape(), &[1, 3, 3, 1]);
    let sums = [1., 4., 4., 6., 20., 16., 9., 24., 16.];
    assert_eq!(y.to_vec(), sums.iter().map(|v| v + 0.5).collect::<Vec<f32>>());
    // Stride 2, 4x4: the blocks x[i][j] * k side by side, without overlap.
    let y = run(&layer([2, 2]), &x);
    assert_eq!(y.shape(), &[1, 4, 4, 1]);
    let blocks = [1., 2., 2., 4., 3., 4., 6., 8., 3., 6., 4., 8., 9., 12., 12., 16.];
    assert_eq!(y.to_vec(), blocks.iter().map(|v| v + 0.5).collect::<Vec<f32>>());
}

#[test]
fn conv2d_transpose_kernel_is_kh_kw_filters_in() {
    // One input channel, two filters: filter f of the output reads kernel[.., .., f, 0].
    let mut up = Conv2dTranspose::new(2, [1, 1]).use_bias(false);
    up.build(&Shape::from([1, 2, 1]), &mut seeded_rng(0)).unwrap();
    assert_eq!(up.params()[0].value.shape(), &[1, 1, 2, 1]);
    up.params_mut()[0].value = tensor(&[10., -1.], &[1, 1, 2, 1]);
    assert_eq!(run(&up, &tensor(&[1., 2.], &[1, 1, 2, 1])).to_vec(), vec![10., -1., 20., -2.]);
}

/// The depthwise convolution with valid padding computed by direct loops:
/// `y[n, i, j, c * dm + m] = Σ_ab x[n, i * s + a * d, j * s + b * d, c] k[a, b, c, m]`.
fn direct_depthwise(x: &Tensor, k: &Tensor, stride: usize, dilation: usize) -> Tensor {
    let (&[n, h, w, channels], &[kh, kw, _, dm]) = (x.shape(), k.shape()) else { panic!("ranks") };
    let (oh, ow) = ((h - (kh - 1) * dilation - 1) / stride + 1, (w - (kw - 1) * dilation - 1) / stride + 1);
    let mut out = Vec::new();
    for s in 0..n {
        for i in 0..oh {
            for j in 0..ow {
                for c in 0..channels {
                    for m in 0..dm {
                        let mut sum = 0.0;
                        for a in 0..kh {
                            for b in 0..kw {
                                let pixel = at(x, &[s, i * stride + a * dilation, j * stride + b * dilation, c]);
                                sum += pixel * at(k, &[a, b, c, m]);
                            }
                        }
                        out.push(sum);
                    }
                }
            }
        }
    }
    tensor(&out, &[n, oh, ow, channels * dm])
}

#[test]
fn depthwise_conv2d_passes_check_layer() {
    let cases: Vec<(DepthwiseConv2d, usize)> = vec![
        (DepthwiseConv2d::new([3, 3]), 3 * 3 * 3 + 3),
        (DepthwiseConv2d::new([3, 2]).depth_multiplier(2).strides([2, 1]).padding(Padding::Same), 3 * 2 * 6 + 6),
        (DepthwiseConv2d::new([2, 2]).dilation_rate([2, 2]).use_bias(false).activation(Activation::Tanh), 2 * 2 * 3),
    ];
    for (mut layer, params) in cases {
        let config = format!("{:?}", layer.config());
        check_layer(&mut layer, &[5, 6, 3], 2, params).unwrap_or_else(|e| panic!("{config}: {e}"));
    }
}

#[test]
fn depthwise_conv2d_is_a_per_channel_convolution() {
    let mut rng = seeded_rng(3);
    let x = Tensor::rand_uniform(&[2, 7, 6, 3], -1.0, 1.0, &mut rng);
    for (stride, dilation, dm) in [(1, 1, 1), (2, 1, 2), (1, 2, 3)] {
        let mut dw = DepthwiseConv2d::new([3, 2])
            .strides([stride; 2])
            .dilation_rate([dilation; 2])
            .depth_multiplier(dm)
            .bias_initializer(Initializer::Constant(0.25));
        dw.build(&Shape::from([7, 6, 3]), &mut seeded_rng(1)).unwrap();
        let k = dw.params()[0].value.clone();
        assert_eq!(k.shape(), &[3, 2, 3, dm]);
        let expected = direct_depthwise(&x, &k, stride, dilation).add_scalar(0.25);
        let y = run(&dw, &x);
        assert!(y.allclose(&expected, 1e-5, 1e-5), "stride {stride}, dilation {dilation}, dm {dm}");
    }
}

#[test]
fn separable_conv2d_passes_check_layer() {
    let cases: Vec<(SeparableConv2d, usize)> = vec![
        (SeparableConv2d::new(4, [3, 3]), 3 * 3 * 3 + 3 * 4 + 4),
        (
            SeparableConv2d::new(2, [3, 3]).depth_multiplier(2).strides([2, 2]).padding(Padding::Same),
            3 * 3 * 6 + 6 * 2 + 2,
        ),
        (
            SeparableConv2d::new(3, [2, 2]).dilation_rate([1, 2]).use_bias(false).activation(Activation::Tanh),
            2 * 2 * 3 + 3 * 3,
        ),
    ];
    for (mut layer, params) in cases {
        let config = format!("{:?}", layer.config());
        check_layer(&mut layer, &[5, 6, 3], 2, params).unwrap_or_else(|e| panic!("{config}: {e}"));
    }
}

#[test]
fn separable_conv2d_is_depthwise_then_pointwise() {
    let mut rng = seeded_rng(5);
    let x = Tensor::rand_uniform(&[2, 6, 6, 3], -1.0, 1.0, &mut rng);
    let mut sep = SeparableConv2d::new(4, [3, 3])
        .depth_multiplier(2)
        .strides([2, 2])
        .bias_initializer(Initializer::Constant(0.5))
        .activation(Activation::Relu)
        .with_name("sep");
    sep.build(&Shape::from([6, 6, 3]), &mut seeded_rng(2)).unwrap();
    let names: Vec<&str> = sep.params().iter().map(|p| p.name()).collect();
    assert_eq!(names, ["sep.depthwise_kernel", "sep.pointwise_kernel", "sep.bias"]);
    let (dk, pk) = (sep.params()[0].value.clone(), sep.params()[1].value.clone());
    assert_eq!((dk.shape(), pk.shape()), (&[3, 3, 3, 2][..], &[1, 1, 6, 4][..]));
    // Depthwise by direct loops, then the 1x1 convolution as a product with the [6, 4] matrix.
    let depthwise = direct_depthwise(&x, &dk, 2, 1);
    let rows = depthwise.reshape_to(&[2 * 2 * 2, 6]).matmul(&pk.reshape_to(&[6, 4]));
    let expected = rows.add_scalar(0.5).relu().reshape_to(&[2, 2, 2, 4]);
    assert!(run(&sep, &x).allclose(&expected, 1e-5, 1e-5));
}

#[test]
fn padding_upsampling_and_cropping_pass_check_layer() {
    check_layer(&mut ZeroPadding2d::default(), &[3, 4, 2], 2, 0).unwrap();
    check_layer(&mut ZeroPadding2d::new([[0, 2], [1, 0]]), &[3, 4, 2], 2, 0).unwrap();
    check_layer(&mut UpSampling2d::default(), &[3, 4, 2], 2, 0).unwrap();
    check_layer(&mut UpSampling2d::new([3, 1]), &[3, 4, 2], 2, 0).unwrap();
    check_layer(&mut Cropping2d::new([[1, 0], [1, 2]]), &[3, 5, 2], 2, 0).unwrap();
    check_layer(&mut Cropping2d::default(), &[3, 5, 2], 2, 0).unwrap();
}

#[test]
fn padding_upsampling_and_cropping_on_literal_values() {
    let x = tensor(&[1., 2., 3., 4.], &[1, 2, 2, 1]);
    let mut pad = ZeroPadding2d::new([[1, 0], [0, 1]]);
    assert_eq!(pad.build(&Shape::from([2, 2, 1]), &mut seeded_rng(0)).unwrap(), vec![3, 3, 1]);
    assert_eq!(run(&pad, &x).to_vec(), vec![0., 0., 0., 1., 2., 0., 3., 4., 0.]);
    let mut up = UpSampling2d::new([1, 2]);
    assert_eq!(up.build(&Shape::from([2, 2, 1]), &mut seeded_rng(0)).unwrap(), vec![2, 4, 1]);
    assert_eq!(run(&up, &x).to_vec(), vec![1., 1., 2., 2., 3., 3., 4., 4.]);
    let mut crop = Cropping2d::new([[1, 0], [0, 1]]);
    assert_eq!(crop.build(&Shape::from([2, 2, 1]), &mut seeded_rng(0)).unwrap(), vec![1, 1, 1]);
    assert_eq!(run(&crop, &x).to_vec(), vec![3.]);
    // Unknown spatial sizes stay unknown.
    let images = Shape::new(vec![None, Some(8), Some(3)]);
    let out = ZeroPadding2d::default().build(&images, &mut seeded_rng(0)).unwrap();
    assert_eq!(out, Shape::new(vec![None, Some(10), Some(3)]));
}

#[test]
fn configs_use_keras_names_and_rebuild_the_layers() {
    let dw = DepthwiseConv2d::new([3, 3]).depthwise_initializer(Initializer::HeNormal).with_name("dw");
    let json = serde_json::to_value(dw.config()).unwrap();
    assert_eq!(json["class_name"], "DepthwiseConv2D");
    let config = &json["config"];
    assert_eq!(config["depth_multiplier"], 1);
    assert!(config.get("depthwise_initializer").is_some() && config.get("kernel_initializer").is_none(), "{json}");
    let sep = SeparableConv2d::new(8, [3, 3])
        .pointwise_regularizer(Regularizer::l2(0.01))
        .depthwise_regularizer(Regularizer::l1(0.1));
    let json = serde_json::to_value(sep.config()).unwrap();
    for key in ["depthwise_initializer", "pointwise_initializer", "depthwise_regularizer", "pointwise_regularizer"] {
        assert!(json["config"].get(key).is_some(), "{key} in {json}");
    }
    let up = Conv2dTranspose::new(4, [3, 3]).strides([2, 2]).output_padding([1, 1]);
    assert_eq!(serde_json::to_value(up.config()).unwrap()["config"]["output_padding"], serde_json::json!([1, 1]));
    let layers: Vec<Box<dyn Layer>> = vec![
        Box::new(dw),
        Box::new(sep),
        Box::new(up),
        Box::new(ZeroPadding2d::symmetric(1, 2)),
        Box::new(UpSampling2d::new([2, 3])),
        Box::new(Cropping2d::symmetric(1, 0)),
    ];
    let kinds =
        ["DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose", "ZeroPadding2D", "UpSampling2D", "Cropping2D"];
    for (layer, kind) in layers.iter().zip(kinds) {
        let json = serde_json::to_string(&layer.config()).unwrap();
        assert!(json.contains(&format!("\"class_name\":\"{kind}\"")), "{json}");
        let back: LayerConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, layer.config());
        assert_eq!(back.to_layer().unwrap().kind(), kind);
    }
}

#[test]
fn torch_layouts_match_pytorch_modules() {
    // DepthwiseConv2D: nn.Conv2d(groups=in) weight [in * dm, 1, kh, kw], channel c * dm + m.
    let mut dw = DepthwiseConv2d::new([2, 3]).depth_multiplier(2);
    dw.build(&Shape::from([5, 5, 3]), &mut seeded_rng(0)).unwrap();
    let layout = dw.torch_layout().unwrap();
    let kernel = dw.params()[0].value.clone();
    let weight = layout.weights[0].transform.to_torch(&kernel);
    assert_eq!(weight.shape(), &[6, 1, 2, 3]);
    for (a, b, c, m) in [(0, 0, 0, 0), (1, 2, 2, 1), (0, 1, 1, 0), (1, 0, 2, 0)] {
        assert_eq!(at(&weight, &[c * 2 + m, 0, a, b]), at(&kernel, &[a, b, c, m]));
    }
    assert_eq!(layout.weights[0].transform.from_torch(&weight, kernel.shape()), kernel);
    // Conv2DTranspose: nn.ConvTranspose2d weight [in, out, kh, kw].
    let mut up = Conv2dTranspose::new(4, [2, 3]);
    up.build(&Shape::from([5, 5, 3]), &mut seeded_rng(0)).unwrap();
    let layout = up.torch_layout().unwrap();
    assert_eq!(layout.weights[0].transform.torch_shape(up.params()[0].value.shape()), vec![3, 4, 2, 3]);
    // SeparableConv2D: two convolutions (depthwise without bias, pointwise with it), then ReLU.
    let mut sep = SeparableConv2d::new(4, [3, 3]).activation(Activation::Relu);
    sep.build(&Shape::from([5, 5, 3]), &mut seeded_rng(0)).unwrap();
    let layout = sep.torch_layout().unwrap();
    assert_eq!(layout.modules, 3);
    let keys: Vec<(usize, &str)> = layout.weights.iter().map(|w| (w.module, w.name.as_str())).collect();
    assert_eq!(keys, [(0, "weight"), (1, "weight"), (1, "bias")]);
    let shapes: Vec<Vec<usize>> =
        layout.weights.iter().zip(sep.params()).map(|(w, p)| w.transform.torch_shape(p.value.shape())).collect();
    assert_eq!(shapes, [vec![3, 1, 3, 3], vec![4, 3, 1, 1], vec![4]]);
    // The weightless layers are one module each (nn.ZeroPad2d, nn.Upsample).
    assert_eq!(ZeroPadding2d::default().torch_layout().unwrap().modules, 1);
}

#[test]
fn regularizers_penalize_both_separable_kernels() {
    let mut sep = SeparableConv2d::new(2, [1, 1])
        .depthwise_initializer(Initializer::Ones)
        .pointwise_initializer(Initializer::Constant(2.0))
        .depthwise_regularizer(Regularizer::l1(0.5))
        .pointwise_regularizer(Regularizer::l1(0.25));
    sep.build(&Shape::from([3, 3, 2]), &mut seeded_rng(0)).unwrap();
    let tape = Tape::new();
    // 0.5 * (2 ones) + 0.25 * (4 twos) = 1 + 2.
    assert_eq!(sep.regularization(&tape).unwrap().value().to_vec(), vec![3.0]);
}

#[test]
fn shape_errors_name_the_layer_and_what_fits() {
    let msg = build_err(Conv2dTranspose::new(4, [3, 3]).with_name("up"), &[784]);
    assert!(msg.contains("Conv2DTranspose \"up\"") && msg.contains("channels last") && msg.contains("[784]"), "{msg}");
    let msg = build_err(Conv2dTranspose::new(4, [3, 3]).strides([2, 2]).output_padding([2, 0]), &[4, 4, 1]);
    assert!(msg.contains("output_padding") && msg.contains("less than its stride"), "{msg}");
    let msg = build_err(DepthwiseConv2d::new([3, 3]).with_name("dw"), &[2, 8, 1]);
    assert!(msg.contains("DepthwiseConv2D \"dw\"") && msg.contains("[2, 8, 1]") && msg.contains("valid"), "{msg}");
    let msg = build_err(DepthwiseConv2d::new([3, 3]).depth_multiplier(0), &[8, 8, 1]);
    assert!(msg.contains("depth_multiplier") && msg.contains("at least 1"), "{msg}");
    let msg = build_err(SeparableConv2d::new(4, [3, 3]).strides([0, 1]), &[8, 8, 1]);
    assert!(
        msg.contains("SeparableConv2D")
            && msg.contains("strides")
            && msg.contains("[0, 1]")
            && msg.contains("2 positive"),
        "{msg}"
    );
    let msg = build_err(SeparableConv2d::new(4, [3, 3]), &[8, 8]);
    assert!(msg.contains("SeparableConv2D") && msg.contains("[batch, height, width, channels]"), "{msg}");
    let msg = build_err(ZeroPadding2d::default().with_name("pad"), &[10]);
    assert!(msg.contains("ZeroPadding2D \"pad\"") && msg.contains("rank 3"), "{msg}");
    let msg = build_err(UpSampling2d::new([0, 2]), &[4, 4, 1]);
    assert!(msg.contains("UpSampling2D") && msg.contains("positive"), "{msg}");
    let msg = build_err(Cropping2d::new([[2, 2], [0, 0]]).with_name("crop"), &[4, 9, 1]);
    assert!(msg.contains("Cropping2D \"crop\" cropping") && msg.contains("less than the height"), "{msg}");
}
