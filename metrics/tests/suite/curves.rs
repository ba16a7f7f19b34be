//! `roc_curve` and `precision_recall_curve` against points worked out by hand, and their
//! consistency with the exact areas.

use kensho_core::Tensor;
use kensho_metrics::{precision_recall_curve, roc_auc_score, roc_curve};

fn v(values: &[f32]) -> Tensor {
    Tensor::from_vec(values.to_vec(), &[values.len()]).unwrap()
}

fn close_all(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "{what}: {got:?} vs {want:?}");
    }
}

// Labels 1 0 1 1 0 0 with scores 0.9 0.9 0.7 0.3 0.3 0.1: the ties at 0.9 and 0.3 each hold a
// positive and a negative. By hand, walking the thresholds down (3 positives, 3 negatives):
//   threshold  +inf  0.9  0.7  0.3  0.1
//   fp            0    1    1    2    3
//   tp            0    1    2    3    3
const Y: [f32; 6] = [1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
const S: [f32; 6] = [0.9, 0.9, 0.7, 0.3, 0.3, 0.1];

#[test]
fn roc_curve_with_ties_matches_hand_computed_points() {
    let roc = roc_curve(&v(&Y), &v(&S)).unwrap();
    close_all(&roc.fpr, &[0.0, 1.0 / 3.0, 1.0 / 3.0, 2.0 / 3.0, 1.0], "fpr");
    close_all(&roc.tpr, &[0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0, 1.0], "tpr");
    assert_eq!(roc.thresholds, vec![f32::INFINITY, 0.9, 0.7, 0.3, 0.1]);
}

#[test]
fn precision_recall_curve_with_ties_matches_hand_computed_points() {
    let pr = precision_recall_curve(&v(&Y), &v(&S)).unwrap();
    // precision = tp / (tp + fp), 1 where nothing is predicted positive.
    close_all(&pr.precision, &[1.0, 0.5, 2.0 / 3.0, 0.6, 0.5], "precision");
    close_all(&pr.recall, &[0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0, 1.0], "recall");
    assert_eq!(pr.thresholds, vec![f32::INFINITY, 0.9, 0.7, 0.3, 0.1]);
}

#[test]
fn trapezoid_under_roc_curve_is_roc_auc_score() {
    // 2/3 by counting pairs: of the 9 (positive, negative) pairs, 5 are ordered right and 2 tie.
    let roc = roc_curve(&v(&Y), &v(&S)).unwrap();
    let area: f32 =
        (1..roc.fpr.len()).map(|i| (roc.fpr[i] - roc.fpr[i - 1]) * (roc.tpr[i] + roc.tpr[i - 1]) / 2.0).sum();
    assert!((area - 2.0 / 3.0).abs() < 1e-6, "{area}");
    assert!((roc_auc_score(&v(&Y), &v(&S)).unwrap() - area).abs() < 1e-6);
}

#[test]
fn two_column_scores_use_the_positive_column() {
    let scores: Vec<f32> = S.iter().flat_map(|&s| [1.0 - s, s]).collect();
    let two = Tensor::from_vec(scores, &[6, 2]).unwrap();
    assert_eq!(roc_curve(&v(&Y), &two).unwrap(), roc_curve(&v(&Y), &v(&S)).unwrap());
}

#[test]
fn one_class_is_an_error_naming_the_function() {
    let err = roc_curve(&v(&[1.0, 1.0]), &v(&[0.2, 0.8])).unwrap_err().to_string();
    assert!(err.contains("roc_curve") && err.contains("only class 1"), "{err}");
    let err = precision_recall_curve(&v(&[0.0, 0.0]), &v(&[0.2, 0.8])).unwrap_err().to_string();
    assert!(err.contains("precision_recall_curve") && err.contains("only class 0"), "{err}");
    // Positives only are enough for precision-recall (precision 1 everywhere); NaN scores are not.
    let pr = precision_recall_curve(&v(&[1.0, 1.0]), &v(&[0.2, 0.8])).unwrap();
    close_all(&pr.precision, &[1.0, 1.0, 1.0], "precision, positives only");
    assert!(roc_curve(&v(&[0.0, 1.0]), &v(&[f32::NAN, 0.5])).is_err());
}
