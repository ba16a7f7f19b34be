//! Loss fusion: softmax and sigmoid remember their logits on every tape, and the fused
//! cross-entropies over the last axis of any rank equal their compositions of primitives
//! (log-softmax, then pick or weigh) in value and gradient.

use kensho_autograd::{Tape, Var};
use kensho_core::{seeded_rng, Tensor};

fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ: {got:?} vs {want:?}");
    let ok = got.iter().zip(want).all(|(a, b)| (a - b).abs() <= tol * (1.0 + b.abs()));
    assert!(ok, "{what}: got {got:?}, want {want:?}");
}

/// Shape, value and gradient (w.r.t. the logits) of `weights · f(logits)`.
fn evaluate(
    logits: &Tensor,
    weights: &Tensor,
    f: impl for<'t> Fn(Var<'t>) -> Var<'t>,
) -> (Vec<usize>, Vec<f32>, Vec<f32>) {
    let tape = Tape::new();
    let x = tape.leaf(logits.clone());
    let y = f(x);
    let (shape, value) = (y.shape(), y.value().to_vec());
    let grads = tape.backward(y.mul(tape.constant(weights.clone())).sum_all());
    (shape, value, grads.wrt(x).unwrap().to_vec())
}

fn assert_same(fused: (Vec<usize>, Vec<f32>, Vec<f32>), composed: (Vec<usize>, Vec<f32>, Vec<f32>), what: &str) {
    assert_eq!(fused.0, composed.0, "{what}: shape");
    assert_close(&fused.1, &composed.1, 1e-5, &format!("{what}: value"));
    assert_close(&fused.2, &composed.2, 1e-5, &format!("{what}: gradient"));
}

// ---- Origins ------------------------------------------------------------------------------------

#[test]
fn softmax_and_sigmoid_remember_their_logits_on_both_tapes() {
    for tape in [Tape::new(), Tape::no_grad()] {
        let x = tape.leaf(Tensor::ones(&[2, 3, 4]));
        let z = x.mul_scalar(2.0);
        assert_eq!(z.softmax(2).softmax_logits().map(|v| v.id()), Some(z.id()));
        assert_eq!(z.sigmoid().sigmoid_logits().map(|v| v.id()), Some(z.id()));
        assert!(z.softmax(1).softmax_logits().is_none(), "only over the last axis");
        assert!(z.softmax(2).sigmoid_logits().is_none());
        assert!(z.sigmoid().softmax_logits().is_none());
        assert!(z.log_softmax(2).softmax_logits().is_none());
        assert!(z.softmax_logits().is_none() && x.sigmoid_logits().is_none());
        // Ops on a constant are constants too, and still remember their logits.
        let c = tape.constant(Tensor::ones(&[3]));
        assert_eq!(c.softmax(0).softmax_logits().map(|v| v.id()), Some(c.id()));
    }
}

#[test]
fn a_loss_fused_through_softmax_logits_trains_the_layer_below() {
    let logits = Tensor::rand_uniform(&[2, 3, 4], -2.0, 2.0, &mut seeded_rng(8));
    let weights = Tensor::ones(&[2, 3]);
    let labels = [0, 1, 2, 3, 3, 2];
    let via_probs = evaluate(&logits, &weights, |x| {
        x.softmax(2).softmax_logits().expect("over the last axis").sparse_softmax_cross_entropy(&labels)
    });
    let direct = evaluate(&logits, &weights, |x| x.sparse_softmax_cross_entropy(&labels));
    assert_same(via_probs, direct, "via softmax_logits");
}

// ---- Fused equals composed, rank 3 -------------------------------------------------------------

#[test]
fn sparse_softmax_cross_entropy_equals_log_softmax_then_pick_on_rank_3() {
    let mut rng = seeded_rng(9);
    let logits = Tensor::rand_uniform(&[2, 3, 5], -3.0, 3.0, &mut rng);
    let weights = Tensor::rand_uniform(&[2, 3], 0.5, 1.5, &mut rng);
    let labels = [4, 0, 2, 2, 1, 4];
    let fused = evaluate(&logits, &weights, |x| x.sparse_softmax_cross_entropy(&labels));
    assert_eq!(fused.0, vec![2, 3]);
    let flat: Vec<usize> = labels.iter().enumerate().map(|(i, &l)| i * 5 + l).collect();
    let picked =
        evaluate(&logits, &weights, |x| x.log_softmax(2).reshape(&[30]).index_select(0, &flat).neg().reshape(&[2, 3]));
    assert_same(fused, picked, "rank 3 sparse");
}

#[test]
fn softmax_cross_entropy_equals_its_composition_on_rank_3() {
    let mut rng = seeded_rng(10);
    let logits = Tensor::rand_uniform(&[2, 3, 4], -3.0, 3.0, &mut rng);
    let weights = Tensor::rand_uniform(&[2, 3], 0.5, 1.5, &mut rng);
    for targets in [
        Tensor::rand_uniform(&[2, 3, 4], -1.0, 1.0, &mut rng).softmax(2),
        Tensor::rand_uniform(&[2, 3, 4], 0.0, 1.0, &mut rng),
    ] {
        let fused = evaluate(&logits, &weights, |x| x.softmax_cross_entropy(&targets));
        assert_eq!(fused.0, vec![2, 3]);
        let composed = evaluate(&logits, &weights, |x| {
            x.log_softmax(2).mul(x.tape().constant(targets.clone())).sum_axes(&[2], false).neg()
        });
        assert_same(fused, composed, "rank 3 dense");
    }
}

#[test]
fn rank_1_logits_give_a_scalar_loss() {
    let logits = Tensor::from_vec(vec![1.0, 2.0, 0.5], &[3]).unwrap();
    let tape = Tape::no_grad();
    let x = tape.constant(logits.clone());
    let sparse = x.sparse_softmax_cross_entropy(&[1]);
    let dense = x.softmax_cross_entropy(&Tensor::from_vec(vec![0.0, 1.0, 0.0], &[3]).unwrap());
    let want = -logits.log_softmax(0).to_vec()[1];
    assert_eq!(sparse.shape(), Vec::<usize>::new());
    assert_eq!(dense.shape(), Vec::<usize>::new());
    assert_close(&sparse.value().to_vec(), &[want], 1e-6, "sparse");
    assert_close(&dense.value().to_vec(), &[want], 1e-6, "dense");
}

#[test]
fn fused_losses_are_finite_for_confident_wrong_predictions_on_rank_3() {
    let tape = Tape::new();
    let logits = tape.leaf(Tensor::from_vec(vec![1000.0, 0.0, -1000.0, 0.0], &[2, 1, 2]).unwrap());
    let loss = logits.sparse_softmax_cross_entropy(&[1, 0]);
    assert_close(&loss.value().to_vec(), &[1000.0, 1000.0], 1e-6, "loss");
    let g = tape.backward(loss.sum_all()).wrt(logits).unwrap().to_vec();
    assert_close(&g, &[1.0, -1.0, -1.0, 1.0], 1e-6, "gradient");
}

// ---- Documented panics --------------------------------------------------------------------------

#[test]
#[should_panic(expected = "need 6 labels")]
fn sparse_label_count_must_match_the_leading_positions() {
    let tape = Tape::no_grad();
    tape.constant(Tensor::zeros(&[2, 3, 4])).sparse_softmax_cross_entropy(&[0, 1]);
}

#[test]
#[should_panic(expected = "label 4 at position 1 is not in 0..4")]
fn sparse_label_out_of_range_panics() {
    let tape = Tape::no_grad();
    tape.constant(Tensor::zeros(&[2, 4])).sparse_softmax_cross_entropy(&[0, 4]);
}

#[test]
#[should_panic(expected = "got a scalar")]
fn sparse_on_scalar_logits_panics() {
    let tape = Tape::no_grad();
    tape.constant(Tensor::scalar(1.0)).sparse_softmax_cross_entropy(&[]);
}

#[test]
#[should_panic(expected = "must have one shape of rank >= 1")]
fn softmax_cross_entropy_shapes_must_match() {
    let tape = Tape::no_grad();
    tape.constant(Tensor::zeros(&[2, 3, 4])).softmax_cross_entropy(&Tensor::zeros(&[6, 4]));
}
