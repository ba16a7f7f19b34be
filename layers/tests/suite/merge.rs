//! Merge layer tests: forward values, gradients with respect to every input (the conformance
//! harness), build errors, masks and config round trips of `Add`, `Subtract`, `Multiply`,
//! `Average`, `Maximum`, `Minimum`, `Concatenate` and `Dot`.
//!
//! Every expected value was computed by hand from the inputs written next to it (sums,
//! products and dot products of small integers; the one cosine is 24 / 25). The mask rules
//! follow Keras 3's `keras/src/layers/merging/{base_merge,multiply,concatenate,dot}.py`.

use kensho_autograd::{Tape, Var};
use kensho_core::{seeded_rng, Tensor};
use kensho_layers::testing::{check_layer, check_layer_inputs};
use kensho_layers::{
    Add, Average, Concatenate, Ctx, Dot, DotAxes, Layer, LayerConfig, Maximum, Minimum, Multiply, Shape, Subtract,
};

fn t(data: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(data.to_vec(), shape).unwrap()
}

/// Builds `layer` on the per-sample shapes `shapes`, naming it `name`.
fn built<L: Layer>(mut layer: L, name: &str, shapes: &[&[usize]]) -> L {
    layer.set_name(name);
    let shapes: Vec<Shape> = shapes.iter().map(|s| Shape::known(s)).collect();
    layer.build_inputs(&shapes, &mut seeded_rng(0)).unwrap();
    layer
}

/// The build error of `layer` on `shapes`, as text.
fn build_error(layer: &mut dyn Layer, shapes: &[Shape]) -> String {
    match layer.build_inputs(shapes, &mut seeded_rng(0)) {
        Ok(out) => panic!("{} built on {shapes:?} into {out:?}", layer.kind()),
        Err(e) => e.to_string(),
    }
}

/// Runs a built layer on `xs` with the masks `masks`: its output and the output's mask.
fn run_masked(layer: &dyn Layer, xs: &[Tensor], masks: &[Option<Tensor>]) -> (Tensor, Option<Tensor>) {
    let tape = Tape::no_grad();
    let cx = Ctx::new(&tape, false, seeded_rng(0));
    let vars: Vec<Var> = xs.iter().map(|x| tape.constant(x.clone())).collect();
    let y = layer.call(&vars, masks, &cx)[0].value();
    (y, layer.compute_mask(&vars, masks).pop().flatten())
}

/// Runs a built layer on `xs` without masks.
fn run(layer: &dyn Layer, xs: &[Tensor]) -> Tensor {
    run_masked(layer, xs, &vec![None; xs.len()]).0
}

fn assert_close(got: &Tensor, want: &[f32], shape: &[usize]) {
    assert_eq!(got.shape(), shape, "shape of {got:?}");
    let want = t(want, shape);
    assert!(got.allclose(&want, 1e-5, 1e-6), "{got:?} vs {want:?}");
}

// The three inputs of the elementwise tests: a = [1, -2, 3], b = [4, 5, -6], c = [0.5, 0.5, 2].
fn abc() -> [Tensor; 3] {
    [t(&[1., -2., 3.], &[1, 3]), t(&[4., 5., -6.], &[1, 3]), t(&[0.5, 0.5, 2.], &[1, 3])]
}

#[test]
fn elementwise_merges_compute_their_op() {
    let [a, b, c] = abc();
    let three: &[&[usize]] = &[&[3], &[3], &[3]];
    let abc = [a.clone(), b.clone(), c];
    // a + b + c
    assert_close(&run(&built(Add::new(), "add", three), &abc), &[5.5, 3.5, -1.], &[1, 3]);
    // a - b
    assert_close(&run(&built(Subtract::new(), "subtract", &[&[3], &[3]]), &[a, b]), &[-3., -7., 9.], &[1, 3]);
    // a * b * c = [1*4*0.5, -2*5*0.5, 3*(-6)*2]
    assert_close(&run(&built(Multiply::new(), "multiply", three), &abc), &[2., -5., -36.], &[1, 3]);
    // (a + b + c) / 3
    assert_close(&run(&built(Average::new(), "average", three), &abc), &[5.5 / 3., 3.5 / 3., -1. / 3.], &[1, 3]);
    assert_close(&run(&built(Maximum::new(), "maximum", three), &abc), &[4., 5., 3.], &[1, 3]);
    assert_close(&run(&built(Minimum::new(), "minimum", three), &abc), &[0.5, -2., -6.], &[1, 3]);
}

#[test]
fn elementwise_merges_broadcast_as_keras() {
    // [3, 1] + [4] -> [3, 4]: out[i][j] = x[i] + y[j].
    let mut add = Add::new().with_name("add");
    let out = add.build_inputs(&[Shape::from([3, 1]), Shape::from([4])], &mut seeded_rng(0)).unwrap();
    assert_eq!(out, [Shape::from([3, 4])]);
    let x = t(&[1., 2., 3.], &[1, 3, 1]);
    let y = t(&[10., 20., 30., 40.], &[1, 4]);
    let want = [11., 21., 31., 41., 12., 22., 32., 42., 13., 23., 33., 43.];
    assert_close(&run(&add, &[x, y]), &want, &[1, 3, 4]);
    // A lower-rank input gains its axes after the batch axis, so batch 2 still lines up:
    // x [2, 2, 3] times y [2, 3] multiplies each row of sample i by y[i].
    let multiply = built(Multiply::new(), "multiply", &[&[2, 3], &[3]]);
    let x = t(&[1., 2., 3., 4., 5., 6., 1., 1., 1., 2., 2., 2.], &[2, 2, 3]);
    let y = t(&[1., 0., -1., 2., 3., 4.], &[2, 3]);
    let want = [1., 0., -3., 4., 0., -6., 2., 3., 4., 4., 6., 8.];
    assert_close(&run(&multiply, &[x, y]), &want, &[2, 2, 3]);
    // Unknown sizes: None against 5 is 5, None against 1 stays unknown.
    let out = Maximum::new()
        .build_inputs(&[Shape::new(vec![None, None]), Shape::new(vec![Some(5), Some(1)])], &mut seeded_rng(0))
        .unwrap();
    assert_eq!(out, [Shape::new(vec![Some(5), None])]);
}

#[test]
fn elementwise_gradients_match_finite_differences_for_every_input() {
    let three: &[&[usize]] = &[&[2, 3], &[2, 3], &[2, 3]];
    check_layer_inputs(&mut Add::new(), three, 3, 0).unwrap();
    check_layer_inputs(&mut Subtract::new(), &[&[2, 3], &[2, 3]], 3, 0).unwrap();
    check_layer_inputs(&mut Multiply::new(), three, 3, 0).unwrap();
    check_layer_inputs(&mut Average::new(), three, 3, 0).unwrap();
    check_layer_inputs(&mut Maximum::new(), three, 3, 0).unwrap();
    check_layer_inputs(&mut Minimum::new(), three, 3, 0).unwrap();
    // Broadcast inputs: their gradients are summed over the stretched axes.
    check_layer_inputs(&mut Add::new(), &[&[3, 1], &[4]], 2, 0).unwrap();
    check_layer_inputs(&mut Multiply::new(), &[&[2, 3], &[3]], 2, 0).unwrap();
    check_layer_inputs(&mut Maximum::new(), &[&[2, 3], &[1, 3]], 2, 0).unwrap();
}

#[test]
fn concatenate_joins_along_its_axis() {
    // Last axis: [1, 2] and [3, 4, 5].
    let concat = built(Concatenate::default(), "concatenate", &[&[2], &[3]]);
    assert_close(&run(&concat, &[t(&[1., 2.], &[1, 2]), t(&[3., 4., 5.], &[1, 3])]), &[1., 2., 3., 4., 5.], &[1, 5]);
    // Axis 1 of [1, 2, 2] and [1, 1, 2] stacks the rows; -2 is the same axis.
    let x = t(&[1., 2., 3., 4.], &[1, 2, 2]);
    let y = t(&[5., 6.], &[1, 1, 2]);
    for axis in [1, -2] {
        let concat = built(Concatenate::new(axis), "concatenate", &[&[2, 2], &[1, 2]]);
        assert_close(&run(&concat, &[x.clone(), y.clone()]), &[1., 2., 3., 4., 5., 6.], &[1, 3, 2]);
    }
    // Axis -1 of the same shapes interleaves per row: [[1, 2, 5, 6], [3, 4, 7, 8]].
    let concat = built(Concatenate::new(-1), "concatenate", &[&[2, 2], &[2, 2]]);
    let y = t(&[5., 6., 7., 8.], &[1, 2, 2]);
    assert_close(&run(&concat, &[x, y]), &[1., 2., 5., 6., 3., 4., 7., 8.], &[1, 2, 4]);
}

#[test]
fn concatenate_infers_shapes_with_unknown_sizes() {
    let unknown = Shape::new(vec![None, Some(4)]);
    // The joined axis is unknown if one input's is; elsewhere a known size wins.
    let out = Concatenate::new(1).build_inputs(&[unknown.clone(), Shape::from([3, 4])], &mut seeded_rng(0)).unwrap();
    assert_eq!(out, [Shape::new(vec![None, Some(4)])]);
    let out = Concatenate::new(-1).build_inputs(&[unknown, Shape::from([3, 2])], &mut seeded_rng(0)).unwrap();
    assert_eq!(out, [Shape::from([3, 6])]);
}

#[test]
fn concatenate_gradients_match_finite_differences_for_every_input() {
    check_layer_inputs(&mut Concatenate::default(), &[&[2, 3], &[2, 1], &[2, 2]], 3, 0).unwrap();
    check_layer_inputs(&mut Concatenate::new(1), &[&[2, 3], &[4, 3]], 2, 0).unwrap();
}

#[test]
fn dot_of_vectors_gives_one_number_per_sample() {
    // Sample 0: [1, 2, 3] . [4, 5, 6] = 32; sample 1: [1, 0, 0] . [0, 1, 0] = 0.
    let dot = built(Dot::new(1), "dot", &[&[3], &[3]]);
    let x = t(&[1., 2., 3., 1., 0., 0.], &[2, 3]);
    let y = t(&[4., 5., 6., 0., 1., 0.], &[2, 3]);
    assert_close(&run(&dot, &[x, y]), &[32., 0.], &[2, 1]);
    // Normalised, [3, 4] . [4, 3] is the cosine (12 + 12) / (5 * 5) = 0.96; the same with -1.
    for axes in [DotAxes::Same(1), DotAxes::Same(-1), DotAxes::Pair(1, -1)] {
        let cosine = built(Dot::new(axes).normalize(true), "dot", &[&[2], &[2]]);
        assert_close(&run(&cosine, &[t(&[3., 4.], &[1, 2]), t(&[4., 3.], &[1, 2])]), &[0.96], &[1, 1]);
    }
}

#[test]
fn dot_of_sequences_is_a_batched_matrix_product() {
    let x = t(&[1., 2., 3., 4.], &[1, 2, 2]); // [[1, 2], [3, 4]]
                                              // axes 2: x . yᵀ with y = [[1, 0], [0, 1], [1, 1]] gives [[1, 2, 3], [3, 4, 7]].
    let y = t(&[1., 0., 0., 1., 1., 1.], &[1, 3, 2]);
    let dot = built(Dot::new(2), "dot", &[&[2, 2], &[3, 2]]);
    assert_close(&run(&dot, &[x.clone(), y]), &[1., 2., 3., 3., 4., 7.], &[1, 2, 3]);
    // axes (1, 1): xᵀ . y with y = [[1, 0, 1], [0, 1, 1]]: xᵀ = [[1, 3], [2, 4]] gives
    // [[1, 3, 4], [2, 4, 6]].
    let y = t(&[1., 0., 1., 0., 1., 1.], &[1, 2, 3]);
    let dot = built(Dot::new([1, 1]), "dot", &[&[2, 2], &[2, 3]]);
    assert_close(&run(&dot, &[x, y]), &[1., 3., 4., 2., 4., 6.], &[1, 2, 3]);
    // Mixed ranks, axes (1, 2): [1, 2] against the rows of [[1, 0], [0, 1], [1, 1]] is [1, 2, 3].
    let mut dot = Dot::new([1, 2]).with_name("dot");
    let out = dot.build_inputs(&[Shape::from([2]), Shape::from([3, 2])], &mut seeded_rng(0)).unwrap();
    assert_eq!(out, [Shape::from([3])]);
    let y = t(&[1., 0., 0., 1., 1., 1.], &[1, 3, 2]);
    assert_close(&run(&dot, &[t(&[1., 2.], &[1, 2]), y]), &[1., 2., 3.], &[1, 3]);
}

#[test]
fn dot_gradients_match_finite_differences_for_every_input() {
    check_layer_inputs(&mut Dot::new(1), &[&[4], &[4]], 3, 0).unwrap();
    check_layer_inputs(&mut Dot::new(2), &[&[3, 4], &[2, 4]], 2, 0).unwrap();
    check_layer_inputs(&mut Dot::new([1, 2]), &[&[3, 4], &[2, 3]], 2, 0).unwrap();
    check_layer_inputs(&mut Dot::new(-1).normalize(true), &[&[4], &[4]], 3, 0).unwrap();
    check_layer_inputs(&mut Dot::new([2, 1]).normalize(true), &[&[3, 4], &[4, 2]], 2, 0).unwrap();
}

/// A two-input layer whose backward forgets its second input: the harness must notice.
struct CutSecondInput;

impl Layer for CutSecondInput {
    fn name(&self) -> &str {
        "cut"
    }
    fn set_name(&mut self, _name: &str) {}
    fn kind(&self) -> &'static str {
        "CutSecondInput"
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::registered("CutSecondInput", &())
    }
    fn build_inputs(&mut self, inputs: &[Shape], _rng: &mut kensho_core::Rng) -> kensho_core::Result<Vec<Shape>> {
        Ok(vec![inputs[0].clone()])
    }
    fn call<'t>(&self, x: &[Var<'t>], _masks: &[Option<Tensor>], cx: &Ctx<'t>) -> Vec<Var<'t>> {
        vec![x[0].add(cx.tape.constant(x[1].value()))]
    }
}

#[test]
fn the_multi_input_harness_checks_the_gradient_of_every_input() {
    let err = check_layer_inputs(&mut CutSecondInput, &[&[3], &[3]], 2, 0).unwrap_err();
    assert!(err.contains("input gradient") && err.contains("input 1"), "{err}");
}

#[test]
fn the_one_input_harness_still_runs_through_the_general_form() {
    // check_layer is check_layer_inputs with one input: a merge has no one-input form.
    let err = check_layer(&mut Add::new(), &[3], 2, 0).unwrap_err();
    assert!(err.contains("build failed") && err.contains("at least 2 inputs"), "{err}");
}

#[test]
fn elementwise_build_errors_name_the_layer_the_shapes_and_what_fits() {
    let err = build_error(&mut Add::new().with_name("add"), &[Shape::from([3]), Shape::from([4])]);
    assert!(err.contains("Add \"add\" inputs") && err.contains("[3], [4]") && err.contains("broadcast"), "{err}");
    let err = build_error(&mut Maximum::new().with_name("max"), &[Shape::from([2, 3]), Shape::from([3, 3])]);
    assert!(err.contains("Maximum \"max\" inputs") && err.contains("[2, 3], [3, 3]"), "{err}");
    let err =
        build_error(&mut Subtract::new().with_name("sub"), &[Shape::from([3]), Shape::from([3]), Shape::from([3])]);
    assert!(
        err.contains("Subtract \"sub\" inputs") && err.contains("3 input(s)") && err.contains("exactly 2"),
        "{err}"
    );
    let err = build_error(&mut Average::new().with_name("avg"), &[Shape::from([3])]);
    assert!(
        err.contains("Average \"avg\" inputs") && err.contains("1 input(s)") && err.contains("at least 2"),
        "{err}"
    );
    // A merge has no one-input form.
    assert!(Multiply::new().build(&Shape::from([3]), &mut seeded_rng(0)).is_err());
}

#[test]
fn concatenate_build_errors() {
    let mut concat = Concatenate::new(0).with_name("cat");
    let err = build_error(&mut concat, &[Shape::from([2]), Shape::from([2])]);
    assert!(err.contains("Concatenate \"cat\" axis") && err.contains("received 0") && err.contains("batch"), "{err}");
    let err = build_error(&mut Concatenate::new(3).with_name("cat"), &[Shape::from([2, 2]), Shape::from([2, 2])]);
    assert!(err.contains("received 3") && err.contains("1 to 2"), "{err}");
    let err = build_error(&mut Concatenate::new(-3).with_name("cat"), &[Shape::from([2, 2]), Shape::from([2, 2])]);
    assert!(err.contains("received -3"), "{err}");
    let err = build_error(&mut Concatenate::new(-1).with_name("cat"), &[Shape::from([2, 3]), Shape::from([3, 3])]);
    assert!(err.contains("Concatenate \"cat\" inputs") && err.contains("[2, 3], [3, 3]"), "{err}");
    assert!(err.contains("every axis but the joined axis 2"), "{err}");
    let err = build_error(&mut Concatenate::new(-1).with_name("cat"), &[Shape::from([2, 3]), Shape::from([3])]);
    assert!(err.contains("one rank"), "{err}");
    let err = build_error(&mut Concatenate::new(-1).with_name("cat"), &[Shape::from([3])]);
    assert!(err.contains("at least 2 inputs"), "{err}");
}

#[test]
fn dot_build_errors() {
    let err = build_error(&mut Dot::new(1).with_name("dot"), &[Shape::from([3]), Shape::from([4])]);
    assert!(err.contains("Dot \"dot\" inputs") && err.contains("[3], [4]") && err.contains("3 and 4"), "{err}");
    let err = build_error(&mut Dot::new(0).with_name("dot"), &[Shape::from([3]), Shape::from([3])]);
    assert!(err.contains("Dot \"dot\" axes") && err.contains("received 0") && err.contains("batch"), "{err}");
    let err = build_error(&mut Dot::new([1, 3]).with_name("dot"), &[Shape::from([3]), Shape::from([3, 2])]);
    assert!(err.contains("(1, 3)"), "{err}");
    let three = [Shape::from([3]), Shape::from([3]), Shape::from([3])];
    assert!(build_error(&mut Dot::new(1).with_name("dot"), &three).contains("exactly 2 inputs"));
    // An unknown size along an axis is checked only by the data.
    let unknown = Shape::new(vec![None]);
    assert_eq!(Dot::new(1).build_inputs(&[unknown, Shape::from([3])], &mut seeded_rng(0)).unwrap(), [Shape::from([1])]);
}

// Mask tests: inputs [1, 2, 1] (one sample, two steps, one feature), masks [1, 2].

#[test]
fn elementwise_masks_are_ored_when_every_input_has_one() {
    let add = built(Add::new(), "add", &[&[2, 1], &[2, 1]]);
    let (x0, x1) = (t(&[5., 9.], &[1, 2, 1]), t(&[3., 4.], &[1, 2, 1]));
    let (m0, m1) = (t(&[1., 0.], &[1, 2]), t(&[0., 0.], &[1, 2]));
    let (y, mask) = run_masked(&add, &[x0.clone(), x1.clone()], &[Some(m0.clone()), Some(m1.clone())]);
    assert_eq!(mask.unwrap().to_vec(), [1., 0.]);
    assert_eq!(y.to_vec(), [8., 13.]); // Add uses the padded values as they are
    let (_, mask) = run_masked(&add, &[x0.clone(), x1.clone()], &[Some(t(&[0., 1.], &[1, 2])), Some(m0.clone())]);
    assert_eq!(mask.unwrap().to_vec(), [1., 1.]);
    assert!(run_masked(&add, &[x0.clone(), x1.clone()], &[Some(m0), None]).1.is_none());
    assert!(run_masked(&add, &[x0, x1], &[None, None]).1.is_none());
}

#[test]
fn maximum_and_minimum_leave_padded_entries_out() {
    let (x0, x1) = (t(&[5., 9.], &[1, 2, 1]), t(&[3., 4.], &[1, 2, 1]));
    let xs = [x0, x1];
    let maximum = built(Maximum::new(), "maximum", &[&[2, 1], &[2, 1]]);
    // Step 1 of x0 (9) is padding: the maximum there is x1's 4.
    let (y, mask) = run_masked(&maximum, &xs, &[Some(t(&[1., 0.], &[1, 2])), None]);
    assert_eq!((y.to_vec(), mask), (vec![5., 4.], None));
    // Step 0 of x1 is padding and step 1 is padding in both: x0's values, mask [1, 0].
    let minimum = built(Minimum::new(), "minimum", &[&[2, 1], &[2, 1]]);
    let (y, mask) = run_masked(&minimum, &xs, &[Some(t(&[1., 0.], &[1, 2])), Some(t(&[0., 0.], &[1, 2]))]);
    assert_eq!(y.to_vec(), [5., 9.]);
    assert_eq!(mask.unwrap().to_vec(), [1., 0.]);
    // Without masks: [3, 4] and [5, 9].
    assert_eq!(run(&minimum, &xs).to_vec(), [3., 4.]);
    assert_eq!(run(&maximum, &xs).to_vec(), [5., 9.]);
}

#[test]
fn multiply_counts_padded_entries_as_one() {
    let multiply = built(Multiply::new(), "multiply", &[&[2, 1], &[2, 1]]);
    let xs = [t(&[2., 3.], &[1, 2, 1]), t(&[4., 5.], &[1, 2, 1])];
    // Step 1 of x0 is padding: 1 * 5. Every input has a mask, real somewhere at each step.
    let (y, mask) = run_masked(&multiply, &xs, &[Some(t(&[1., 0.], &[1, 2])), Some(t(&[1., 1.], &[1, 2]))]);
    assert_eq!(y.to_vec(), [8., 5.]);
    assert_eq!(mask.unwrap().to_vec(), [1., 1.]);
    // Step 1 padded in both: 0, and the mask says so.
    let (y, mask) = run_masked(&multiply, &xs, &[Some(t(&[1., 0.], &[1, 2])), Some(t(&[1., 0.], &[1, 2]))]);
    assert_eq!(y.to_vec(), [8., 0.]);
    assert_eq!(mask.unwrap().to_vec(), [1., 0.]);
    // One input without a mask: padded entries of the other still count as 1, no output mask.
    let (y, mask) = run_masked(&multiply, &xs, &[None, Some(t(&[0., 1.], &[1, 2]))]);
    assert_eq!((y.to_vec(), mask), (vec![2., 15.], None));
}

#[test]
fn masked_merges_pass_gradients_only_to_the_entries_they_use() {
    let maximum = built(Maximum::new(), "maximum", &[&[2, 1], &[2, 1]]);
    let tape = Tape::new();
    let cx = Ctx::new(&tape, false, seeded_rng(0));
    let x0 = tape.leaf(t(&[5., 9.], &[1, 2, 1]));
    let x1 = tape.leaf(t(&[3., 4.], &[1, 2, 1]));
    let y = maximum.call(&[x0, x1], &[Some(t(&[1., 0.], &[1, 2])), None], &cx)[0];
    let grads = tape.backward(y.sum_all());
    // Step 0: x0 (5) wins; step 1: x0 is padding, so x1 (4) is used.
    assert_eq!(grads.wrt(x0).unwrap().to_vec(), [1., 0.]);
    assert_eq!(grads.wrt(x1).unwrap().to_vec(), [0., 1.]);
}

#[test]
fn concatenate_masks_follow_keras() {
    let x0 = t(&[1., 2.], &[1, 2, 1]);
    let x1 = t(&[3., 4., 5.], &[1, 3, 1]);
    let m0 = t(&[1., 0.], &[1, 2]);
    // Along the steps: x0's mask then ones for x1, which has none.
    let steps = built(Concatenate::new(1), "concatenate", &[&[2, 1], &[3, 1]]);
    let (y, mask) = run_masked(&steps, &[x0.clone(), x1.clone()], &[Some(m0.clone()), None]);
    assert_eq!(y.to_vec(), [1., 2., 3., 4., 5.]);
    assert_eq!(mask.unwrap().to_vec(), [1., 0., 1., 1., 1.]);
    let (_, mask) = run_masked(&steps, &[x0.clone(), x1], &[Some(m0.clone()), Some(t(&[0., 1., 0.], &[1, 3]))]);
    assert_eq!(mask.unwrap().to_vec(), [1., 0., 0., 1., 0.]);
    // Along the features: the OR of the masks, all real when one input has none.
    let features = built(Concatenate::new(-1), "concatenate", &[&[2, 1], &[2, 1]]);
    let x1 = t(&[3., 4.], &[1, 2, 1]);
    let (_, mask) = run_masked(&features, &[x0.clone(), x1.clone()], &[Some(m0.clone()), None]);
    assert_eq!(mask.unwrap().to_vec(), [1., 1.]);
    let (y, mask) = run_masked(&features, &[x0.clone(), x1.clone()], &[Some(m0), Some(t(&[0., 0.], &[1, 2]))]);
    assert_eq!(y.to_vec(), [1., 3., 2., 4.]);
    assert_eq!(mask.unwrap().to_vec(), [1., 0.]);
    assert!(run_masked(&features, &[x0, x1], &[None, None]).1.is_none());
}

#[test]
fn dot_gives_no_mask() {
    let dot = built(Dot::new(2), "dot", &[&[2, 1], &[2, 1]]);
    let x = t(&[1., 2.], &[1, 2, 1]);
    let m = Some(t(&[1., 0.], &[1, 2]));
    let (y, mask) = run_masked(&dot, &[x.clone(), x], &[m.clone(), m]);
    assert_eq!((y.to_vec(), mask), (vec![1., 2., 2., 4.], None));
}

/// Every merge layer, with options away from the defaults where it has some.
fn every_merge() -> Vec<Box<dyn Layer>> {
    vec![
        Box::new(Add::new().with_name("add_1")),
        Box::new(Subtract::new().with_name("subtract")),
        Box::new(Multiply::new().with_name("multiply")),
        Box::new(Average::new().with_name("average")),
        Box::new(Maximum::new().with_name("maximum")),
        Box::new(Minimum::new().with_name("minimum")),
        Box::new(Concatenate::new(1).with_name("concatenate")),
        Box::new(Dot::new([1, 2]).normalize(true).with_name("dot")),
    ]
}

#[test]
fn configs_round_trip_through_json_under_keras_class_names() {
    let kinds = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"];
    for (layer, kind) in every_merge().iter().zip(kinds) {
        assert_eq!(layer.kind(), kind);
        let config = layer.config();
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["class_name"], kind);
        assert_eq!(json["config"]["name"], layer.name());
        let parsed: LayerConfig = serde_json::from_value(json).unwrap();
        assert_eq!(parsed, config);
        let rebuilt = parsed.to_layer().unwrap();
        assert_eq!((rebuilt.kind(), rebuilt.config()), (kind, config));
    }
}

#[test]
fn configs_read_keras_arguments() {
    let json = r#"{"class_name": "Concatenate", "config": {"name": "c", "axis": 1}}"#;
    let concat = serde_json::from_str::<LayerConfig>(json).unwrap().to_layer().unwrap();
    assert_eq!(concat.config(), Concatenate::new(1).with_name("c").config());
    // Keras writes `axes` as a number or a pair; `normalize` defaults to false.
    let json = r#"{"class_name": "Dot", "config": {"name": "d", "axes": 2}}"#;
    let dot = serde_json::from_str::<LayerConfig>(json).unwrap().to_layer().unwrap();
    assert_eq!(dot.config(), Dot::new(2).with_name("d").config());
    let json = r#"{"class_name": "Dot", "config": {"name": "d", "axes": [1, 2], "normalize": true}}"#;
    let dot = serde_json::from_str::<LayerConfig>(json).unwrap();
    assert_eq!(dot, Dot::new([1, 2]).normalize(true).with_name("d").config());
    assert_eq!(serde_json::to_value(Dot::new(-1).config()).unwrap()["config"]["axes"], -1);
}

#[test]
fn merges_count_for_no_pytorch_module_and_have_no_weights() {
    for layer in every_merge() {
        let layout = layer.torch_layout().expect("a merge has a PyTorch equivalent: a function");
        assert_eq!((layout.modules, layout.weights.len()), (0, 0), "{}", layer.kind());
        assert!(layer.params().is_empty() && layer.state().is_empty());
    }
}
