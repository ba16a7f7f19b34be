//! Exact areas under the ROC and precision-recall curves of binary scores, streaming by keeping
//! every (score, label) pair, with scikit-learn's `roc_auc_score` and `average_precision_score`
//! semantics (tied scores form one threshold). Keras' `AUC` approximates with 200 thresholds;
//! these are exact.
//!
//! So the state ([`Metric::state`]) is the list of (score, label) pairs itself, and merging two
//! metrics appends one's pairs to the other's (it is not an elementwise addition: there are no
//! fixed buckets). The state grows with the data, 2 numbers per sample.

use kensho_core::{Error, Result, Tensor};

use crate::{input, state, Metric};

/// The counts behind both curves: cumulative (false positives, true positives) at each distinct
/// score, highest score first, starting from (0, 0) at threshold +∞; the score each point
/// thresholds at (`score >= threshold` counts as positive); and the totals.
pub(crate) struct Counts {
    /// (false positives, true positives), one per threshold.
    pub points: Vec<(f64, f64)>,
    /// The threshold of each point, +∞ first, then the distinct scores in decreasing order.
    pub thresholds: Vec<f32>,
    /// The number of negatives.
    pub negatives: f64,
    /// The number of positives.
    pub positives: f64,
}

/// The [`Counts`] of (score, label) pairs.
pub(crate) fn curve(pairs: &[(f32, bool)]) -> Counts {
    let mut sorted = pairs.to_vec();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut points = vec![(0.0, 0.0)];
    let mut thresholds = vec![f32::INFINITY];
    let (mut fp, mut tp) = (0.0, 0.0);
    for (i, &(score, positive)) in sorted.iter().enumerate() {
        if positive {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        if sorted.get(i + 1).is_none_or(|next| next.0 != score) {
            points.push((fp, tp));
            thresholds.push(score);
        }
    }
    Counts { points, thresholds, negatives: fp, positives: tp }
}

/// ROC AUC by the trapezoidal rule; `None` when only one class is present.
fn roc_auc(pairs: &[(f32, bool)]) -> Option<f64> {
    let Counts { points, negatives: neg, positives: pos, .. } = curve(pairs);
    if neg == 0.0 || pos == 0.0 {
        return None;
    }
    let area: f64 = points.windows(2).map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0).sum();
    Some(area / (neg * pos))
}

/// Average precision `Σ (R_k − R_{k−1}) P_k` over distinct thresholds; 0.0 without positives.
fn average_precision(pairs: &[(f32, bool)]) -> f64 {
    let Counts { points, positives: pos, .. } = curve(pairs);
    if pos == 0.0 {
        return 0.0;
    }
    points.windows(2).map(|w| (w[1].1 - w[0].1) / pos * (w[1].1 / (w[1].0 + w[1].1))).sum()
}

/// The (score, label) pairs of one batch.
pub(crate) fn batch(metric: &str, y_true: &Tensor, y_pred: &Tensor) -> Result<Vec<(f32, bool)>> {
    let (truth, scores) = input::binary_scores(metric, y_true, y_pred)?;
    Ok(scores.into_iter().zip(truth).collect())
}

/// Appends the (score, label) pairs of a state `[score, label, ...]`, after checking all of them.
fn merge_pairs(metric: &str, pairs: &mut Vec<(f32, bool)>, state: &[f64]) -> Result<()> {
    if !state.len().is_multiple_of(2) {
        let expected = "an even number of numbers: a (score, label) pair per sample";
        return Err(state::wrong_len(metric, state.len(), expected));
    }
    for pair in state.chunks_exact(2) {
        if !(pair[0] as f32).is_finite() {
            return Err(state::bad_value(metric, pair[0], "a finite f32 score"));
        }
        if pair[1] != 0.0 && pair[1] != 1.0 {
            return Err(state::bad_value(metric, pair[1], "a label 0 or 1"));
        }
    }
    pairs.extend(state.chunks_exact(2).map(|pair| (pair[0] as f32, pair[1] == 1.0)));
    Ok(())
}

macro_rules! auc_metric {
    ($ty:ident, $name:literal, $value:expr) => {
        impl $ty {
            /// An empty metric.
            pub fn new() -> Self {
                $ty { pairs: Vec::new() }
            }
        }

        impl Default for $ty {
            fn default() -> Self {
                Self::new()
            }
        }

        impl Metric for $ty {
            fn name(&self) -> &str {
                $name
            }

            fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) -> Result<()> {
                self.pairs.extend(batch($name, y_true, y_pred)?);
                Ok(())
            }

            fn result(&self) -> f32 {
                let value: fn(&[(f32, bool)]) -> f64 = $value;
                value(&self.pairs) as f32
            }

            fn reset(&mut self) {
                self.pairs.clear();
            }

            fn config(&self) -> Option<crate::MetricConfig> {
                Some(crate::MetricConfig::$ty)
            }

            /// `[score, label, score, label, ...]`, one pair per sample; merging appends them.
            fn state(&self) -> Vec<f64> {
                self.pairs.iter().flat_map(|&(score, positive)| [score as f64, f64::from(u8::from(positive))]).collect()
            }

            fn merge_state(&mut self, state: &[f64]) -> Result<()> {
                merge_pairs($name, &mut self.pairs, state)
            }
        }
    };
}

/// Streaming exact ROC AUC of binary scores, name "auc" (Keras' `AUC()` default curve).
///
/// Truth: labels 0/1 `[n]` / `[n, 1]` or one-hot `[n, 2]`. Scores: `[n]`, `[n, 1]` (probabilities
/// or logits alike: only the order matters) or `[n, 2]` (column 1). `result` is 0.0 while only one
/// class has been seen (where [`roc_auc_score`] errors). [`Metric::merge`] appends the other
/// metric's (score, label) pairs.
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_metrics::{Metric, RocAuc};
///
/// let mut auc = RocAuc::new();
/// auc.update(&Tensor::from_vec(vec![0.0, 0.0, 1.0, 1.0], &[4])?, &Tensor::from_vec(vec![0.1, 0.4, 0.35, 0.8], &[4])?)?;
/// assert_eq!(auc.result(), 0.75);
/// # Ok::<(), kensho_metrics::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RocAuc {
    pairs: Vec<(f32, bool)>,
}
auc_metric!(RocAuc, "auc", |p| roc_auc(p).unwrap_or(0.0));

/// Streaming exact area under the precision-recall curve as average precision
/// (scikit-learn's `average_precision_score`, no interpolation), name "average_precision".
/// Inputs as [`RocAuc`]; 0.0 while no positive has been seen. [`Metric::merge`] appends the
/// other metric's (score, label) pairs.
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_metrics::{AveragePrecision, Metric};
///
/// let mut ap = AveragePrecision::new();
/// ap.update(&Tensor::from_vec(vec![0.0, 0.0, 1.0, 1.0], &[4])?, &Tensor::from_vec(vec![0.1, 0.4, 0.35, 0.8], &[4])?)?;
/// assert!((ap.result() - 0.8333333).abs() < 1e-6);
/// # Ok::<(), kensho_metrics::Error>(())
/// ```
#[doc(alias = "PrAuc")]
#[derive(Debug, Clone)]
pub struct AveragePrecision {
    pairs: Vec<(f32, bool)>,
}
auc_metric!(AveragePrecision, "average_precision", average_precision);

/// Exact ROC AUC of one batch of binary scores (scikit-learn's `roc_auc_score`).
///
/// # Errors
/// Bad input (crate docs), or only one class present in `y_true` (the AUC is undefined).
pub fn roc_auc_score(y_true: &Tensor, y_score: &Tensor) -> Result<f32> {
    let pairs = batch("roc_auc_score", y_true, y_score)?;
    let only = if pairs[0].1 { 1 } else { 0 };
    roc_auc(&pairs).map(|v| v as f32).ok_or_else(|| {
        let expected = "both classes 0 and 1 in y_true (ROC AUC is undefined with one class)";
        Error::invalid("roc_auc_score: y_true", format!("only class {only}"), expected)
    })
}

/// Average precision of one batch of binary scores (scikit-learn's `average_precision_score`);
/// 0.0 when `y_true` has no positive.
///
/// # Errors
/// Bad input as described in the crate docs.
pub fn average_precision_score(y_true: &Tensor, y_score: &Tensor) -> Result<f32> {
    Ok(average_precision(&batch("average_precision_score", y_true, y_score)?) as f32)
}
