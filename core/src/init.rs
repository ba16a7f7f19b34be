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
        }
    }
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
}
