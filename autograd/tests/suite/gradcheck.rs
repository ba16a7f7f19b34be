//! Every differentiable op against central finite differences (STYLE.md, "Test policy" 1).
//!
//! One table row per (op, shape) case, run through the public [`gradcheck`]: eps 1e-3, a
//! fixed-seed random projection of the output, `|analytic − numeric| ≤ 1e-3 + 1e-2·|numeric|`.
//! Each op has at least two shapes, among them a broadcast case for binary ops and a transposed
//! (non-contiguous) input. Inputs are sampled away from kinks. To add an op, add rows to the
//! table of its family; a failing row is named in the assertion message.

use kensho_autograd::{gradcheck, InputGrads, Var};
use kensho_core::{seeded_rng, Rng, Tensor};

/// The function under test: maps the input leaves to one output on the same tape.
type CaseFn = Box<dyn for<'t> Fn(&[Var<'t>]) -> Var<'t>>;

/// One row of the table.
struct Case {
    name: &'static str,
    inputs: Vec<Tensor>,
    f: CaseFn,
}

/// Builds a row (a function, so the closure gets the higher-ranked signature).
fn case(name: &'static str, inputs: Vec<Tensor>, f: impl for<'t> Fn(&[Var<'t>]) -> Var<'t> + 'static) -> Case {
    Case { name, inputs, f: Box::new(f) }
}

/// Runs every row and fails once, naming all failing rows.
fn run(cases: Vec<Case>) {
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort_unstable();
    let dup = names.windows(2).find(|w| w[0] == w[1]);
    assert!(dup.is_none(), "duplicate row name {dup:?}");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| gradcheck(&c.inputs, &c.f).err().map(|e| format!("row `{}`: {e}", c.name)))
        .collect();
    assert!(failures.is_empty(), "{} of {} rows failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// Seeded input generators.
struct Gen(Rng);

impl Gen {
    fn new(seed: u64) -> Gen {
        Gen(seeded_rng(seed))
    }

    /// Uniform in `[lo, hi)`.
    fn u(&mut self, shape: &[usize], lo: f32, hi: f32) -> Tensor {
        Tensor::rand_uniform(shape, lo, hi, &mut self.0)
    }

    /// Uniform in `[-1, 1)`.
    fn n(&mut self, shape: &[usize]) -> Tensor {
        self.u(shape, -1.0, 1.0)
    }

    /// Positive, in `[0.5, 2)` (for log, sqrt, powf, denominators).
    fn pos(&mut self, shape: &[usize]) -> Tensor {
        self.u(shape, 0.5, 2.0)
    }

    /// `|x|` in `[0.2, 1.5)` with a random sign: away from the kink at 0.
    fn nz(&mut self, shape: &[usize]) -> Tensor {
        let sign = self.n(shape);
        self.u(shape, 0.2, 1.5).zip_with(&sign, "sign", |m, s| if s < 0.0 { -m } else { m })
    }

    /// In `[-1.5, 1.5)` but at least 0.1 away from each of `edges` (edges ≥ 0.4 apart).
    fn avoiding(&mut self, shape: &[usize], edges: &[f32]) -> Tensor {
        self.u(shape, -1.5, 1.5).map(|v| {
            edges.iter().fold(v, |v, &e| {
                if (v - e).abs() < 0.1 {
                    if v < e {
                        v - 0.2
                    } else {
                        v + 0.2
                    }
                } else {
                    v
                }
            })
        })
    }

    /// Pairwise distinct values (at least 0.25 apart) in random order, for max and min.
    fn distinct(&mut self, shape: &[usize]) -> Tensor {
        let keys = self.n(&[shape.iter().product()]).to_vec();
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
        let mut values = vec![0.0; keys.len()];
        let half = keys.len() as f32 / 2.0;
        for (rank, &i) in order.iter().enumerate() {
            values[i] = (rank as f32 - half) * 0.25;
        }
        Tensor::from_vec(values, shape).expect("one value per element")
    }

    /// Two tensors whose elements are all pairwise distinct (for maximum and minimum).
    fn distinct_pair(&mut self, a: &[usize], b: &[usize]) -> (Tensor, Tensor) {
        let (na, nb) = (a.iter().product::<usize>(), b.iter().product::<usize>());
        let all = self.distinct(&[na + nb]);
        (all.slice_axis(0, 0, na).reshape_to(a), all.slice_axis(0, na, na + nb).reshape_to(b))
    }
}

/// The same values stored transposed: a strided, non-contiguous view (last two axes > 1).
fn strided(t: Tensor) -> Tensor {
    let v = t.transpose().to_contiguous().transpose();
    assert!(!v.is_contiguous(), "strided: shape {:?} gives a contiguous view", t.shape());
    assert_eq!(v, t);
    v
}

/// A constant on the tape of `v`.
fn constant<'t>(v: Var<'t>, t: &Tensor) -> Var<'t> {
    v.tape().constant(t.clone())
}

#[test]
fn strided_inputs_are_non_contiguous_and_equal() {
    let t = Gen::new(1).n(&[3, 4]);
    let s = strided(t.clone());
    assert!(t.is_contiguous() && !s.is_contiguous());
    assert_eq!(s.to_vec(), t.to_vec());
}

#[test]
fn gradcheck_rejects_a_wrong_backward_rule() {
    let x = Gen::new(2).n(&[2, 3]);
    // y = 2x, but the recorded rule claims dx = 3 dy.
    let err = gradcheck(std::slice::from_ref(&x), |v| {
        let value = v[0].value().mul_scalar(2.0);
        v[0].tape().record(value, &[v[0]], |dy, _| InputGrads::from_vec(vec![Some(dy.mul_scalar(3.0))]))
    })
    .expect_err("a wrong rule must be caught");
    assert_eq!(err.input, 0);
    assert!((err.analytic / err.numeric - 1.5).abs() < 0.01, "{err}");
    // A rule that forgets one input (gradient None) is caught too.
    let y = Gen::new(3).n(&[2, 3]);
    let err = gradcheck(&[x.clone(), y.clone()], |v| {
        let value = v[0].value().mul(&v[1].value());
        let b = v[0].value();
        v[0].tape().record(value, &[v[0], v[1]], move |dy, _| InputGrads::from_vec(vec![None, Some(dy.mul(&b))]))
    })
    .expect_err("a missing gradient must be caught");
    assert_eq!(err.input, 0);
    // The right rule passes.
    gradcheck(&[x], |v| {
        let value = v[0].value().mul_scalar(2.0);
        v[0].tape().record(value, &[v[0]], |dy, _| InputGrads::from_vec(vec![Some(dy.mul_scalar(2.0))]))
    })
    .unwrap();
}

#[test]
#[should_panic(expected = "row `deliberately wrong`")]
fn a_failing_row_is_named_in_the_message() {
    run(vec![
        case("right", vec![Gen::new(4).n(&[3])], |v| v[0].exp()),
        case("deliberately wrong", vec![Gen::new(5).n(&[3])], |v| {
            let value = v[0].value().exp();
            v[0].tape().record(value, &[v[0]], |dy, _| InputGrads::from_vec(vec![Some(dy.clone())]))
        }),
    ]);
}

#[test]
fn gradcheck_arith_binary() {
    let mut g = Gen::new(10);
    let (ma, mb) = g.distinct_pair(&[3, 4], &[3, 4]);
    let (mba, mbb) = g.distinct_pair(&[2, 1, 3], &[4, 1]);
    let (mta, mtb) = g.distinct_pair(&[4, 3], &[3]);
    let (na, nb) = g.distinct_pair(&[3, 4], &[4]);
    let (nta, ntb) = g.distinct_pair(&[3, 4], &[3, 1]);
    run(vec![
        case("add [3,4]+[3,4]", vec![g.n(&[3, 4]), g.n(&[3, 4])], |v| v[0].add(v[1])),
        case("add [3,4]+[4]", vec![g.n(&[3, 4]), g.n(&[4])], |v| v[0].add(v[1])),
        case("add [2,1,3]+[4,1]", vec![g.n(&[2, 1, 3]), g.n(&[4, 1])], |v| v[0].add(v[1])),
        case("add []+[2,3]", vec![g.n(&[]), g.n(&[2, 3])], |v| v[0].add(v[1])),
        case("add T[4,3]+[4,3]", vec![strided(g.n(&[4, 3])), g.n(&[4, 3])], |v| v[0].add(v[1])),
        case("add x+x", vec![g.n(&[2, 3])], |v| v[0].add(v[0])),
        case("sub [3,4]-[3,4]", vec![g.n(&[3, 4]), g.n(&[3, 4])], |v| v[0].sub(v[1])),
        case("sub [3,4]-[3,1]", vec![g.n(&[3, 4]), g.n(&[3, 1])], |v| v[0].sub(v[1])),
        case("sub [4]-[3,4]", vec![g.n(&[4]), g.n(&[3, 4])], |v| v[0].sub(v[1])),
        case("sub T[4,3]-T[4,3]", vec![strided(g.n(&[4, 3])), strided(g.n(&[4, 3]))], |v| v[0].sub(v[1])),
        case("mul [3,4]*[3,4]", vec![g.n(&[3, 4]), g.n(&[3, 4])], |v| v[0].mul(v[1])),
        case("mul [2,3,4]*[3,1]", vec![g.n(&[2, 3, 4]), g.n(&[3, 1])], |v| v[0].mul(v[1])),
        case("mul [1,4]*[3,1]", vec![g.n(&[1, 4]), g.n(&[3, 1])], |v| v[0].mul(v[1])),
        case("mul T[4,3]*[3]", vec![strided(g.n(&[4, 3])), g.n(&[3])], |v| v[0].mul(v[1])),
        case("mul x*x", vec![g.n(&[5])], |v| v[0].mul(v[0])),
        case("div [3,4]/[3,4]", vec![g.n(&[3, 4]), g.nz(&[3, 4]).map(|x| x * 1.5)], |v| v[0].div(v[1])),
        case("div [3,4]/[4]", vec![g.n(&[3, 4]), g.pos(&[4])], |v| v[0].div(v[1])),
        case("div [3]/[2,3]", vec![g.n(&[3]), g.pos(&[2, 3])], |v| v[0].div(v[1])),
        case("div T[4,3]/T[4,3]", vec![strided(g.n(&[4, 3])), strided(g.pos(&[4, 3]))], |v| v[0].div(v[1])),
        case("maximum [3,4]", vec![ma.clone(), mb.clone()], |v| v[0].maximum(v[1])),
        case("maximum [2,1,3] vs [4,1]", vec![mba.clone(), mbb.clone()], |v| v[0].maximum(v[1])),
        case("maximum T[4,3] vs [3]", vec![strided(mta.clone()), mtb.clone()], |v| v[0].maximum(v[1])),
        case("maximum [3,4] vs [4]", vec![na.clone(), nb.clone()], |v| v[0].maximum(v[1])),
        case("minimum [3,4]", vec![ma, mb], |v| v[0].minimum(v[1])),
        case("minimum [2,1,3] vs [4,1]", vec![mba, mbb], |v| v[0].minimum(v[1])),
        case("minimum T[4,3] vs [3]", vec![strided(mta), mtb], |v| v[0].minimum(v[1])),
        case("minimum [3,4] vs [3,1]", vec![nta, ntb], |v| v[0].minimum(v[1])),
        case("minimum [4] vs [3,4]", vec![nb, na], |v| v[0].minimum(v[1])),
    ]);
}

#[test]
fn gradcheck_arith_unary() {
    let mut g = Gen::new(11);
    run(vec![
        case("neg [5]", vec![g.n(&[5])], |v| v[0].neg()),
        case("neg T[3,4]", vec![strided(g.n(&[3, 4]))], |v| v[0].neg()),
        case("add_scalar [2,3]", vec![g.n(&[2, 3])], |v| v[0].add_scalar(0.7)),
        case("add_scalar T[3,4]", vec![strided(g.n(&[3, 4]))], |v| v[0].add_scalar(-2.5)),
        case("mul_scalar [2,3]", vec![g.n(&[2, 3])], |v| v[0].mul_scalar(-1.7)),
        case("mul_scalar T[3,4]", vec![strided(g.n(&[3, 4]))], |v| v[0].mul_scalar(0.3)),
        case("exp [2,3]", vec![g.n(&[2, 3])], |v| v[0].exp()),
        case("exp T[3,4]", vec![strided(g.u(&[3, 4], -2.0, 1.5))], |v| v[0].exp()),
        case("log [2,3]", vec![g.pos(&[2, 3])], |v| v[0].log()),
        case("log T[3,4]", vec![strided(g.u(&[3, 4], 0.3, 3.0))], |v| v[0].log()),
        case("sqrt [2,3]", vec![g.pos(&[2, 3])], |v| v[0].sqrt()),
        case("sqrt T[3,4]", vec![strided(g.u(&[3, 4], 0.3, 3.0))], |v| v[0].sqrt()),
        case("powf 2.5 [2,3]", vec![g.pos(&[2, 3])], |v| v[0].powf(2.5)),
        case("powf -1.5 T[3,4]", vec![strided(g.pos(&[3, 4]))], |v| v[0].powf(-1.5)),
        case("powf 3 [4]", vec![g.pos(&[4])], |v| v[0].powf(3.0)),
        case("abs [2,3]", vec![g.nz(&[2, 3])], |v| v[0].abs()),
        case("abs T[3,4]", vec![strided(g.nz(&[3, 4]))], |v| v[0].abs()),
        case("clip [-0.5,0.5] [4,5]", vec![g.avoiding(&[4, 5], &[-0.5, 0.5])], |v| v[0].clip(-0.5, 0.5)),
        case("clip [-1,0.2] T[3,4]", vec![strided(g.avoiding(&[3, 4], &[-1.0, 0.2]))], |v| v[0].clip(-1.0, 0.2)),
    ]);
}

#[test]
fn gradcheck_activation() {
    let mut g = Gen::new(12);
    let mask = Tensor::from_vec(vec![2.0, 0.0, 2.0, 2.0, 0.0, 2.0], &[2, 3]).unwrap();
    let mask_t = Tensor::from_fn(&[3, 4], |i| if (i[0] + i[1]) % 3 == 0 { 0.0 } else { 1.25 });
    run(vec![
        case("relu [2,3]", vec![g.nz(&[2, 3])], |v| v[0].relu()),
        case("relu T[3,4]", vec![strided(g.nz(&[3, 4]))], |v| v[0].relu()),
        case("leaky_relu 0.2 [2,3]", vec![g.nz(&[2, 3])], |v| v[0].leaky_relu(0.2)),
        case("leaky_relu 0.01 T[3,4]", vec![strided(g.nz(&[3, 4]))], |v| v[0].leaky_relu(0.01)),
        case("elu 1.0 [2,3]", vec![g.nz(&[2, 3])], |v| v[0].elu(1.0)),
        case("elu 0.7 T[3,4]", vec![strided(g.nz(&[3, 4]))], |v| v[0].elu(0.7)),
        case("sigmoid [2,3]", vec![g.u(&[2, 3], -3.0, 3.0)], |v| v[0].sigmoid()),
        case("sigmoid T[3,4]", vec![strided(g.u(&[3, 4], -3.0, 3.0))], |v| v[0].sigmoid()),
        case("tanh [2,3]", vec![g.u(&[2, 3], -2.0, 2.0)], |v| v[0].tanh()),
        case("tanh T[3,4]", vec![strided(g.u(&[3, 4], -2.0, 2.0))], |v| v[0].tanh()),
        case("gelu [2,3]", vec![g.u(&[2, 3], -3.0, 3.0)], |v| v[0].gelu()),
        case("gelu T[3,4]", vec![strided(g.u(&[3, 4], -3.0, 3.0))], |v| v[0].gelu()),
        case("silu [2,3]", vec![g.u(&[2, 3], -3.0, 3.0)], |v| v[0].silu()),
        case("silu T[3,4]", vec![strided(g.u(&[3, 4], -3.0, 3.0))], |v| v[0].silu()),
        case("softplus [2,3]", vec![g.u(&[2, 3], -3.0, 3.0)], |v| v[0].softplus()),
        case("softplus T[3,4]", vec![strided(g.u(&[3, 4], -3.0, 3.0))], |v| v[0].softplus()),
        case("softmax axis 1 [2,3]", vec![g.u(&[2, 3], -2.0, 2.0)], |v| v[0].softmax(1)),
        case("softmax axis 0 [4,3]", vec![g.u(&[4, 3], -2.0, 2.0)], |v| v[0].softmax(0)),
        case("softmax axis 1 [2,3,4]", vec![g.u(&[2, 3, 4], -2.0, 2.0)], |v| v[0].softmax(1)),
        case("softmax axis 1 T[4,5]", vec![strided(g.u(&[4, 5], -2.0, 2.0))], |v| v[0].softmax(1)),
        case("log_softmax axis 1 [2,3]", vec![g.u(&[2, 3], -2.0, 2.0)], |v| v[0].log_softmax(1)),
        case("log_softmax axis 0 [4,3]", vec![g.u(&[4, 3], -2.0, 2.0)], |v| v[0].log_softmax(0)),
        case("log_softmax axis 2 [2,3,4]", vec![g.u(&[2, 3, 4], -2.0, 2.0)], |v| v[0].log_softmax(2)),
        case("log_softmax axis 1 T[4,5]", vec![strided(g.u(&[4, 5], -2.0, 2.0))], |v| v[0].log_softmax(1)),
        case("mul_mask [2,3]", vec![g.n(&[2, 3])], move |v| v[0].mul_mask(mask.clone())),
        case("mul_mask T[3,4]", vec![strided(g.n(&[3, 4]))], move |v| v[0].mul_mask(mask_t.clone())),
    ]);
}

#[test]
fn gradcheck_reduce() {
    let mut g = Gen::new(13);
    run(vec![
        case("sum_axes [1] [3,4]", vec![g.n(&[3, 4])], |v| v[0].sum_axes(&[1], false)),
        case("sum_axes [1] keep [3,4]", vec![g.n(&[3, 4])], |v| v[0].sum_axes(&[1], true)),
        case("sum_axes [0,2] [2,3,4]", vec![g.n(&[2, 3, 4])], |v| v[0].sum_axes(&[0, 2], false)),
        case("sum_axes [0,2] keep [2,3,4]", vec![g.n(&[2, 3, 4])], |v| v[0].sum_axes(&[0, 2], true)),
        case("sum_axes [0] T[3,4]", vec![strided(g.n(&[3, 4]))], |v| v[0].sum_axes(&[0], false)),
        case("mean_axes [1] [3,4]", vec![g.n(&[3, 4])], |v| v[0].mean_axes(&[1], false)),
        case("mean_axes [0,1] keep [2,3,4]", vec![g.n(&[2, 3, 4])], |v| v[0].mean_axes(&[0, 1], true)),
        case("mean_axes [0] keep T[3,4]", vec![strided(g.n(&[3, 4]))], |v| v[0].mean_axes(&[0], true)),
        case("sum_all [2,3]", vec![g.n(&[2, 3])], |v| v[0].sum_all()),
        case("sum_all T[3,4]", vec![strided(g.n(&[3, 4]))], |v| v[0].sum_all()),
        case("mean_all [2,3,4]", vec![g.n(&[2, 3, 4])], |v| v[0].mean_all()),
        case("mean_all T[3,4]", vec![strided(g.n(&[3, 4]))], |v| v[0].mean_all()),
        case("max_axes [1] [3,4]", vec![g.distinct(&[3, 4])], |v| v[0].max_axes(&[1], false)),
        case("max_axes [0,2] keep [2,3,4]", vec![g.distinct(&[2, 3, 4])], |v| v[0].max_axes(&[0, 2], true)),
        case("max_axes [0] T[3,4]", vec![strided(g.distinct(&[3, 4]))], |v| v[0].max_axes(&[0], false)),
        case("max_axes all [2,3]", vec![g.distinct(&[2, 3])], |v| v[0].max_axes(&[0, 1], false)),
        case("min_axes [1] [3,4]", vec![g.distinct(&[3, 4])], |v| v[0].min_axes(&[1], false)),
        case("min_axes [1,2] keep [2,3,4]", vec![g.distinct(&[2, 3, 4])], |v| v[0].min_axes(&[1, 2], true)),
        case("min_axes [1] T[3,4]", vec![strided(g.distinct(&[3, 4]))], |v| v[0].min_axes(&[1], true)),
        case("var_axes [1] [3,4]", vec![g.n(&[3, 4])], |v| v[0].var_axes(&[1], false)),
        case("var_axes [0,2] keep [2,3,4]", vec![g.n(&[2, 3, 4])], |v| v[0].var_axes(&[0, 2], true)),
        case("var_axes [0] T[3,4]", vec![strided(g.n(&[3, 4]))], |v| v[0].var_axes(&[0], false)),
    ]);
}

#[test]
fn gradcheck_shape() {
    let mut g = Gen::new(14);
    run(vec![
        case("reshape [2,6]->[3,4]", vec![g.n(&[2, 6])], |v| v[0].reshape(&[3, 4])),
        case("reshape [2,3,4]->[24]", vec![g.n(&[2, 3, 4])], |v| v[0].reshape(&[24])),
        case("reshape T[3,4]->[2,6]", vec![strided(g.n(&[3, 4]))], |v| v[0].reshape(&[2, 6])),
        case("permute [2,0,1] [2,3,4]", vec![g.n(&[2, 3, 4])], |v| v[0].permute(&[2, 0, 1])),
        case("permute [1,0] T[3,4]", vec![strided(g.n(&[3, 4]))], |v| v[0].permute(&[1, 0])),
        case("permute [0,2,1] then mul", vec![g.n(&[2, 3, 4]), g.n(&[4, 3])], |v| v[0].permute(&[0, 2, 1]).mul(v[1])),
        case("transpose [3,4]", vec![g.n(&[3, 4])], |v| v[0].transpose()),
        case("transpose [2,3,4]", vec![g.n(&[2, 3, 4])], |v| v[0].transpose()),
        case("transpose T[3,4]", vec![strided(g.n(&[3, 4]))], |v| v[0].transpose()),
        case("broadcast_to [3]->[2,4,3]", vec![g.n(&[3])], |v| v[0].broadcast_to(&[2, 4, 3])),
        case("broadcast_to [3,1]->[3,5]", vec![g.n(&[3, 1])], |v| v[0].broadcast_to(&[3, 5])),
        case("broadcast_to []->[2,2]", vec![g.n(&[])], |v| v[0].broadcast_to(&[2, 2])),
        case("broadcast_to T[3,4]->[2,3,4]", vec![strided(g.n(&[3, 4]))], |v| v[0].broadcast_to(&[2, 3, 4])),
        case("slice_axis 0 1..3 [4,3]", vec![g.n(&[4, 3])], |v| v[0].slice_axis(0, 1, 3)),
        case("slice_axis 2 0..2 [2,3,4]", vec![g.n(&[2, 3, 4])], |v| v[0].slice_axis(2, 0, 2)),
        case("slice_axis 1 2..4 T[3,5]", vec![strided(g.n(&[3, 5]))], |v| v[0].slice_axis(1, 2, 4)),
        case("index_select 0 repeats [4,3]", vec![g.n(&[4, 3])], |v| v[0].index_select(0, &[2, 0, 2, 3, 2])),
        case("index_select 1 repeats [2,3,4]", vec![g.n(&[2, 3, 4])], |v| v[0].index_select(1, &[1, 1, 0])),
        case("index_select 0 T[3,4]", vec![strided(g.n(&[3, 4]))], |v| v[0].index_select(0, &[1, 1, 2])),
        case("index_select 1 T[3,4]", vec![strided(g.n(&[3, 4]))], |v| v[0].index_select(1, &[3, 0, 3])),
        case("concat 0 [2,3]+[1,3]+[3,3]", vec![g.n(&[2, 3]), g.n(&[1, 3]), g.n(&[3, 3])], |v| {
            Var::concat(&[v[0], v[1], v[2]], 0)
        }),
        case("concat 1 T[3,4]+[3,2]", vec![strided(g.n(&[3, 4])), g.n(&[3, 2])], |v| Var::concat(&[v[0], v[1]], 1)),
        case("concat 2 [2,3,1]+[2,3,2]", vec![g.n(&[2, 3, 1]), g.n(&[2, 3, 2])], |v| Var::concat(&[v[0], v[1]], 2)),
        case("concat x with itself", vec![g.n(&[2, 3])], |v| Var::concat(&[v[0], v[0]], 1)),
        case("concat with a constant", vec![g.n(&[2, 3])], |v| {
            Var::concat(&[constant(v[0], &Tensor::ones(&[2, 3])), v[0]], 0)
        }),
        case("squeeze 1 [3,1,4]", vec![g.n(&[3, 1, 4])], |v| v[0].squeeze(1)),
        case("squeeze 0 [1,5]", vec![g.n(&[1, 5])], |v| v[0].squeeze(0)),
        case("squeeze 1 T[2,1,3,4]", vec![strided(g.n(&[2, 1, 3, 4]))], |v| v[0].squeeze(1)),
        case("unsqueeze 0 [3,4]", vec![g.n(&[3, 4])], |v| v[0].unsqueeze(0)),
        case("unsqueeze 2 T[3,4]", vec![strided(g.n(&[3, 4]))], |v| v[0].unsqueeze(2)),
        case("unsqueeze 1 [5]", vec![g.n(&[5])], |v| v[0].unsqueeze(1)),
    ]);
}

#[test]
fn gradcheck_matmul() {
    let mut g = Gen::new(15);
    run(vec![
        case("matmul [3,4]x[4,5]", vec![g.n(&[3, 4]), g.n(&[4, 5])], |v| v[0].matmul(v[1])),
        case("matmul [1,4]x[4,1]", vec![g.n(&[1, 4]), g.n(&[4, 1])], |v| v[0].matmul(v[1])),
        case("matmul batched [2,3,4]x[2,4,5]", vec![g.n(&[2, 3, 4]), g.n(&[2, 4, 5])], |v| v[0].matmul(v[1])),
        case("matmul broadcast [2,3,4]x[4,5]", vec![g.n(&[2, 3, 4]), g.n(&[4, 5])], |v| v[0].matmul(v[1])),
        case("matmul broadcast [3,4]x[2,4,5]", vec![g.n(&[3, 4]), g.n(&[2, 4, 5])], |v| v[0].matmul(v[1])),
        case("matmul broadcast [2,1,3,4]x[3,4,2]", vec![g.n(&[2, 1, 3, 4]), g.n(&[3, 4, 2])], |v| v[0].matmul(v[1])),
        case("matmul T[3,4]x[4,5]", vec![strided(g.n(&[3, 4])), g.n(&[4, 5])], |v| v[0].matmul(v[1])),
        case("matmul [3,4]xT[4,5]", vec![g.n(&[3, 4]), strided(g.n(&[4, 5]))], |v| v[0].matmul(v[1])),
        case("matmul T[3,4]xT[4,5]", vec![strided(g.n(&[3, 4])), strided(g.n(&[4, 5]))], |v| v[0].matmul(v[1])),
        case("matmul T[2,3,4]x[4,2]", vec![strided(g.n(&[2, 3, 4])), g.n(&[4, 2])], |v| v[0].matmul(v[1])),
        case("matmul A x A^T", vec![g.n(&[3, 4])], |v| v[0].matmul(v[0].transpose())),
        case("linear [5,4]x[4,3]+[3]", vec![g.n(&[5, 4]), g.n(&[4, 3]), g.n(&[3])], |v| v[0].linear(v[1], v[2])),
        case("linear T[6,2]xT[2,3]+[3]", vec![strided(g.n(&[6, 2])), strided(g.n(&[2, 3])), g.n(&[3])], |v| {
            v[0].linear(v[1], v[2])
        }),
    ]);
}

#[test]
fn gradcheck_losses() {
    let mut g = Gen::new(16);
    let probs = g.u(&[4, 3], -1.0, 1.0).softmax(1);
    let probs_wide = g.u(&[3, 5], -1.0, 1.0).softmax(1);
    let unnormalised = g.u(&[2, 4], 0.0, 1.0);
    let bce = g.u(&[3, 4], 0.0, 1.0);
    let bce_t = g.u(&[4, 3], 0.0, 1.0);
    let binary = Tensor::from_fn(&[2, 5], |i| ((i[0] + 2 * i[1]) % 2) as f32);
    let probs_1 = g.u(&[5], -1.0, 1.0).softmax(0);
    let probs_3 = g.u(&[2, 3, 4], -1.0, 1.0).softmax(2);
    let probs_3t = g.u(&[2, 4, 3], -1.0, 1.0).softmax(2);
    let bce_1 = g.u(&[5], 0.0, 1.0);
    let bce_3 = g.u(&[2, 3, 4], 0.0, 1.0);
    run(vec![
        case("sparse_softmax_cross_entropy rank 1 [5]", vec![g.u(&[5], -2.0, 2.0)], |v| {
            v[0].sparse_softmax_cross_entropy(&[3])
        }),
        case("sparse_softmax_cross_entropy rank 3 [2,3,4]", vec![g.u(&[2, 3, 4], -2.0, 2.0)], |v| {
            v[0].sparse_softmax_cross_entropy(&[0, 3, 1, 2, 2, 3])
        }),
        case("sparse_softmax_cross_entropy rank 3 T[2,4,3]", vec![strided(g.u(&[2, 4, 3], -2.0, 2.0))], |v| {
            v[0].sparse_softmax_cross_entropy(&[2, 0, 1, 1, 0, 2, 2, 1])
        }),
        case("sparse_softmax_cross_entropy via softmax_logits [2,3,4]", vec![g.u(&[2, 3, 4], -2.0, 2.0)], |v| {
            let logits = v[0].softmax(2).softmax_logits().expect("softmax over the last axis");
            logits.sparse_softmax_cross_entropy(&[1, 1, 0, 3, 2, 0])
        }),
        case("softmax_cross_entropy rank 1 [5]", vec![g.u(&[5], -2.0, 2.0)], move |v| {
            v[0].softmax_cross_entropy(&probs_1)
        }),
        case("softmax_cross_entropy rank 3 [2,3,4]", vec![g.u(&[2, 3, 4], -2.0, 2.0)], move |v| {
            v[0].softmax_cross_entropy(&probs_3)
        }),
        case("softmax_cross_entropy rank 3 T[2,4,3]", vec![strided(g.u(&[2, 4, 3], -2.0, 2.0))], move |v| {
            v[0].softmax_cross_entropy(&probs_3t)
        }),
        case("sigmoid_cross_entropy rank 1 [5]", vec![g.u(&[5], -3.0, 3.0)], move |v| {
            v[0].sigmoid_cross_entropy(&bce_1)
        }),
        case("sigmoid_cross_entropy rank 3 [2,3,4]", vec![g.u(&[2, 3, 4], -3.0, 3.0)], move |v| {
            v[0].sigmoid_cross_entropy(&bce_3)
        }),
        case("sparse_softmax_cross_entropy [4,3]", vec![g.u(&[4, 3], -2.0, 2.0)], |v| {
            v[0].sparse_softmax_cross_entropy(&[0, 2, 1, 2])
        }),
        case("sparse_softmax_cross_entropy T[3,5]", vec![strided(g.u(&[3, 5], -2.0, 2.0))], |v| {
            v[0].sparse_softmax_cross_entropy(&[4, 0, 4])
        }),
        case("sparse_softmax_cross_entropy mean [1,6]", vec![g.u(&[1, 6], -2.0, 2.0)], |v| {
            v[0].sparse_softmax_cross_entropy(&[3]).mean_all()
        }),
        case("softmax_cross_entropy [4,3]", vec![g.u(&[4, 3], -2.0, 2.0)], move |v| v[0].softmax_cross_entropy(&probs)),
        case("softmax_cross_entropy T[3,5]", vec![strided(g.u(&[3, 5], -2.0, 2.0))], move |v| {
            v[0].softmax_cross_entropy(&probs_wide)
        }),
        case("softmax_cross_entropy unnormalised [2,4]", vec![g.u(&[2, 4], -2.0, 2.0)], move |v| {
            v[0].softmax_cross_entropy(&unnormalised).mean_all()
        }),
        case("sigmoid_cross_entropy [3,4]", vec![g.u(&[3, 4], -3.0, 3.0)], move |v| v[0].sigmoid_cross_entropy(&bce)),
        case("sigmoid_cross_entropy T[4,3]", vec![strided(g.u(&[4, 3], -3.0, 3.0))], move |v| {
            v[0].sigmoid_cross_entropy(&bce_t)
        }),
        case("sigmoid_cross_entropy binary [2,5]", vec![g.nz(&[2, 5]).mul_scalar(2.0)], move |v| {
            v[0].sigmoid_cross_entropy(&binary).mean_all()
        }),
    ]);
}

#[test]
fn gradcheck_compositions() {
    let mut g = Gen::new(17);
    run(vec![
        case("dense tanh", vec![g.n(&[5, 4]), g.n(&[4, 3]), g.n(&[3])], |v| v[0].matmul(v[1]).add(v[2]).tanh()),
        case("layer norm", vec![g.n(&[3, 6])], |v| {
            let centered = v[0].sub(v[0].mean_axes(&[1], true));
            centered.div(v[0].var_axes(&[1], true).add_scalar(1e-3).sqrt())
        }),
        case("attention scores", vec![g.n(&[2, 3, 4]), g.n(&[2, 3, 4])], |v| {
            v[0].matmul(v[1].transpose()).mul_scalar(0.5).softmax(2)
        }),
        case("logsumexp by hand", vec![g.n(&[3, 4])], |v| v[0].exp().sum_axes(&[1], false).log()),
    ]);
}

#[test]
fn gradcheck_pool() {
    use kensho_core::{Padding::Same, Pool1dOptions as P1, Pool2dOptions as P2};
    let mut g = Gen::new(18);
    let s2 = P2::new([3, 3]).strides([2, 2]).padding(Same);
    let overlap = P2::new([2, 3]).strides([1, 2]);
    let s1 = P2::new([2, 2]).strides([1, 1]).padding(Same);
    let wide = P2::new([2, 3]).strides([1, 2]).padding(Same);
    let p1 = P1::new(3).strides(2).padding(Same);
    run(vec![
        case("max_pool2d 2x2 [2,4,4,3]", vec![g.distinct(&[2, 4, 4, 3])], |v| v[0].max_pool2d(P2::new([2, 2]))),
        case("max_pool2d 3x3 s2 same [1,5,7,2]", vec![g.distinct(&[1, 5, 7, 2])], move |v| v[0].max_pool2d(s2)),
        case("max_pool2d 2x3 s1x2 overlap [2,5,6,2]", vec![g.distinct(&[2, 5, 6, 2])], move |v| {
            v[0].max_pool2d(overlap)
        }),
        case("max_pool2d 2x2 s1 same T[2,4,5,3]", vec![strided(g.distinct(&[2, 4, 5, 3]))], move |v| {
            v[0].max_pool2d(s1)
        }),
        case("avg_pool2d 2x2 [2,4,4,3]", vec![g.n(&[2, 4, 4, 3])], |v| v[0].avg_pool2d(P2::new([2, 2]))),
        case("avg_pool2d 3x3 s2 same [1,5,7,2]", vec![g.n(&[1, 5, 7, 2])], move |v| v[0].avg_pool2d(s2)),
        case("avg_pool2d 2x3 s1x2 same T[2,5,4,3]", vec![strided(g.n(&[2, 5, 4, 3]))], move |v| v[0].avg_pool2d(wide)),
        case("max_pool1d 3 s2 same [2,7,3]", vec![g.distinct(&[2, 7, 3])], move |v| v[0].max_pool1d(p1)),
        case("max_pool1d 2 T[2,6,4]", vec![strided(g.distinct(&[2, 6, 4]))], |v| v[0].max_pool1d(P1::new(2))),
        case("avg_pool1d 2 [2,6,3]", vec![g.n(&[2, 6, 3])], |v| v[0].avg_pool1d(P1::new(2))),
        case("avg_pool1d 3 s2 same T[2,7,4]", vec![strided(g.n(&[2, 7, 4]))], move |v| v[0].avg_pool1d(p1)),
        case("pad2d [2,3,4,2]", vec![g.n(&[2, 3, 4, 2])], |v| v[0].pad2d([[1, 2], [0, 1]])),
        case("pad2d T[1,3,4,2]", vec![strided(g.n(&[1, 3, 4, 2]))], |v| v[0].pad2d([[0, 1], [2, 2]])),
        case("crop2d [2,4,5,2]", vec![g.n(&[2, 4, 5, 2])], |v| v[0].crop2d([[1, 0], [1, 2]])),
        case("crop2d T[1,4,5,3]", vec![strided(g.n(&[1, 4, 5, 3]))], |v| v[0].crop2d([[1, 1], [0, 1]])),
        case("upsample2d 2x2 [2,2,3,2]", vec![g.n(&[2, 2, 3, 2])], |v| v[0].upsample2d([2, 2])),
        case("upsample2d 1x3 T[1,3,4,2]", vec![strided(g.n(&[1, 3, 4, 2]))], |v| v[0].upsample2d([1, 3])),
        case("global max pool [2,3,4,2]", vec![g.distinct(&[2, 3, 4, 2])], |v| v[0].max_axes(&[1, 2], false)),
        case("global avg pool T[2,3,4,2]", vec![strided(g.n(&[2, 3, 4, 2]))], |v| v[0].mean_axes(&[1, 2], false)),
    ]);
}

#[test]
fn gradcheck_conv() {
    use kensho_core::{Conv1dOptions as C1, Conv2dOptions as C2, Padding::Same};
    let mut g = Gen::new(19);
    let frozen = g.n(&[3, 3, 2, 2]);
    let s2_same = C2::default().strides([2, 2]).padding(Same);
    let s2 = C2::default().strides([2, 2]);
    run(vec![
        case("conv2d 3x3 valid [2,5,5,2]x[3,3,2,3]", vec![g.n(&[2, 5, 5, 2]), g.n(&[3, 3, 2, 3])], |v| {
            v[0].conv2d(v[1], &C2::default())
        }),
        case("conv2d stride 2 same [1,6,5,2]x[3,3,2,2]", vec![g.n(&[1, 6, 5, 2]), g.n(&[3, 3, 2, 2])], move |v| {
            v[0].conv2d(v[1], &s2_same)
        }),
        case("conv2d dilation 2 [1,6,6,2]x[2,2,2,3]", vec![g.n(&[1, 6, 6, 2]), g.n(&[2, 2, 2, 3])], |v| {
            v[0].conv2d(v[1], &C2::default().dilation([2, 2]))
        }),
        case("conv2d groups 2 same [1,4,5,4]x[3,2,2,4]", vec![g.n(&[1, 4, 5, 4]), g.n(&[3, 2, 2, 4])], |v| {
            v[0].conv2d(v[1], &C2::default().groups(2).padding(Same))
        }),
        case("conv2d depthwise x2 [1,5,4,3]x[3,3,1,6]", vec![g.n(&[1, 5, 4, 3]), g.n(&[3, 3, 1, 6])], |v| {
            v[0].conv2d(v[1], &C2::default().groups(3))
        }),
        case("conv2d 1x1 [2,3,3,4]x[1,1,4,2]", vec![g.n(&[2, 3, 3, 4]), g.n(&[1, 1, 4, 2])], |v| {
            v[0].conv2d(v[1], &C2::default())
        }),
        case("conv2d T[1,4,5,3]xT[2,2,3,2]", vec![strided(g.n(&[1, 4, 5, 3])), strided(g.n(&[2, 2, 3, 2]))], |v| {
            v[0].conv2d(v[1], &C2::default().padding(Same))
        }),
        case(
            "conv2d_bias 3x3 valid [2,5,5,2]x[3,3,2,3]+[3]",
            vec![g.n(&[2, 5, 5, 2]), g.n(&[3, 3, 2, 3]), g.n(&[3])],
            |v| v[0].conv2d_bias(v[1], v[2], &C2::default()),
        ),
        case(
            "conv2d_bias 1x1 T[2,3,3,4]x[1,1,4,2]+[2]",
            vec![strided(g.n(&[2, 3, 3, 4])), g.n(&[1, 1, 4, 2]), g.n(&[2])],
            |v| v[0].conv2d_bias(v[1], v[2], &C2::default()),
        ),
        case(
            "conv2d_bias_relu same [2,5,4,2]x[3,3,2,3]+[3]",
            vec![g.n(&[2, 5, 4, 2]), g.n(&[3, 3, 2, 3]), g.n(&[3])],
            |v| v[0].conv2d_bias_relu(v[1], v[2], &C2::default().padding(Same)),
        ),
        case("conv2d input only, frozen kernel", vec![g.n(&[1, 4, 4, 2])], move |v| {
            v[0].conv2d(constant(v[0], &frozen), &C2::default())
        }),
        case("conv1d stride 2 same [2,7,3]x[3,3,2]", vec![g.n(&[2, 7, 3]), g.n(&[3, 3, 2])], |v| {
            v[0].conv1d(v[1], &C1 { strides: 2, padding: Same, ..C1::default() })
        }),
        case("conv1d dilation 2 groups 2 T[2,6,4]", vec![strided(g.n(&[2, 6, 4])), g.n(&[2, 2, 4])], |v| {
            v[0].conv1d(v[1], &C1 { dilation: 2, groups: 2, ..C1::default() })
        }),
        case(
            "conv2d_transpose stride 2 same [1,3,3,2]x[3,3,3,2]",
            vec![g.n(&[1, 3, 3, 2]), g.n(&[3, 3, 3, 2])],
            move |v| v[0].conv2d_transpose(v[1], &s2_same, None),
        ),
        case(
            "conv2d_transpose stride 2 output_padding [2,2,3,2]x[2,3,2,2]",
            vec![g.n(&[2, 2, 3, 2]), g.n(&[2, 3, 2, 2])],
            move |v| v[0].conv2d_transpose(v[1], &s2, Some([1, 0])),
        ),
        case(
            "conv2d_transpose groups 2 T[1,3,4,4]x[2,2,1,4]",
            vec![strided(g.n(&[1, 3, 4, 4])), g.n(&[2, 2, 1, 4])],
            |v| v[0].conv2d_transpose(v[1], &C2::default().groups(2).dilation([1, 2]), None),
        ),
        case("conv1d_transpose stride 2 same [2,4,3]x[3,2,3]", vec![g.n(&[2, 4, 3]), g.n(&[3, 2, 3])], |v| {
            v[0].conv1d_transpose(v[1], &C1 { strides: 2, padding: Same, ..C1::default() }, None)
        }),
    ]);
}
