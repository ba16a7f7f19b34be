//! ONNX import (`kensho::onnx::import_onnx`): kensho -> ONNX -> kensho round trips of an MLP,
//! a convnet with batch normalization, a residual functional model and more layers (the
//! imported model predicts what the original does, to 1e-5, and trains further), and
//! malformed files; PyTorch's exports in `torch`. No Python is needed.

mod torch;

use super::support::op_types;
use kensho::data::datasets;
use kensho::layers::LayerConfig;
use kensho::onnx::proto::ModelProto;
use kensho::onnx::{import_onnx, import_onnx_bytes};
use kensho::prelude::*;
use prost::Message;

/// The largest absolute difference between `a` and `b`, which must have one shape.
fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Exports `model`, imports the bytes, and checks that the imported model predicts what
/// `model` does on `inputs` (one tensor per case, batch sizes 1 and 5 at least) to 1e-5, and
/// that it exports to the same operators again.
fn round_trip(model: &Model, inputs: &[Tensor]) -> Model {
    let imported = import_onnx_bytes(&model.export_onnx_bytes().unwrap()).unwrap();
    assert_eq!(imported.input_names(), model.input_names());
    assert_eq!(imported.output_names(), model.output_names());
    assert_eq!(imported.name(), model.name());
    assert_eq!(op_types(&imported), op_types(model));
    for x in inputs {
        let diff = max_abs_diff(&imported.predict(x).unwrap(), &model.predict(x).unwrap());
        println!("{}: batch {}, max abs diff {diff:e}", model.name(), x.shape()[0]);
        assert!(diff <= 1e-5, "batch {}: max abs diff {diff}", x.shape()[0]);
    }
    imported
}

/// The kinds of `model`'s layers, in order.
fn kinds(model: &Model) -> Vec<&'static str> {
    model.layers().iter().map(|l| l.kind()).collect()
}

/// Fits `model` for `epochs` and returns the first and last epoch's loss.
fn fit_losses(model: &mut Model, x: &Tensor, y: &Tensor, epochs: usize) -> (f32, f32) {
    model.compile(Adam::new(0.01), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
    let history = model.fit(x, y, FitOptions { epochs, batch_size: 32, verbose: 0, ..Default::default() }).unwrap();
    let loss = history.get("loss").unwrap();
    (loss[0], loss[loss.len() - 1])
}

#[test]
fn import_round_trip_of_a_trained_mlp_predicts_alike_and_trains_further() {
    let (x, y) = datasets::iris();
    let mut model = Sequential::new()
        .seed(3)
        .add(Input::new(&[4]))
        .add(Dense::new(16).activation(Activation::Relu))
        .add(Dropout::new(0.2))
        .add(Dense::new(8).activation(Activation::Tanh))
        .add(Dense::new(3).activation(Activation::Softmax))
        .into_model()
        .with_name("iris_mlp");
    fit_losses(&mut model, &x, &y, 3);
    let mut imported = round_trip(&model, &[x.slice_axis(0, 0, 1), x.slice_axis(0, 60, 65), x.clone()]);
    // The activations are folded into the Dense layers; the Dropout is gone.
    assert_eq!(kinds(&imported), ["InputLayer", "Dense", "Dense", "Dense"]);
    let activations: Vec<Activation> = imported
        .layers()
        .iter()
        .filter_map(|l| match l.config() {
            LayerConfig::Dense(c) => Some(c.kernel.activation),
            _ => None,
        })
        .collect();
    assert_eq!(activations, [Activation::Relu, Activation::Tanh, Activation::Softmax]);
    let (first, last) = fit_losses(&mut imported, &x, &y, 10);
    assert!(last < first, "the loss did not go down: {first} -> {last}");
}

#[test]
fn import_round_trip_of_a_convnet_with_batch_norm_predicts_alike_and_trains_further() {
    let (x, y) = datasets::digits();
    let x = x.reshape(&[-1, 8, 8, 1]).unwrap().slice_axis(0, 0, 256);
    let y = y.slice_axis(0, 0, 256);
    let mut model = Sequential::new()
        .seed(4)
        .add(Input::new(&[8, 8, 1]))
        .add(Conv2d::new(6, [3, 3]).padding(Padding::Same).activation(Activation::Relu))
        .add(BatchNormalization::new())
        .add(MaxPooling2d::new([2, 2]))
        .add(Conv2d::new(8, [3, 3]).strides([2, 2]).padding(Padding::Same))
        .add(AveragePooling2d::new([2, 2]))
        .add(Flatten::new())
        .add(Dense::new(10).activation(Activation::Softmax))
        .into_model()
        .with_name("digits_convnet");
    fit_losses(&mut model, &x, &y, 2);
    let mut imported = round_trip(&model, &[x.slice_axis(0, 0, 1), x.slice_axis(0, 10, 15)]);
    assert_eq!(
        kinds(&imported),
        [
            "InputLayer",
            "Conv2D",
            "BatchNormalization",
            "MaxPooling2D",
            "Conv2D",
            "AveragePooling2D",
            "Flatten",
            "Dense"
        ]
    );
    let (first, last) = fit_losses(&mut imported, &x, &y, 5);
    assert!(last < first, "the loss did not go down: {first} -> {last}");
}

#[test]
fn import_round_trip_of_a_residual_functional_model_predicts_alike_and_trains_further() {
    let (data, labels) = datasets::iris();
    let x = Input::new(&[4]).with_name("features");
    let h = Dense::new(4).activation(Activation::Relu).on(&x).unwrap();
    let h = Dense::new(4).on(&h).unwrap();
    let sum = Add::new().on_all(&[&x, &h]).unwrap();
    let joined = Concatenate::new(-1).on_all(&[&sum, &x]).unwrap();
    let y = Dense::new(3).activation(Activation::Softmax).on(&joined).unwrap().with_name("species");
    let mut model = Model::with_seed(&[&x], &[&y], 5).unwrap().with_name("residual");
    fit_losses(&mut model, &data, &labels, 2);
    let mut imported = round_trip(&model, &[data.slice_axis(0, 7, 8), data.slice_axis(0, 100, 105)]);
    assert_eq!(kinds(&imported), ["InputLayer", "Dense", "Dense", "Add", "Concatenate", "Dense"]);
    let (first, last) = fit_losses(&mut imported, &data, &labels, 10);
    assert!(last < first, "the loss did not go down: {first} -> {last}");
}

#[test]
fn import_round_trip_of_conv1d_reshape_batch_norm_and_activation_layers() {
    let mut model = Sequential::new()
        .seed(7)
        .add(Input::new(&[8, 3]))
        .add(Conv1d::new(4, [3]).padding(Padding::Same).activation(Activation::Relu))
        .add(MaxPooling1d::new([2]))
        .add(Reshape::new(&[2, -1]))
        .add(Dense::new(5))
        .add(Flatten::new())
        .add(BatchNormalization::new())
        .add(ActivationLayer::new(Activation::Sigmoid))
        .add(Dense::new(2))
        .add(ActivationLayer::new(Activation::Softmax))
        .into_model();
    // Random weights everywhere (moving variances positive): every one is read back.
    let mut rng = kensho::core::seeded_rng(8);
    let weights: Vec<Tensor> =
        model.get_weights().iter().map(|w| Tensor::rand_uniform(w.shape(), 0.5, 1.5, &mut rng)).collect();
    model.set_weights(&weights).unwrap();
    let cases =
        [Tensor::rand_uniform(&[1, 8, 3], -2.0, 2.0, &mut rng), Tensor::rand_uniform(&[5, 8, 3], -2.0, 2.0, &mut rng)];
    let imported = round_trip(&model, &cases);
    // The softmax after the last Dense becomes its activation; the sigmoid after the batch
    // norm stays a layer.
    assert_eq!(
        kinds(&imported),
        [
            "InputLayer",
            "Conv1D",
            "MaxPooling1D",
            "Reshape",
            "Dense",
            "Flatten",
            "BatchNormalization",
            "Activation",
            "Dense",
        ]
    );
}

#[test]
fn import_round_trip_of_global_poolings_and_a_softmax_conv() {
    let x = Input::new(&[6, 6, 2]).with_name("image");
    let h = Conv2d::new(4, [3, 3]).activation(Activation::Softmax).on(&x).unwrap();
    let mean = GlobalAveragePooling2d::new().on(&h).unwrap();
    let max = GlobalMaxPooling2d::new().keepdims(true).on(&h).unwrap();
    let max = Flatten::new().on(&max).unwrap();
    let joined = Concatenate::new(-1).on_all(&[&mean, &max]).unwrap();
    let y = Dense::new(3).on(&joined).unwrap();
    let model = Model::with_seed(&[&x], &[&y], 10).unwrap();
    let mut rng = kensho::core::seeded_rng(11);
    let cases = [
        Tensor::rand_uniform(&[1, 6, 6, 2], -2.0, 2.0, &mut rng),
        Tensor::rand_uniform(&[5, 6, 6, 2], -2.0, 2.0, &mut rng),
    ];
    let imported = round_trip(&model, &cases);
    assert_eq!(
        kinds(&imported),
        ["InputLayer", "Conv2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten", "Concatenate", "Dense"]
    );
    let conv = imported.layers()[1].config();
    assert!(matches!(&conv, LayerConfig::Conv2D(c) if c.kernel.activation == Activation::Softmax), "{conv:?}");
}

#[test]
fn import_round_trip_of_gelu_and_silu_folded_and_as_layers() {
    let x = Input::new(&[5, 5, 2]);
    let h = Conv2d::new(3, [3, 3]).activation(Activation::Silu).on(&x).unwrap();
    let flat = Flatten::new().on(&h).unwrap();
    let a = Dense::new(8).activation(Activation::Gelu).on(&flat).unwrap();
    let b = Dense::new(8).on(&flat).unwrap();
    let sum = Add::new().on_all(&[&a, &b]).unwrap();
    let g = ActivationLayer::new(Activation::Gelu).on(&sum).unwrap();
    let s = ActivationLayer::new(Activation::Silu).on(&g).unwrap();
    let y = Dense::new(3).on(&s).unwrap();
    let model = Model::with_seed(&[&x], &[&y], 12).unwrap();
    let mut rng = kensho::core::seeded_rng(13);
    let cases = [
        Tensor::rand_uniform(&[1, 5, 5, 2], -2.0, 2.0, &mut rng),
        Tensor::rand_uniform(&[5, 5, 5, 2], -2.0, 2.0, &mut rng),
    ];
    let imported = round_trip(&model, &cases);
    let activations: Vec<(&str, Activation)> = imported
        .layers()
        .iter()
        .filter_map(|l| match l.config() {
            LayerConfig::Conv2D(c) => Some(("Conv2D", c.kernel.activation)),
            LayerConfig::Dense(c) => Some(("Dense", c.kernel.activation)),
            LayerConfig::Activation(c) => Some(("Activation", c.activation)),
            _ => None,
        })
        .collect();
    assert_eq!(
        activations,
        [
            ("Conv2D", Activation::Silu),
            ("Dense", Activation::Gelu),
            ("Dense", Activation::Linear),
            ("Activation", Activation::Gelu),
            ("Activation", Activation::Silu),
            ("Dense", Activation::Linear),
        ]
    );
}

/// A kensho MLP's ONNX model, decoded.
fn exported_mlp() -> ModelProto {
    let model = Sequential::new()
        .add(Input::new(&[3]))
        .add(Dense::new(4).activation(Activation::Relu))
        .add(Dense::new(2))
        .into_model();
    ModelProto::decode(model.export_onnx_bytes().unwrap().as_slice()).unwrap()
}

#[test]
fn import_of_truncated_bytes_is_an_error() {
    let bytes = exported_mlp().encode_to_vec();
    for len in [bytes.len() / 2, bytes.len() - 3] {
        let error = import_onnx_bytes(&bytes[..len]).unwrap_err().to_string();
        assert!(error.contains("not an ONNX model"), "{error}");
    }
    let missing = std::env::temp_dir().join("kensho-import-no-such-file.onnx");
    assert!(import_onnx(&missing).unwrap_err().to_string().contains("kensho-import-no-such-file.onnx"));
}

#[test]
fn import_of_corrupted_bytes_never_panics() {
    // Every prefix of a small file, and byte changes all over both PyTorch fixtures: each
    // imports or gives an error, never a panic.
    let bytes = exported_mlp().encode_to_vec();
    for len in 0..bytes.len() {
        let _ = import_onnx_bytes(&bytes[..len]);
    }
    for name in ["torch_mlp", "torch_convnet"] {
        let bytes = std::fs::read(torch::fixture(name).0).unwrap();
        for at in (0..bytes.len()).step_by(7) {
            for value in [0x00, 0xff, bytes[at] ^ 0x55] {
                let mut changed = bytes.clone();
                changed[at] = value;
                let _ = import_onnx_bytes(&changed);
            }
        }
    }
}

#[test]
fn import_of_an_unknown_op_names_the_node_and_what_is_supported() {
    let mut onnx = exported_mlp();
    let graph = onnx.graph.as_mut().unwrap();
    let relu = graph.node.iter_mut().find(|n| n.op_type == "Relu").unwrap();
    relu.op_type = "Cos".into();
    let name = relu.name.clone();
    let error = import_onnx_bytes(&onnx.encode_to_vec()).unwrap_err().to_string();
    assert!(error.contains(&format!("node \"{name}\" (op Cos)")), "{error}");
    assert!(error.contains("Gemm") && error.contains("BatchNormalization"), "{error}");
}

#[test]
fn import_of_a_transpose_that_is_no_permutation_is_an_error() {
    let model = Sequential::new().add(Input::new(&[4, 4, 1])).add(Conv2d::new(2, [3, 3])).into_model();
    let mut onnx = ModelProto::decode(model.export_onnx_bytes().unwrap().as_slice()).unwrap();
    let graph = onnx.graph.as_mut().unwrap();
    let transpose = graph.node.iter_mut().find(|n| n.op_type == "Transpose").unwrap();
    transpose.attribute[0].ints = vec![0, 3, 3, 1];
    let error = import_onnx_bytes(&onnx.encode_to_vec()).unwrap_err().to_string();
    assert!(error.contains("(op Transpose)") && error.contains("perm [0, 3, 3, 1]"), "{error}");
}

#[test]
fn import_of_weights_kept_in_an_external_file_is_an_error_saying_so() {
    // The dynamo exporter's default keeps the weights in a .data file next to the model: the
    // initializers then hold no values in the model itself.
    let bytes = std::fs::read(torch::fixture("torch_convnet_dynamo").0).unwrap();
    let mut onnx = ModelProto::decode(bytes.as_slice()).unwrap();
    let weight = &mut onnx.graph.as_mut().unwrap().initializer[0];
    weight.raw_data.clear();
    let name = weight.name.clone();
    let error = import_onnx_bytes(&onnx.encode_to_vec()).unwrap_err().to_string();
    assert!(error.contains(&format!("initializer \"{name}\"")) && error.contains("external_data=False"), "{error}");
}

#[test]
fn import_of_a_graph_without_opset_17_ops_is_an_error() {
    let mut onnx = exported_mlp();
    onnx.opset_import[0].version = 7;
    let error = import_onnx_bytes(&onnx.encode_to_vec()).unwrap_err().to_string();
    assert!(error.contains("opset"), "{error}");
}
