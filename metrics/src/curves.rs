//! The points of the ROC and precision-recall curves of binary scores (scikit-learn's
//! `roc_curve` and `precision_recall_curve`), for drawing them; their areas are in `auc.rs`.
//!
//! Both walk the distinct scores from the highest down (tied scores form one threshold, a sample
//! counts as positive when `score >= threshold`) and start at threshold +∞, where nothing is
//! predicted positive. Unlike scikit-learn, every threshold is kept (no `drop_intermediate`) and
//! the precision-recall points come in the same order as the ROC points (recall rising), not
//! reversed.

use kensho_core::{Error, Result, Tensor};

use crate::auc::{batch, curve, Counts};

/// The points of a ROC curve, one per threshold, from (0, 0) to (1, 1).
#[derive(Debug, Clone, PartialEq)]
pub struct RocCurve {
    /// False-positive rate at each threshold (non-decreasing, 0 first, 1 last).
    pub fpr: Vec<f32>,
    /// True-positive rate (recall) at each threshold (non-decreasing, 0 first, 1 last).
    pub tpr: Vec<f32>,
    /// The thresholds: +∞ first, then the distinct scores in decreasing order.
    pub thresholds: Vec<f32>,
}

/// The points of a precision-recall curve, one per threshold, recall rising from 0 to 1.
#[derive(Debug, Clone, PartialEq)]
pub struct PrecisionRecallCurve {
    /// Precision at each threshold; 1 at threshold +∞ (nothing predicted positive), as in
    /// scikit-learn.
    pub precision: Vec<f32>,
    /// Recall at each threshold (non-decreasing, 0 first, 1 last).
    pub recall: Vec<f32>,
    /// The thresholds: +∞ first, then the distinct scores in decreasing order.
    pub thresholds: Vec<f32>,
}

/// The ROC curve of one batch of binary scores (scikit-learn's `roc_curve` with
/// `drop_intermediate=False`). Inputs as [`roc_auc_score`](crate::roc_auc_score).
///
/// # Errors
/// Bad input (crate docs), or only one class present in `y_true` (one of the rates is undefined).
///
/// ```
/// use kensho_core::Tensor;
/// let y = Tensor::from_vec(vec![0.0, 0.0, 1.0, 1.0], &[4])?;
/// let s = Tensor::from_vec(vec![0.1, 0.4, 0.35, 0.8], &[4])?;
/// let roc = kensho_metrics::roc_curve(&y, &s)?;
/// assert_eq!(roc.fpr, vec![0.0, 0.0, 0.5, 0.5, 1.0]);
/// assert_eq!(roc.tpr, vec![0.0, 0.5, 0.5, 1.0, 1.0]);
/// # Ok::<(), kensho_metrics::Error>(())
/// ```
pub fn roc_curve(y_true: &Tensor, y_score: &Tensor) -> Result<RocCurve> {
    let pairs = batch("roc_curve", y_true, y_score)?;
    let Counts { points, thresholds, negatives, positives } = curve(&pairs);
    if negatives == 0.0 || positives == 0.0 {
        let only = if positives == 0.0 { 0 } else { 1 };
        let expected = "both classes 0 and 1 in y_true (the ROC curve is undefined with one class)";
        return Err(Error::invalid("roc_curve: y_true", format!("only class {only}"), expected));
    }
    let fpr = points.iter().map(|&(fp, _)| (fp / negatives) as f32).collect();
    let tpr = points.iter().map(|&(_, tp)| (tp / positives) as f32).collect();
    Ok(RocCurve { fpr, tpr, thresholds })
}

/// The precision-recall curve of one batch of binary scores (scikit-learn's
/// `precision_recall_curve`, in the order of rising recall and with every threshold). Inputs as
/// [`average_precision_score`](crate::average_precision_score).
///
/// # Errors
/// Bad input (crate docs), or no positive in `y_true` (recall is undefined).
///
/// ```
/// use kensho_core::Tensor;
/// let y = Tensor::from_vec(vec![0.0, 0.0, 1.0, 1.0], &[4])?;
/// let s = Tensor::from_vec(vec![0.1, 0.4, 0.35, 0.8], &[4])?;
/// let pr = kensho_metrics::precision_recall_curve(&y, &s)?;
/// assert_eq!(pr.recall, vec![0.0, 0.5, 0.5, 1.0, 1.0]);
/// assert_eq!(pr.precision, vec![1.0, 1.0, 0.5, 2.0 / 3.0, 0.5]);
/// # Ok::<(), kensho_metrics::Error>(())
/// ```
pub fn precision_recall_curve(y_true: &Tensor, y_score: &Tensor) -> Result<PrecisionRecallCurve> {
    let pairs = batch("precision_recall_curve", y_true, y_score)?;
    let Counts { points, thresholds, positives, .. } = curve(&pairs);
    if positives == 0.0 {
        let expected = "at least one positive (label 1) in y_true (recall is undefined without one)";
        return Err(Error::invalid("precision_recall_curve: y_true", "only class 0", expected));
    }
    let precision = points.iter().map(|&(fp, tp)| if fp + tp == 0.0 { 1.0 } else { (tp / (fp + tp)) as f32 }).collect();
    let recall = points.iter().map(|&(_, tp)| (tp / positives) as f32).collect();
    Ok(PrecisionRecallCurve { precision, recall, thresholds })
}
