//! kensho-metrics: streaming, exact metrics for classification and regression.
//!
//! Every metric implements [`Metric`] (`update` per batch, `result`, `reset`), the trio of
//! Keras' `Metric`. Streaming is exact: metrics accumulate counts, confusion matrices or sums
//! (and, for the AUCs, the scores), so the value after an epoch equals the value over the
//! concatenated data, never an average of per-batch values. Each metric also has a one-shot
//! function with scikit-learn's name and semantics (`precision_score`, `roc_auc_score`, ...).
//!
//! Neighbours: depends on `kensho-core` only (tensors, [`Error`]); knows nothing of the tape.
//! The facade `kensho` calls [`Metric::update`] after each batch and makes `val_` copies with
//! [`Metric::clone_box`]. [`Metric::config`] gives a built-in metric's settings as a
//! serializable [`MetricConfig`], from which a saved model rebuilds it.
//!
//! For data-parallel training, each process accumulates a metric over its shard and the states
//! are then combined: [`Metric::state`] gives the accumulated state as flat numbers,
//! [`Metric::merge_state`] adds such a state in, and [`Metric::merge`] does both after checking
//! that the two metrics have the same type and settings. The result after merging equals the
//! result of one metric over all the shards.
//!
//! # Inputs
//! - `y_true`: class indices, shape `[n]` or `[n, 1]` (f32 holding integers), or one-hot `[n, C]`.
//! - `y_pred`: probabilities or logits `[n, C]` (argmax; the first maximum wins ties), or, for two
//!   classes, binary scores `[n]` / `[n, 1]`, read as class 1 when `score > threshold`. The
//!   threshold defaults to 0.5 (probabilities); **for logits set it to 0.0** with `with_threshold`.
//!   With more than two classes a 1-D `y_pred` must hold class indices.
//! - Regression metrics take any two tensors with the same number of values.
//!
//! Bad input (lengths that differ, an empty batch, a label outside `0..num_classes`, NaN or
//! infinite values) gives an [`Error`] naming the metric, the value seen and what was expected.
//! `result` is never NaN: undefined ratios follow [`ZeroDivision`] (as scikit-learn's
//! `zero_division`), and a metric with no data yet returns 0.0.
//!
//! # Example
//! ```
//! use kensho_core::Tensor;
//! use kensho_metrics::{Average, F1Score, Metric};
//!
//! let mut f1 = F1Score::new(3, Average::Macro);
//! // Two batches: true class indices and predicted probabilities.
//! let y1 = Tensor::from_vec(vec![0.0, 1.0], &[2])?;
//! let p1 = Tensor::from_vec(vec![0.8, 0.1, 0.1, 0.2, 0.7, 0.1], &[2, 3])?;
//! f1.update(&y1, &p1)?;
//! let y2 = Tensor::from_vec(vec![2.0, 2.0], &[2])?;
//! let p2 = Tensor::from_vec(vec![0.1, 0.1, 0.8, 0.6, 0.3, 0.1], &[2, 3])?;
//! f1.update(&y2, &p2)?;
//! // Over the 4 samples: predictions [0, 1, 2, 0] against truth [0, 1, 2, 2].
//! // F1 per class: 2/3, 1, 2/3; macro average 7/9.
//! assert!((f1.result() - 7.0 / 9.0).abs() < 1e-6);
//! assert_eq!(f1.name(), "f1_score");
//!
//! // The same figure in one shot, scikit-learn style.
//! let truth = Tensor::from_vec(vec![0.0, 1.0, 2.0, 2.0], &[4])?;
//! let pred = Tensor::from_vec(vec![0.0, 1.0, 2.0, 0.0], &[4])?;
//! let one_shot = kensho_metrics::f1_score(&truth, &pred, Average::Macro, Default::default())?;
//! assert!((one_shot - f1.result()).abs() < 1e-6);
//! # Ok::<(), kensho_metrics::Error>(())
//! ```

#![forbid(unsafe_code)]

mod accuracy;
mod auc;
mod config;
mod confusion;
mod curves;
mod input;
mod prf;
mod regression;
mod report;
mod state;

pub use accuracy::{
    accuracy_score, top_k_accuracy_score, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy,
};
pub use auc::{average_precision_score, roc_auc_score, AveragePrecision, RocAuc};
pub use config::{register_metric, MetricConfig, PrfConfig};
pub use confusion::{confusion_matrix, ConfusionMatrix};
pub use curves::{precision_recall_curve, roc_curve, PrecisionRecallCurve, RocCurve};
pub use kensho_core::{Error, Result};
pub use prf::{
    f1_score, fbeta_score, precision_recall_fscore_support, precision_score, recall_score, Average, F1Score,
    FBetaScore, Precision, PrfScores, Recall, ZeroDivision,
};
pub use regression::{
    mean_absolute_error, mean_absolute_percentage_error, mean_squared_error, r2_score, root_mean_squared_error,
    MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError, R2Score, RootMeanSquaredError,
};
pub use report::{classification_report, report_from_confusion};

use kensho_core::Tensor;

/// A streaming metric: accumulate batches with [`update`](Metric::update), read
/// [`result`](Metric::result), start over with [`reset`](Metric::reset).
///
/// Streaming is exact: the result after several updates equals the result of one update with
/// the concatenated batches.
///
/// Metrics are `Send + Sync` so that a compiled model can be shared between threads (for
/// example behind an `Arc` serving predictions).
pub trait Metric: Send + Sync {
    /// Keras-like name used in logs and History, e.g. "accuracy", "precision", "f1_score", "auc", "mae".
    fn name(&self) -> &str;
    /// Accumulate one batch. Errors on bad input (lengths differ, empty, label outside num_classes, NaN scores).
    fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) -> Result<()>;
    /// The metric over everything accumulated since the last reset (never NaN: zero_division rules).
    fn result(&self) -> f32;
    /// Forget everything accumulated.
    fn reset(&mut self);
    /// A fresh, reset copy with the same configuration (the model makes val_ copies with it).
    /// The default rebuilds the metric from its [`Metric::config`].
    ///
    /// # Panics
    /// By default, if the metric has no config, or a registered config whose class is not
    /// registered: a user-defined metric implements either `config` (and registers its class
    /// with [`register_metric`]) or this method.
    fn clone_box(&self) -> Box<dyn Metric> {
        let rebuilt = self.config().map(|config| config.to_metric());
        match rebuilt {
            Some(Ok(metric)) => metric,
            Some(Err(e)) => panic!("metric \"{}\" cannot be rebuilt from its config: {e}", self.name()),
            None => panic!("metric \"{}\" has no config: implement Metric::clone_box for it", self.name()),
        }
    }
    /// The type and settings of this metric, from which [`MetricConfig::to_metric`] rebuilds it
    /// (a saved model restores its metrics this way). Every built-in metric returns `Some`; the
    /// default `None` suits a user-defined metric, which a loaded model then does not restore
    /// unless it is passed again.
    fn config(&self) -> Option<MetricConfig> {
        None
    }
    /// The state accumulated since the last reset, as flat numbers that another instance with
    /// the same settings takes with [`merge_state`](Metric::merge_state) (for example after
    /// sending them between the processes of data-parallel training).
    ///
    /// The layouts of the built-in metrics, where merging is elementwise addition unless said:
    /// - the accuracies: `[correct, seen]`;
    /// - [`Precision`], [`Recall`], [`F1Score`], [`FBetaScore`]: the confusion counts, row-major
    ///   (`C * t + p` holds the samples of true class `t` predicted as `p`), `C²` numbers;
    /// - [`RocAuc`], [`AveragePrecision`]: `[score, label, score, label, ...]`, one pair per
    ///   sample, which grows with the data. Merging **appends** the pairs (the exact areas need
    ///   every score, so there are no fixed buckets to add);
    /// - the regression metrics: `[n, Σ err², Σ |err|, Σ |err| / max(|y|, ε), mean(y),
    ///   Σ (y − mean(y))²]`. Merging adds the first four and combines the last two with Chan
    ///   et al.'s pairwise formula (the mean and squared deviations of `y_true` that R² needs
    ///   are kept that way, rather than as `Σ y` and `Σ y²`, to avoid cancellation).
    ///
    /// The default, for a user-defined metric, is empty (it does not merge).
    fn state(&self) -> Vec<f64> {
        Vec::new()
    }
    /// Merges a [`state`](Metric::state) of another instance with the same settings into this
    /// one: afterwards `result` is that of one metric updated with both metrics' data.
    ///
    /// # Errors
    /// A state of the wrong length (naming the metric, the length seen and the one expected) or
    /// with impossible values (a negative or fractional count, a label other than 0 or 1); the
    /// metric is then unchanged. The default, for a user-defined metric, always errors: such a
    /// metric implements `state` and `merge_state` to take part in merging.
    fn merge_state(&mut self, _state: &[f64]) -> Result<()> {
        let expected = "a metric that implements Metric::state and Metric::merge_state (every built-in metric does)";
        Err(Error::invalid(format!("{}: merge_state", self.name()), "a metric that cannot merge", expected))
    }
    /// Merges `other`'s accumulated state into this metric (`other` is unchanged), as
    /// [`merge_state`](Metric::merge_state) with `other.state()`.
    ///
    /// # Errors
    /// If the two metrics differ in name or [`config`](Metric::config) (a different type or
    /// settings, such as `Precision` with another `average`; two user-defined metrics without a
    /// config are only compared by name), and the errors of `merge_state`.
    ///
    /// ```
    /// use kensho_core::Tensor;
    /// use kensho_metrics::{Accuracy, Metric, Precision};
    ///
    /// // Two processes, each with its shard.
    /// let (mut a, mut b) = (Accuracy::new(), Accuracy::new());
    /// a.update(&Tensor::from_vec(vec![0.0, 1.0], &[2])?, &Tensor::from_vec(vec![0.0, 0.0], &[2])?)?;
    /// b.update(&Tensor::from_vec(vec![1.0, 1.0], &[2])?, &Tensor::from_vec(vec![1.0, 1.0], &[2])?)?;
    /// a.merge(&b)?;
    /// assert_eq!(a.result(), 0.75); // 3 correct of 4
    /// assert!(a.merge(&Precision::binary()).is_err());
    /// # Ok::<(), kensho_metrics::Error>(())
    /// ```
    fn merge(&mut self, other: &dyn Metric) -> Result<()> {
        if self.name() != other.name() || self.config() != other.config() {
            let describe = |name: &str, config: Option<MetricConfig>| match config {
                Some(config) => format!("\"{name}\" {config:?}"),
                None => format!("\"{name}\" (no config)"),
            };
            let expected = format!("a metric of the same type and settings: {}", describe(self.name(), self.config()));
            let seen = describe(other.name(), other.config());
            return Err(Error::invalid(format!("{}: merge", self.name()), seen, expected));
        }
        self.merge_state(&other.state())
    }
}

/// `num / den`, or `zero` when `den == 0` (the zero-division rule shared by the metrics).
pub(crate) fn ratio(num: f64, den: f64, zero: f64) -> f64 {
    if den == 0.0 {
        zero
    } else {
        num / den
    }
}
