//! Feature scaling with the scikit-learn `fit` / `transform` / `inverse_transform` protocol:
//! [`StandardScaler`], [`MinMaxScaler`] and [`Normalizer`], all on `[n, features]` tensors and
//! serde-serializable so that a fitted scaler can be saved next to a model.

use kensho_core::{Error, Result, Tensor};
use serde::{Deserialize, Serialize};

use crate::persist::CheckState;

/// The `fit` / `transform` protocol shared by the scalers (scikit-learn's transformer API).
///
/// Inputs are `[n, features]`. `transform` and `inverse_transform` return errors when called
/// before `fit` or with a feature count different from the one seen by `fit`.
pub trait Transformer {
    /// Learns the statistics of `x` `[n, features]`.
    ///
    /// # Errors
    /// `x` not of rank 2, or with no rows.
    fn fit(&mut self, x: &Tensor) -> Result<()>;

    /// Applies the learned transformation to `x` `[m, features]`.
    ///
    /// # Errors
    /// Not fitted yet, or a different number of features than at `fit`.
    fn transform(&self, x: &Tensor) -> Result<Tensor>;

    /// Undoes [`Transformer::transform`].
    ///
    /// # Errors
    /// Not fitted yet, a different number of features, or a transformation that cannot be undone.
    fn inverse_transform(&self, x: &Tensor) -> Result<Tensor>;

    /// `fit(x)` then `transform(x)`.
    ///
    /// # Errors
    /// As [`Transformer::fit`].
    fn fit_transform(&mut self, x: &Tensor) -> Result<Tensor> {
        self.fit(x)?;
        self.transform(x)
    }
}

/// The rows, features and row-major values of a 2-D input.
fn matrix(x: &Tensor, op: &str) -> Result<(usize, usize, Vec<f32>)> {
    match x.shape() {
        &[n, f] => Ok((n, f, x.to_vec())),
        s => Err(Error::shape(op, "a 2-D input [samples, features]", s)),
    }
}

fn fitted<'a, T>(state: &'a Option<T>, n_features: usize, x: &Tensor, op: &str) -> Result<&'a T> {
    let state =
        state.as_ref().ok_or_else(|| Error::invalid(op, "an unfitted scaler", "call fit (or fit_transform) first"))?;
    match x.shape() {
        &[_, f] if f == n_features => Ok(state),
        s => Err(Error::shape(op, format!("[samples, {n_features}] (the feature count seen by fit)"), s)),
    }
}

/// Applies `f(column, value)` to every element of a `[n, f]` input.
fn map_columns(x: &Tensor, op: &str, f: impl Fn(usize, f32) -> f32) -> Result<Tensor> {
    let (n, cols, mut v) = matrix(x, op)?;
    for row in v.chunks_mut(cols.max(1)) {
        row.iter_mut().enumerate().for_each(|(j, e)| *e = f(j, *e));
    }
    Tensor::from_vec(v, &[n, cols])
}

/// Per-column statistics in f64: (mean, population variance, min, max).
fn column_stats(x: &Tensor, op: &str) -> Result<Vec<(f64, f64, f32, f32)>> {
    let (n, cols, v) = matrix(x, op)?;
    if n == 0 {
        return Err(Error::shape(op, "at least one row to fit on", x.shape()));
    }
    Ok((0..cols)
        .map(|j| {
            let col = v.iter().skip(j).step_by(cols).copied();
            let mean = col.clone().map(f64::from).sum::<f64>() / n as f64;
            let var = col.clone().map(|e| (f64::from(e) - mean).powi(2)).sum::<f64>() / n as f64;
            let (lo, hi) = col.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), e| (lo.min(e), hi.max(e)));
            (mean, var, lo, hi)
        })
        .collect())
}

/// Per-feature `(offset, scale)` lists of one length, finite, with positive scales: what `fit`
/// produces, so that a loaded state can neither index out of bounds nor divide by zero.
fn check_pairs(state: &Option<(Vec<f32>, Vec<f32>)>, offset: &str) -> std::result::Result<(), String> {
    let Some((offsets, scales)) = state else { return Ok(()) };
    if offsets.len() != scales.len() {
        return Err(format!(
            "{} {offset} values but {} scales, expected one of each per feature",
            offsets.len(),
            scales.len()
        ));
    }
    if let Some(j) = offsets.iter().position(|v| !v.is_finite()) {
        return Err(format!("feature {j}: {offset} {}, expected a finite number", offsets[j]));
    }
    if let Some(j) = scales.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(format!("feature {j}: scale {}, expected a finite number above 0", scales[j]));
    }
    Ok(())
}

impl CheckState for StandardScaler {
    fn check_state(&self) -> std::result::Result<(), String> {
        check_pairs(&self.state, "mean")
    }
}

impl CheckState for MinMaxScaler {
    fn check_state(&self) -> std::result::Result<(), String> {
        let (lo, hi) = self.range;
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(format!("feature_range ({lo}, {hi}), expected finite min < max"));
        }
        check_pairs(&self.state, "data_min")
    }
}

impl CheckState for Normalizer {
    fn check_state(&self) -> std::result::Result<(), String> {
        Ok(())
    }
}

/// Standardizes features to zero mean and unit variance: `(x - mean) / std`.
///
/// As scikit-learn: `std` is the population standard deviation (divisor `n`), and a constant
/// column gets a scale of 1 (it becomes all zeros instead of NaN).
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_data::{StandardScaler, Transformer};
/// let x = Tensor::from_vec(vec![1.0, 10.0, 3.0, 10.0], &[2, 2])?;
/// let mut scaler = StandardScaler::new();
/// let z = scaler.fit_transform(&x)?;
/// assert_eq!(z.to_vec(), vec![-1.0, 0.0, 1.0, 0.0]);
/// assert_eq!(scaler.inverse_transform(&z)?.to_vec(), x.to_vec());
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct StandardScaler {
    /// Per-feature `(mean, scale)`, set by `fit`.
    state: Option<(Vec<f32>, Vec<f32>)>,
}

impl StandardScaler {
    /// An unfitted scaler.
    pub fn new() -> Self {
        Self::default()
    }

    /// The per-feature means (`None` before `fit`).
    pub fn mean(&self) -> Option<&[f32]> {
        self.state.as_ref().map(|s| s.0.as_slice())
    }

    /// The per-feature scales: standard deviations, 1 for constant features (`None` before `fit`).
    pub fn scale(&self) -> Option<&[f32]> {
        self.state.as_ref().map(|s| s.1.as_slice())
    }

    fn n_features(&self) -> usize {
        self.state.as_ref().map_or(0, |s| s.0.len())
    }
}

impl Transformer for StandardScaler {
    fn fit(&mut self, x: &Tensor) -> Result<()> {
        let stats = column_stats(x, "StandardScaler::fit")?;
        let mean = stats.iter().map(|s| s.0 as f32).collect();
        let scale = stats
            .iter()
            .map(|&(m, var, _, _)| {
                let std = var.sqrt();
                // scikit-learn treats a std within rounding noise of the mean's magnitude as zero
                if std <= 10.0 * f64::from(f32::EPSILON) * m.abs().max(f64::MIN_POSITIVE) {
                    1.0
                } else {
                    std as f32
                }
            })
            .collect();
        self.state = Some((mean, scale));
        Ok(())
    }

    fn transform(&self, x: &Tensor) -> Result<Tensor> {
        let (mean, scale) = fitted(&self.state, self.n_features(), x, "StandardScaler::transform")?;
        map_columns(x, "StandardScaler::transform", |j, v| (v - mean[j]) / scale[j])
    }

    fn inverse_transform(&self, x: &Tensor) -> Result<Tensor> {
        let (mean, scale) = fitted(&self.state, self.n_features(), x, "StandardScaler::inverse_transform")?;
        map_columns(x, "StandardScaler::inverse_transform", |j, v| v * scale[j] + mean[j])
    }
}

/// Rescales each feature linearly to `feature_range` (default `(0, 1)`), as scikit-learn's
/// `MinMaxScaler`; a constant feature maps to the low end of the range.
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_data::{MinMaxScaler, Transformer};
/// let x = Tensor::from_vec(vec![0.0, 5.0, 10.0], &[3, 1])?;
/// let mut scaler = MinMaxScaler::new().feature_range(-1.0, 1.0)?;
/// assert_eq!(scaler.fit_transform(&x)?.to_vec(), vec![-1.0, 0.0, 1.0]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MinMaxScaler {
    range: (f32, f32),
    /// Per-feature `(data_min, scale)`, set by `fit`.
    state: Option<(Vec<f32>, Vec<f32>)>,
}

impl Default for MinMaxScaler {
    fn default() -> Self {
        MinMaxScaler { range: (0.0, 1.0), state: None }
    }
}

impl MinMaxScaler {
    /// An unfitted scaler to `[0, 1]`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the target range `[min, max]`.
    ///
    /// # Errors
    /// `min >= max` or a non-finite bound.
    pub fn feature_range(mut self, min: f32, max: f32) -> Result<Self> {
        if !(min.is_finite() && max.is_finite() && min < max) {
            return Err(Error::invalid("MinMaxScaler: feature_range", format!("({min}, {max})"), "finite min < max"));
        }
        self.range = (min, max);
        self.state = None;
        Ok(self)
    }

    fn n_features(&self) -> usize {
        self.state.as_ref().map_or(0, |s| s.0.len())
    }
}

impl Transformer for MinMaxScaler {
    fn fit(&mut self, x: &Tensor) -> Result<()> {
        let stats = column_stats(x, "MinMaxScaler::fit")?;
        let width = self.range.1 - self.range.0;
        let data_min = stats.iter().map(|s| s.2).collect();
        let scale = stats.iter().map(|&(_, _, lo, hi)| if hi > lo { width / (hi - lo) } else { width }).collect();
        self.state = Some((data_min, scale));
        Ok(())
    }

    fn transform(&self, x: &Tensor) -> Result<Tensor> {
        let (lo, scale) = fitted(&self.state, self.n_features(), x, "MinMaxScaler::transform")?;
        map_columns(x, "MinMaxScaler::transform", |j, v| (v - lo[j]) * scale[j] + self.range.0)
    }

    fn inverse_transform(&self, x: &Tensor) -> Result<Tensor> {
        let (lo, scale) = fitted(&self.state, self.n_features(), x, "MinMaxScaler::inverse_transform")?;
        map_columns(x, "MinMaxScaler::inverse_transform", |j, v| (v - self.range.0) / scale[j] + lo[j])
    }
}

/// Scales each row (sample) to unit L2 norm, as scikit-learn's `Normalizer`; all-zero rows stay
/// zero. `fit` only records the feature count; `inverse_transform` is an error because the row
/// norms are not kept.
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_data::{Normalizer, Transformer};
/// let x = Tensor::from_vec(vec![3.0, 4.0, 0.0, 0.0], &[2, 2])?;
/// assert_eq!(Normalizer::new().fit_transform(&x)?.to_vec(), vec![0.6, 0.8, 0.0, 0.0]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Normalizer {
    n_features: Option<usize>,
}

impl Normalizer {
    /// An unfitted L2 normalizer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Transformer for Normalizer {
    fn fit(&mut self, x: &Tensor) -> Result<()> {
        let (_, f, _) = matrix(x, "Normalizer::fit")?;
        self.n_features = Some(f);
        Ok(())
    }

    fn transform(&self, x: &Tensor) -> Result<Tensor> {
        fitted(&self.n_features, self.n_features.unwrap_or(0), x, "Normalizer::transform")?;
        let (n, f, mut v) = matrix(x, "Normalizer::transform")?;
        for row in v.chunks_mut(f.max(1)) {
            let norm = row.iter().map(|&e| f64::from(e).powi(2)).sum::<f64>().sqrt() as f32;
            if norm > 0.0 {
                row.iter_mut().for_each(|e| *e /= norm);
            }
        }
        Tensor::from_vec(v, &[n, f])
    }

    fn inverse_transform(&self, _x: &Tensor) -> Result<Tensor> {
        Err(Error::invalid(
            "Normalizer::inverse_transform",
            "a call",
            "no call: the row norms are not kept, so L2 normalization cannot be undone",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_vec(v.to_vec(), shape).unwrap()
    }

    #[test]
    fn standard_scaler_matches_sklearn() {
        // sklearn.preprocessing.StandardScaler().fit([[1,2],[3,2],[8,2]]): mean_ [4, 2], scale_ [2.94392029, 1]
        let x = t(&[1.0, 2.0, 3.0, 2.0, 8.0, 2.0], &[3, 2]);
        let mut s = StandardScaler::new();
        let z = s.fit_transform(&x).unwrap();
        assert_eq!(s.mean().unwrap(), &[4.0, 2.0]);
        assert!((s.scale().unwrap()[0] - 2.943_920_3).abs() < 1e-6);
        assert_eq!(s.scale().unwrap()[1], 1.0);
        let expected = [-1.019_049_5, 0.0, -0.339_683_2, 0.0, 1.358_732_7, 0.0];
        z.to_vec().iter().zip(expected).for_each(|(a, b)| assert!((a - b).abs() < 1e-6, "{a} vs {b}"));
        assert!(s.inverse_transform(&z).unwrap().allclose(&x, 1e-6, 1e-6));
    }

    #[test]
    fn min_max_scaler_round_trips_and_handles_constant_columns() {
        let x = t(&[1.0, 5.0, 3.0, 5.0, 5.0, 5.0], &[3, 2]);
        let mut s = MinMaxScaler::new();
        assert_eq!(s.fit_transform(&x).unwrap().to_vec(), vec![0.0, 0.0, 0.5, 0.0, 1.0, 0.0]);
        assert!(s.inverse_transform(&s.transform(&x).unwrap()).unwrap().allclose(&x, 1e-6, 1e-6));
        assert!(MinMaxScaler::new().feature_range(1.0, 1.0).is_err());
    }

    #[test]
    fn transform_before_fit_and_wrong_feature_count_are_errors() {
        let x = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let err = StandardScaler::new().transform(&x).unwrap_err().to_string();
        assert!(err.contains("fit"), "{err}");
        assert!(MinMaxScaler::new().transform(&x).is_err());
        assert!(Normalizer::new().transform(&x).is_err());
        let mut s = StandardScaler::new();
        s.fit(&x).unwrap();
        let err = s.transform(&t(&[1.0, 2.0, 3.0], &[1, 3])).unwrap_err().to_string();
        assert!(err.contains("[samples, 2]") && err.contains("[1, 3]"), "{err}");
        assert!(s.fit(&t(&[1.0, 2.0], &[2])).is_err());
        assert!(Normalizer::new().inverse_transform(&x).is_err());
    }

    #[test]
    fn fitted_scaler_survives_a_serde_round_trip() {
        let mut s = StandardScaler::new();
        s.fit(&t(&[1.0, 2.0, 3.0, 6.0], &[2, 2])).unwrap();
        let back: StandardScaler = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        let m: MinMaxScaler = serde_json::from_str(&serde_json::to_string(&MinMaxScaler::new()).unwrap()).unwrap();
        assert_eq!(m, MinMaxScaler::new());
    }
}
