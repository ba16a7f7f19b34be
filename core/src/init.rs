//! Weight initializers with Keras' names and formulas.
//!
//! `fan_in` and `fan_out` follow Keras: for a kernel of shape `[in, out]` they are `in` and `out`;
//! for a convolution kernel the receptive field size multiplies both.

use crate::{Rng, Tensor};
use serde::{Deserialize, Serialize};

/// How a parameter tensor is filled when a layer is built.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum Initializer {
    /// All zeros (Keras' default for biases).
    #[default]
    Zeros,
    /// All ones.
    Ones,
    /// Every element equal to the value.
    Constant(f32),
    /// Uniform on `[min, max)`.
    RandomUniform {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// Normal with the given mean and standard deviation.
    RandomNormal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        std: f32,
    },
    /// Uniform on `±sqrt(6 / (fan_in + fan_out))` (Keras' default for kernels).
    GlorotUniform,
    /// Truncated normal with std `sqrt(2 / (fan_in + fan_out))`.
    GlorotNormal,
    /// Uniform on `±sqrt(6 / fan_in)`.
    HeUniform,
    /// Truncated normal with std `sqrt(2 / fan_in)`.
    HeNormal,
    /// Uniform on `±sqrt(3 / fan_in)`.
    LecunUniform,
    /// Truncated normal with std `sqrt(1 / fan_in)`.
    LecunNormal,
    /// A random orthogonal matrix times `gain` (Keras' default for recurrent kernels): the
    /// tensor seen as `[prod(leading axes), last axis]` has orthonormal rows or columns,
    /// whichever are fewer.
    Orthogonal {
        /// Scale of the matrix (Keras' default 1).
        gain: f32,
    },
}

/// Keras divides the target std by this factor so the truncated normal keeps the variance
/// (the std of a unit normal truncated to ±2).
const TRUNCATED_STD: f32 = 0.879_625_7;

impl Initializer {
    /// A tensor of `shape` filled by this initializer.
    pub fn init(&self, shape: &[usize], fan_in: usize, fan_out: usize, rng: &mut Rng) -> Tensor {
        let (fi, fo) = (fan_in.max(1) as f32, fan_out.max(1) as f32);
        let uniform = |limit: f32, rng: &mut Rng| Tensor::rand_uniform(shape, -limit, limit, rng);
        let truncated = |std: f32, rng: &mut Rng| Tensor::rand_truncated_normal(shape, 0.0, std / TRUNCATED_STD, rng);
        match *self {
            Initializer::Zeros => Tensor::zeros(shape),
            Initializer::Ones => Tensor::ones(shape),
            Initializer::Constant(v) => Tensor::full(shape, v),
            Initializer::RandomUniform { min, max } => Tensor::rand_uniform(shape, min, max, rng),
            Initializer::RandomNormal { mean, std } => Tensor::rand_normal(shape, mean, std, rng),
            Initializer::GlorotUniform => uniform((6.0 / (fi + fo)).sqrt(), rng),
            Initializer::GlorotNormal => truncated((2.0 / (fi + fo)).sqrt(), rng),
            Initializer::HeUniform => uniform((6.0 / fi).sqrt(), rng),
            Initializer::HeNormal => truncated((2.0 / fi).sqrt(), rng),
            Initializer::LecunUniform => uniform((3.0 / fi).sqrt(), rng),
            Initializer::LecunNormal => truncated((1.0 / fi).sqrt(), rng),
            Initializer::Orthogonal { gain } => orthogonal(shape, gain, rng),
        }
    }

    /// [`Initializer::Orthogonal`] with Keras' default gain, 1.
    pub fn orthogonal() -> Initializer {
        Initializer::Orthogonal { gain: 1.0 }
    }
}

/// Keras' orthogonal initializer: a standard normal `[max(r, c), min(r, c)]` matrix made
/// orthonormal by QR (here modified Gram-Schmidt in f64, whose `R` has a positive diagonal, as
/// Keras makes it with `q * sign(diag(r))`), transposed if `r < c`, times `gain`.
fn orthogonal(shape: &[usize], gain: f32, rng: &mut Rng) -> Tensor {
    let cols = shape.last().copied().unwrap_or(1);
    let rows = shape.iter().product::<usize>() / cols.max(1);
    let (tall, narrow) = (rows.max(cols), rows.min(cols));
    let a = Tensor::rand_normal(&[narrow, tall], 0.0, 1.0, rng).to_vec();
    // q[j] is column j of the tall matrix, orthonormalized against the columns before it.
    let mut q: Vec<Vec<f64>> = a.chunks(tall.max(1)).map(|c| c.iter().map(|&v| f64::from(v)).collect()).collect();
    for j in 0..q.len() {
        let (done, rest) = q.split_at_mut(j);
        let v = &mut rest[0];
        for u in done.iter() {
            let dot: f64 = u.iter().zip(v.iter()).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(u).for_each(|(x, &u)| *x -= dot * u);
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
        v.iter_mut().for_each(|x| *x /= norm);
    }
    // Element (i, j) of the [rows, cols] result: the tall matrix at (i, j) or, if transposed, (j, i).
    let values = (0..rows * cols)
        .map(|k| {
            let (i, j) = (k / cols, k % cols);
            let v = if rows >= cols { q[j][i] } else { q[i][j] };
            v as f32 * gain
        })
        .collect();
    Tensor::from_vec(values, shape).expect("length matches shape")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_of(t: &Tensor) -> f32 {
        t.var_axes(&[0], false).item().sqrt()
    }

    #[test]
    fn variance_scaling_initializers_have_keras_spread() {
        let mut rng = crate::seeded_rng(0);
        let n = 40_000;
        let g = Initializer::GlorotUniform.init(&[n], 100, 200, &mut rng);
        let limit = (6.0f32 / 300.0).sqrt();
        assert!(g.to_vec().iter().all(|v| v.abs() <= limit));
        assert!((std_of(&g) - limit / 3f32.sqrt()).abs() < 0.01 * limit);
        let h = Initializer::HeNormal.init(&[n], 50, 10, &mut rng);
        assert!((std_of(&h) - (2.0f32 / 50.0).sqrt()).abs() < 0.01);
        let l = Initializer::LecunUniform.init(&[n], 30, 10, &mut rng);
        assert!((std_of(&l) - (1.0f32 / 30.0).sqrt()).abs() < 0.01);
        assert_eq!(Initializer::Constant(0.5).init(&[2], 1, 1, &mut rng).to_vec(), vec![0.5, 0.5]);
    }

    #[test]
    fn orthogonal_matrices_have_orthonormal_rows_or_columns() {
        let mut rng = crate::seeded_rng(1);
        for (shape, gain) in [([3, 12], 1.0), ([12, 3], 2.0), ([5, 5], 1.0)] {
            let q = Initializer::Orthogonal { gain }.init(&shape, 0, 0, &mut rng);
            // The Gram matrix of the fewer side is gain^2 I.
            let gram = if shape[0] <= shape[1] { q.matmul(&q.transpose()) } else { q.transpose().matmul(&q) };
            let n = shape[0].min(shape[1]);
            let want = Tensor::eye(n).mul_scalar(gain * gain);
            assert!(gram.allclose(&want, 1e-5, 1e-5), "{shape:?}: {gram:?}");
        }
    }
}
