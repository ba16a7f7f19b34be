//! Streaming is exact: updates over randomly split, uneven batches give exactly the value of one
//! update over the concatenated data (and of the one-shot functions), for every metric.

use kensho_core::{seeded_rng, Tensor};
use kensho_metrics::*;
use rand::Rng;

const N: usize = 203;
const C: usize = 4;

/// Random labels, probabilities over C classes, binary labels and scores, regression targets.
struct Data {
    labels: Vec<f32>,
    probs: Vec<f32>,
    bin: Vec<f32>,
    scores: Vec<f32>,
    y: Vec<f32>,
    y_hat: Vec<f32>,
}

fn data() -> Data {
    let mut rng = seeded_rng(7);
    let mut d = Data { labels: vec![], probs: vec![], bin: vec![], scores: vec![], y: vec![], y_hat: vec![] };
    for _ in 0..N {
        // Imbalanced classes: class 3 is rare.
        let label = [0, 0, 0, 1, 1, 2, 2, 3][rng.random_range(0..8)] as f32;
        d.labels.push(label);
        let row: Vec<f32> = (0..C).map(|c| rng.random::<f32>() + if c as f32 == label { 0.6 } else { 0.0 }).collect();
        let sum: f32 = row.iter().sum();
        d.probs.extend(row.iter().map(|v| v / sum));
        let b = rng.random_range(0..2) as f32;
        d.bin.push(b);
        // Scores rounded to 0.05 so that many are tied.
        d.scores.push(((rng.random::<f32>() * 0.7 + 0.3 * b) * 20.0).round() / 20.0);
        let y = rng.random_range(-5.0..5.0f32);
        d.y.push(y);
        d.y_hat.push(y + rng.random_range(-1.0..1.0f32));
    }
    d
}

/// Random uneven batch boundaries covering 0..N.
fn splits(seed: u64) -> Vec<(usize, usize)> {
    let mut rng = seeded_rng(seed);
    let mut out = vec![];
    let mut start = 0;
    while start < N {
        let end = (start + rng.random_range(1..40)).min(N);
        out.push((start, end));
        start = end;
    }
    out
}

fn rows(v: &[f32], cols: usize, (a, b): (usize, usize)) -> Tensor {
    Tensor::from_vec(v[a * cols..b * cols].to_vec(), &[b - a, cols]).unwrap()
}

/// Each metric with its (y_true, y_pred, columns of y_pred) source.
fn metrics() -> Vec<(Box<dyn Metric>, &'static str)> {
    let mut out: Vec<(Box<dyn Metric>, &str)> = vec![
        (Box::new(Accuracy::new()), "multi"),
        (Box::new(SparseTopKCategoricalAccuracy::new(2)), "multi"),
        (Box::new(BinaryAccuracy::new(0.5)), "binary"),
        (Box::new(RocAuc::new()), "binary"),
        (Box::new(AveragePrecision::new()), "binary"),
        (Box::new(Precision::binary()), "binary"),
        (Box::new(Recall::binary().with_threshold(0.35)), "binary"),
        (Box::new(MeanSquaredError::new()), "regression"),
        (Box::new(RootMeanSquaredError::new()), "regression"),
        (Box::new(MeanAbsoluteError::new()), "regression"),
        (Box::new(MeanAbsolutePercentageError::new()), "regression"),
        (Box::new(R2Score::new()), "regression"),
    ];
    for avg in [Average::Micro, Average::Macro, Average::Weighted, Average::Binary { pos_label: 3 }] {
        out.push((Box::new(Precision::new(C, avg)), "multi"));
        out.push((Box::new(Recall::new(C, avg)), "multi"));
        out.push((Box::new(F1Score::new(C, avg)), "multi"));
        out.push((Box::new(FBetaScore::new(C, avg, 0.5).with_zero_division(ZeroDivision::One)), "multi"));
    }
    out
}

fn batch(d: &Data, source: &str, range: (usize, usize)) -> (Tensor, Tensor) {
    match source {
        "multi" => (rows(&d.labels, 1, range), rows(&d.probs, C, range)),
        "binary" => (rows(&d.bin, 1, range), rows(&d.scores, 1, range)),
        _ => (rows(&d.y, 1, range), rows(&d.y_hat, 1, range)),
    }
}

#[test]
fn streaming_equals_one_shot_on_uneven_batches() {
    let d = data();
    for seed in [1, 2, 3] {
        for (mut m, source) in metrics() {
            let mut whole = m.clone_box();
            let (y, p) = batch(&d, source, (0, N));
            whole.update(&y, &p).unwrap();
            let parts = splits(seed);
            assert!(parts.len() > 5);
            for &range in &parts {
                let (y, p) = batch(&d, source, range);
                m.update(&y, &p).unwrap();
            }
            assert_eq!(m.result(), whole.result(), "{} over {} batches (seed {seed})", m.name(), parts.len());
            assert!(m.result() > 0.0, "{} is degenerate on this data", m.name());
            // clone_box is a fresh copy with the same configuration; reset forgets everything.
            let mut copy = m.clone_box();
            assert_eq!(copy.result(), 0.0, "{}: clone_box must be reset", m.name());
            copy.update(&y, &p).unwrap();
            assert_eq!(copy.result(), whole.result(), "{}: clone_box keeps the configuration", m.name());
            m.reset();
            assert_eq!(m.result(), 0.0, "{}: reset", m.name());
        }
    }
}

#[test]
fn streaming_matches_the_one_shot_functions() {
    let d = data();
    let (y, p) = batch(&d, "multi", (0, N));
    let mut f1 = F1Score::new(C, Average::Macro);
    let mut cm = ConfusionMatrix::new(C);
    for range in splits(9) {
        let (yb, pb) = batch(&d, "multi", range);
        f1.update(&yb, &pb).unwrap();
        cm.update(&yb, &pb).unwrap();
    }
    assert_eq!(f1.result(), f1_score(&y, &p, Average::Macro, ZeroDivision::Zero).unwrap());
    assert_eq!(cm, confusion_matrix(&y, &p).unwrap());
    assert_eq!(report_from_confusion(&cm, None, 3).unwrap(), classification_report(&y, &p, None, 3).unwrap());
    // A mean of per-batch F1 values would differ: the test data is not trivially batch-invariant.
    let batch_mean: f32 = splits(9)
        .into_iter()
        .map(|r| {
            let (yb, pb) = batch(&d, "multi", r);
            f1_score(&yb, &pb, Average::Macro, ZeroDivision::Zero).unwrap()
        })
        .sum::<f32>()
        / splits(9).len() as f32;
    assert!((batch_mean - f1.result()).abs() > 1e-3);

    let (yb, sb) = batch(&d, "binary", (0, N));
    let mut auc = RocAuc::new();
    let mut ap = AveragePrecision::new();
    for range in splits(4) {
        let (y, s) = batch(&d, "binary", range);
        auc.update(&y, &s).unwrap();
        ap.update(&y, &s).unwrap();
    }
    assert_eq!(auc.result(), roc_auc_score(&yb, &sb).unwrap());
    assert_eq!(ap.result(), average_precision_score(&yb, &sb).unwrap());

    let (y, p) = batch(&d, "regression", (0, N));
    let mut r2 = R2Score::new();
    for range in splits(5) {
        let (yb, pb) = batch(&d, "regression", range);
        r2.update(&yb, &pb).unwrap();
    }
    let exact = r2_score(&y, &p).unwrap();
    assert!((r2.result() - exact).abs() < 1e-6, "{} vs {exact}", r2.result());
}
