//! NaN through the activations, as PyTorch does it: every activation op on the tape, and every
//! fused kernel with an activation inside (convolution + bias + relu, the recurrent cells, the
//! sigmoid cross-entropy), maps a NaN input to NaN and leaves the other values bit for bit as
//! they are without the NaN.
//!
//! Gradients at a NaN input follow PyTorch's backward formulas: relu and elu pass `dy` through
//! (`x <= 0 ? 0 : dy` is false for NaN), leaky relu gives `alpha * dy`, the smooth activations
//! give NaN.

use kensho_autograd::{RecurrentWeights, Tape, Var};
use kensho_core::{seeded_rng, CellActivation, Conv2dOptions, RecurrentCell, RecurrentSpec, Tensor};

fn t(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).unwrap()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The value of `f(x)` and the gradient of `sum(f(x) * r)` with respect to `x`.
fn value_and_grad(x: &Tensor, r: &Tensor, f: &dyn for<'t> Fn(Var<'t>) -> Var<'t>) -> (Vec<f32>, Vec<f32>) {
    let tape = Tape::new();
    let v = tape.leaf(x.clone());
    let y = f(v);
    let value = y.value().to_vec();
    let grads = tape.backward(y.mul(tape.constant(r.clone())).sum_all());
    (value, grads.wrt(v).expect("x contributed").to_vec())
}

/// What the gradient at a NaN input is, per PyTorch's backward formula.
#[derive(Debug, Clone, Copy)]
enum AtNan {
    /// `dy` itself.
    PassThrough,
    /// `alpha * dy`.
    Scaled(f32),
    /// NaN.
    Nan,
}

type Op = for<'t> fn(Var<'t>) -> Var<'t>;

#[test]
fn activations_propagate_nan() {
    let ops: [(&str, Op, AtNan); 8] = [
        ("relu", |x| x.relu(), AtNan::PassThrough),
        ("leaky_relu", |x| x.leaky_relu(0.25), AtNan::Scaled(0.25)),
        ("elu", |x| x.elu(0.5), AtNan::PassThrough),
        ("sigmoid", |x| x.sigmoid(), AtNan::Nan),
        ("tanh", |x| x.tanh(), AtNan::Nan),
        ("gelu", |x| x.gelu(), AtNan::Nan),
        ("silu", |x| x.silu(), AtNan::Nan),
        ("softplus", |x| x.softplus(), AtNan::Nan),
    ];
    let clean = [-2.5f32, -0.3, 0.0, 0.7, 4.0, -1e-20];
    let nan_at = 2;
    let mut dirty = clean.to_vec();
    dirty.insert(nan_at, f32::NAN);
    let r_clean = [0.5f32, -1.5, 2.0, 0.25, -0.75, 1.25];
    let mut r_dirty = r_clean.to_vec();
    r_dirty.insert(nan_at, 3.0);
    for (name, op, at_nan) in ops {
        let (y0, g0) = value_and_grad(&t(&clean, &[6]), &t(&r_clean, &[6]), &op);
        let (mut y, mut g) = value_and_grad(&t(&dirty, &[7]), &t(&r_dirty, &[7]), &op);
        assert!(y[nan_at].is_nan(), "{name}(NaN) = {}", y[nan_at]);
        match at_nan {
            AtNan::PassThrough => assert_eq!(g[nan_at], 3.0, "{name}' at NaN"),
            AtNan::Scaled(a) => assert_eq!(g[nan_at], 3.0 * a, "{name}' at NaN"),
            AtNan::Nan => assert!(g[nan_at].is_nan(), "{name}' at NaN: {}", g[nan_at]),
        }
        y.remove(nan_at);
        g.remove(nan_at);
        assert_eq!(bits(&y), bits(&y0), "{name}: values beside a NaN");
        assert_eq!(bits(&g), bits(&g0), "{name}: gradients beside a NaN");
    }
}

#[test]
fn softmax_rows_with_nan_are_nan_and_other_rows_keep_values_and_gradients() {
    let r = t(&[0.3, -0.2, 0.9, 1.0, 0.5, -0.4], &[2, 3]);
    for (name, op) in [("softmax", (|x| x.softmax(1)) as Op), ("log_softmax", |x| x.log_softmax(1))] {
        let (y0, g0) = value_and_grad(&t(&[0.5, 3.0, -1.0], &[1, 3]), &t(&[1.0, 0.5, -0.4], &[1, 3]), &op);
        let (y, g) = value_and_grad(&t(&[1.0, f32::NAN, -2.0, 0.5, 3.0, -1.0], &[2, 3]), &r, &op);
        assert!(y[..3].iter().chain(&g[..3]).all(|v| v.is_nan()), "{name}: {y:?} {g:?}");
        assert_eq!((bits(&y[3..]), bits(&g[3..])), (bits(&y0), bits(&g0)), "{name}: the clean row");
    }
}

#[test]
fn sigmoid_cross_entropy_of_nan_logits_is_nan() {
    let tape = Tape::new();
    let x = tape.leaf(t(&[f32::NAN, 0.5, f32::NAN, -3.0], &[4]));
    let loss = x.sigmoid_cross_entropy(&t(&[0.0, 1.0, 1.0, 0.0], &[4]));
    let y = loss.value().to_vec();
    assert!(y[0].is_nan() && y[2].is_nan() && y[1].is_finite() && y[3].is_finite(), "{y:?}");
    let g = tape.backward(loss.sum_all()).wrt(x).unwrap().to_vec();
    assert!(g[0].is_nan() && g[2].is_nan() && g[1].is_finite() && g[3].is_finite(), "{g:?}");
}

/// A NaN pixel of the input: the fused convolution + bias + relu is NaN exactly where the
/// convolution is, and elsewhere equals the composition (and the NaN-free input) bit for bit,
/// on the tensor level and on the tape, values and gradients.
#[test]
fn fused_conv2d_bias_relu_keeps_nan() {
    let mut rng = seeded_rng(41);
    let opts = Conv2dOptions::default();
    let x0 = Tensor::rand_uniform(&[2, 6, 6, 2], -1.0, 1.0, &mut rng);
    let k = Tensor::rand_uniform(&[3, 3, 2, 4], -1.0, 1.0, &mut rng);
    let b = Tensor::rand_uniform(&[4], -1.0, 1.0, &mut rng);
    let mut x = x0.clone();
    x.add_at(2 * 2 + 1, f32::NAN); // batch 0, row 0, column 2, channel 1
    let pre = x.conv2d(&k, &opts).add(&b).to_vec();
    let nan_count = pre.iter().filter(|v| v.is_nan()).count();
    assert!(nan_count > 0 && nan_count < pre.len() / 2, "{nan_count} of {}", pre.len());
    let fused = x.conv2d_bias_relu(&k, &b, &opts).to_vec();
    let composed = x.conv2d(&k, &opts).add(&b).relu().to_vec();
    for (i, (&p, &f)) in pre.iter().zip(&fused).enumerate() {
        assert_eq!(p.is_nan(), f.is_nan(), "element {i}: pre-activation {p}, fused {f}");
    }
    assert_eq!(bits(&fused), bits(&composed), "fused vs composed");
    let clean = x0.conv2d_bias_relu(&k, &b, &opts).to_vec();
    let same = fused.iter().zip(&clean).filter(|(f, _)| !f.is_nan()).all(|(f, c)| f.to_bits() == c.to_bits());
    assert!(same, "values away from the NaN");

    let r = Tensor::rand_uniform(x.conv2d(&k, &opts).shape(), -1.0, 1.0, &mut rng);
    let run = |fused: bool| {
        let tape = Tape::new();
        let (xv, kv, bv) = (tape.leaf(x.clone()), tape.leaf(k.clone()), tape.leaf(b.clone()));
        let y = if fused { xv.conv2d_bias_relu(kv, bv, &opts) } else { xv.conv2d(kv, &opts).add(bv).relu() };
        let value = y.value().to_vec();
        let grads = tape.backward(y.mul(tape.constant(r.clone())).sum_all());
        [value, grads.wrt(xv).unwrap().to_vec(), grads.wrt(kv).unwrap().to_vec(), grads.wrt(bv).unwrap().to_vec()]
    };
    let (f, c) = (run(true), run(false));
    assert!(f[0].iter().any(|v| v.is_nan()), "the fused op on the tape keeps the NaN");
    for (what, (a, b)) in ["value", "dx", "dkernel", "dbias"].iter().zip(f.iter().zip(&c)) {
        assert_eq!(bits(a), bits(b), "on the tape, fused vs composed: {what}");
    }
}

/// A SimpleRNN with a relu, elu or softplus cell and a NaN in one sample's first step: that
/// sample's states are NaN (relu's `max(x, 0)` used to turn them into zeros), the other
/// sample's states equal those without the NaN bit for bit.
#[test]
fn recurrent_cells_keep_nan() {
    let mut rng = seeded_rng(42);
    let (b, steps, f, u) = (2, 3, 2, 3);
    let x0 = Tensor::rand_uniform(&[b, steps, f], -1.0, 1.0, &mut rng);
    let kernel = Tensor::rand_uniform(&[f, u], -1.0, 1.0, &mut rng);
    let recurrent_kernel = Tensor::rand_uniform(&[u, u], -1.0, 1.0, &mut rng);
    let mut x = x0.clone();
    x.add_at(0, f32::NAN);
    for activation in [CellActivation::Relu, CellActivation::Elu { alpha: 1.0 }, CellActivation::Softplus] {
        let spec = RecurrentSpec {
            cell: RecurrentCell::SimpleRnn,
            activation,
            recurrent_activation: activation,
            go_backwards: false,
        };
        let run = |x: &Tensor| {
            let tape = Tape::no_grad();
            let weights = RecurrentWeights {
                kernel: tape.constant(kernel.clone()),
                recurrent_kernel: tape.constant(recurrent_kernel.clone()),
                bias: None,
                recurrent_bias: None,
                initial_state: vec![],
            };
            tape.constant(x.clone()).recurrent(&spec, &weights, None, None).value().to_vec()
        };
        let (dirty, clean) = (run(&x), run(&x0));
        let half = dirty.len() / 2;
        assert!(dirty[..half].iter().all(|v| v.is_nan()), "{activation:?}: sample 0 {:?}", &dirty[..half]);
        assert_eq!(bits(&dirty[half..]), bits(&clean[half..]), "{activation:?}: sample 1");
    }
}
