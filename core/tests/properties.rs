//! Property tests of the core kernels (proptest): broadcasting and its adjoint, reshape round
//! trips, and the GEMM against a naive triple loop on random, strided and transposed operands;
//! every broadcasting binary op, permutes (and reshapes of permuted views) and every reduction
//! against plain loops over multi-indices on random shapes of rank 1 to 4.

use kensho_core::Tensor;
use proptest::prelude::*;

/// A tensor of the given shape with values from a seed.
fn tensor(shape: &[usize], seed: u64) -> Tensor {
    Tensor::rand_uniform(shape, -1.0, 1.0, &mut kensho_core::seeded_rng(seed))
}

/// `Σ a ⊙ b` in f64.
fn dot(a: &Tensor, b: &Tensor) -> f64 {
    a.to_vec().iter().zip(b.to_vec()).map(|(&x, y)| f64::from(x) * f64::from(y)).sum()
}

fn naive_matmul(a: &Tensor, b: &Tensor) -> Vec<f32> {
    let (m, k, n) = (a.shape()[0], a.shape()[1], b.shape()[1]);
    let (av, bv) = (a.to_vec(), b.to_vec());
    let mut c = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|p| av[i * k + p] * bv[p * n + j]).sum();
        }
    }
    c
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// ⟨broadcast_to(x), y⟩ = ⟨x, sum_to(y)⟩ for every shape x that broadcasts to y's shape.
    #[test]
    fn broadcast_and_sum_to_are_adjoint(dims in proptest::collection::vec(1usize..5, 1..4), mask in 0u8..16, lead in 0usize..2, seed in 0u64..1000) {
        let target: Vec<usize> = std::iter::repeat_n(3, lead).chain(dims.iter().copied()).collect();
        let small: Vec<usize> = dims.iter().enumerate().map(|(i, &d)| if mask >> i & 1 == 1 { 1 } else { d }).collect();
        let x = tensor(&small, seed);
        let y = tensor(&target, seed + 1);
        let lhs = dot(&x.broadcast_to(&target), &y);
        let rhs = dot(&x, &y.sum_to(&small));
        prop_assert!((lhs - rhs).abs() <= 1e-4 * (1.0 + lhs.abs()), "{lhs} vs {rhs}");
    }

    /// Reshaping there and back gives the same tensor, also from a transposed view.
    #[test]
    fn reshape_round_trips(rows in 1usize..7, cols in 1usize..7, seed in 0u64..1000) {
        let x = tensor(&[rows, cols], seed);
        let flat = x.reshape(&[-1]).unwrap();
        prop_assert_eq!(flat.reshape(&[rows as isize, -1]).unwrap(), x.clone());
        let t = x.transpose();
        prop_assert_eq!(t.reshape(&[-1]).unwrap().reshape(&[cols as isize, rows as isize]).unwrap(), t.to_contiguous());
    }

    /// The GEMM equals a triple loop on random shapes, with either operand transposed (strided).
    #[test]
    fn matmul_matches_the_triple_loop(m in 1usize..40, k in 1usize..40, n in 1usize..40, ta: bool, tb: bool, seed in 0u64..1000) {
        let a = if ta { tensor(&[k, m], seed).transpose() } else { tensor(&[m, k], seed) };
        let b = if tb { tensor(&[n, k], seed + 1).transpose() } else { tensor(&[k, n], seed + 1) };
        let want = Tensor::from_vec(naive_matmul(&a.to_contiguous(), &b.to_contiguous()), &[m, n]).unwrap();
        prop_assert!(a.matmul(&b).allclose(&want, 1e-4, 1e-5));
    }
}

// ---- Plain-loop references over multi-indices --------------------------------------------------

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut st = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        st[i] = st[i + 1] * shape[i + 1];
    }
    st
}

/// The multi-index of flat position `flat` in `shape` (row-major).
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for i in (0..shape.len()).rev() {
        idx[i] = flat % shape[i];
        flat /= shape[i];
    }
    idx
}

/// The flat position in an operand of shape `shape` that broadcasts to the output multi-index
/// `out` (aligned on the right; size-1 axes read index 0).
fn broadcast_source(out: &[usize], shape: &[usize]) -> usize {
    let skip = out.len() - shape.len();
    shape.iter().zip(&out[skip..]).zip(strides(shape)).map(|((&d, &i), st)| if d == 1 { 0 } else { i * st }).sum()
}

/// NumPy's broadcast shape of two compatible shapes.
fn broadcast_shape(a: &[usize], b: &[usize]) -> Vec<usize> {
    let n = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| if i + s.len() >= n { s[i + s.len() - n] } else { 1 };
    (0..n).map(|i| dim(a, i).max(dim(b, i))).collect()
}

/// `f` applied by the broadcasting rules, one output element at a time.
fn reference_binary(a: &Tensor, b: &Tensor, f: fn(f32, f32) -> f32) -> (Vec<usize>, Vec<f32>) {
    let shape = broadcast_shape(a.shape(), b.shape());
    let (av, bv) = (a.to_contiguous().to_vec(), b.to_contiguous().to_vec());
    let len = shape.iter().product();
    let out = (0..len)
        .map(|flat| {
            let idx = unravel(flat, &shape);
            f(av[broadcast_source(&idx, a.shape())], bv[broadcast_source(&idx, b.shape())])
        })
        .collect();
    (shape, out)
}

/// A tensor of `shape`, built either directly or as the transpose (last two axes) of a
/// contiguous tensor, so that it is a non-contiguous view.
fn maybe_transposed(shape: &[usize], transposed: bool, seed: u64) -> Tensor {
    if !transposed || shape.len() < 2 {
        return tensor(shape, seed);
    }
    let mut swapped = shape.to_vec();
    let n = swapped.len();
    swapped.swap(n - 2, n - 1);
    tensor(&swapped, seed).transpose()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The inverse permutation.
fn inverse(p: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; p.len()];
    for (i, &a) in p.iter().enumerate() {
        inv[a] = i;
    }
    inv
}

/// A random shape of rank 1 to 4 and a permutation of its axes.
fn shape_and_permutation() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    proptest::collection::vec(1usize..5, 1..5).prop_flat_map(|shape| {
        let axes: Vec<usize> = (0..shape.len()).collect();
        (Just(shape), Just(axes).prop_shuffle())
    })
}

/// A reference reduction of one lane, in f64.
type Reference<'a> = &'a dyn Fn(&[f32]) -> f64;

/// The binary ops of the public API and their scalar definitions.
#[allow(clippy::type_complexity)]
const BINARY_OPS: [(&str, fn(&Tensor, &Tensor) -> Tensor, fn(f32, f32) -> f32); 11] = [
    ("add", Tensor::add, |a, b| a + b),
    ("sub", Tensor::sub, |a, b| a - b),
    ("mul", Tensor::mul, |a, b| a * b),
    ("div", Tensor::div, |a, b| a / b),
    ("maximum", Tensor::maximum, f32::max),
    ("minimum", Tensor::minimum, f32::min),
    ("gt", Tensor::gt, |a, b| f32::from(u8::from(a > b))),
    ("ge", Tensor::ge, |a, b| f32::from(u8::from(a >= b))),
    ("lt", Tensor::lt, |a, b| f32::from(u8::from(a < b))),
    ("le", Tensor::le, |a, b| f32::from(u8::from(a <= b))),
    ("eq_mask", Tensor::eq_mask, |a, b| f32::from(u8::from(a == b))),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Every broadcasting binary op equals the plain loop bit for bit, both operand orders, on
    /// random shapes of rank 1 to 4 where each operand may drop leading axes, have size-1 axes
    /// and be a transposed (strided) view. 128 cases, 11 ops, 2 orders each.
    #[test]
    fn binary_ops_match_the_broadcasting_loop(
        full in proptest::collection::vec(1usize..5, 1..5),
        drop_a in 0usize..4, drop_b in 0usize..4, ones_a in 0u8..16, ones_b in 0u8..16,
        ta: bool, tb: bool, equal_values: bool, seed in 0u64..1000,
    ) {
        let operand = |drop: usize, ones: u8| -> Vec<usize> {
            let drop = drop.min(full.len() - 1);
            full[drop..].iter().enumerate().map(|(i, &d)| if ones >> i & 1 == 1 { 1 } else { d }).collect()
        };
        let (sa, sb) = (operand(drop_a, ones_a), operand(drop_b, ones_b));
        let a = maybe_transposed(&sa, ta, seed);
        // Sometimes the same values on both sides, so that the comparisons meet ties.
        let b = if equal_values && sa == sb { a.clone() } else { maybe_transposed(&sb, tb, seed + 1) };
        for (name, op, f) in BINARY_OPS {
            for (x, y) in [(&a, &b), (&b, &a)] {
                let (shape, want) = reference_binary(x, y, f);
                let got = op(x, y);
                prop_assert_eq!(got.shape(), shape.as_slice(), "{} {:?} {:?}", name, x.shape(), y.shape());
                prop_assert_eq!(bits(&got.to_vec()), bits(&want), "{} {:?} {:?}", name, x.shape(), y.shape());
            }
        }
    }

    /// Permuting by `p` gives `y[j] = x[k]` with `k[p[i]] = j[i]` (a plain loop); permuting back
    /// by `p`'s inverse gives `x` bit for bit; reshaping the permuted (non-contiguous) view to
    /// one axis and to `[first, rest]` reads it in row-major order. Ranks 1 to 4, 128 cases.
    #[test]
    fn permute_round_trips_and_reshapes_in_row_major_order((shape, p) in shape_and_permutation(), seed in 0u64..1000) {
        let x = tensor(&shape, seed);
        let xv = x.to_vec();
        let y = x.permute(&p);
        let y_shape: Vec<usize> = p.iter().map(|&a| shape[a]).collect();
        prop_assert_eq!(y.shape(), y_shape.as_slice());
        let st = strides(&shape);
        let want: Vec<f32> = (0..xv.len())
            .map(|flat| {
                let j = unravel(flat, &y_shape);
                xv[p.iter().zip(&j).map(|(&a, &ji)| ji * st[a]).sum::<usize>()]
            })
            .collect();
        prop_assert_eq!(bits(&y.to_vec()), bits(&want));
        let back = y.permute(&inverse(&p));
        prop_assert_eq!(back.shape(), x.shape());
        prop_assert_eq!(bits(&back.to_vec()), bits(&xv));
        prop_assert_eq!(bits(&y.reshape(&[-1]).unwrap().to_vec()), bits(&want));
        let first = y_shape[0] as isize;
        let split = y.reshape(&[first, -1]).unwrap();
        prop_assert_eq!(split.shape(), &[y_shape[0], xv.len() / y_shape[0]][..]);
        prop_assert_eq!(bits(&split.to_vec()), bits(&want));
        prop_assert_eq!(bits(&y.reshape_to(&y_shape).to_contiguous().to_vec()), bits(&want));
    }

    /// Sum, mean, max, min and variance over a random subset of axes (the empty set included),
    /// with and without keepdims, and argmax / softmax / log-softmax along one axis, against
    /// plain loops over multi-indices, on contiguous and transposed inputs of rank 1 to 4.
    /// Max, min and argmax (first maximum) must agree exactly; sums to 1e-5 relative to Σ|x|
    /// (the summation order differs). 128 cases.
    #[test]
    fn reductions_match_plain_loops(
        shape in proptest::collection::vec(1usize..5, 1..5), mask in 0u8..16, keepdims: bool,
        transposed: bool, axis_pick in 0usize..4, seed in 0u64..1000,
    ) {
        let x = maybe_transposed(&shape, transposed, seed);
        let xv = x.to_vec();
        let axes: Vec<usize> = (0..shape.len()).filter(|&i| mask >> i & 1 == 1).collect();
        let reduced = |i: usize| axes.contains(&i);
        let out_shape: Vec<usize> = (0..shape.len()).map(|i| if reduced(i) { 1 } else { shape[i] }).collect();
        // Every output element's lane: the input positions mapped to it.
        let out_len: usize = out_shape.iter().product();
        let mut lanes: Vec<Vec<f32>> = vec![Vec::new(); out_len];
        let out_st = strides(&out_shape);
        for (flat, &v) in xv.iter().enumerate() {
            let idx = unravel(flat, &shape);
            let o: usize = idx.iter().enumerate().map(|(i, &j)| if reduced(i) { 0 } else { j * out_st[i] }).sum();
            lanes[o].push(v);
        }
        let kept: Vec<usize> = if keepdims {
            out_shape.clone()
        } else {
            (0..shape.len()).filter(|&i| !reduced(i)).map(|i| shape[i]).collect()
        };
        let sum_ref = |l: &[f32]| l.iter().map(|&v| f64::from(v)).sum::<f64>();
        let scale = |l: &[f32]| 1e-5 * (1.0 + l.iter().map(|&v| f64::from(v.abs())).sum::<f64>());
        let checks: [(&str, Tensor, Reference, bool); 5] = [
            ("sum", x.sum_axes(&axes, keepdims), &sum_ref, false),
            ("mean", x.mean_axes(&axes, keepdims), &|l| sum_ref(l) / l.len() as f64, false),
            ("max", x.max_axes(&axes, keepdims), &|l| f64::from(l.iter().copied().fold(f32::NEG_INFINITY, f32::max)), true),
            ("min", x.min_axes(&axes, keepdims), &|l| f64::from(l.iter().copied().fold(f32::INFINITY, f32::min)), true),
            ("var", x.var_axes(&axes, keepdims), &|l| {
                let m = sum_ref(l) / l.len() as f64;
                l.iter().map(|&v| (f64::from(v) - m).powi(2)).sum::<f64>() / l.len() as f64
            }, false),
        ];
        for (name, got, reference, exact) in checks {
            prop_assert_eq!(got.shape(), kept.as_slice(), "{} over {:?} of {:?}", name, axes, shape);
            for (o, (lane, &g)) in lanes.iter().zip(&got.to_vec()).enumerate() {
                let want = reference(lane);
                let ok = if exact { g == want as f32 } else { (f64::from(g) - want).abs() <= scale(lane) };
                prop_assert!(ok, "{} over {:?} of {:?}, output {}: {} vs {}", name, axes, shape, o, g, want);
            }
        }
        prop_assert!((f64::from(x.sum_all()) - sum_ref(&xv)).abs() <= scale(&xv));
        prop_assert!((f64::from(x.mean_all()) - sum_ref(&xv) / xv.len() as f64).abs() <= scale(&xv));

        // One axis: argmax (first maximum), softmax and log-softmax lane by lane.
        let axis = axis_pick % shape.len();
        let rest: Vec<usize> = (0..shape.len()).filter(|&i| i != axis).map(|i| shape[i]).collect();
        let (arg, arg_f) = (x.argmax_indices(axis), x.argmax(axis));
        let (soft, log_soft) = (x.softmax(axis).to_vec(), x.log_softmax(axis).to_vec());
        prop_assert_eq!(arg_f.shape(), rest.as_slice());
        let st = strides(&shape);
        for (o, (&a, &af)) in arg.iter().zip(&arg_f.to_vec()).enumerate() {
            let mut idx = unravel(o, &rest);
            idx.insert(axis, 0);
            let base: usize = idx.iter().zip(&st).map(|(i, s)| i * s).sum();
            let lane: Vec<usize> = (0..shape[axis]).map(|k| base + k * st[axis]).collect();
            let first_max = (0..lane.len()).fold(0, |b, k| if xv[lane[k]] > xv[lane[b]] { k } else { b });
            prop_assert_eq!((a, af), (first_max, first_max as f32), "argmax along {} of {:?}", axis, shape);
            let m = f64::from(xv[lane[first_max]]);
            let z: f64 = lane.iter().map(|&i| (f64::from(xv[i]) - m).exp()).sum();
            for &i in &lane {
                let p = (f64::from(xv[i]) - m).exp() / z;
                prop_assert!((f64::from(soft[i]) - p).abs() <= 1e-6, "softmax {} vs {}", soft[i], p);
                prop_assert!((f64::from(log_soft[i]) - (p.ln())).abs() <= 1e-5, "log_softmax {} vs {}", log_soft[i], p.ln());
            }
        }
    }
}
