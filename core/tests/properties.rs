//! Property tests of the core kernels (proptest): broadcasting and its adjoint, reshape round
//! trips, and the GEMM against a naive triple loop on random, strided and transposed operands.

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
