//! Regression metrics (MSE, RMSE, MAE, MAPE, R²), streaming as sums in f64.
//!
//! Every metric keeps the same [`Sums`]: count, Σ err², Σ |err|, Σ |err| / max(|y|, ε), and the
//! running mean and sum of squared deviations of `y_true` (Welford), so the result after any
//! split into batches equals the one-shot value up to floating-point rounding.
//!
//! The same six numbers are the state of [`Metric::state`]. Merging two metrics is not a plain
//! addition for the last two: the means and squared deviations of two parts combine by Chan et
//! al.'s pairwise formula (`m2 = m2_a + m2_b + δ² n_a n_b / n`, δ the difference of the means),
//! which keeps R² accurate where `Σ y²` − `(Σ y)² / n` would cancel.

use kensho_core::{Result, Tensor};

use crate::{input, state, Metric};

/// Keras' epsilon, the floor of `|y_true|` in MAPE.
const EPSILON: f64 = 1e-7;

/// Sufficient statistics of the regression metrics.
#[derive(Debug, Clone, Default)]
struct Sums {
    n: f64,
    sq_err: f64,
    abs_err: f64,
    pct_err: f64,
    mean_y: f64,
    m2_y: f64,
}

impl Sums {
    fn add(&mut self, y: &[f32], p: &[f32]) {
        for (&y, &p) in y.iter().zip(p) {
            let (y, p) = (y as f64, p as f64);
            let err = y - p;
            self.n += 1.0;
            self.sq_err += err * err;
            self.abs_err += err.abs();
            self.pct_err += err.abs() / y.abs().max(EPSILON);
            let delta = y - self.mean_y;
            self.mean_y += delta / self.n;
            self.m2_y += delta * (y - self.mean_y);
        }
    }

    /// `[n, sq_err, abs_err, pct_err, mean_y, m2_y]`.
    fn to_state(&self) -> Vec<f64> {
        vec![self.n, self.sq_err, self.abs_err, self.pct_err, self.mean_y, self.m2_y]
    }

    /// Merges a state of [`Sums::to_state`]: the count and the error sums add; the mean and
    /// squared deviations of `y_true` combine by Chan et al.'s pairwise formula.
    fn merge_state(&mut self, metric: &str, state: &[f64]) -> Result<()> {
        state::check_len(metric, state, 6)?;
        let &[n, sq_err, abs_err, pct_err, mean_y, m2_y] = state else { unreachable!("length checked") };
        state::check_counts(metric, &[n])?;
        for v in [sq_err, abs_err, pct_err, m2_y] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(state::bad_value(metric, v, "a finite sum >= 0"));
            }
        }
        if !mean_y.is_finite() {
            return Err(state::bad_value(metric, mean_y, "a finite mean"));
        }
        if n == 0.0 {
            return Ok(());
        }
        let total = self.n + n;
        let delta = mean_y - self.mean_y;
        self.mean_y += delta * n / total;
        self.m2_y += m2_y + delta * delta * self.n * n / total;
        self.n = total;
        self.sq_err += sq_err;
        self.abs_err += abs_err;
        self.pct_err += pct_err;
        Ok(())
    }

    fn mean(&self, sum: f64) -> f64 {
        if self.n == 0.0 {
            0.0
        } else {
            sum / self.n
        }
    }

    /// scikit-learn's `r2_score` with `force_finite=True`: constant `y_true` gives 1.0 for a
    /// perfect fit and 0.0 otherwise.
    fn r2(&self) -> f64 {
        if self.n == 0.0 {
            0.0
        } else if self.m2_y == 0.0 {
            if self.sq_err == 0.0 {
                1.0
            } else {
                0.0
            }
        } else {
            1.0 - self.sq_err / self.m2_y
        }
    }
}

macro_rules! regression_metric {
    ($ty:ident, $name:literal, $func:ident, $value:expr, $doc:literal, $example:literal) => {
        #[doc = concat!($doc, ", name \"", $name, "\".\n\n`y_true` and `y_pred` hold the same number of values (any shapes, e.g. `[n]` and `[n, 1]`).\n\n```\nuse kensho_core::Tensor;\nuse kensho_metrics::{Metric, ", stringify!($ty), "};\n\nlet mut m = ", stringify!($ty), "::new();\nm.update(&Tensor::from_vec(vec![1.0, 2.0], &[2])?, &Tensor::from_vec(vec![1.5, 2.0], &[2])?)?;\nm.update(&Tensor::from_vec(vec![4.0], &[1])?, &Tensor::from_vec(vec![3.0], &[1])?)?;\nassert!((m.result() - ", $example, ").abs() < 1e-5);\n# Ok::<(), kensho_metrics::Error>(())\n```")]
        #[derive(Debug, Clone, Default)]
        pub struct $ty {
            sums: Sums,
        }

        impl $ty {
            /// An empty metric.
            pub fn new() -> Self {
                Self::default()
            }
        }

        impl Metric for $ty {
            fn name(&self) -> &str {
                $name
            }

            fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) -> Result<()> {
                let (y, p) = input::flat_pair($name, y_true, y_pred)?;
                self.sums.add(&y, &p);
                Ok(())
            }

            fn result(&self) -> f32 {
                let value: fn(&Sums) -> f64 = $value;
                value(&self.sums) as f32
            }

            fn reset(&mut self) {
                self.sums = Sums::default();
            }

            fn config(&self) -> Option<crate::MetricConfig> {
                Some(crate::MetricConfig::$ty)
            }

            /// `[n, Σ err², Σ |err|, Σ |err| / max(|y|, ε), mean(y), Σ (y − mean(y))²]`: merging
            /// adds the first four and combines the last two by Chan et al.'s pairwise formula.
            fn state(&self) -> Vec<f64> {
                self.sums.to_state()
            }

            fn merge_state(&mut self, state: &[f64]) -> Result<()> {
                self.sums.merge_state($name, state)
            }
        }

        #[doc = concat!($doc, " of one batch (one-shot [`", stringify!($ty), "`]).\n\n# Errors\nValues counts that differ, empty input, or NaN / infinite values.")]
        pub fn $func(y_true: &Tensor, y_pred: &Tensor) -> Result<f32> {
            let mut m = $ty::new();
            m.update(y_true, y_pred)?;
            Ok(m.result())
        }
    };
}

regression_metric!(
    MeanSquaredError,
    "mse",
    mean_squared_error,
    |s| s.mean(s.sq_err),
    "Mean squared error `mean((y - p)²)`",
    "(1.25 / 3.0)"
);
regression_metric!(
    RootMeanSquaredError,
    "rmse",
    root_mean_squared_error,
    |s| s.mean(s.sq_err).sqrt(),
    "Root mean squared error `sqrt(mean((y - p)²))` over all samples (not a mean of batch roots)",
    "(1.25f32 / 3.0).sqrt()"
);
regression_metric!(
    MeanAbsoluteError,
    "mae",
    mean_absolute_error,
    |s| s.mean(s.abs_err),
    "Mean absolute error `mean(|y - p|)`",
    "0.5"
);
regression_metric!(
    MeanAbsolutePercentageError,
    "mape",
    mean_absolute_percentage_error,
    |s| 100.0 * s.mean(s.pct_err),
    "Mean absolute percentage error as Keras, in percent: `100 · mean(|y - p| / max(|y|, 1e-7))`",
    "(100.0 * 0.75 / 3.0)"
);
regression_metric!(
    R2Score,
    "r2_score",
    r2_score,
    Sums::r2,
    "Coefficient of determination R² (scikit-learn's `r2_score`; constant `y_true` gives 1.0 for a perfect fit, else 0.0)",
    "(1.0 - 1.25 / (14.0 / 3.0))"
);
