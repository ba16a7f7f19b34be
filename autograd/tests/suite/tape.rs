//! Tape behaviour and pinned conventions: kink gradients, accumulation, broadcasting,
//! no-grad tapes, frozen parameters, and the fused losses (stable, and equal to their
//! compositions of primitives in value and gradient).

use kensho_autograd::{Grads, Param, Tape, Var};
use kensho_core::{seeded_rng, Tensor};

fn t(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).unwrap()
}

/// The gradient of `f(x).sum_all()` with respect to `x`.
fn grad_of(x: &Tensor, f: impl for<'t> Fn(Var<'t>) -> Var<'t>) -> Vec<f32> {
    let tape = Tape::new();
    let v = tape.leaf(x.clone());
    let grads = tape.backward(f(v).sum_all());
    grads.wrt(v).expect("x contributed").to_vec()
}

fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ: {got:?} vs {want:?}");
    let ok = got.iter().zip(want).all(|(a, b)| (a - b).abs() <= tol * (1.0 + b.abs()));
    assert!(ok, "{what}: got {got:?}, want {want:?}");
}

// ---- Kink conventions -------------------------------------------------------------------------

#[test]
fn relu_grad_at_zero_is_zero() {
    assert_eq!(grad_of(&t(&[0.0, -1.0, 2.0, -0.0], &[4]), |x| x.relu()), vec![0.0, 0.0, 1.0, 0.0]);
}

#[test]
fn leaky_relu_grad_at_zero_is_alpha() {
    assert_eq!(grad_of(&t(&[0.0, -1.0, 2.0], &[3]), |x| x.leaky_relu(0.25)), vec![0.25, 0.25, 1.0]);
}

#[test]
fn abs_grad_at_zero_is_zero() {
    assert_eq!(grad_of(&t(&[0.0, -1.5, 2.0, -0.0], &[4]), |x| x.abs()), vec![0.0, -1.0, 1.0, 0.0]);
}

#[test]
fn max_ties_share_gradient_evenly() {
    assert_eq!(grad_of(&t(&[1.0, 3.0, 3.0, 2.0], &[4]), |x| x.max_axes(&[0], false)), vec![0.0, 0.5, 0.5, 0.0]);
    // Per row: a three-way tie, then a unique maximum.
    let x = t(&[5.0, 5.0, 5.0, 1.0, 4.0, 0.0], &[2, 3]);
    assert_close(
        &grad_of(&x, |x| x.max_axes(&[1], false)),
        &[1.0 / 3.0; 3].iter().chain(&[0.0, 1.0, 0.0]).copied().collect::<Vec<_>>(),
        1e-6,
        "max rows",
    );
    // min follows the same convention, with keepdims too.
    assert_eq!(grad_of(&t(&[2.0, -1.0, -1.0, 0.0], &[2, 2]), |x| x.min_axes(&[0, 1], true)), vec![0.0, 0.5, 0.5, 0.0]);
}

#[test]
fn clip_grad_is_one_at_the_bounds() {
    let x = t(&[-1.0, -0.5, 0.0, 0.5, 1.0], &[5]);
    assert_eq!(grad_of(&x, |x| x.clip(-0.5, 0.5)), vec![0.0, 1.0, 1.0, 1.0, 0.0]);
}

#[test]
fn elementwise_maximum_and_minimum_ties_route_to_self() {
    let tape = Tape::new();
    let (a, b) = (tape.leaf(t(&[1.0, 2.0, 3.0], &[3])), tape.leaf(t(&[1.0, 5.0, 0.0], &[3])));
    let grads = tape.backward(a.maximum(b).sum_all());
    assert_eq!(grads.wrt(a).unwrap().to_vec(), vec![1.0, 0.0, 1.0]);
    assert_eq!(grads.wrt(b).unwrap().to_vec(), vec![0.0, 1.0, 0.0]);
    let tape = Tape::new();
    let (a, b) = (tape.leaf(t(&[1.0, 2.0, 3.0], &[3])), tape.leaf(t(&[1.0, 5.0, 0.0], &[3])));
    let grads = tape.backward(a.minimum(b).sum_all());
    assert_eq!(grads.wrt(a).unwrap().to_vec(), vec![1.0, 1.0, 0.0]);
    assert_eq!(grads.wrt(b).unwrap().to_vec(), vec![0.0, 0.0, 1.0]);
}

// ---- Tape mechanics ---------------------------------------------------------------------------

#[test]
fn a_value_used_twice_accumulates_its_gradient() {
    let x = t(&[1.5, -2.0, 0.25], &[3]);
    assert_eq!(grad_of(&x, |x| x.mul(x)), vec![3.0, -4.0, 0.5]);
    assert_eq!(grad_of(&x, |x| x.add(x).add(x)), vec![3.0; 3]);
    // A parameter entered twice on the same tape accumulates as well.
    let w = Param::new("w", x.clone());
    let tape = Tape::new();
    let (a, b) = (tape.param(&w), tape.param(&w));
    let grads = tape.backward(a.mul(b).sum_all());
    assert_eq!(grads.len(), 1);
    assert_eq!(grads.get(w.id()).unwrap().to_vec(), vec![3.0, -4.0, 0.5]);
}

#[test]
fn broadcast_gradients_are_reduced_to_the_operand_shape() {
    let mut rng = seeded_rng(3);
    let x = Tensor::rand_uniform(&[4, 3], -1.0, 1.0, &mut rng);
    let w = Tensor::rand_uniform(&[4, 3], -1.0, 1.0, &mut rng);
    let bias = Param::new("bias", t(&[0.1, 0.2, 0.3], &[3]));
    let tape = Tape::new();
    let xv = tape.leaf(x);
    let loss = xv.add(tape.param(&bias)).mul(tape.constant(w.clone())).sum_all();
    let grads = tape.backward(loss);
    let gb = grads.get(bias.id()).unwrap();
    assert_eq!(gb.shape(), &[3]);
    assert_close(&gb.to_vec(), &w.sum_axes(&[0], false).to_vec(), 1e-6, "bias gradient = column sums");
    assert_eq!(grads.wrt(xv).unwrap(), &w);
    // A [2,1] operand against [2,3] gets the row sums.
    let col = Param::new("col", t(&[1.0, 2.0], &[2, 1]));
    let tape = Tape::new();
    let up = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let loss = tape.param(&col).mul(tape.constant(Tensor::ones(&[2, 3]))).mul(tape.constant(up)).sum_all();
    let grads = tape.backward(loss);
    assert_eq!(grads.get(col.id()).unwrap(), &t(&[6.0, 15.0], &[2, 1]));
}

#[test]
fn no_grad_tape_records_no_rule() {
    let w = Param::new("w", t(&[1.0, 2.0], &[2]));
    let tape = Tape::no_grad();
    assert!(!tape.grad_enabled());
    let x = tape.leaf(t(&[3.0, 4.0], &[2]));
    let y = tape.param(&w).mul(x).exp().sum_all();
    assert!(y.value().all_finite());
    let grads = tape.backward(y);
    assert!(grads.is_empty());
    assert!(grads.get(w.id()).is_none());
    assert!(grads.wrt(x).is_none());
}

#[test]
fn a_frozen_param_gets_no_gradient() {
    let mut frozen = Param::new("frozen", t(&[1.0, 2.0], &[2]));
    frozen.trainable = false;
    let live = Param::new("live", t(&[3.0, 4.0], &[2]));
    let tape = Tape::new();
    let grads = tape.backward(tape.param(&frozen).mul(tape.param(&live)).sum_all());
    assert!(grads.get(frozen.id()).is_none());
    assert_eq!(grads.get(live.id()).unwrap().to_vec(), vec![1.0, 2.0]);
    assert_eq!(grads.len(), 1);
    // Only frozen parameters: nothing at all to differentiate.
    let tape = Tape::new();
    assert!(tape.backward(tape.param(&frozen).exp().sum_all()).is_empty());
}

#[test]
#[should_panic(expected = "scalar")]
fn backward_on_a_non_scalar_panics() {
    let tape = Tape::new();
    let x = tape.leaf(t(&[1.0, 2.0], &[2]));
    tape.backward(x.mul(x));
}

#[test]
fn a_one_element_output_of_any_rank_is_accepted() {
    let tape = Tape::new();
    let x = tape.leaf(t(&[2.0], &[1, 1]));
    let grads = tape.backward(x.mul(x));
    assert_eq!(grads.wrt(x).unwrap().to_vec(), vec![4.0]);
}

#[test]
fn clear_empties_the_tape_for_reuse() {
    let mut tape = Tape::new();
    {
        let x = tape.leaf(t(&[1.0], &[1]));
        x.exp().sum_all();
    }
    assert_eq!(tape.len(), 3);
    tape.clear();
    assert!(tape.is_empty());
    let x = tape.leaf(t(&[2.0], &[1]));
    assert_eq!(x.id(), 0);
    let grads = tape.backward(x.mul(x).sum_all());
    assert_eq!(grads.wrt(x).unwrap().to_vec(), vec![4.0]);
}

#[test]
fn constants_and_ops_on_constants_need_no_gradient() {
    let tape = Tape::new();
    let c = tape.constant(t(&[1.0, 2.0], &[2]));
    let x = tape.leaf(t(&[3.0, 4.0], &[2]));
    let y = c.exp().mul(x).sum_all();
    let grads = tape.backward(y);
    assert_close(&grads.wrt(x).unwrap().to_vec(), &[1f32.exp(), 2f32.exp()], 1e-6, "d/dx e^c x");
    assert!(grads.wrt(c).is_none());
}

// ---- Fused losses -----------------------------------------------------------------------------

#[test]
fn fused_losses_are_finite_for_confident_wrong_predictions() {
    let tape = Tape::new();
    let logits = tape.leaf(t(&[1000.0, 0.0, 0.0, 0.0, -1000.0, 0.0], &[2, 3]));
    let loss = logits.sparse_softmax_cross_entropy(&[2, 1]);
    assert_close(&loss.value().to_vec(), &[1000.0, 1000.0 + 2f32.ln()], 1e-6, "sparse loss");
    let g = tape.backward(loss.sum_all()).wrt(logits).unwrap().to_vec();
    assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
    assert_close(&g, &[1.0, 0.0, -1.0, 0.5, -1.0, 0.5], 1e-6, "sparse gradient");

    let tape = Tape::new();
    let logits = tape.leaf(t(&[1000.0, 0.0, 0.0], &[1, 3]));
    let loss = logits.softmax_cross_entropy(&t(&[0.0, 0.0, 1.0], &[1, 3]));
    assert_close(&loss.value().to_vec(), &[1000.0], 1e-6, "softmax cross-entropy loss");
    let g = tape.backward(loss.sum_all()).wrt(logits).unwrap().to_vec();
    assert_close(&g, &[1.0, 0.0, -1.0], 1e-6, "softmax cross-entropy gradient");

    let tape = Tape::new();
    let logits = tape.leaf(t(&[1000.0, -1000.0, 1000.0], &[3]));
    let loss = logits.sigmoid_cross_entropy(&t(&[0.0, 1.0, 1.0], &[3]));
    assert_close(&loss.value().to_vec(), &[1000.0, 1000.0, 0.0], 1e-6, "sigmoid cross-entropy loss");
    let g = tape.backward(loss.sum_all()).wrt(logits).unwrap().to_vec();
    assert_close(&g, &[1.0, -1.0, 0.0], 1e-6, "sigmoid cross-entropy gradient");
}

/// Value and gradient (w.r.t. the logits) of `weights · f(logits)`, with non-uniform upstream
/// gradients so that each loss's handling of `dy` is tested.
fn value_and_grad(logits: &Tensor, weights: &Tensor, f: impl for<'t> Fn(Var<'t>) -> Var<'t>) -> (Vec<f32>, Vec<f32>) {
    let tape = Tape::new();
    let x = tape.leaf(logits.clone());
    let y = f(x);
    let value = y.value().to_vec();
    let grads: Grads = tape.backward(y.mul(tape.constant(weights.clone())).sum_all());
    (value, grads.wrt(x).unwrap().to_vec())
}

fn assert_same(fused: (Vec<f32>, Vec<f32>), composed: (Vec<f32>, Vec<f32>), what: &str) {
    assert_close(&fused.0, &composed.0, 1e-5, &format!("{what}: value"));
    assert_close(&fused.1, &composed.1, 1e-5, &format!("{what}: gradient"));
}

#[test]
fn sparse_softmax_cross_entropy_equals_its_composition() {
    let mut rng = seeded_rng(5);
    let logits = Tensor::rand_uniform(&[4, 5], -3.0, 3.0, &mut rng);
    let weights = Tensor::rand_uniform(&[4], 0.5, 1.5, &mut rng);
    let labels = [3, 0, 4, 3];
    let fused = value_and_grad(&logits, &weights, |x| x.sparse_softmax_cross_entropy(&labels));
    let onehot = Tensor::from_fn(&[4, 5], |i| f32::from(u8::from(labels[i[0]] == i[1])));
    let by_mask = value_and_grad(&logits, &weights, |x| {
        x.log_softmax(1).mul(x.tape().constant(onehot.clone())).sum_axes(&[1], false).neg()
    });
    assert_same(fused.clone(), by_mask, "one-hot composition");
    let flat: Vec<usize> = labels.iter().enumerate().map(|(i, &l)| i * 5 + l).collect();
    let by_index = value_and_grad(&logits, &weights, |x| x.log_softmax(1).reshape(&[20]).index_select(0, &flat).neg());
    assert_same(fused, by_index, "index_select composition");
}

#[test]
fn softmax_cross_entropy_equals_its_composition() {
    let mut rng = seeded_rng(6);
    let logits = Tensor::rand_uniform(&[3, 4], -3.0, 3.0, &mut rng);
    let weights = Tensor::rand_uniform(&[3], 0.5, 1.5, &mut rng);
    for targets in [
        Tensor::rand_uniform(&[3, 4], -1.0, 1.0, &mut rng).softmax(1),
        Tensor::rand_uniform(&[3, 4], 0.0, 1.0, &mut rng),
    ] {
        let fused = value_and_grad(&logits, &weights, |x| x.softmax_cross_entropy(&targets));
        let composed = value_and_grad(&logits, &weights, |x| {
            x.log_softmax(1).mul(x.tape().constant(targets.clone())).sum_axes(&[1], false).neg()
        });
        assert_same(fused, composed, "softmax_cross_entropy");
    }
}

#[test]
fn sigmoid_cross_entropy_equals_its_composition() {
    let mut rng = seeded_rng(7);
    let logits = Tensor::rand_uniform(&[3, 4], -4.0, 4.0, &mut rng);
    let targets = Tensor::rand_uniform(&[3, 4], 0.0, 1.0, &mut rng);
    let weights = Tensor::rand_uniform(&[3, 4], 0.5, 1.5, &mut rng);
    let fused = value_and_grad(&logits, &weights, |x| x.sigmoid_cross_entropy(&targets));
    let composed = value_and_grad(&logits, &weights, |x| {
        let tape = x.tape();
        let (tv, s) = (tape.constant(targets.clone()), x.sigmoid());
        let one_minus_t = tape.constant(targets.map(|v| 1.0 - v));
        tv.mul(s.log()).add(one_minus_t.mul(s.neg().add_scalar(1.0).log())).neg()
    });
    assert_same(fused, composed, "sigmoid_cross_entropy");
}

#[test]
fn fused_linear_equals_matmul_plus_bias_in_value_and_gradient() {
    let mut rng = kensho_core::seeded_rng(21);
    let x = Tensor::rand_uniform(&[6, 5], -1.0, 1.0, &mut rng);
    let w = Tensor::rand_uniform(&[5, 4], -1.0, 1.0, &mut rng);
    let b = Tensor::rand_uniform(&[4], -1.0, 1.0, &mut rng);
    let r = Tensor::rand_uniform(&[6, 4], -1.0, 1.0, &mut rng);
    let run = |fused: bool| {
        let tape = Tape::new();
        let (xv, wv, bv) = (tape.leaf(x.clone()), tape.leaf(w.clone()), tape.leaf(b.clone()));
        let y = if fused { xv.linear(wv, bv) } else { xv.matmul(wv).add(bv) };
        let value = y.value();
        let grads = tape.backward(y.mul(tape.constant(r.clone())).sum_all());
        let g = |v| grads.wrt(v).unwrap().clone();
        (value, g(xv), g(wv), g(bv))
    };
    let (fused, composed) = (run(true), run(false));
    assert!(fused.0.allclose(&composed.0, 1e-6, 1e-6));
    assert!(fused.1.allclose(&composed.1, 1e-6, 1e-6));
    assert!(fused.2.allclose(&composed.2, 1e-6, 1e-6));
    assert!(fused.3.allclose(&composed.3, 1e-6, 1e-6));
}

#[test]
fn fused_conv2d_bias_and_relu_equal_their_composition_bit_for_bit() {
    use kensho_core::{Conv2dOptions, Padding};
    let mut rng = kensho_core::seeded_rng(22);
    for (xs, ks, opts) in [
        ([3, 9, 8, 2], [3, 3, 2, 5], Conv2dOptions::default()),
        ([2, 6, 7, 4], [3, 2, 2, 6], Conv2dOptions::default().groups(2).strides([2, 1]).padding(Padding::Same)),
        ([2, 4, 4, 3], [1, 1, 3, 4], Conv2dOptions::default()),
        // Enough rows for several pieces of the lowering and a split over threads.
        ([16, 30, 30, 1], [3, 3, 1, 32], Conv2dOptions::default()),
    ] {
        let x = Tensor::rand_uniform(&xs, -1.0, 1.0, &mut rng);
        let k = Tensor::rand_uniform(&ks, -1.0, 1.0, &mut rng);
        let b = Tensor::rand_uniform(&[ks[3]], -1.0, 1.0, &mut rng);
        let y_shape = x.conv2d(&k, &opts).shape().to_vec();
        let r = Tensor::rand_uniform(&y_shape, -1.0, 1.0, &mut rng);
        let run = |fused: bool, relu: bool| {
            let tape = Tape::new();
            let (xv, kv, bv) = (tape.leaf(x.clone()), tape.leaf(k.clone()), tape.leaf(b.clone()));
            let y = match (fused, relu) {
                (true, false) => xv.conv2d_bias(kv, bv, &opts),
                (true, true) => xv.conv2d_bias_relu(kv, bv, &opts),
                (false, false) => xv.conv2d(kv, &opts).add(bv),
                (false, true) => xv.conv2d(kv, &opts).add(bv).relu(),
            };
            let value = y.value();
            let grads = tape.backward(y.mul(tape.constant(r.clone())).sum_all());
            let g = |v| grads.wrt(v).unwrap().to_vec();
            (value.to_vec(), g(xv), g(kv), g(bv))
        };
        for relu in [false, true] {
            assert_eq!(run(true, relu), run(false, relu), "conv2d_bias (relu: {relu}) on {xs:?} x {ks:?}");
        }
    }
}
