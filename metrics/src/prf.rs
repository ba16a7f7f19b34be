//! Precision, recall, F1 and F-beta: per class and averaged (binary, micro, macro, weighted),
//! streaming over a [`ConfusionMatrix`] and one-shot with scikit-learn's semantics.
//!
//! Per class `c`, with `tp` the diagonal entry, `pred` the column sum and `true` the row sum:
//! precision `tp / pred`, recall `tp / true`, F-beta `(1 + β²) tp / (β² true + pred)`. A zero
//! denominator gives the [`ZeroDivision`] value. Classes are `0..num_classes`; a class absent from
//! both truth and predictions still counts in a macro average (scikit-learn with
//! `labels=range(num_classes)`).
//!
//! The confusion counts are also the state that [`Metric::merge_state`] adds.

use kensho_core::{Error, Result, Tensor};

use crate::confusion::ConfusionMatrix;
use crate::{input, ratio, Metric, MetricConfig, PrfConfig};
use serde::{Deserialize, Serialize};

/// The value of a ratio whose denominator is zero, as scikit-learn's `zero_division`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZeroDivision {
    /// 0.0 (scikit-learn's default `"warn"`, without the warning).
    #[default]
    Zero,
    /// 1.0.
    One,
}

impl ZeroDivision {
    /// The value as a number.
    pub fn value(self) -> f64 {
        match self {
            ZeroDivision::Zero => 0.0,
            ZeroDivision::One => 1.0,
        }
    }
}

/// How per-class scores become one number (scikit-learn's `average`). For `average=None`, use
/// [`precision_recall_fscore_support`] or the metrics' `per_class` method.
///
/// In JSON (as in [`MetricConfig`]): `"micro"`, `"macro"`, `"weighted"` or
/// `{"binary": {"pos_label": 1}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Average {
    /// The score of one class, `pos_label` (1 in the usual binary case).
    Binary {
        /// The class treated as positive.
        pos_label: usize,
    },
    /// Global counts: sum tp, predictions and truths over classes (equals accuracy for single-label data).
    Micro,
    /// Unweighted mean of the per-class scores.
    Macro,
    /// Mean of the per-class scores weighted by support (true count of each class).
    Weighted,
}

impl Default for Average {
    /// `Binary { pos_label: 1 }`, scikit-learn's default.
    fn default() -> Self {
        Average::Binary { pos_label: 1 }
    }
}

/// Which ratio to compute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Precision,
    Recall,
    FBeta(f64),
}

/// The score from the three counts.
fn from_counts(kind: Kind, tp: u64, pred: u64, truth: u64, zd: ZeroDivision) -> f64 {
    let (tp, pred, truth) = (tp as f64, pred as f64, truth as f64);
    match kind {
        Kind::Precision => ratio(tp, pred, zd.value()),
        Kind::Recall => ratio(tp, truth, zd.value()),
        Kind::FBeta(beta) => {
            let b2 = beta * beta;
            ratio((1.0 + b2) * tp, b2 * truth + pred, zd.value())
        }
    }
}

/// The score of class `c`.
pub(crate) fn class_score(cm: &ConfusionMatrix, c: usize, kind: Kind, zd: ZeroDivision) -> f64 {
    from_counts(kind, cm.true_positives(c), cm.predicted(c), cm.support(c), zd)
}

/// The averaged score (0.0 when the matrix is empty). The configuration must have been checked.
pub(crate) fn averaged(cm: &ConfusionMatrix, kind: Kind, average: Average, zd: ZeroDivision) -> f64 {
    let n = cm.num_classes();
    let total = cm.total();
    if total == 0 {
        return 0.0;
    }
    match average {
        Average::Binary { pos_label } => class_score(cm, pos_label, kind, zd),
        Average::Micro => {
            let tp = (0..n).map(|c| cm.true_positives(c)).sum();
            from_counts(kind, tp, total, total, zd)
        }
        Average::Macro => (0..n).map(|c| class_score(cm, c, kind, zd)).sum::<f64>() / n as f64,
        Average::Weighted => {
            let s: f64 = (0..n).map(|c| class_score(cm, c, kind, zd) * cm.support(c) as f64).sum();
            s / total as f64
        }
    }
}

fn check_config(metric: &str, num_classes: usize, kind: Kind, average: Average) -> Result<()> {
    input::check_num_classes(metric, num_classes)?;
    if let Average::Binary { pos_label } = average
        && pos_label >= num_classes
    {
        let expected = format!("a class in 0..{num_classes}");
        return Err(Error::invalid(format!("{metric}: pos_label"), pos_label, expected));
    }
    if let Kind::FBeta(beta) = kind
        && !(beta.is_finite() && beta >= 0.0)
    {
        return Err(Error::invalid(format!("{metric}: beta"), beta, "a finite number >= 0"));
    }
    Ok(())
}

/// Shared state of the four streaming metrics.
#[derive(Debug, Clone)]
struct Prf {
    name: &'static str,
    kind: Kind,
    average: Average,
    zero_division: ZeroDivision,
    cm: ConfusionMatrix,
}

impl Prf {
    fn new(name: &'static str, kind: Kind, num_classes: usize, average: Average) -> Self {
        Prf { name, kind, average, zero_division: ZeroDivision::Zero, cm: ConfusionMatrix::new(num_classes) }
    }

    /// The settings of the metric this state belongs to.
    fn config(&self) -> MetricConfig {
        let prf = PrfConfig {
            num_classes: self.cm.num_classes(),
            average: self.average,
            threshold: self.cm.threshold(),
            zero_division: self.zero_division,
        };
        match (self.name, self.kind) {
            ("precision", _) => MetricConfig::Precision(prf),
            ("recall", _) => MetricConfig::Recall(prf),
            ("f1_score", _) => MetricConfig::F1Score(prf),
            (_, kind) => {
                let beta = if let Kind::FBeta(beta) = kind { beta as f32 } else { 1.0 };
                MetricConfig::FBetaScore { prf, beta }
            }
        }
    }
}

macro_rules! prf_metric {
    ($ty:ident) => {
        impl $ty {
            /// Threshold for binary scores `[n]` / `[n, 1]` (class 1 when `score > threshold`); 0.0 for logits.
            pub fn with_threshold(mut self, threshold: f32) -> Self {
                self.0.cm = self.0.cm.with_threshold(threshold);
                self
            }

            /// The value of undefined ratios (default [`ZeroDivision::Zero`]).
            pub fn with_zero_division(mut self, zero_division: ZeroDivision) -> Self {
                self.0.zero_division = zero_division;
                self
            }

            /// The score of each class `0..num_classes` over the data seen (scikit-learn's `average=None`).
            pub fn per_class(&self) -> Vec<f32> {
                let p = &self.0;
                (0..p.cm.num_classes()).map(|c| class_score(&p.cm, c, p.kind, p.zero_division) as f32).collect()
            }

            /// The confusion matrix accumulated so far.
            pub fn confusion_matrix(&self) -> &ConfusionMatrix {
                &self.0.cm
            }
        }

        impl Metric for $ty {
            fn name(&self) -> &str {
                self.0.name
            }

            fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) -> Result<()> {
                let p = &mut self.0;
                check_config(p.name, p.cm.num_classes(), p.kind, p.average)?;
                p.cm.update_as(p.name, y_true, y_pred)
            }

            fn result(&self) -> f32 {
                let p = &self.0;
                averaged(&p.cm, p.kind, p.average, p.zero_division) as f32
            }

            fn reset(&mut self) {
                self.0.cm.reset();
            }

            fn config(&self) -> Option<MetricConfig> {
                Some(self.0.config())
            }

            /// The confusion counts, row-major; merging adds them.
            fn state(&self) -> Vec<f64> {
                self.0.cm.state()
            }

            fn merge_state(&mut self, state: &[f64]) -> Result<()> {
                self.0.cm.merge_state(self.0.name, state)
            }
        }
    };
}

/// Streaming precision `tp / (tp + fp)`, name "precision".
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_metrics::{Metric, Precision};
///
/// let mut m = Precision::binary(); // two classes, positive class 1, threshold 0.5
/// m.update(&Tensor::from_vec(vec![1.0, 0.0, 1.0], &[3])?, &Tensor::from_vec(vec![0.9, 0.7, 0.4], &[3])?)?;
/// assert_eq!(m.result(), 0.5); // predicted positives: samples 0 and 1, one correct
/// # Ok::<(), kensho_metrics::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Precision(Prf);

impl Precision {
    /// Precision over classes `0..num_classes`, combined by `average`.
    pub fn new(num_classes: usize, average: Average) -> Self {
        Precision(Prf::new("precision", Kind::Precision, num_classes, average))
    }

    /// Binary precision of class 1 (Keras' `Precision()`).
    pub fn binary() -> Self {
        Self::new(2, Average::default())
    }
}
prf_metric!(Precision);

/// Streaming recall `tp / (tp + fn)`, name "recall".
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_metrics::{Average, Metric, Recall};
///
/// let mut m = Recall::new(3, Average::Macro);
/// m.update(&Tensor::from_vec(vec![0.0, 1.0, 2.0, 2.0], &[4])?, &Tensor::from_vec(vec![0.0, 1.0, 1.0, 2.0], &[4])?)?;
/// assert_eq!(m.per_class(), vec![1.0, 1.0, 0.5]);
/// assert!((m.result() - 2.5 / 3.0).abs() < 1e-6);
/// # Ok::<(), kensho_metrics::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Recall(Prf);

impl Recall {
    /// Recall over classes `0..num_classes`, combined by `average`.
    pub fn new(num_classes: usize, average: Average) -> Self {
        Recall(Prf::new("recall", Kind::Recall, num_classes, average))
    }

    /// Binary recall of class 1 (Keras' `Recall()`).
    pub fn binary() -> Self {
        Self::new(2, Average::default())
    }
}
prf_metric!(Recall);

/// Streaming F1 score, the harmonic mean of precision and recall, name "f1_score".
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_metrics::{Average, F1Score, Metric};
///
/// let mut m = F1Score::new(3, Average::Macro);
/// m.update(&Tensor::from_vec(vec![0.0, 1.0, 2.0, 2.0], &[4])?, &Tensor::from_vec(vec![0.0, 1.0, 1.0, 2.0], &[4])?)?;
/// assert!((m.result() - (1.0 + 2.0 / 3.0 + 2.0 / 3.0) / 3.0).abs() < 1e-6);
///
/// let mut m = F1Score::binary().with_threshold(0.0); // one logit per sample
/// m.update(&Tensor::from_vec(vec![1.0, 1.0, 0.0], &[3])?, &Tensor::from_vec(vec![2.0, -1.0, 0.5], &[3])?)?;
/// assert_eq!(m.result(), 0.5); // tp 1, fp 1, fn 1
/// # Ok::<(), kensho_metrics::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct F1Score(Prf);

impl F1Score {
    /// F1 over classes `0..num_classes`, combined by `average`.
    pub fn new(num_classes: usize, average: Average) -> Self {
        F1Score(Prf::new("f1_score", Kind::FBeta(1.0), num_classes, average))
    }

    /// Binary F1 of class 1, as [`Precision::binary`] and [`Recall::binary`]: one score per
    /// sample (`[n]` or `[n, 1]`, class 1 when above the threshold, 0.5 unless set by
    /// `with_threshold`) or two-column `[n, 2]` predictions.
    ///
    /// ```
    /// use kensho_core::Tensor;
    /// use kensho_metrics::{F1Score, Metric, Precision, Recall};
    ///
    /// let y_true = Tensor::from_vec(vec![1.0, 0.0, 1.0, 1.0], &[4])?;
    /// let y_pred = Tensor::from_vec(vec![0.9, 0.7, 0.4, 0.8], &[4])?; // classes 1, 1, 0, 1
    /// let (mut p, mut r, mut f1) = (Precision::binary(), Recall::binary(), F1Score::binary());
    /// p.update(&y_true, &y_pred)?;
    /// r.update(&y_true, &y_pred)?;
    /// f1.update(&y_true, &y_pred)?;
    /// let (p, r) = (p.result(), r.result()); // 2/3 and 2/3
    /// assert!((f1.result() - 2.0 * p * r / (p + r)).abs() < 1e-6);
    /// # Ok::<(), kensho_metrics::Error>(())
    /// ```
    pub fn binary() -> Self {
        Self::new(2, Average::default())
    }
}
prf_metric!(F1Score);

/// Streaming F-beta score `(1 + β²) tp / ((1 + β²) tp + β² fn + fp)`, name "fbeta_score".
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_metrics::{Average, FBetaScore, Metric};
///
/// let mut m = FBetaScore::new(2, Average::default(), 2.0);
/// m.update(&Tensor::from_vec(vec![1.0, 1.0, 0.0], &[3])?, &Tensor::from_vec(vec![1.0, 0.0, 1.0], &[3])?)?;
/// assert!((m.result() - 0.5).abs() < 1e-6); // 5 tp / (5 tp + 4 fn + fp) = 5 / 10
/// # Ok::<(), kensho_metrics::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FBetaScore(Prf);

impl FBetaScore {
    /// F-beta over classes `0..num_classes`, combined by `average`; `beta >= 0` (checked on update).
    pub fn new(num_classes: usize, average: Average, beta: f32) -> Self {
        FBetaScore(Prf::new("fbeta_score", Kind::FBeta(beta as f64), num_classes, average))
    }
}
prf_metric!(FBetaScore);

/// One-shot helper: the confusion matrix of a call, after the configuration check.
fn one_shot(metric: &str, y_true: &Tensor, y_pred: &Tensor, kind: Kind, average: Average) -> Result<ConfusionMatrix> {
    let n = input::infer_num_classes(metric, y_true, y_pred)?;
    check_config(metric, n, kind, average)?;
    let mut cm = ConfusionMatrix::new(n);
    cm.update_as(metric, y_true, y_pred)?;
    Ok(cm)
}

/// Precision of one batch (scikit-learn's `precision_score`). The classes are `0..C` with `C`
/// from a `[n, C]` argument or else one more than the largest label; binary scores are
/// thresholded at 0.5.
///
/// # Errors
/// Bad input (crate docs), or `pos_label` outside the classes.
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_metrics::{precision_score, Average, ZeroDivision};
/// let y = Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0], &[4])?;
/// let p = Tensor::from_vec(vec![0.0, 0.0, 0.0, 0.0], &[4])?;
/// assert_eq!(precision_score(&y, &p, Average::default(), ZeroDivision::Zero)?, 0.0);
/// assert_eq!(precision_score(&y, &p, Average::default(), ZeroDivision::One)?, 1.0);
/// # Ok::<(), kensho_metrics::Error>(())
/// ```
pub fn precision_score(y_true: &Tensor, y_pred: &Tensor, average: Average, zero_division: ZeroDivision) -> Result<f32> {
    let cm = one_shot("precision", y_true, y_pred, Kind::Precision, average)?;
    Ok(averaged(&cm, Kind::Precision, average, zero_division) as f32)
}

/// Recall of one batch (scikit-learn's `recall_score`); classes as in [`precision_score`].
///
/// # Errors
/// Bad input (crate docs), or `pos_label` outside the classes.
pub fn recall_score(y_true: &Tensor, y_pred: &Tensor, average: Average, zero_division: ZeroDivision) -> Result<f32> {
    let cm = one_shot("recall", y_true, y_pred, Kind::Recall, average)?;
    Ok(averaged(&cm, Kind::Recall, average, zero_division) as f32)
}

/// F1 score of one batch (scikit-learn's `f1_score`); classes as in [`precision_score`].
///
/// # Errors
/// Bad input (crate docs), or `pos_label` outside the classes.
pub fn f1_score(y_true: &Tensor, y_pred: &Tensor, average: Average, zero_division: ZeroDivision) -> Result<f32> {
    let cm = one_shot("f1_score", y_true, y_pred, Kind::FBeta(1.0), average)?;
    Ok(averaged(&cm, Kind::FBeta(1.0), average, zero_division) as f32)
}

/// F-beta score of one batch (scikit-learn's `fbeta_score`); classes as in [`precision_score`].
///
/// # Errors
/// Bad input (crate docs), `pos_label` outside the classes, or a negative or non-finite `beta`.
pub fn fbeta_score(
    y_true: &Tensor,
    y_pred: &Tensor,
    beta: f32,
    average: Average,
    zero_division: ZeroDivision,
) -> Result<f32> {
    let kind = Kind::FBeta(beta as f64);
    let cm = one_shot("fbeta_score", y_true, y_pred, kind, average)?;
    Ok(averaged(&cm, kind, average, zero_division) as f32)
}

/// Per-class precision, recall, F-beta and support (scikit-learn's
/// `precision_recall_fscore_support` with `average=None`).
#[derive(Debug, Clone, PartialEq)]
pub struct PrfScores {
    /// Precision of each class.
    pub precision: Vec<f32>,
    /// Recall of each class.
    pub recall: Vec<f32>,
    /// F-beta of each class.
    pub fscore: Vec<f32>,
    /// Number of true samples of each class.
    pub support: Vec<u64>,
}

/// Per-class scores of one batch; classes as in [`precision_score`].
///
/// # Errors
/// Bad input (crate docs), or a negative or non-finite `beta`.
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_metrics::{precision_recall_fscore_support, ZeroDivision};
/// let y = Tensor::from_vec(vec![0.0, 1.0, 2.0, 2.0], &[4])?;
/// let p = Tensor::from_vec(vec![0.0, 2.0, 2.0, 2.0], &[4])?;
/// let s = precision_recall_fscore_support(&y, &p, 1.0, ZeroDivision::Zero)?;
/// assert_eq!(s.recall, vec![1.0, 0.0, 1.0]);
/// assert_eq!(s.support, vec![1, 1, 2]);
/// # Ok::<(), kensho_metrics::Error>(())
/// ```
pub fn precision_recall_fscore_support(
    y_true: &Tensor,
    y_pred: &Tensor,
    beta: f32,
    zero_division: ZeroDivision,
) -> Result<PrfScores> {
    let kind = Kind::FBeta(beta as f64);
    let cm = one_shot("precision_recall_fscore_support", y_true, y_pred, kind, Average::Macro)?;
    let all = |k: Kind| (0..cm.num_classes()).map(|c| class_score(&cm, c, k, zero_division) as f32).collect();
    Ok(PrfScores {
        precision: all(Kind::Precision),
        recall: all(Kind::Recall),
        fscore: all(kind),
        support: (0..cm.num_classes()).map(|c| cm.support(c)).collect(),
    })
}
