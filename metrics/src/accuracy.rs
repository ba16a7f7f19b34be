//! Accuracy in Keras' forms: sparse categorical ([`Accuracy`]), categorical (one-hot truth),
//! binary (thresholded scores) and top-k, each streaming as two counts (correct, seen), which
//! is also the state that [`Metric::merge_state`] adds.

use kensho_core::{Error, Result, Tensor};

use crate::input::{self, Matrix};
use crate::{ratio, state, Metric, MetricConfig};

/// How the truth is given and how predictions are scored.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Form {
    /// Indices `[n]` / `[n, 1]` against argmax of `[n, C]`, against class indices `[n]` /
    /// `[n, 1]`, or against thresholded binary scores (see [`Accuracy`]).
    Sparse,
    /// One-hot `[n, C]` against argmax of `[n, C]`.
    Categorical,
    /// Labels 0/1 against `score > threshold`.
    Binary(f32),
    /// True class among the `k` highest scores; indices (`false`) or one-hot (`true`) truth.
    TopK { k: usize, one_hot: bool },
}

/// Counts of correct and seen samples.
#[derive(Debug, Clone)]
struct Counter {
    name: &'static str,
    form: Form,
    correct: u64,
    seen: u64,
}

impl Counter {
    fn new(name: &'static str, form: Form) -> Self {
        Counter { name, form, correct: 0, seen: 0 }
    }

    /// The settings of the metric this counter belongs to.
    fn config(&self) -> MetricConfig {
        match self.form {
            Form::Sparse => MetricConfig::Accuracy,
            Form::Categorical => MetricConfig::CategoricalAccuracy,
            Form::Binary(threshold) => MetricConfig::BinaryAccuracy { threshold },
            Form::TopK { k, one_hot: true } => MetricConfig::TopKCategoricalAccuracy { k },
            Form::TopK { k, one_hot: false } => MetricConfig::SparseTopKCategoricalAccuracy { k },
        }
    }

    /// Correct predictions in one batch, and the batch size.
    fn count(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<(u64, u64)> {
        let name = self.name;
        let (t, p) = input::pair(name, y_true, y_pred)?;
        let (truth, pred) = match self.form {
            Form::Sparse => {
                expect_indices(name, &t, y_true, "CategoricalAccuracy")?;
                sparse_labels(name, &t, &p)?
            }
            Form::Categorical => {
                expect_one_hot(name, &t, y_true, "Accuracy (sparse categorical)")?;
                (input::truth_labels(name, &t, t.cols)?, input::pred_labels(name, &p, t.cols, 0.5)?)
            }
            Form::Binary(threshold) => {
                if p.cols != 1 {
                    let expected = "binary scores of shape [n] or [n, 1]";
                    return Err(Error::shape(format!("{name}: y_pred"), expected, y_pred.shape()));
                }
                (input::truth_labels(name, &t, 2)?, input::pred_labels(name, &p, 2, threshold)?)
            }
            Form::TopK { k, one_hot } => return top_k(name, &t, &p, y_true, y_pred, k, one_hot),
        };
        let correct = truth.iter().zip(&pred).filter(|(a, b)| a == b).count();
        Ok((correct as u64, truth.len() as u64))
    }
}

/// True and predicted classes for [`Accuracy`]: predictions `[n, C]` by argmax; `[n]` / `[n, 1]`
/// predictions as class indices when every value is a non-negative integer, otherwise as
/// binary scores (class 1 when `> 0.5`), which need labels 0 and 1.
fn sparse_labels(name: &str, t: &Matrix, p: &Matrix) -> Result<(Vec<usize>, Vec<usize>)> {
    if p.cols > 1 {
        return Ok((input::truth_labels(name, t, p.cols)?, input::pred_labels(name, p, p.cols, 0.5)?));
    }
    let truth = input::truth_labels(name, t, usize::MAX)?;
    if input::holds_class_indices(p) {
        return Ok((truth, input::pred_labels(name, p, usize::MAX, 0.5)?));
    }
    if let Some(c) = truth.iter().find(|&&c| c > 1) {
        let score = p.data.iter().find(|v| **v < 0.0 || v.fract() != 0.0).expect("not all class indices");
        let expected = format!(
            "class indices (non-negative integers), as y_true holds class {c}; predictions of shape [n] that are \
             not all integers are read as binary scores, for labels 0 and 1 only (give [n, C] scores otherwise)"
        );
        return Err(Error::invalid(format!("{name}: y_pred value"), score, expected));
    }
    Ok((truth, input::pred_labels(name, p, 2, 0.5)?))
}

fn expect_indices(name: &str, t: &Matrix, y_true: &Tensor, other: &str) -> Result<()> {
    if t.cols != 1 {
        let expected = format!("class indices of shape [n] or [n, 1] (for one-hot labels use {other})");
        return Err(Error::shape(format!("{name}: y_true"), expected, y_true.shape()));
    }
    Ok(())
}

fn expect_one_hot(name: &str, t: &Matrix, y_true: &Tensor, other: &str) -> Result<()> {
    if t.cols < 2 {
        let expected = format!("one-hot labels of shape [n, C] (for class indices use {other})");
        return Err(Error::shape(format!("{name}: y_true"), expected, y_true.shape()));
    }
    Ok(())
}

/// Keras' `in_top_k`: correct when fewer than `k` classes score strictly higher than the true class
/// (so ties at the boundary count as inside the top k).
fn top_k(
    name: &str,
    t: &Matrix,
    p: &Matrix,
    y_true: &Tensor,
    y_pred: &Tensor,
    k: usize,
    one_hot: bool,
) -> Result<(u64, u64)> {
    if k == 0 {
        return Err(Error::invalid(format!("{name}: k"), k, "at least 1"));
    }
    if p.cols < 2 {
        return Err(Error::shape(format!("{name}: y_pred"), "scores of shape [n, C] with C >= 2", y_pred.shape()));
    }
    if one_hot {
        expect_one_hot(name, t, y_true, "SparseTopKCategoricalAccuracy")?;
    } else {
        expect_indices(name, t, y_true, "TopKCategoricalAccuracy")?;
    }
    let truth = input::truth_labels(name, t, p.cols)?;
    let correct = truth
        .iter()
        .enumerate()
        .filter(|&(i, &c)| {
            let row = p.row(i);
            row.iter().filter(|&&s| s > row[c]).count() < k
        })
        .count();
    Ok((correct as u64, truth.len() as u64))
}

macro_rules! accuracy_metric {
    ($ty:ident) => {
        impl Metric for $ty {
            fn name(&self) -> &str {
                self.0.name
            }

            fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) -> Result<()> {
                let (correct, seen) = self.0.count(y_true, y_pred)?;
                self.0.correct += correct;
                self.0.seen += seen;
                Ok(())
            }

            fn result(&self) -> f32 {
                ratio(self.0.correct as f64, self.0.seen as f64, 0.0) as f32
            }

            fn reset(&mut self) {
                self.0.correct = 0;
                self.0.seen = 0;
            }

            fn config(&self) -> Option<MetricConfig> {
                Some(self.0.config())
            }

            /// `[correct, seen]`; merging adds them.
            fn state(&self) -> Vec<f64> {
                state::from_counts(&[self.0.correct, self.0.seen])
            }

            fn merge_state(&mut self, state: &[f64]) -> Result<()> {
                let mut counts = [self.0.correct, self.0.seen];
                state::add_counts(self.0.name, &mut counts, state)?;
                [self.0.correct, self.0.seen] = counts;
                Ok(())
            }
        }
    };
}

/// Sparse categorical accuracy, name "accuracy": the fraction of samples whose predicted class
/// equals the true class, for true class indices `[n]` / `[n, 1]` and predictions that are
/// - scores `[n, C]`: the predicted class is the argmax (the first maximum wins ties);
/// - `[n]` / `[n, 1]` values that are all non-negative integers: class indices, compared with
///   the truth as they are (scikit-learn's `accuracy_score`, Keras' `Accuracy`);
/// - other `[n]` / `[n, 1]` values: binary scores, class 1 when `score > 0.5` (probabilities;
///   for another threshold use [`BinaryAccuracy`]); the truth must then be 0 or 1.
///
/// The rule is applied to each batch; the last two readings agree on predictions of 0 and 1,
/// so a stream of batches gives the same result as one batch of all of them.
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_metrics::{Accuracy, Metric};
///
/// let mut acc = Accuracy::new();
/// let y = Tensor::from_vec(vec![2.0, 0.0], &[2])?;
/// let p = Tensor::from_vec(vec![0.1, 0.2, 0.7, 0.3, 0.6, 0.1], &[2, 3])?;
/// acc.update(&y, &p)?;
/// assert_eq!(acc.result(), 0.5);
/// # Ok::<(), kensho_metrics::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Accuracy(Counter);

impl Accuracy {
    /// A new, empty accuracy.
    pub fn new() -> Self {
        Accuracy(Counter::new("accuracy", Form::Sparse))
    }
}

impl Default for Accuracy {
    fn default() -> Self {
        Self::new()
    }
}
accuracy_metric!(Accuracy);

/// Keras' name for [`Accuracy`].
pub type SparseCategoricalAccuracy = Accuracy;

/// Categorical accuracy, name "categorical_accuracy": one-hot truth `[n, C]` against the argmax of `[n, C]`.
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_metrics::{CategoricalAccuracy, Metric};
///
/// let mut acc = CategoricalAccuracy::new();
/// let y = Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0], &[2, 2])?;
/// let p = Tensor::from_vec(vec![0.2, 0.8, 0.4, 0.6], &[2, 2])?;
/// acc.update(&y, &p)?;
/// assert_eq!(acc.result(), 0.5);
/// # Ok::<(), kensho_metrics::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CategoricalAccuracy(Counter);

impl CategoricalAccuracy {
    /// A new, empty categorical accuracy.
    pub fn new() -> Self {
        CategoricalAccuracy(Counter::new("categorical_accuracy", Form::Categorical))
    }
}

impl Default for CategoricalAccuracy {
    fn default() -> Self {
        Self::new()
    }
}
accuracy_metric!(CategoricalAccuracy);

/// Binary accuracy, name "binary_accuracy": labels 0/1 against `score > threshold`
/// (0.5 for probabilities; use 0.0 for logits).
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_metrics::{BinaryAccuracy, Metric};
///
/// let mut acc = BinaryAccuracy::new(0.0); // logits
/// acc.update(&Tensor::from_vec(vec![1.0, 0.0, 1.0], &[3, 1])?, &Tensor::from_vec(vec![1.5, -0.2, -3.0], &[3, 1])?)?;
/// assert!((acc.result() - 2.0 / 3.0).abs() < 1e-6);
/// # Ok::<(), kensho_metrics::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct BinaryAccuracy(Counter);

impl BinaryAccuracy {
    /// Binary accuracy with the given decision threshold.
    pub fn new(threshold: f32) -> Self {
        BinaryAccuracy(Counter::new("binary_accuracy", Form::Binary(threshold)))
    }
}

impl Default for BinaryAccuracy {
    /// Threshold 0.5.
    fn default() -> Self {
        Self::new(0.5)
    }
}
accuracy_metric!(BinaryAccuracy);

/// Top-k accuracy with one-hot truth `[n, C]`, name "top_k_categorical_accuracy". A sample is
/// correct when fewer than `k` classes score strictly higher than its true class (Keras' `in_top_k`).
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_metrics::{Metric, TopKCategoricalAccuracy};
///
/// let mut acc = TopKCategoricalAccuracy::new(2);
/// let y = Tensor::from_vec(vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0], &[2, 3])?;
/// let p = Tensor::from_vec(vec![0.5, 0.2, 0.3, 0.1, 0.3, 0.6], &[2, 3])?;
/// acc.update(&y, &p)?;
/// assert_eq!(acc.result(), 1.0 / 2.0);
/// # Ok::<(), kensho_metrics::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TopKCategoricalAccuracy(Counter);

impl TopKCategoricalAccuracy {
    /// Top-`k` accuracy (Keras' default is `k = 5`; `k >= 1`, checked on update).
    pub fn new(k: usize) -> Self {
        TopKCategoricalAccuracy(Counter::new("top_k_categorical_accuracy", Form::TopK { k, one_hot: true }))
    }
}
accuracy_metric!(TopKCategoricalAccuracy);

/// Top-k accuracy with class-index truth `[n]` / `[n, 1]`, name "sparse_top_k_categorical_accuracy".
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_metrics::{Metric, SparseTopKCategoricalAccuracy};
///
/// let mut acc = SparseTopKCategoricalAccuracy::new(2);
/// let y = Tensor::from_vec(vec![2.0, 0.0], &[2])?;
/// let p = Tensor::from_vec(vec![0.5, 0.2, 0.3, 0.1, 0.3, 0.6], &[2, 3])?;
/// acc.update(&y, &p)?;
/// assert_eq!(acc.result(), 0.5);
/// # Ok::<(), kensho_metrics::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SparseTopKCategoricalAccuracy(Counter);

impl SparseTopKCategoricalAccuracy {
    /// Top-`k` accuracy (Keras' default is `k = 5`; `k >= 1`, checked on update).
    pub fn new(k: usize) -> Self {
        let form = Form::TopK { k, one_hot: false };
        SparseTopKCategoricalAccuracy(Counter::new("sparse_top_k_categorical_accuracy", form))
    }
}
accuracy_metric!(SparseTopKCategoricalAccuracy);

/// Accuracy of one batch (scikit-learn's `accuracy_score`): the fraction of samples whose
/// predicted class equals the true class, inputs read with the crate's conventions.
///
/// # Errors
/// Bad input as described in the crate docs.
///
/// ```
/// use kensho_core::Tensor;
/// let y = Tensor::from_vec(vec![0.0, 1.0, 2.0, 3.0], &[4])?;
/// let p = Tensor::from_vec(vec![0.0, 2.0, 1.0, 3.0], &[4])?;
/// assert_eq!(kensho_metrics::accuracy_score(&y, &p)?, 0.5);
/// # Ok::<(), kensho_metrics::Error>(())
/// ```
pub fn accuracy_score(y_true: &Tensor, y_pred: &Tensor) -> Result<f32> {
    let n = input::infer_num_classes("accuracy", y_true, y_pred)?;
    let (truth, pred) = input::class_indices("accuracy", y_true, y_pred, n, 0.5)?;
    let correct = truth.iter().zip(&pred).filter(|(a, b)| a == b).count();
    Ok(correct as f32 / truth.len() as f32)
}

/// Top-k accuracy of one batch (scikit-learn's `top_k_accuracy_score` for `[n, C]` scores);
/// truth as class indices or one-hot; boundary ties count as inside the top k.
///
/// # Errors
/// Bad input as described in the crate docs, or `k == 0`.
pub fn top_k_accuracy_score(y_true: &Tensor, y_pred: &Tensor, k: usize) -> Result<f32> {
    let name = "top_k_accuracy";
    let (t, p) = input::pair(name, y_true, y_pred)?;
    let (correct, seen) = top_k(name, &t, &p, y_true, y_pred, k, t.cols > 1)?;
    Ok(correct as f32 / seen as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_ties_at_the_boundary_count_as_inside() {
        // Keras' in_top_k: correct when fewer than k scores are strictly higher than the true one.
        let y = Tensor::from_vec(vec![1.0, 2.0, 0.0], &[3]).unwrap();
        let p = Tensor::from_vec(vec![0.4, 0.4, 0.2, 0.3, 0.4, 0.3, 0.1, 0.5, 0.8], &[3, 3]).unwrap();
        assert_eq!(top_k_accuracy_score(&y, &p, 1).unwrap(), 1.0 / 3.0);
        assert_eq!(top_k_accuracy_score(&y, &p, 2).unwrap(), 2.0 / 3.0);
        assert_eq!(top_k_accuracy_score(&y, &p, 3).unwrap(), 1.0);
    }

    #[test]
    fn class_index_predictions_beyond_two_classes_are_compared_as_indices() {
        // Expected values counted by hand (scikit-learn's accuracy_score gives the same:
        // the fraction of positions where y_true == y_pred).
        let v = |x: &[f32]| Tensor::from_vec(x.to_vec(), &[x.len()]).unwrap();
        let col = |x: &[f32]| Tensor::from_vec(x.to_vec(), &[x.len(), 1]).unwrap();
        // Matches at positions 0, 2, 4, 5: 4 of 6.
        let (y, p) = (v(&[0., 1., 2., 2., 1., 0.]), v(&[0., 2., 2., 1., 1., 0.]));
        let mut acc = Accuracy::new();
        acc.update(&y, &p).unwrap();
        assert_eq!(acc.result(), 4.0 / 6.0);
        assert_eq!(accuracy_score(&y, &p).unwrap(), 4.0 / 6.0);
        // Truth of 0/1 only in the first batch, a prediction of 2 (thresholding at 0.5 would count
        // it as class 1, a hit): [1, 0, 1] vs [2, 0, 1] is 2 of 3; then [2, 2, 0] vs [2, 1, 0]
        // (shape [n, 1]) is 2 of 3: 4 of 6 over the stream, as accuracy_score on the concatenation.
        let mut acc = Accuracy::new();
        acc.update(&v(&[1., 0., 1.]), &v(&[2., 0., 1.])).unwrap();
        assert_eq!(acc.result(), 2.0 / 3.0);
        acc.update(&col(&[2., 2., 0.]), &col(&[2., 1., 0.])).unwrap();
        assert_eq!(acc.result(), 4.0 / 6.0);
        let all = (v(&[1., 0., 1., 2., 2., 0.]), v(&[2., 0., 1., 2., 1., 0.]));
        assert_eq!(accuracy_score(&all.0, &all.1).unwrap(), acc.result());
        // Binary scores are still thresholded at 0.5: predictions [1, 0, 0, 0], 3 of 4 right.
        let mut acc = Accuracy::new();
        acc.update(&v(&[1., 0., 1., 0.]), &v(&[0.7, 0.2, 0.4, 0.5])).unwrap();
        assert_eq!(acc.result(), 0.75);
        // Fractional scores with a third class blame y_pred and say what to give instead.
        let e = Accuracy::new().update(&v(&[0., 2.]), &v(&[0.3, 0.9])).unwrap_err().to_string();
        assert!(e.contains("accuracy: y_pred") && e.contains("0.3") && e.contains("class 2"), "{e}");
        let e = Accuracy::new().update(&v(&[0., -1.]), &v(&[0., 1.])).unwrap_err().to_string();
        assert!(e.contains("y_true") && e.contains("non-negative integer"), "{e}");
    }

    #[test]
    fn sparse_and_categorical_reject_each_others_truth() {
        let one_hot = Tensor::from_vec(vec![0.0, 1.0], &[1, 2]).unwrap();
        let idx = Tensor::from_vec(vec![1.0], &[1]).unwrap();
        let e = Accuracy::new().update(&one_hot, &one_hot).unwrap_err().to_string();
        assert!(e.contains("accuracy: y_true") && e.contains("CategoricalAccuracy") && e.contains("[1, 2]"), "{e}");
        let e = CategoricalAccuracy::new().update(&idx, &one_hot).unwrap_err().to_string();
        assert!(e.contains("categorical_accuracy") && e.contains("one-hot"), "{e}");
        let e = TopKCategoricalAccuracy::new(0).update(&one_hot, &one_hot).unwrap_err().to_string();
        assert!(e.contains("k") && e.contains("at least 1"), "{e}");
        let e = BinaryAccuracy::default().update(&idx, &one_hot).unwrap_err().to_string();
        assert!(e.contains("binary_accuracy") && e.contains("[n, 1]"), "{e}");
    }
}
