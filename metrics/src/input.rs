//! Reading `(y_true, y_pred)` tensors as a model produces them, and rejecting bad input.
//!
//! This file owns the one conversion every classification metric uses
//! ([`class_indices`]) and the checks shared by every metric (same number of rows,
//! non-empty, finite values, labels in range). Errors always name the metric, the value
//! seen and what was expected.
//!
//! Conventions (documented on the crate root):
//! - `y_true`: class indices, shape `[n]` or `[n, 1]` (f32 holding integers), or one-hot `[n, C]`.
//! - `y_pred`: probabilities or logits `[n, C]` (argmax, first maximum wins), or, when the
//!   problem has two classes, binary scores `[n]` / `[n, 1]` read as class 1 when
//!   `score > threshold` (0.5 for probabilities; set 0.0 for logits). With more than two
//!   classes a 1-D `y_pred` must hold class indices.

use kensho_core::{Error, Result, Tensor};

/// A tensor seen as a matrix of `rows × cols` (a 1-D tensor is one column), values row-major.
pub(crate) struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    /// Row `i` of the matrix.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

/// Checks shape (rank 1 or 2), non-emptiness and finiteness of one argument.
pub(crate) fn matrix(metric: &str, arg: &str, t: &Tensor) -> Result<Matrix> {
    let (rows, cols) = match *t.shape() {
        [n] => (n, 1),
        [n, c] => (n, c),
        _ => {
            return Err(Error::shape(format!("{metric}: {arg}"), "a tensor of shape [n], [n, 1] or [n, C]", t.shape()))
        }
    };
    if rows == 0 || cols == 0 {
        return Err(Error::shape(format!("{metric}: {arg}"), "a non-empty batch (at least one row)", t.shape()));
    }
    let data = t.to_vec();
    if let Some(v) = data.iter().find(|v| !v.is_finite()) {
        return Err(Error::invalid(format!("{metric}: {arg} value"), v, "finite numbers (no NaN or infinity)"));
    }
    Ok(Matrix { rows, cols, data })
}

/// Both arguments as matrices, checked to have the same number of rows.
pub(crate) fn pair(metric: &str, y_true: &Tensor, y_pred: &Tensor) -> Result<(Matrix, Matrix)> {
    let t = matrix(metric, "y_true", y_true)?;
    let p = matrix(metric, "y_pred", y_pred)?;
    if t.rows != p.rows {
        let expected = format!("{} rows like y_true {:?} (lengths differ)", t.rows, y_true.shape());
        return Err(Error::shape(format!("{metric}: y_pred"), expected, y_pred.shape()));
    }
    Ok((t, p))
}

/// Reads `v` as a class index in `0..num_classes` (`usize::MAX`: any non-negative integer).
fn index(metric: &str, arg: &str, v: f32, num_classes: usize) -> Result<usize> {
    if v < 0.0 || v.fract() != 0.0 || v as usize >= num_classes {
        let expected = match num_classes {
            usize::MAX => "a non-negative integer class index".to_string(),
            n => format!("an integer class index in 0..{n}"),
        };
        return Err(Error::invalid(format!("{metric}: {arg} label"), v, expected));
    }
    Ok(v as usize)
}

/// Index of the first maximum of a row.
pub(crate) fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Whether a one-column `y_pred` holds class indices (every value a non-negative integer)
/// rather than binary scores. The two readings agree on 0 and 1, so a stream of batches is
/// scored the same whichever reading each batch gets.
pub(crate) fn holds_class_indices(p: &Matrix) -> bool {
    p.cols == 1 && p.data.iter().all(|v| *v >= 0.0 && v.fract() == 0.0)
}

/// True class indices: a column of integer labels, or one-hot rows (argmax) with `num_classes` columns.
pub(crate) fn truth_labels(metric: &str, t: &Matrix, num_classes: usize) -> Result<Vec<usize>> {
    if t.cols == 1 {
        return t.data.iter().map(|&v| index(metric, "y_true", v, num_classes)).collect();
    }
    check_cols(metric, "y_true", t, num_classes)?;
    Ok((0..t.rows).map(|i| argmax(t.row(i))).collect())
}

/// Predicted class indices: argmax of `[n, C]` rows, thresholded binary scores, or integer labels.
pub(crate) fn pred_labels(metric: &str, p: &Matrix, num_classes: usize, threshold: f32) -> Result<Vec<usize>> {
    if p.cols == 1 {
        if num_classes == 2 {
            return Ok(p.data.iter().map(|&v| usize::from(v > threshold)).collect());
        }
        return p.data.iter().map(|&v| index(metric, "y_pred", v, num_classes)).collect();
    }
    check_cols(metric, "y_pred", p, num_classes)?;
    Ok((0..p.rows).map(|i| argmax(p.row(i))).collect())
}

fn check_cols(metric: &str, arg: &str, m: &Matrix, num_classes: usize) -> Result<()> {
    if m.cols != num_classes {
        let expected = format!("{num_classes} columns (one per class), as num_classes = {num_classes}");
        return Err(Error::shape(format!("{metric}: {arg}"), expected, &[m.rows, m.cols]));
    }
    Ok(())
}

/// The shared conversion of every classification metric: `(y_true, y_pred)` to two vectors of
/// class indices in `0..num_classes`, after all input checks.
pub(crate) fn class_indices(
    metric: &str,
    y_true: &Tensor,
    y_pred: &Tensor,
    num_classes: usize,
    threshold: f32,
) -> Result<(Vec<usize>, Vec<usize>)> {
    check_num_classes(metric, num_classes)?;
    let (t, p) = pair(metric, y_true, y_pred)?;
    Ok((truth_labels(metric, &t, num_classes)?, pred_labels(metric, &p, num_classes, threshold)?))
}

/// Errors unless there are at least two classes.
pub(crate) fn check_num_classes(metric: &str, num_classes: usize) -> Result<()> {
    if num_classes < 2 {
        return Err(Error::invalid(format!("{metric}: num_classes"), num_classes, "at least 2"));
    }
    Ok(())
}

/// The number of classes of a one-shot call: the column count of a `[n, C]` argument, otherwise
/// one more than the largest integer label in `y_true` or (when it holds integers) `y_pred`, at least 2.
pub(crate) fn infer_num_classes(metric: &str, y_true: &Tensor, y_pred: &Tensor) -> Result<usize> {
    let (t, p) = pair(metric, y_true, y_pred)?;
    if t.cols > 1 {
        return Ok(t.cols);
    }
    if p.cols > 1 {
        return Ok(p.cols);
    }
    let mut top = 1usize;
    for &v in &t.data {
        top = top.max(index(metric, "y_true", v, usize::MAX)?);
    }
    if holds_class_indices(&p) {
        top = top.max(p.data.iter().fold(0.0f32, |a, &b| a.max(b)) as usize);
    }
    Ok(top + 1)
}

/// Two same-length flat vectors of finite values (regression); `[n]` and `[n, 1]` may be mixed.
pub(crate) fn flat_pair(metric: &str, y_true: &Tensor, y_pred: &Tensor) -> Result<(Vec<f32>, Vec<f32>)> {
    let (t, p) = pair(metric, y_true, y_pred)?;
    if t.data.len() != p.data.len() {
        let expected = format!("the same number of values as y_true {:?}", y_true.shape());
        return Err(Error::shape(format!("{metric}: y_pred"), expected, y_pred.shape()));
    }
    Ok((t.data, p.data))
}

/// Binary truth (labels 0/1 or one-hot `[n, 2]`) and positive-class scores (`[n]`, `[n, 1]`, or column 1 of `[n, 2]`).
pub(crate) fn binary_scores(metric: &str, y_true: &Tensor, y_pred: &Tensor) -> Result<(Vec<bool>, Vec<f32>)> {
    let (t, p) = pair(metric, y_true, y_pred)?;
    let truth = truth_labels(metric, &t, 2)?.into_iter().map(|c| c == 1).collect();
    let scores = match p.cols {
        1 => p.data,
        2 => (0..p.rows).map(|i| p.row(i)[1]).collect(),
        _ => return Err(check_cols(metric, "y_pred", &p, 2).unwrap_err()),
    };
    Ok((truth, scores))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_vec(v.to_vec(), shape).unwrap()
    }

    #[test]
    fn indices_probabilities_one_hot_and_scores() {
        let probs = t(&[0.1, 0.7, 0.2, 0.5, 0.2, 0.3, 0.3, 0.3, 0.4], &[3, 3]);
        let (a, b) = class_indices("m", &t(&[1.0, 0.0, 2.0], &[3]), &probs, 3, 0.5).unwrap();
        assert_eq!((a, b), (vec![1, 0, 2], vec![1, 0, 2]));
        let one_hot = t(&[0.0, 1.0, 0.0, 0.0, 0.0, 1.0], &[2, 3]);
        let (a, b) = class_indices("m", &one_hot, &t(&[2.0, 2.0], &[2, 1]), 3, 0.5).unwrap();
        assert_eq!((a, b), (vec![1, 2], vec![2, 2]));
        let (_, b) = class_indices("m", &t(&[1.0, 0.0, 1.0], &[3, 1]), &t(&[0.5, 0.51, -2.0], &[3]), 2, 0.5).unwrap();
        assert_eq!(b, vec![0, 1, 0], "score > threshold, strictly");
        let (_, b) = class_indices("m", &t(&[1.0, 0.0], &[2]), &t(&[0.1, -0.1], &[2]), 2, 0.0).unwrap();
        assert_eq!(b, vec![1, 0], "logits with threshold 0");
    }

    #[test]
    fn ties_take_the_first_maximum() {
        assert_eq!(argmax(&[0.2, 0.4, 0.4]), 1);
    }

    #[test]
    fn bad_inputs_are_named() {
        let e = class_indices("recall", &t(&[0.0, 1.0], &[2]), &t(&[0.0], &[1]), 2, 0.5).unwrap_err().to_string();
        assert!(e.contains("recall") && e.contains("lengths differ") && e.contains("[1]"), "{e}");
        let e = class_indices("recall", &t(&[0.0, 3.0], &[2]), &t(&[0.0, 1.0], &[2]), 3, 0.5).unwrap_err().to_string();
        assert!(e.contains("received 3") && e.contains("0..3"), "{e}");
        let e = class_indices("recall", &t(&[0.0, 1.5], &[2]), &t(&[0.0, 1.0], &[2]), 3, 0.5).unwrap_err().to_string();
        assert!(e.contains("received 1.5"), "{e}");
        let e = class_indices("recall", &t(&[0.0], &[1]), &t(&[f32::NAN], &[1]), 2, 0.5).unwrap_err().to_string();
        assert!(e.contains("NaN") && e.contains("y_pred"), "{e}");
        let e = class_indices("recall", &t(&[], &[0]), &t(&[], &[0]), 2, 0.5).unwrap_err().to_string();
        assert!(e.contains("non-empty"), "{e}");
        let e = class_indices("recall", &t(&[0.0], &[1]), &t(&[0.1, 0.9], &[1, 2]), 3, 0.5).unwrap_err().to_string();
        assert!(e.contains("3 columns") && e.contains("[1, 2]"), "{e}");
    }

    #[test]
    fn inferred_class_counts() {
        let n = |a: &[f32], b: &[f32]| infer_num_classes("m", &t(a, &[a.len()]), &t(b, &[b.len()])).unwrap();
        assert_eq!(n(&[0.0, 0.0], &[0.0, 0.0]), 2);
        assert_eq!(n(&[0.0, 1.0], &[3.0, 0.0]), 4);
        assert_eq!(n(&[0.0, 2.0], &[0.7, 0.1]), 3, "scores do not count as labels");
        let probs = t(&[0.1, 0.7, 0.2, 0.1], &[1, 4]);
        assert_eq!(infer_num_classes("m", &t(&[0.0], &[1]), &probs).unwrap(), 4);
    }
}
