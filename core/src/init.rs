//! Weight initializers with Keras' names and formulas, and the parameter budget that keeps a
//! model file from making [`Initializer::init`] allocate more than the file holds.
//!
//! `fan_in` and `fan_out` follow Keras: for a kernel of shape `[in, out]` they are `in` and `out`;
//! for a convolution kernel the receptive field size multiplies both.
//!
//! Every weight a layer creates in `build` goes through [`Initializer::init`], which checks the
//! shape's element count (no overflow, at most what one buffer can hold) and, inside
//! [`with_parameter_budget`], counts it against a limit before allocating. Loading a model file
//! sets the limit to what the file holds, so an architecture that asks for a
//! `[784, 100000000000]` kernel fails with an error instead of aborting the process.

use crate::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;

/// The active budget of this thread: values still allowed, and what the limit stands for.
struct Budget {
    left: usize,
    source: String,
}

thread_local! {
    static BUDGET: RefCell<Option<Budget>> = const { RefCell::new(None) };
}

/// Runs `f` with at most `limit` values (f32 elements, all weights together) allowed to
/// [`Initializer::init`] on this thread; a weight beyond it is an [`Error::InvalidArgument`]
/// naming the weight, its shape, its size and `source` (what the limit stands for and what to
/// do, e.g. "the 1200 values that model.safetensors holds: the file is corrupt"), and is not
/// allocated.
///
/// The budget is per thread and scoped: it ends when `f` returns (or unwinds), and an outer
/// budget is restored then; inside a nested call the smaller of the two applies. Loaders of
/// model files use it so that building the saved architecture cannot allocate more than the file
/// can fill. Outside it, `init` has no limit beyond the checked shape product.
///
/// ```
/// use kensho_core::{init::with_parameter_budget, seeded_rng, Initializer};
/// let mut rng = seeded_rng(0);
/// let small = with_parameter_budget(10, "the test's 10 values", || {
///     Initializer::GlorotUniform.init("dense.kernel", &[2, 3], 2, 3, &mut rng)
/// });
/// assert!(small.is_ok());
/// let big = with_parameter_budget(10, "the test's 10 values", || {
///     Initializer::GlorotUniform.init("dense.kernel", &[784, 1000], 784, 1000, &mut rng)
/// });
/// let message = big.unwrap_err().to_string();
/// assert!(message.contains("dense.kernel") && message.contains("[784, 1000]"), "{message}");
/// ```
pub fn with_parameter_budget<T>(limit: usize, source: &str, f: impl FnOnce() -> T) -> T {
    /// Puts the outer budget back when the scope ends, also on unwinding.
    struct Restore(Option<Budget>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            BUDGET.with(|b| *b.borrow_mut() = outer);
        }
    }
    let outer = BUDGET.with(|b| b.borrow_mut().take());
    let inner = match &outer {
        Some(o) if o.left < limit => Budget { left: o.left, source: o.source.clone() },
        _ => Budget { left: limit, source: source.to_string() },
    };
    BUDGET.with(|b| *b.borrow_mut() = Some(inner));
    let _restore = Restore(outer);
    f()
}

/// Takes `count` values of `name` (shape `shape`) from the active budget, if any.
fn charge(name: &str, shape: &[usize], count: usize) -> Result<()> {
    BUDGET.with(|b| match b.borrow_mut().as_mut() {
        Some(budget) if count > budget.left => Err(Error::invalid(
            format!("weight \"{name}\""),
            format!("a {shape:?} tensor ({count} values, {:.1e})", count as f64),
            format!("at most {} more values: the weights must fit in {}", budget.left, budget.source),
        )),
        Some(budget) => {
            budget.left -= count;
            Ok(())
        }
        None => Ok(()),
    })
}

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
    /// A tensor of `shape` filled by this initializer, for the weight `name` (such as
    /// `dense.kernel`; used in error messages only).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the weight if the shape's element count overflows or
    /// exceeds what one buffer can hold, if it exceeds the [`with_parameter_budget`] in force,
    /// or if the initializer's own numbers are unusable (a negative or non-finite standard
    /// deviation, non-finite bounds). Nothing is allocated then.
    pub fn init(&self, name: &str, shape: &[usize], fan_in: usize, fan_out: usize, rng: &mut Rng) -> Result<Tensor> {
        let count = Tensor::element_count(shape)
            .map_err(|e| Error::invalid(format!("weight \"{name}\" shape"), e, "a shape whose size fits in memory"))?;
        self.check(name)?;
        charge(name, shape, count)?;
        Ok(self.fill(shape, fan_in, fan_out, rng))
    }

    /// Refuses numbers the fill cannot use (they could come from a file).
    fn check(&self, name: &str) -> Result<()> {
        let bad = |what: &str, value: String, expected: &str| {
            Err(Error::invalid(format!("weight \"{name}\" initializer {what}"), value, expected))
        };
        match *self {
            Initializer::Constant(v) if !v.is_finite() => bad("Constant value", v.to_string(), "a finite number"),
            Initializer::RandomUniform { min, max } if !(min.is_finite() && max.is_finite()) => {
                bad("RandomUniform bounds", format!("[{min}, {max})"), "finite bounds")
            }
            Initializer::RandomNormal { mean, std } if !(mean.is_finite() && std.is_finite() && std >= 0.0) => {
                bad("RandomNormal", format!("mean {mean}, std {std}"), "a finite mean and a finite std >= 0")
            }
            Initializer::Orthogonal { gain } if !gain.is_finite() => {
                bad("Orthogonal gain", gain.to_string(), "a finite number")
            }
            _ => Ok(()),
        }
    }

    /// The fill itself, on a shape whose size was checked.
    fn fill(&self, shape: &[usize], fan_in: usize, fan_out: usize, rng: &mut Rng) -> Tensor {
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
        let g = Initializer::GlorotUniform.init("g", &[n], 100, 200, &mut rng).unwrap();
        let limit = (6.0f32 / 300.0).sqrt();
        assert!(g.to_vec().iter().all(|v| v.abs() <= limit));
        assert!((std_of(&g) - limit / 3f32.sqrt()).abs() < 0.01 * limit);
        let h = Initializer::HeNormal.init("h", &[n], 50, 10, &mut rng).unwrap();
        assert!((std_of(&h) - (2.0f32 / 50.0).sqrt()).abs() < 0.01);
        let l = Initializer::LecunUniform.init("l", &[n], 30, 10, &mut rng).unwrap();
        assert!((std_of(&l) - (1.0f32 / 30.0).sqrt()).abs() < 0.01);
        assert_eq!(Initializer::Constant(0.5).init("c", &[2], 1, 1, &mut rng).unwrap().to_vec(), vec![0.5, 0.5]);
    }

    #[test]
    fn orthogonal_matrices_have_orthonormal_rows_or_columns() {
        let mut rng = crate::seeded_rng(1);
        for (shape, gain) in [([3, 12], 1.0), ([12, 3], 2.0), ([5, 5], 1.0)] {
            let q = Initializer::Orthogonal { gain }.init("q", &shape, 0, 0, &mut rng).unwrap();
            // The Gram matrix of the fewer side is gain^2 I.
            let gram = if shape[0] <= shape[1] { q.matmul(&q.transpose()) } else { q.transpose().matmul(&q) };
            let n = shape[0].min(shape[1]);
            let want = Tensor::eye(n).mul_scalar(gain * gain);
            assert!(gram.allclose(&want, 1e-5, 1e-5), "{shape:?}: {gram:?}");
        }
    }

    #[test]
    fn shapes_whose_size_overflows_are_errors_naming_the_weight() {
        let mut rng = crate::seeded_rng(2);
        for shape in [vec![1usize << 62, 4], vec![usize::MAX, 2], vec![1 << 40, 1 << 40]] {
            let err = Initializer::Zeros.init("dense.kernel", &shape, 1, 1, &mut rng).unwrap_err().to_string();
            assert!(err.contains("dense.kernel") && err.contains(&format!("{shape:?}")), "{err}");
        }
    }

    #[test]
    fn the_budget_refuses_before_allocating_and_ends_with_its_scope() {
        let mut rng = crate::seeded_rng(3);
        // 10^11 units: without the budget this would try to allocate 400 GB and abort.
        let huge = [784, 100_000_000_000];
        let err = with_parameter_budget(1_000, "the 1000 values that m.safetensors holds", || {
            Initializer::GlorotUniform.init("dense.kernel", &huge, 784, 100_000_000_000, &mut rng)
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("dense.kernel") && err.contains("[784, 100000000000]"), "{err}");
        assert!(err.contains("7.8e13") && err.contains("m.safetensors"), "{err}");
        // The budget is shared by all weights of the scope.
        let both = with_parameter_budget(10, "ten", || {
            let a = Initializer::Ones.init("a", &[6], 1, 1, &mut rng);
            let b = Initializer::Ones.init("b", &[6], 1, 1, &mut rng);
            (a.is_ok(), b.is_err())
        });
        assert_eq!(both, (true, true));
        // A nested scope cannot raise the outer limit; the outer one is back after it.
        let nested = with_parameter_budget(10, "outer", || {
            let inner = with_parameter_budget(1_000, "inner", || Initializer::Ones.init("x", &[20], 1, 1, &mut rng));
            (inner.is_err(), Initializer::Ones.init("y", &[10], 1, 1, &mut rng).is_ok())
        });
        assert_eq!(nested, (true, true));
        // No scope: no limit but the shape check.
        assert!(Initializer::Ones.init("z", &[1000], 1, 1, &mut rng).is_ok());
    }

    #[test]
    fn unusable_initializer_numbers_are_errors() {
        let mut rng = crate::seeded_rng(4);
        let bad = [
            Initializer::RandomNormal { mean: 0.0, std: -1.0 },
            Initializer::RandomNormal { mean: f32::NAN, std: 1.0 },
            Initializer::RandomUniform { min: 1.0, max: f32::INFINITY },
            Initializer::Constant(f32::NAN),
        ];
        for init in bad {
            assert!(init.init("w", &[2], 1, 1, &mut rng).is_err(), "{init:?}");
        }
    }
}
