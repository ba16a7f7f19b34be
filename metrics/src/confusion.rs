//! The streaming confusion matrix, the sufficient statistic of every counting classification metric.
//!
//! Rows are true classes, columns predicted classes (scikit-learn's layout). Precision, recall,
//! F-scores and the classification report are computed from it, so streaming is exact.

use kensho_core::{Result, Tensor};

use crate::{input, state};

/// A `num_classes × num_classes` confusion matrix accumulated over batches.
///
/// `get(t, p)` counts samples of true class `t` predicted as `p`. Inputs follow the crate's
/// conventions (see the crate docs); binary scores are thresholded at 0.5 unless
/// [`with_threshold`](ConfusionMatrix::with_threshold) says otherwise.
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_metrics::ConfusionMatrix;
///
/// let mut cm = ConfusionMatrix::new(3);
/// cm.update(&Tensor::from_vec(vec![0.0, 1.0, 2.0, 2.0], &[4])?, &Tensor::from_vec(vec![0.0, 2.0, 2.0, 1.0], &[4])?)?;
/// assert_eq!(cm.to_vec(), vec![vec![1, 0, 0], vec![0, 0, 1], vec![0, 1, 1]]);
/// assert_eq!(cm.support(2), 2);
/// # Ok::<(), kensho_metrics::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ConfusionMatrix {
    num_classes: usize,
    threshold: f32,
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// An empty matrix for classes `0..num_classes` (at least 2, checked on `update`).
    pub fn new(num_classes: usize) -> Self {
        ConfusionMatrix { num_classes, threshold: 0.5, counts: vec![0; num_classes * num_classes] }
    }

    /// Threshold for binary scores `[n]` / `[n, 1]` (class 1 when `score > threshold`); use 0.0 for logits.
    pub fn with_threshold(mut self, threshold: f32) -> Self {
        self.threshold = threshold;
        self
    }

    /// The number of classes.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// The binary threshold.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Accumulate one batch.
    ///
    /// # Errors
    /// Bad input as described in the crate docs; errors name "confusion_matrix".
    pub fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) -> Result<()> {
        self.update_as("confusion_matrix", y_true, y_pred)
    }

    /// `update` with the name of the metric that owns this matrix, for error messages.
    pub(crate) fn update_as(&mut self, metric: &str, y_true: &Tensor, y_pred: &Tensor) -> Result<()> {
        let (truth, pred) = input::class_indices(metric, y_true, y_pred, self.num_classes, self.threshold)?;
        for (t, p) in truth.into_iter().zip(pred) {
            self.counts[t * self.num_classes + p] += 1;
        }
        Ok(())
    }

    /// The counts, row-major, as a metric state ([`Metric::state`](crate::Metric::state)).
    pub(crate) fn state(&self) -> Vec<f64> {
        state::from_counts(&self.counts)
    }

    /// Adds the counts of a [`state`](ConfusionMatrix::state) of a matrix of the same size.
    pub(crate) fn merge_state(&mut self, metric: &str, counts: &[f64]) -> Result<()> {
        let n = self.num_classes;
        if counts.len() != self.counts.len() {
            let expected = format!("{} numbers, the counts of a {n} × {n} confusion matrix", self.counts.len());
            return Err(state::wrong_len(metric, counts.len(), &expected));
        }
        state::add_counts(metric, &mut self.counts, counts)
    }

    /// Set every count to zero.
    pub fn reset(&mut self) {
        self.counts.iter_mut().for_each(|c| *c = 0);
    }

    /// Samples of true class `t` predicted as class `p`.
    ///
    /// # Panics
    /// If `t` or `p` is not below `num_classes`.
    #[track_caller]
    pub fn get(&self, t: usize, p: usize) -> u64 {
        assert!(t < self.num_classes && p < self.num_classes, "ConfusionMatrix::get({t}, {p}) out of range");
        self.counts[t * self.num_classes + p]
    }

    /// True positives of class `c` (the diagonal entry).
    pub fn true_positives(&self, c: usize) -> u64 {
        self.get(c, c)
    }

    /// Samples predicted as class `c` (column sum).
    pub fn predicted(&self, c: usize) -> u64 {
        (0..self.num_classes).map(|t| self.get(t, c)).sum()
    }

    /// Samples whose true class is `c` (row sum), scikit-learn's `support`.
    pub fn support(&self, c: usize) -> u64 {
        (0..self.num_classes).map(|p| self.get(c, p)).sum()
    }

    /// All samples seen since the last reset.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The fraction of samples on the diagonal (0.0 when empty).
    pub fn accuracy(&self) -> f64 {
        let correct: u64 = (0..self.num_classes).map(|c| self.true_positives(c)).sum();
        crate::ratio(correct as f64, self.total() as f64, 0.0)
    }

    /// The counts as nested rows (`[true][pred]`).
    pub fn to_vec(&self) -> Vec<Vec<u64>> {
        self.counts.chunks(self.num_classes.max(1)).map(<[u64]>::to_vec).collect()
    }

    /// The counts as a `[num_classes, num_classes]` tensor.
    pub fn to_tensor(&self) -> Tensor {
        let data = self.counts.iter().map(|&c| c as f32).collect();
        Tensor::from_vec(data, &[self.num_classes, self.num_classes]).expect("square buffer")
    }
}

/// The confusion matrix of one batch (scikit-learn's `confusion_matrix`), with the number of
/// classes taken from a `[n, C]` argument or else from the largest label.
///
/// # Errors
/// Bad input as described in the crate docs.
///
/// ```
/// use kensho_core::Tensor;
/// let y = Tensor::from_vec(vec![1.0, 0.0, 1.0], &[3])?;
/// let p = Tensor::from_vec(vec![0.9, 0.6, 0.2], &[3])?; // binary scores, threshold 0.5
/// let cm = kensho_metrics::confusion_matrix(&y, &p)?;
/// assert_eq!(cm.to_vec(), vec![vec![0, 1], vec![1, 1]]);
/// # Ok::<(), kensho_metrics::Error>(())
/// ```
pub fn confusion_matrix(y_true: &Tensor, y_pred: &Tensor) -> Result<ConfusionMatrix> {
    let n = input::infer_num_classes("confusion_matrix", y_true, y_pred)?;
    let mut cm = ConfusionMatrix::new(n);
    cm.update(y_true, y_pred)?;
    Ok(cm)
}
