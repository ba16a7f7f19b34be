//! Randomly composed graphs against finite differences: each case draws a sequence of 3 to 6
//! differentiable ops (broadcasting add / sub / mul / div with a new operand, matmul, tanh,
//! sigmoid, exp, log of a positive value, relu away from its kink, softmax, log-softmax,
//! sum / mean over an axis, reshape, transpose, broadcast_to, concat, slice, a value used
//! twice) on a random `[m, n]` input (sometimes a transposed view), and checks the gradients of
//! every input with [`gradcheck`] (central differences, eps 1e-3, tolerance 1e-3 + 1e-2 rel.).
//!
//! The cases come from a seeded generator (no new dependency), so a failure names its seed and
//! the op sequence and reproduces exactly.

use kensho_autograd::{gradcheck, Tape, Var};
use kensho_core::{seeded_rng, Tensor};
use std::cell::Cell;

/// How a new operand broadcasts against the current `[m, n]` value.
#[derive(Debug, Clone, Copy)]
enum Operand {
    /// `[m, n]`.
    Full,
    /// `[n]` (a missing leading axis).
    Row,
    /// `[1, n]`.
    RowKept,
    /// `[m, 1]`.
    Column,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Add(Operand),
    Sub(Operand),
    Mul(Operand),
    /// By an operand in `[0.5, 1.5]`.
    Div(Operand),
    /// By a new `[n, k]` operand.
    MatMul(usize),
    Tanh,
    Sigmoid,
    /// `exp(tanh(h))`, bounded.
    ExpOfTanh,
    /// `log(h * h + 0.5)`: a value used twice, then the log of a positive value.
    LogOfSquare,
    /// Relu of a value at least 0.05 away from 0 (checked before the case runs).
    Relu,
    Softmax,
    LogSoftmax,
    Sum(usize),
    Mean(usize),
    /// `[m, n]` to `[n, m]` by reshape (not a transpose).
    Reshape,
    Transpose,
    /// `[1, n]` to `[rows, n]`.
    Broadcast(usize),
    /// `concat([h, tanh(h)], axis)`.
    ConcatWithTanh(usize),
    /// The first `len` rows.
    Slice(usize),
}

/// One op and the index of its operand among the inputs, if it takes one.
#[derive(Debug, Clone, Copy)]
struct Step {
    op: Op,
    operand: usize,
}

/// SplitMix64: the op choices of a case.
struct Choices(u64);

impl Choices {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

/// A case: the inputs (the first is the graph's input) and the steps.
fn generate(seed: u64) -> (Vec<Tensor>, Vec<Step>) {
    let mut pick = Choices(seed);
    let mut rng = seeded_rng(seed);
    let (mut m, mut n) = (1 + pick.below(3), 1 + pick.below(3));
    let x = if pick.below(2) == 0 {
        Tensor::rand_uniform(&[n, m], -1.0, 1.0, &mut rng).transpose()
    } else {
        Tensor::rand_uniform(&[m, n], -1.0, 1.0, &mut rng)
    };
    let mut inputs = vec![x];
    let mut steps = Vec::new();
    for _ in 0..3 + pick.below(4) {
        let operand = [Operand::Full, Operand::Row, Operand::RowKept, Operand::Column][pick.below(4)];
        let op = match pick.below(19) {
            0 => Op::Add(operand),
            1 => Op::Sub(operand),
            2 => Op::Mul(operand),
            3 => Op::Div(operand),
            4 => Op::MatMul(1 + pick.below(3)),
            5 => Op::Tanh,
            6 => Op::Sigmoid,
            7 => Op::ExpOfTanh,
            8 => Op::LogOfSquare,
            9 => Op::Relu,
            10 => Op::Softmax,
            11 => Op::LogSoftmax,
            12 => Op::Sum(pick.below(2)),
            13 => Op::Mean(pick.below(2)),
            14 => Op::Reshape,
            15 => Op::Transpose,
            16 if m == 1 => Op::Broadcast(2 + pick.below(2)),
            17 => Op::ConcatWithTanh(pick.below(2)),
            18 if m > 1 => Op::Slice(1 + pick.below(m - 1)),
            _ => Op::Tanh,
        };
        let (lo, hi) = if matches!(op, Op::Div(_)) { (0.5, 1.5) } else { (-1.0, 1.0) };
        let operand_index = inputs.len();
        match op {
            Op::Add(o) | Op::Sub(o) | Op::Mul(o) | Op::Div(o) => {
                let shape = match o {
                    Operand::Full => vec![m, n],
                    Operand::Row => vec![n],
                    Operand::RowKept => vec![1, n],
                    Operand::Column => vec![m, 1],
                };
                inputs.push(Tensor::rand_uniform(&shape, lo, hi, &mut rng));
            }
            Op::MatMul(k) => {
                inputs.push(Tensor::rand_uniform(&[n, k], -1.0, 1.0, &mut rng));
                n = k;
            }
            Op::Sum(a) | Op::Mean(a) => *[&mut m, &mut n][a] = 1,
            Op::Reshape | Op::Transpose => (m, n) = (n, m),
            Op::Broadcast(rows) => m = rows,
            Op::ConcatWithTanh(a) => *[&mut m, &mut n][a] *= 2,
            Op::Slice(len) => m = len,
            _ => {}
        }
        steps.push(Step { op, operand: operand_index });
    }
    (inputs, steps)
}

/// Runs the steps on the inputs; `relu_margin` (if given) receives the smallest |value| that
/// enters a relu.
fn build<'t>(steps: &[Step], v: &[Var<'t>], relu_margin: Option<&Cell<f32>>) -> Var<'t> {
    let mut h = v[0];
    for step in steps {
        let w = || v[step.operand];
        h = match step.op {
            Op::Add(_) => h.add(w()),
            Op::Sub(_) => w().sub(h),
            Op::Mul(_) => h.mul(w()),
            Op::Div(_) => h.div(w()),
            Op::MatMul(_) => h.matmul(w()),
            Op::Tanh => h.tanh(),
            Op::Sigmoid => h.sigmoid(),
            Op::ExpOfTanh => h.tanh().exp(),
            Op::LogOfSquare => h.mul(h).add_scalar(0.5).log(),
            Op::Relu => {
                if let Some(margin) = relu_margin {
                    let least = h.value().to_vec().iter().fold(f32::INFINITY, |a, v| a.min(v.abs()));
                    margin.set(margin.get().min(least));
                }
                h.relu()
            }
            Op::Softmax => h.softmax(1),
            Op::LogSoftmax => h.log_softmax(1),
            Op::Sum(a) => h.sum_axes(&[a], true),
            Op::Mean(a) => h.mean_axes(&[a], true),
            Op::Reshape => {
                let s = h.shape();
                h.reshape(&[s[1], s[0]])
            }
            Op::Transpose => h.transpose(),
            Op::Broadcast(rows) => {
                let n = h.shape()[1];
                h.broadcast_to(&[rows, n])
            }
            Op::ConcatWithTanh(a) => Var::concat(&[h, h.tanh()], a),
            Op::Slice(len) => h.slice_axis(0, 0, len),
        };
    }
    h
}

/// 96 random graphs of 3 to 6 ops (about 0.1 s in the test profile). A relu that would meet a
/// value within 0.05 of its kink is replaced by tanh before the check (finite differences are
/// meaningless across the kink).
#[test]
fn random_graphs_agree_with_finite_differences() {
    let (mut relus_kept, mut kinds) = (0, std::collections::BTreeSet::new());
    for seed in 0..96u64 {
        let (inputs, mut steps) = generate(seed);
        kinds.extend(steps.iter().map(|s| format!("{:?}", s.op).split('(').next().unwrap_or_default().to_string()));
        let margin = Cell::new(f32::INFINITY);
        let tape = Tape::no_grad();
        let vars: Vec<Var> = inputs.iter().map(|t| tape.constant(t.clone())).collect();
        build(&steps, &vars, Some(&margin));
        let has_relu = steps.iter().any(|s| matches!(s.op, Op::Relu));
        if margin.get() < 0.05 {
            steps.iter_mut().filter(|s| matches!(s.op, Op::Relu)).for_each(|s| s.op = Op::Tanh);
        } else if has_relu {
            relus_kept += 1;
        }
        let shapes: Vec<&[usize]> = inputs.iter().map(Tensor::shape).collect();
        gradcheck(&inputs, |v| build(&steps, v, None))
            .unwrap_or_else(|e| panic!("seed {seed}: {steps:?} on inputs {shapes:?}: {e}"));
    }
    assert!(relus_kept >= 5, "only {relus_kept} graphs kept a relu");
    assert_eq!(kinds.len(), 19, "every kind of op drawn at least once: {kinds:?}");
}
