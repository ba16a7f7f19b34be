//! Every bad input gives an `Err` whose message names the metric, the value seen and what was
//! expected; a failed update leaves the metric unchanged.

use kensho_core::Tensor;
use kensho_metrics::*;

fn v(v: &[f32]) -> Tensor {
    Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap()
}

#[track_caller]
fn err_contains(r: Result<impl std::fmt::Debug>, parts: &[&str]) {
    let e = r.expect_err("expected an error").to_string();
    for p in parts {
        assert!(e.contains(p), "error {e:?} should mention {p:?}");
    }
}

fn all_metrics() -> Vec<Box<dyn Metric>> {
    vec![
        Box::new(Accuracy::new()),
        Box::new(BinaryAccuracy::default()),
        Box::new(Precision::binary()),
        Box::new(Recall::new(3, Average::Macro)),
        Box::new(F1Score::new(3, Average::Weighted)),
        Box::new(FBetaScore::new(3, Average::Micro, 2.0)),
        Box::new(RocAuc::new()),
        Box::new(AveragePrecision::new()),
        Box::new(MeanSquaredError::new()),
        Box::new(RootMeanSquaredError::new()),
        Box::new(MeanAbsoluteError::new()),
        Box::new(MeanAbsolutePercentageError::new()),
        Box::new(R2Score::new()),
    ]
}

#[test]
fn lengths_that_differ() {
    for mut m in all_metrics() {
        let name = m.name().to_string();
        err_contains(m.update(&v(&[0.0, 1.0, 1.0]), &v(&[0.0, 1.0])), &[&name, "lengths differ", "[2]", "3 rows"]);
    }
    err_contains(precision_score(&v(&[0.0]), &v(&[0.0, 1.0]), Average::Micro, ZeroDivision::Zero), &["precision"]);
    err_contains(mean_absolute_error(&v(&[0.0, 1.0]), &Tensor::zeros(&[2, 2])), &["mae", "same number of values"]);
}

#[test]
fn empty_input() {
    for mut m in all_metrics() {
        let name = m.name().to_string();
        err_contains(m.update(&v(&[]), &v(&[])), &[&name, "non-empty", "[0]"]);
    }
    err_contains(classification_report(&v(&[]), &v(&[]), None, 2), &["classification_report", "non-empty"]);
}

#[test]
fn labels_outside_the_classes() {
    let probs = Tensor::from_vec(vec![0.2, 0.3, 0.5, 0.6, 0.2, 0.2], &[2, 3]).unwrap();
    for mut m in [Box::new(Accuracy::new()) as Box<dyn Metric>, Box::new(F1Score::new(3, Average::Macro))] {
        let name = m.name().to_string();
        err_contains(m.update(&v(&[0.0, 3.0]), &probs), &[&name, "y_true label", "received 3", "0..3"]);
        err_contains(m.update(&v(&[0.0, -1.0]), &probs), &["received -1", "0..3"]);
        err_contains(m.update(&v(&[0.0, 0.5]), &probs), &["received 0.5", "integer class index"]);
    }
    err_contains(RocAuc::new().update(&v(&[0.0, 2.0]), &v(&[0.1, 0.9])), &["auc", "received 2", "0..2"]);
    err_contains(
        BinaryAccuracy::default().update(&v(&[1.0, 2.0]), &v(&[0.1, 0.9])),
        &["binary_accuracy", "received 2"],
    );
    // A 1-D y_pred with more than two classes holds class indices.
    err_contains(
        Recall::new(3, Average::Macro).update(&v(&[0.0, 1.0]), &v(&[0.0, 7.0])),
        &["y_pred label", "received 7"],
    );
    // Probabilities with the wrong number of columns.
    err_contains(
        Precision::new(4, Average::Macro).update(&v(&[0.0, 1.0]), &probs),
        &["precision", "4 columns", "[2, 3]"],
    );
}

#[test]
fn nan_scores() {
    for mut m in all_metrics() {
        let name = m.name().to_string();
        err_contains(m.update(&v(&[0.0, 1.0]), &v(&[0.3, f32::NAN])), &[&name, "y_pred value", "NaN", "finite"]);
        err_contains(m.update(&v(&[f32::NAN, 1.0]), &v(&[0.3, 0.2])), &[&name, "y_true value", "NaN"]);
    }
    err_contains(roc_auc_score(&v(&[0.0, 1.0]), &v(&[f32::INFINITY, 0.2])), &["roc_auc_score", "inf"]);
}

#[test]
fn bad_configuration() {
    let (y, p) = (v(&[0.0, 1.0]), v(&[0.0, 1.0]));
    err_contains(
        Precision::new(1, Average::Macro).update(&y, &p),
        &["precision: num_classes", "received 1", "at least 2"],
    );
    err_contains(
        Recall::new(2, Average::Binary { pos_label: 2 }).update(&y, &p),
        &["recall: pos_label", "received 2", "0..2"],
    );
    err_contains(f1_score(&y, &p, Average::Binary { pos_label: 5 }, ZeroDivision::Zero), &["f1_score: pos_label"]);
    err_contains(FBetaScore::new(2, Average::Micro, -1.0).update(&y, &p), &["fbeta_score: beta", "received -1"]);
    err_contains(TopKCategoricalAccuracy::new(0).update(&Tensor::eye(2), &Tensor::eye(2)), &["k", "at least 1"]);
    err_contains(classification_report(&y, &p, Some(&["a", "b", "c"]), 2), &["target_names", "3 names", "2 names"]);
    err_contains(roc_auc_score(&v(&[1.0, 1.0]), &v(&[0.2, 0.4])), &["roc_auc_score", "only class 1", "both classes"]);
    err_contains(Accuracy::new().update(&Tensor::zeros(&[2, 2, 2]), &p), &["accuracy: y_true", "[2, 2, 2]"]);
}

#[test]
fn a_failed_update_changes_nothing() {
    let mut f1 = F1Score::new(3, Average::Macro);
    f1.update(&v(&[0.0, 1.0, 2.0]), &v(&[0.0, 1.0, 1.0])).unwrap();
    let before = f1.result();
    assert!(f1.update(&v(&[0.0, 1.0, 9.0]), &v(&[0.0, 1.0, 1.0])).is_err());
    assert_eq!(f1.result(), before);
    assert_eq!(f1.confusion_matrix().total(), 3);
    let mut mse = MeanSquaredError::new();
    mse.update(&v(&[1.0]), &v(&[2.0])).unwrap();
    assert!(mse.update(&v(&[1.0, 2.0]), &v(&[1.0, f32::NAN])).is_err());
    assert_eq!(mse.result(), 1.0);
}

#[test]
fn no_data_gives_zero_never_nan() {
    for m in all_metrics() {
        assert_eq!(m.result(), 0.0, "{}", m.name());
    }
    let mut p = Precision::binary().with_zero_division(ZeroDivision::One);
    assert_eq!(p.result(), 0.0);
    p.update(&v(&[1.0, 0.0]), &v(&[0.1, 0.2])).unwrap(); // no positive prediction: 0/0
    assert_eq!(p.result(), 1.0);
    let mut auc = RocAuc::new();
    auc.update(&v(&[1.0, 1.0]), &v(&[0.2, 0.4])).unwrap(); // one class: undefined, reported as 0
    assert_eq!(auc.result(), 0.0);
    let mut r2 = R2Score::new();
    r2.update(&v(&[2.0, 2.0]), &v(&[2.0, 2.0])).unwrap(); // constant truth, perfect fit
    assert_eq!(r2.result(), 1.0);
}
