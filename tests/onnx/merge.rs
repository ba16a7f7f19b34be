//! The merge layers exported to ONNX: every elementwise merge (with kensho's broadcasting and
//! three inputs), `Concatenate` on the last and a middle axis, `Dot` (plain, normalised,
//! batched), a multi-input model and residual models (Dense and Conv2D), checked by ONNX Runtime at two batch
//! sizes and by the structure of the written graph.

use crate::support::{assert_runtime_matches, graph, op_types, random_inputs, zero_steps};
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
    // The nodes of two inputs: kensho's pairwise fold (the mean: the sum times 1 / n).
    let ops: [(&str, &[&str]); 6] = [
        ("Add", &["Add"]),
        ("Subtract", &["Sub"]),
        ("Multiply", &["Mul"]),
        ("Average", &["Add", "Mul"]),
        ("Maximum", &["Max"]),
        ("Minimum", &["Min"]),
    ];
    for (op, (kind, nodes)) in MergeOp::ALL.into_iter().zip(ops) {
        assert_eq!(op.class_name(), kind);
        // Equal shapes, then [3, 1] against [4]: kensho aligns the lower rank after the batch axis.
        for shapes in [&[&[4usize][..], &[4]][..], &[&[3, 1], &[4]]] {
            let model = merge_model(op, shapes);
            // The [4] input gains its axis first; the graph output is an Identity.
            let unsqueeze = (shapes[1].len() < shapes[0].len()).then_some("Unsqueeze");
            let expected: Vec<&str> = unsqueeze.into_iter().chain(nodes.iter().copied()).chain(["Identity"]).collect();
            assert_eq!(op_types(&model), expected, "{kind}");
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

/// Inputs of per-sample shapes `shapes` padded by `Masking`: input `k` of sample `b` pads its
/// last `(b + k) % 3` steps, so that some steps are padded in one input, some in both.
fn padded_inputs(model: &Model, seed: u64) -> Vec<Vec<Tensor>> {
    let mut inputs = random_inputs(model, &[1, 5], seed);
    for case in &mut inputs {
        for (k, x) in case.iter_mut().enumerate() {
            let steps = x.shape()[1];
            *x = zero_steps(x, |b, t| t + (b + k) % 3 < steps);
        }
    }
    inputs
}

#[test]
fn masked_merges_follow_keras_rules() {
    // Both inputs masked: Multiply counts padding as 1, Maximum and Minimum leave it out, and
    // the OR of the masks reaches the pooling. One input masked: the other is real everywhere.
    for op in MergeOp::ALL {
        for both in [true, false] {
            let (a, b) = (Input::new(&[4, 3]), Input::new(&[4, 3]));
            let ma = Masking::new(0.0).on(&a).unwrap();
            let mb = if both { Masking::new(0.0).on(&b).unwrap() } else { b.clone() };
            let out = merged(op, &[&ma, &mb]);
            let pooled = GlobalAveragePooling1d::new().on(&out).unwrap();
            let model = Model::new(&[&a, &b], &[&out, &pooled]).unwrap();
            let scope = format!("{}/", op.class_name().to_lowercase());
            let nodes = graph(&model).node;
            let wheres = nodes.iter().filter(|n| n.op_type == "Where" && n.name.starts_with(&scope)).count();
            // Multiply: one Where per masked input and one for "padded in both"; Maximum and
            // Minimum: one per mask before the comparison.
            let expected = match op {
                MergeOp::Multiply => 1 + 2 * both as usize,
                MergeOp::Maximum | MergeOp::Minimum => 1 + both as usize,
                _ => 0,
            };
            assert_eq!(wheres, expected, "{op:?}, both masked: {both}");
            assert_runtime_matches(&model, &padded_inputs(&model, 20));
        }
    }
}

#[test]
fn concatenated_masks_follow_keras_rules() {
    // Along time, a masked sequence then an unmasked one; along features, two masked ones (OR)
    // and a masked one with an unmasked one (all real).
    let cases: [(i64, [&[usize]; 2], bool); 3] =
        [(1, [&[4, 3], &[2, 3]], false), (-1, [&[4, 3], &[4, 2]], true), (-1, [&[4, 3], &[4, 2]], false)];
    for (axis, shapes, both) in cases {
        let (a, b) = (Input::new(shapes[0]), Input::new(shapes[1]));
        let ma = Masking::new(0.0).on(&a).unwrap();
        let mb = if both { Masking::new(0.0).on(&b).unwrap() } else { b.clone() };
        let joined = Concatenate::new(axis).on_all(&[&ma, &mb]).unwrap();
        let pooled = GlobalAveragePooling1d::new().on(&joined).unwrap();
        let model = Model::new(&[&a, &b], &[&pooled]).unwrap();
        let ops = op_types(&model);
        assert_eq!(ops.contains(&"ConstantOfShape".to_string()), axis == 1, "{ops:?}");
        assert_runtime_matches(&model, &padded_inputs(&model, 21));
    }
}
