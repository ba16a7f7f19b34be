//! Whole models in ONNX: a trained MLP, trained convnets with batch normalization (one of them
//! residual), a functional model with two inputs and two outputs, a nested model (inlined), and
//! the error for a layer that cannot be exported.

use super::support::{assert_runtime_matches, check_model, graph, random_inputs};
use kensho::data::datasets;
use kensho::layers::LayerConfig;
use kensho::prelude::*;

/// Fits `model` for a few epochs on `x`, `y` (classes), so the weights and batch statistics
/// are trained ones.
fn train(model: &mut Model, x: &Tensor, y: &Tensor, epochs: usize) {
    model.compile(Adam::new(0.01), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
    model.fit(x, y, FitOptions { epochs, batch_size: 32, verbose: 0, ..Default::default() }).unwrap();
}

#[test]
fn a_trained_mlp_matches_onnx_runtime() {
    let (x, y) = datasets::iris();
    let mut model = Sequential::new()
        .seed(1)
        .add(Input::new(&[4]))
        .add(Dense::new(16).activation(Activation::Relu))
        .add(Dropout::new(0.2))
        .add(Dense::new(8).activation(Activation::Gelu))
        .add(Dense::new(3).activation(Activation::Softmax))
        .into_model()
        .with_name("iris_mlp");
    train(&mut model, &x, &y, 5);
    assert_runtime_matches(&model, &[vec![x.slice_axis(0, 0, 1)], vec![x.slice_axis(0, 40, 45)], vec![x.clone()]]);
}

#[test]
fn a_trained_convnet_with_batch_norm_matches_onnx_runtime() {
    let (x, y) = datasets::digits();
    let x = x.reshape(&[-1, 8, 8, 1]).unwrap().slice_axis(0, 0, 256);
    let y = y.slice_axis(0, 0, 256);
    let mut model = Sequential::new()
        .seed(2)
        .add(Input::new(&[8, 8, 1]))
        .add(Rescaling::new(1.0 / 16.0))
        .add(Conv2d::new(8, [3, 3]).padding(Padding::Same))
        .add(BatchNormalization::new())
        .add(ActivationLayer::new(Activation::Relu))
        .add(MaxPooling2d::new([2, 2]))
        .add(Conv2d::new(16, [3, 3]).activation(Activation::Relu))
        .add(GlobalAveragePooling2d::new())
        .add(Dense::new(10).activation(Activation::Softmax))
        .into_model()
        .with_name("digits_convnet");
    train(&mut model, &x, &y, 2);
    let moved = model.layer("batch_normalization").unwrap().state()[0].value.to_vec();
    assert!(moved.iter().any(|&m| m != 0.0), "training moved the batch statistics");
    assert_runtime_matches(&model, &[vec![x.slice_axis(0, 0, 1)], vec![x.slice_axis(0, 1, 6)]]);
}

#[test]
fn a_trained_residual_convnet_matches_onnx_runtime() {
    let (x, y) = datasets::digits();
    let x = x.reshape(&[-1, 8, 8, 1]).unwrap().slice_axis(0, 0, 256);
    let y = y.slice_axis(0, 0, 256);
    let input = Input::new(&[8, 8, 1]);
    let scaled = Rescaling::new(1.0 / 16.0).on(&input).unwrap();
    let stem = Conv2d::new(8, [3, 3]).padding(Padding::Same).activation(Activation::Relu).on(&scaled).unwrap();
    let h = Conv2d::new(8, [3, 3]).padding(Padding::Same).on(&stem).unwrap();
    let h = BatchNormalization::new().on(&h).unwrap();
    let h = ActivationLayer::new(Activation::Relu).on(&h).unwrap();
    let h = Conv2d::new(8, [3, 3]).padding(Padding::Same).on(&h).unwrap();
    let h = BatchNormalization::new().on(&h).unwrap();
    let joined = Add::new().on_all(&[&stem, &h]).unwrap();
    let joined = ActivationLayer::new(Activation::Relu).on(&joined).unwrap();
    let pooled = GlobalAveragePooling2d::new().on(&joined).unwrap();
    let out = Dense::new(10).activation(Activation::Softmax).named("digit").on(&pooled).unwrap();
    let mut model = Model::with_seed(&[&input], &[&out], 3).unwrap().with_name("residual_digits");
    train(&mut model, &x, &y, 2);
    assert!(super::support::op_types(&model).contains(&"Add".to_string()));
    assert_runtime_matches(&model, &[vec![x.slice_axis(0, 0, 1)], vec![x.slice_axis(0, 1, 6)]]);
}

#[test]
fn a_functional_model_with_two_inputs_and_two_outputs_keeps_their_names_and_order() {
    let a = Input::new(&[3]);
    let b = Input::new(&[4, 2]);
    let ya = Dense::new(2).activation(Activation::Tanh).named("from_a").on(&a).unwrap();
    let hb = Conv1d::new(3, [2]).named("conv").on(&b).unwrap();
    let yb = Flatten::new().named("from_b").on(&hb).unwrap();
    let model = Model::with_seed(&[&a, &b], &[&yb, &ya], 5).unwrap();
    let model = check_model(model, 11);
    let g = graph(&model);
    let inputs: Vec<&str> = g.input.iter().map(|v| v.name.as_str()).collect();
    let outputs: Vec<&str> = g.output.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(inputs, model.input_names());
    assert_eq!(outputs, ["from_b", "from_a"]);
}

#[test]
fn a_nested_model_is_inlined() {
    let inner = Sequential::new()
        .add(Input::new(&[6, 6, 2]))
        .add(Conv2d::new(3, [3, 3]).activation(Activation::Relu))
        .add(BatchNormalization::new())
        .add(Flatten::new())
        .into_model()
        .with_name("features");
    let x = Input::new(&[6, 6, 2]);
    let h = inner.on(&x).unwrap();
    let y = Dense::new(2).named("head").on(&h).unwrap();
    let model = Model::with_seed(&[&x], &[&y], 6).unwrap();
    let model = check_model(model, 12);
    let g = graph(&model);
    let ops: Vec<&str> = g.node.iter().map(|n| n.op_type.as_str()).collect();
    assert!(ops.contains(&"Conv") && !ops.iter().any(|op| op.contains("Functional")), "{ops:?}");
    let names: Vec<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
    assert!(names.contains(&"features.conv2d.kernel"), "{names:?}");
    let conv = g.node.iter().find(|n| n.op_type == "Conv").unwrap();
    assert!(conv.output[0].starts_with("features/conv2d/"), "{}", conv.output[0]);
}

/// A layer kensho can run but the exporter does not know: doubles its input.
struct Doubler {
    name: String,
}

impl Layer for Doubler {
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: &str) {
        self.name = name.to_string();
    }
    fn kind(&self) -> &'static str {
        "Doubler"
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::registered("Doubler", &self.name)
    }
    fn build(&mut self, input: &Shape, _rng: &mut kensho::core::Rng) -> Result<Shape> {
        Ok(input.clone())
    }
    fn forward<'t>(&self, x: kensho::autograd::Var<'t>, _cx: &kensho::layers::Ctx<'t>) -> kensho::autograd::Var<'t> {
        x.mul_scalar(2.0)
    }
}

#[test]
fn a_layer_without_an_onnx_form_is_an_error_naming_it() {
    let mut model = Sequential::new().add(Input::new(&[3])).add(Dense::new(2));
    model.push(Box::new(Doubler { name: "twice".into() }));
    model.build_model().unwrap();
    let inputs = random_inputs(&model, &[2], 1);
    assert_eq!(model.predict(&inputs[0][0]).unwrap().shape(), &[2, 2], "kensho runs it");
    let err = model.export_onnx_bytes().unwrap_err().to_string();
    assert!(err.contains("\"twice\"") && err.contains("Doubler") && err.contains("cannot be exported"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    assert!(model.export_onnx(dir.path().join("m.onnx")).is_err());
    assert!(!dir.path().join("m.onnx").exists(), "no file is written");
}
