//! The merge layers exported to ONNX: every elementwise merge (with kensho's broadcasting and
//! three inputs), `Concatenate` on the last and a middle axis, `Dot` (plain, normalised,
//! batched), a multi-input model and residual models (Dense and Conv2D), checked by ONNX Runtime at two batch
//! sizes and by the structure of the written graph.

use crate::support::{assert_runtime_matches, op_types, random_inputs};
use kensho::layers::{DotAxes, MergeOp};
use kensho::prelude::*;

/// One call of the elementwise merge `op` on `inputs`.
fn merged(op: MergeOp, inputs: &[&SymbolicTensor]) -> SymbolicTensor {
    match op {
        MergeOp::Add => Add::new().on_all(inputs),
        MergeOp::Subtract => Subtract::new().on_all(inputs),
        MergeOp::Multiply => Multiply::new().on_all(inputs),
        MergeOp::Average => Average::new().on_all(inputs),
        MergeOp::Maximum => Maximum::new().on_all(inputs),
        MergeOp::Minimum => Minimum::new().on_all(inputs),
    }
    .unwrap()
}

/// A model of `shapes` inputs merged by `op`.
fn merge_model(op: MergeOp, shapes: &[&[usize]]) -> Model {
    let inputs: Vec<SymbolicTensor> = shapes.iter().map(|s| Input::new(s)).collect();
    let refs: Vec<&SymbolicTensor> = inputs.iter().collect();
    let out = merged(op, &refs);
    Model::with_seed(&refs, &[&out], 1).unwrap()
}

#[test]
fn every_elementwise_merge_matches_onnx_runtime() {
    let ops = [
        ("Add", "Sum"),
        ("Subtract", "Sub"),
        ("Multiply", "Mul"),
        ("Average", "Mean"),
        ("Maximum", "Max"),
        ("Minimum", "Min"),
    ];
    for (op, (kind, onnx_op)) in MergeOp::ALL.into_iter().zip(ops) {
        assert_eq!(op.class_name(), kind);
        // Equal shapes, then [3, 1] against [4]: kensho aligns the lower rank after the batch axis.
        for shapes in [&[&[4usize][..], &[4]][..], &[&[3, 1], &[4]]] {
            let model = merge_model(op, shapes);
            assert!(op_types(&model).iter().any(|t| t == onnx_op), "{kind}: {:?}", op_types(&model));
            assert_runtime_matches(&model, &random_inputs(&model, &[1, 5], 2));
        }
        if op != MergeOp::Subtract {
            let shapes: &[&[usize]] = &[&[2, 3], &[2, 3], &[3]];
            let model = merge_model(op, shapes);
            assert_runtime_matches(&model, &random_inputs(&model, &[1, 5], 3));
        }
    }
}

#[test]
fn a_lower_rank_input_gains_its_axes_after_the_batch_axis() {
    // [2] against [2, 2]: kensho reads the [batch, 2] input as [batch, 1, 2] where NumPy's rule
    // would read it as [1, batch, 2], which differs (or fails) at every batch size but 1.
    let shapes: &[&[usize]] = &[&[2, 2], &[2]];
    let model = merge_model(MergeOp::Add, shapes);
    assert!(op_types(&model).contains(&"Unsqueeze".to_string()));
    assert_runtime_matches(&model, &random_inputs(&model, &[1, 5], 4));
}

#[test]
fn concatenate_joins_two_inputs_for_a_dense_layer() {
    let (a, b) = (Input::new(&[3]), Input::new(&[5]));
    let joined = Concatenate::default().on_all(&[&a, &b]).unwrap();
    let out = Dense::new(4).activation(Activation::Tanh).on(&joined).unwrap();
    let model = Model::with_seed(&[&a, &b], &[&out], 2).unwrap();
    assert_eq!(op_types(&model)[0], "Concat");
    assert_runtime_matches(&model, &random_inputs(&model, &[1, 5], 5));
}

#[test]
fn concatenate_along_a_middle_axis_and_a_negative_one() {
    for axis in [1, -2] {
        let (a, b) = (Input::new(&[2, 3]), Input::new(&[4, 3]));
        let out = Concatenate::new(axis).on_all(&[&a, &b]).unwrap();
        let model = Model::with_seed(&[&a, &b], &[&out], 2).unwrap();
        assert_runtime_matches(&model, &random_inputs(&model, &[1, 5], 6));
    }
}

#[test]
fn dot_products_plain_normalised_and_batched() {
    let configs: [(DotAxes, bool, [&[usize]; 2]); 4] = [
        (DotAxes::Same(1), false, [&[4], &[4]]),
        (DotAxes::Same(-1), true, [&[4], &[4]]),
        (DotAxes::Same(2), false, [&[5, 8], &[7, 8]]),
        (DotAxes::Pair(1, 1), true, [&[3, 4], &[3, 5]]),
    ];
    for (axes, normalize, shapes) in configs {
        let (a, b) = (Input::new(shapes[0]), Input::new(shapes[1]));
        let out = Dot::new(axes).normalize(normalize).on_all(&[&a, &b]).unwrap();
        let model = Model::with_seed(&[&a, &b], &[&out], 3).unwrap();
        let ops = op_types(&model);
        assert!(ops.contains(&"Einsum".to_string()), "{ops:?}");
        assert_eq!(ops.contains(&"ReduceSum".to_string()), normalize, "{ops:?}");
        assert_runtime_matches(&model, &random_inputs(&model, &[1, 5], 7));
    }
}

#[test]
fn a_residual_dense_model_matches() {
    let x = Input::new(&[6]);
    let h = Dense::new(6).activation(Activation::Relu).on(&x).unwrap();
    let r = Add::new().on_all(&[&x, &h]).unwrap();
    let out = Dense::new(2).on(&r).unwrap();
    let model = Model::with_seed(&[&x], &[&out], 4).unwrap();
    assert_runtime_matches(&model, &random_inputs(&model, &[1, 5], 8));
}
#[test]
fn a_residual_conv_model_matches() {
    let x = Input::new(&[6, 6, 3]);
    let h = Conv2d::new(3, [3, 3]).padding(Padding::Same).activation(Activation::Relu).on(&x).unwrap();
    let r = Add::new().on_all(&[&x, &h]).unwrap();
    let out = Dense::new(2).on(&Flatten::new().on(&r).unwrap()).unwrap();
    let model = Model::with_seed(&[&x], &[&out], 5).unwrap();
    assert!(op_types(&model).contains(&"Conv".to_string()));
    assert_runtime_matches(&model, &random_inputs(&model, &[1, 5], 9));
}
