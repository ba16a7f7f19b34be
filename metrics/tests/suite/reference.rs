//! Metrics against reference values computed independently with scikit-learn 1.9.1 / NumPy.
//!
//! Every literal below was printed by `tests/reference/generate.py` (see `tests/reference/README.md`);
//! the inputs here are the same arrays. Python is not needed to run these tests.

use kensho_core::Tensor;
use kensho_metrics::*;

fn t(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

fn v(v: &[f32]) -> Tensor {
    t(v, &[v.len()])
}

#[track_caller]
fn close(got: f32, want: f64, what: &str) {
    assert!((got as f64 - want).abs() <= 1e-6 * want.abs().max(1.0), "{what}: got {got}, sklearn {want}");
}

#[track_caller]
fn close_all(got: &[f32], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        close(g, w, &format!("{what}[{i}]"));
    }
}

/// Per-class [precision, recall, f1, f2] for zero_division 0 and 1, and averages
/// (average, zero_division, [precision, recall, f1, f2]).
struct Expected<'a> {
    accuracy: f64,
    confusion: Vec<Vec<u64>>,
    support: &'a [u64],
    per_class: [[&'a [f64]; 4]; 2],
    averages: &'a [(Average, ZeroDivision, [f64; 4])],
}

const Z: ZeroDivision = ZeroDivision::Zero;
const O: ZeroDivision = ZeroDivision::One;
const MI: Average = Average::Micro;
const MA: Average = Average::Macro;
const W: Average = Average::Weighted;

/// Checks the one-shot functions and the streaming metrics (one update) against `e`.
fn check(y: &Tensor, p: &Tensor, num_classes: usize, e: &Expected) {
    close(accuracy_score(y, p).unwrap(), e.accuracy, "accuracy_score");
    assert_eq!(confusion_matrix(y, p).unwrap().to_vec(), e.confusion, "confusion_matrix");
    let mut cm = ConfusionMatrix::new(num_classes);
    cm.update(y, p).unwrap();
    assert_eq!(cm.to_vec(), e.confusion, "streaming ConfusionMatrix");
    for (zi, zd) in [Z, O].into_iter().enumerate() {
        let [pp, rr, f1, f2] = e.per_class[zi];
        let s1 = precision_recall_fscore_support(y, p, 1.0, zd).unwrap();
        let s2 = precision_recall_fscore_support(y, p, 2.0, zd).unwrap();
        close_all(&s1.precision, pp, "per-class precision");
        close_all(&s1.recall, rr, "per-class recall");
        close_all(&s1.fscore, f1, "per-class f1");
        close_all(&s2.fscore, f2, "per-class f2");
        assert_eq!(s1.support, e.support);
        let mut m = Precision::new(num_classes, MA).with_zero_division(zd);
        m.update(y, p).unwrap();
        close_all(&m.per_class(), pp, "Precision::per_class");
        let mut m = Recall::new(num_classes, MA).with_zero_division(zd);
        m.update(y, p).unwrap();
        close_all(&m.per_class(), rr, "Recall::per_class");
    }
    for &(avg, zd, [pp, rr, f1, f2]) in e.averages {
        let what = format!("{avg:?} {zd:?}");
        close(precision_score(y, p, avg, zd).unwrap(), pp, &format!("precision_score {what}"));
        close(recall_score(y, p, avg, zd).unwrap(), rr, &format!("recall_score {what}"));
        close(f1_score(y, p, avg, zd).unwrap(), f1, &format!("f1_score {what}"));
        close(fbeta_score(y, p, 2.0, avg, zd).unwrap(), f2, &format!("fbeta_score {what}"));
        let mut metrics: Vec<(Box<dyn Metric>, f64)> = vec![
            (Box::new(Precision::new(num_classes, avg).with_zero_division(zd)), pp),
            (Box::new(Recall::new(num_classes, avg).with_zero_division(zd)), rr),
            (Box::new(F1Score::new(num_classes, avg).with_zero_division(zd)), f1),
            (Box::new(FBetaScore::new(num_classes, avg, 2.0).with_zero_division(zd)), f2),
        ];
        for (m, want) in &mut metrics {
            m.update(y, p).unwrap();
            close(m.result(), *want, &format!("streaming {} {what}", m.name()));
        }
    }
}

const YB: [f32; 12] = [0., 1., 1., 0., 1., 1., 0., 0., 1., 0., 1., 1.];
const SB: [f32; 12] = [0.2, 0.8, 0.4, 0.6, 0.9, 0.55, 0.1, 0.5, 0.7, 0.3, 0.45, 0.95];

#[test]
fn binary_scores_thresholded_at_one_half() {
    let b = Average::Binary { pos_label: 1 };
    let e = Expected {
        accuracy: 0.75,
        confusion: vec![vec![4, 1], vec![2, 5]],
        support: &[5, 7],
        per_class: [[
            &[0.6666666666666666, 0.8333333333333334],
            &[0.8, 0.7142857142857143],
            &[0.7272727272727273, 0.7692307692307693],
            &[0.7692307692307693, 0.7352941176470589],
        ]; 2],
        averages: &[
            (MI, Z, [0.75, 0.75, 0.75, 0.75]),
            (MA, Z, [0.75, 0.7571428571428571, 0.7482517482517483, 0.752262443438914]),
            (W, Z, [0.763888888888889, 0.75, 0.7517482517482518, 0.7494343891402715]),
            (b, Z, [0.8333333333333334, 0.7142857142857143, 0.7692307692307693, 0.7352941176470589]),
            (b, O, [0.8333333333333334, 0.7142857142857143, 0.7692307692307693, 0.7352941176470589]),
        ],
    };
    check(&v(&YB), &v(&SB), 2, &e);
    check(&t(&YB, &[12, 1]), &t(&SB, &[12, 1]), 2, &e);
    // pos_label 0 is class 0's column of the per-class figures.
    let p0 = precision_score(&v(&YB), &v(&SB), Average::Binary { pos_label: 0 }, Z).unwrap();
    close(p0, 0.6666666666666666, "precision pos_label 0");
    let mut acc = BinaryAccuracy::default();
    acc.update(&v(&YB), &v(&SB)).unwrap();
    close(acc.result(), 0.75, "BinaryAccuracy");
}

#[test]
fn binary_auc_and_average_precision() {
    close(roc_auc_score(&v(&YB), &v(&SB)).unwrap(), 0.8571428571428572, "roc_auc_score");
    close(average_precision_score(&v(&YB), &v(&SB)).unwrap(), 0.9087301587301586, "average_precision_score");
    let mut auc = RocAuc::new();
    auc.update(&v(&YB), &t(&SB, &[12, 1])).unwrap();
    close(auc.result(), 0.8571428571428572, "RocAuc");
}

#[test]
fn auc_with_tied_scores() {
    let y = v(&[0., 1., 0., 1., 1., 0., 0., 1., 0., 1.]);
    let s = v(&[0.3, 0.3, 0.5, 0.5, 0.9, 0.1, 0.5, 0.7, 0.3, 0.3]);
    close(roc_auc_score(&y, &s).unwrap(), 0.72, "roc_auc_score ties");
    close(average_precision_score(&y, &s).unwrap(), 0.7422222222222221, "average_precision_score ties");
    let mut ap = AveragePrecision::new();
    ap.update(&y, &s).unwrap();
    close(ap.result(), 0.7422222222222221, "AveragePrecision ties");
}

/// 15 samples, 3 imbalanced classes (9 / 4 / 2), predictions as probabilities (argmax).
fn three_class() -> (Tensor, Tensor) {
    let y = v(&[0., 0., 0., 0., 0., 0., 0., 1., 1., 1., 2., 2., 0., 1., 0.]);
    #[rustfmt::skip]
    let p = t(&[0.7, 0.2, 0.1, 0.6, 0.3, 0.1, 0.2, 0.5, 0.3, 0.8, 0.1, 0.1, 0.4, 0.4, 0.2, 0.3, 0.3, 0.4, 0.5, 0.2, 0.3,
        0.1, 0.8, 0.1, 0.3, 0.6, 0.1, 0.5, 0.4, 0.1, 0.1, 0.2, 0.7, 0.3, 0.4, 0.3, 0.6, 0.1, 0.3, 0.2, 0.3, 0.5,
        0.9, 0.05, 0.05], &[15, 3]);
    (y, p)
}

#[test]
fn three_imbalanced_classes() {
    let (y, p) = three_class();
    let pc: [&[f64]; 4] = [
        &[0.875, 0.5, 0.3333333333333333],
        &[0.7777777777777778, 0.5, 0.5],
        &[0.8235294117647058, 0.5, 0.4],
        &[0.7954545454545454, 0.5, 0.45454545454545453],
    ];
    let third = 0.6666666666666666;
    let e = Expected {
        accuracy: third,
        confusion: vec![vec![7, 1, 1], vec![1, 2, 1], vec![0, 1, 1]],
        support: &[9, 4, 2],
        per_class: [pc, pc],
        averages: &[
            (MI, Z, [third; 4]),
            (MA, Z, [0.5694444444444444, 0.5925925925925926, 0.5745098039215687, 0.5833333333333334]),
            (W, Z, [0.7027777777777777, third, 0.6807843137254902, 0.6712121212121211]),
            (W, O, [0.7027777777777777, third, 0.6807843137254902, 0.6712121212121211]),
        ],
    };
    check(&y, &p, 3, &e);
    // The same truth one-hot.
    let one_hot = Tensor::eye(3).index_select(0, &y.to_vec().iter().map(|&c| c as usize).collect::<Vec<_>>());
    check(&one_hot, &p, 3, &e);
    let mut cat = CategoricalAccuracy::new();
    cat.update(&one_hot, &p).unwrap();
    close(cat.result(), third, "CategoricalAccuracy");
    // Top-k on the same scores plus [0, 0.01, 0.02] per class (no ties; sklearn breaks ties by order).
    #[rustfmt::skip]
    let p = t(&[0.7, 0.21, 0.12, 0.6, 0.31, 0.12, 0.2, 0.51, 0.32, 0.8, 0.11, 0.12, 0.4, 0.41, 0.22, 0.3, 0.31, 0.42,
        0.5, 0.21, 0.32, 0.1, 0.81, 0.12, 0.3, 0.61, 0.12, 0.5, 0.41, 0.12, 0.1, 0.21, 0.72, 0.3, 0.41, 0.32, 0.6, 0.11,
        0.32, 0.2, 0.31, 0.52, 0.9, 0.06, 0.07], &[15, 3]);
    close(top_k_accuracy_score(&y, &p, 1).unwrap(), 0.6, "top_k_accuracy_score k=1");
    close(top_k_accuracy_score(&one_hot, &p, 2).unwrap(), 0.8666666666666667, "top_k_accuracy_score k=2");
    let mut top = SparseTopKCategoricalAccuracy::new(2);
    top.update(&y, &p).unwrap();
    close(top.result(), 0.8666666666666667, "SparseTopKCategoricalAccuracy");
    let mut top = TopKCategoricalAccuracy::new(1);
    top.update(&one_hot, &p).unwrap();
    close(top.result(), 0.6, "TopKCategoricalAccuracy k=1");
}

#[test]
fn class_absent_from_predictions() {
    let (y, p) = (v(&[0., 1., 2., 2., 1., 0., 2., 1.]), v(&[0., 1., 1., 0., 1., 0., 1., 1.]));
    let (r, f1, f2): (&[f64], &[f64], &[f64]) =
        (&[1.0, 1.0, 0.0], &[0.8, 0.75, 0.0], &[0.9090909090909091, 0.8823529411764706, 0.0]);
    let e = Expected {
        accuracy: 0.625,
        confusion: vec![vec![2, 0, 0], vec![0, 3, 0], vec![1, 2, 0]],
        support: &[2, 3, 3],
        per_class: [[&[0.6666666666666666, 0.6, 0.0], r, f1, f2], [&[0.6666666666666666, 0.6, 1.0], r, f1, f2]],
        averages: &[
            (MI, Z, [0.625; 4]),
            (MA, Z, [0.4222222222222222, 0.6666666666666666, 0.5166666666666667, 0.5971479500891266]),
            (W, Z, [0.3916666666666666, 0.625, 0.48125, 0.5581550802139037]),
            (MA, O, [0.7555555555555555, 0.6666666666666666, 0.5166666666666667, 0.5971479500891266]),
            (W, O, [0.7666666666666666, 0.625, 0.48125, 0.5581550802139037]),
        ],
    };
    check(&y, &p, 3, &e);
}

#[test]
fn class_absent_from_truth() {
    let (y, p) = (v(&[0., 1., 2., 2., 1., 0., 2., 1., 0.]), v(&[0., 3., 2., 3., 1., 0., 2., 1., 1.]));
    let third = 0.6666666666666666;
    let (pp, f1, f2): (&[f64], &[f64], &[f64]) =
        (&[1.0, third, 1.0, 0.0], &[0.8, third, 0.8, 0.0], &[0.7142857142857143, third, 0.7142857142857143, 0.0]);
    let e = Expected {
        accuracy: third,
        confusion: vec![vec![2, 1, 0, 0], vec![0, 2, 0, 1], vec![0, 0, 2, 1], vec![0, 0, 0, 0]],
        support: &[3, 3, 3, 0],
        per_class: [[pp, &[third, third, third, 0.0], f1, f2], [pp, &[third, third, third, 1.0], f1, f2]],
        averages: &[
            (MI, Z, [third; 4]),
            (MA, Z, [third, 0.5, 0.5666666666666667, 0.5238095238095238]),
            (W, Z, [0.8888888888888888, third, 0.7555555555555556, 0.6984126984126983]),
            (MA, O, [third, 0.75, 0.5666666666666667, 0.5238095238095238]),
            (W, O, [0.8888888888888888, third, 0.7555555555555556, 0.6984126984126983]),
        ],
    };
    check(&y, &p, 4, &e);
}

#[test]
fn classification_report_matches_sklearn_text() {
    let (y, p) = three_class();
    let got = classification_report(&y, &p, Some(&["cat", "dog", "bird"]), 2).unwrap();
    let want = "              precision    recall  f1-score   support

         cat       0.88      0.78      0.82         9
         dog       0.50      0.50      0.50         4
        bird       0.33      0.50      0.40         2

    accuracy                           0.67        15
   macro avg       0.57      0.59      0.57        15
weighted avg       0.70      0.67      0.68        15
";
    assert_eq!(got, want);
    let (y, p) = (v(&[0., 1., 2., 2., 1., 0., 2., 1.]), v(&[0., 1., 1., 0., 1., 0., 1., 1.]));
    let got = classification_report(&y, &p, None, 4).unwrap();
    let want = "              precision    recall  f1-score   support\n\n           0     0.6667    1.0000    0.8000         2\n           1     0.6000    1.0000    0.7500         3\n           2     0.0000    0.0000    0.0000         3\n\n    accuracy                         0.6250         8\n   macro avg     0.4222    0.6667    0.5167         8\nweighted avg     0.3917    0.6250    0.4813         8\n";
    assert_eq!(got, want);
}

#[test]
fn regression_metrics() {
    let y = v(&[3.0, -0.5, 2.0, 7.0, 0.0, 4.5, -2.0]);
    let p = t(&[2.5, 0.0, 2.0, 8.0, 0.1, 4.0, -1.5], &[7, 1]);
    close(mean_squared_error(&y, &p).unwrap(), 0.28714285718543187, "mse");
    close(root_mean_squared_error(&y, &p).unwrap(), 0.5358571238543273, "rmse");
    close(mean_absolute_error(&y, &p).unwrap(), 0.4428571430700166, "mae");
    close(r2_score(&y, &p).unwrap(), 0.9656410256359312, "r2");
    // y = 0 meets the 1e-7 floor: |0 - 0.1| / 1e-7 dominates, as in Keras.
    close(mean_absolute_percentage_error(&y, &p).unwrap(), 14285738.364801168, "mape");
}
