//! The core family in ONNX: Dense with every activation, the Activation layer, Dropout,
//! Flatten and Reshape; checked in ONNX Runtime and by the structure of the written graph.

use super::support::{assert_runtime_matches, exported, graph, op_types, random_inputs};
use kensho::prelude::*;

/// Every activation kensho has, with non-default parameters where it takes some.
fn activations() -> Vec<Activation> {
    vec![
        Activation::Linear,
        Activation::Relu,
        Activation::LeakyRelu { alpha: 0.3 },
        Activation::Elu { alpha: 0.7 },
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Softmax,
        Activation::Gelu,
        Activation::Silu,
        Activation::Softplus,
    ]
}

#[test]
fn dense_with_every_activation_matches_onnx_runtime() {
    for activation in activations() {
        let mut model = Sequential::new()
            .seed(3)
            .add(Input::new(&[6]))
            .add(Dense::new(5).activation(activation))
            .add(ActivationLayer::new(activation))
            .into_model()
            .with_name(&format!("dense_{}", activation.name()));
        model.build_model().unwrap();
        let inputs = random_inputs(&model, &[1, 5], 11);
        assert_runtime_matches(&model, &inputs);
    }
}

#[test]
fn dense_graph_structure() {
    let mut model = Sequential::new()
        .add(Input::new(&[4]))
        .add(Dense::new(3).activation(Activation::Gelu))
        .add(Dense::new(2).use_bias(false).activation(Activation::Silu));
    model.build_model().unwrap();
    let ops = op_types(&model);
    let gelu = ["Mul", "Erf", "Add", "Mul", "Mul"];
    let expected: Vec<&str> =
        ["MatMul", "Add"].into_iter().chain(gelu).chain(["MatMul", "Sigmoid", "Mul", "Identity"]).collect();
    assert_eq!(ops, expected);
    let g = graph(&model);
    let names: Vec<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
    assert!(names.contains(&"dense.kernel") && names.contains(&"dense.bias") && names.contains(&"dense_1.kernel"));
    assert!(!names.contains(&"dense_1.bias"));
    let kernel = g.initializer.iter().find(|t| t.name == "dense.kernel").unwrap();
    assert_eq!(kernel.dims, vec![4, 3]);
    let stored: Vec<f32> = kernel.raw_data.chunks(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
    assert_eq!(stored, model.layers()[1].params()[0].value.to_vec());
}

#[test]
fn inputs_outputs_and_metadata() {
    let mut model = Sequential::new().add(Input::new(&[3])).add(Dense::new(2)).into_model().with_name("tiny");
    model.build_model().unwrap();
    let m = exported(&model);
    assert_eq!((m.ir_version, m.opset_import[0].version, m.opset_import[0].domain.as_str()), (8, 17, ""));
    assert_eq!((m.producer_name.as_str(), m.producer_version.as_str()), ("kensho", env!("CARGO_PKG_VERSION")));
    assert!(m.metadata_props.iter().any(|p| p.key == "model_name" && p.value == "tiny"));
    let g = m.graph.unwrap();
    assert_eq!(g.name, "tiny");
    assert_eq!(g.input[0].name, model.input_names()[0]);
    assert_eq!(g.output[0].name, model.output_names()[0]);
    let dims = |v: &kensho::onnx::proto::ValueInfoProto| {
        use kensho::onnx::proto::{tensor_shape_proto::dimension::Value as D, type_proto::Value as T};
        let Some(T::TensorType(t)) = v.r#type.clone().unwrap().value else { panic!("a tensor type") };
        t.shape.unwrap().dim.into_iter().map(|d| d.value.unwrap()).collect::<Vec<D>>()
    };
    use kensho::onnx::proto::tensor_shape_proto::dimension::Value as D;
    assert_eq!(dims(&g.input[0]), vec![D::DimParam("batch".into()), D::DimValue(3)]);
    assert_eq!(dims(&g.output[0]), vec![D::DimParam("batch".into()), D::DimValue(2)]);
}

#[test]
fn an_unbuilt_model_is_an_error_saying_to_build_it() {
    let model = Sequential::new().add(Dense::new(2));
    let err = model.export_onnx_bytes().unwrap_err().to_string();
    assert!(err.contains("unbuilt") && err.contains("build"), "{err}");
}

#[test]
fn export_onnx_writes_the_bytes_to_the_file() {
    let mut model = Sequential::new().add(Input::new(&[3])).add(Dense::new(2));
    model.build_model().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.onnx");
    model.export_onnx(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), model.export_onnx_bytes().unwrap());
    let err = model.export_onnx(dir.path().join("missing/m.onnx")).unwrap_err().to_string();
    assert!(err.contains("missing"), "{err}");
}

#[test]
fn reshape_flatten_and_dropout_match_onnx_runtime() {
    let mut model = Sequential::new()
        .seed(4)
        .add(Input::new(&[2, 3, 4]))
        .add(Reshape::new(&[4, -1]))
        .add(Dense::new(5).activation(Activation::Tanh))
        .add(Dropout::new(0.5))
        .add(Flatten::new())
        .add(Dense::new(3));
    model.build_model().unwrap();
    assert_eq!(op_types(&model), ["Reshape", "MatMul", "Add", "Tanh", "Reshape", "MatMul", "Add", "Identity"]);
    let inputs = random_inputs(&model, &[1, 5], 12);
    assert_runtime_matches(&model, &inputs);
}
