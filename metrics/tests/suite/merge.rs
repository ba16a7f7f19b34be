//! Merging is exact: shards accumulated by separate instances (as the processes of data-parallel
//! training do) and merged give the result of one instance over all the batches, for every
//! built-in metric; metrics of other types or settings, and malformed states, are refused.

use kensho_core::{seeded_rng, Tensor};
use kensho_metrics::*;
use rand::Rng;

/// Samples per batch: uneven, so that shards differ in size.
const SIZES: [usize; 6] = [7, 1, 12, 5, 9, 3];
const C: usize = 3;

/// What a metric reads: truth and predictions of one batch of `n` samples.
#[derive(Clone, Copy, Debug)]
enum Source {
    /// Class indices `[n]` against probabilities `[n, C]`.
    Sparse,
    /// One-hot `[n, C]` against probabilities `[n, C]`.
    OneHot,
    /// Class indices `[n]` against predicted indices `[n]`, over `C + 1` classes (one never seen).
    Indices,
    /// Labels 0/1 `[n]` against scores `[n]` rounded to 0.1 (so that shards share tied scores).
    Binary,
    /// Regression targets `[n]` against predictions `[n, 1]`.
    Regression,
}

fn batch(source: Source, n: usize, rng: &mut kensho_core::Rng) -> (Tensor, Tensor) {
    let t = |v: Vec<f32>, shape: &[usize]| Tensor::from_vec(v, shape).unwrap();
    let labels: Vec<usize> = (0..n).map(|_| rng.random_range(0..C)).collect();
    let probs = |rng: &mut kensho_core::Rng| -> Vec<f32> {
        let mut p = Vec::with_capacity(n * C);
        for &label in &labels {
            let row: Vec<f32> = (0..C).map(|c| rng.random::<f32>() + if c == label { 0.5 } else { 0.0 }).collect();
            let sum: f32 = row.iter().sum();
            p.extend(row.iter().map(|v| v / sum));
        }
        p
    };
    let as_f32 = |l: &[usize]| l.iter().map(|&c| c as f32).collect::<Vec<_>>();
    match source {
        Source::Sparse => (t(as_f32(&labels), &[n]), t(probs(rng), &[n, C])),
        Source::OneHot => {
            let one_hot = labels.iter().flat_map(|&l| (0..C).map(move |c| f32::from(u8::from(c == l)))).collect();
            (t(one_hot, &[n, C]), t(probs(rng), &[n, C]))
        }
        Source::Indices => {
            let pred: Vec<f32> = (0..n).map(|_| rng.random_range(0..C) as f32).collect();
            (t(as_f32(&labels), &[n]), t(pred, &[n]))
        }
        Source::Binary => {
            let bin: Vec<f32> = (0..n).map(|_| rng.random_range(0..2) as f32).collect();
            let scores = bin.iter().map(|&b| ((rng.random::<f32>() * 0.7 + 0.3 * b) * 10.0).round() / 10.0).collect();
            (t(bin, &[n]), t(scores, &[n]))
        }
        Source::Regression => {
            let y: Vec<f32> =
                (0..n).map(|_| rng.random_range(0.5..5.0f32) * [-1.0, 1.0][rng.random_range(0..2)]).collect();
            let p = y.iter().map(|&y| y + rng.random_range(-1.0..1.0f32)).collect();
            (t(y, &[n]), t(p, &[n, 1]))
        }
    }
}

/// Every built-in metric (each `MetricConfig` variant, several with non-default settings) and
/// the data it reads.
fn metrics() -> Vec<(Box<dyn Metric>, Source)> {
    use Source::*;
    let pos0 = Average::Binary { pos_label: 0 };
    let m: Vec<(Box<dyn Metric>, Source)> = vec![
        (Box::new(Accuracy::new()), Sparse),
        (Box::new(CategoricalAccuracy::new()), OneHot),
        (Box::new(BinaryAccuracy::new(0.4)), Binary),
        (Box::new(TopKCategoricalAccuracy::new(2)), OneHot),
        (Box::new(SparseTopKCategoricalAccuracy::new(2)), Sparse),
        (Box::new(Precision::new(C, Average::Macro)), Sparse),
        (Box::new(Precision::new(C + 1, Average::Macro).with_zero_division(ZeroDivision::One)), Indices),
        (Box::new(Precision::binary().with_threshold(0.3)), Binary),
        (Box::new(Recall::new(C, Average::Weighted)), Sparse),
        (Box::new(F1Score::new(C, pos0)), Sparse),
        (Box::new(F1Score::new(C, Average::Micro)), OneHot),
        (Box::new(FBetaScore::new(C, Average::Macro, 0.5)), Sparse),
        (Box::new(RocAuc::new()), Binary),
        (Box::new(AveragePrecision::new()), Binary),
        (Box::new(MeanSquaredError::new()), Regression),
        (Box::new(RootMeanSquaredError::new()), Regression),
        (Box::new(MeanAbsoluteError::new()), Regression),
        (Box::new(MeanAbsolutePercentageError::new()), Regression),
        (Box::new(R2Score::new()), Regression),
    ];
    let kinds: std::collections::HashSet<_> =
        m.iter().map(|(m, _)| std::mem::discriminant(&m.config().unwrap())).collect();
    assert_eq!(kinds.len(), 16, "every MetricConfig variant is covered");
    m
}

/// Equal within 1e-6, relative to the size of the value above 1 (MAPE is in percent).
#[track_caller]
fn assert_close(got: f32, want: f32, what: &str) {
    assert!((got - want).abs() <= 1e-6 * want.abs().max(1.0), "{what}: merged {got}, one instance {want}");
}

#[test]
fn merged_shards_equal_one_instance_over_all_batches() {
    for (seed, (template, source)) in metrics().into_iter().enumerate() {
        let mut rng = seeded_rng(seed as u64);
        let batches: Vec<_> = SIZES.iter().map(|&n| batch(source, n, &mut rng)).collect();
        let mut whole = template.clone_box();
        for (y, p) in &batches {
            whole.update(y, p).unwrap();
        }
        let want = whole.result();
        let name = format!("{:?}", template.config().unwrap());
        // Every split point, including an empty first or second shard.
        for k in 0..=batches.len() {
            let (mut a, mut b) = (template.clone_box(), template.clone_box());
            for (y, p) in &batches[..k] {
                a.update(y, p).unwrap();
            }
            for (y, p) in &batches[k..] {
                b.update(y, p).unwrap();
            }
            let b_before = b.result();
            a.merge(&*b).unwrap();
            assert_close(a.result(), want, &format!("{name}, split at {k}"));
            assert_eq!(b.result().to_bits(), b_before.to_bits(), "{name}: the merged-in metric is unchanged");
        }
        // Three shards through the flat states, as they would travel between processes.
        let mut shards: Vec<_> = (0..3).map(|_| template.clone_box()).collect();
        for (i, (y, p)) in batches.iter().enumerate() {
            shards[i % 3].update(y, p).unwrap();
        }
        let mut root = template.clone_box();
        for shard in &shards {
            root.merge_state(&shard.state()).unwrap();
        }
        assert_close(root.result(), want, &format!("{name}, three shards"));
        // After a reset, merging starts over too.
        root.reset();
        root.merge(&*shards[0]).unwrap();
        assert_close(root.result(), shards[0].result(), &format!("{name}, after reset"));
    }
}

#[test]
fn states_that_merge_by_addition_add_elementwise() {
    let (y, p) = batch(Source::Sparse, 9, &mut seeded_rng(1));
    let (y2, p2) = batch(Source::Sparse, 4, &mut seeded_rng(2));
    for mut m in [Box::new(Accuracy::new()) as Box<dyn Metric>, Box::new(Precision::new(C, Average::Macro))] {
        let mut other = m.clone_box();
        m.update(&y, &p).unwrap();
        other.update(&y2, &p2).unwrap();
        let sum: Vec<f64> = m.state().iter().zip(other.state()).map(|(a, b)| a + b).collect();
        m.merge(&*other).unwrap();
        assert_eq!(m.state(), sum, "{}", m.name());
    }
    let mut acc = Accuracy::new();
    acc.update(&y, &p).unwrap();
    assert_eq!(acc.state()[1], 9.0, "[correct, seen]");
    let mut cm = Recall::new(C, Average::Macro);
    cm.update(&y, &p).unwrap();
    assert_eq!(cm.state().len(), C * C);
    assert_eq!(cm.state().iter().sum::<f64>(), 9.0);
}

#[test]
fn metrics_of_other_types_or_settings_do_not_merge() {
    let (y, p) = batch(Source::Sparse, 5, &mut seeded_rng(3));
    let pairs: Vec<(Box<dyn Metric>, Box<dyn Metric>)> = vec![
        (Box::new(Accuracy::new()), Box::new(CategoricalAccuracy::new())),
        (Box::new(Accuracy::new()), Box::new(Precision::new(C, Average::Macro))),
        (Box::new(Precision::new(C, Average::Macro)), Box::new(Recall::new(C, Average::Macro))),
        (Box::new(Precision::new(C, Average::Macro)), Box::new(Precision::new(C, Average::Micro))),
        (Box::new(Precision::new(C, Average::Macro)), Box::new(Precision::new(C + 1, Average::Macro))),
        (Box::new(Precision::binary()), Box::new(Precision::binary().with_threshold(0.0))),
        (Box::new(Precision::binary()), Box::new(Precision::binary().with_zero_division(ZeroDivision::One))),
        (Box::new(FBetaScore::new(C, Average::Macro, 0.5)), Box::new(FBetaScore::new(C, Average::Macro, 2.0))),
        (Box::new(BinaryAccuracy::new(0.5)), Box::new(BinaryAccuracy::new(0.3))),
        (Box::new(TopKCategoricalAccuracy::new(2)), Box::new(TopKCategoricalAccuracy::new(3))),
        (Box::new(RocAuc::new()), Box::new(AveragePrecision::new())),
        // The same state layout, but another figure.
        (Box::new(MeanSquaredError::new()), Box::new(RootMeanSquaredError::new())),
    ];
    for (mut a, b) in pairs {
        // Some state where the 3-class data fits the metric (the others stay empty).
        let _ = a.update(&y, &p);
        let (state, result) = (a.state(), a.result());
        let e = a.merge(&*b).unwrap_err().to_string();
        assert!(e.contains(a.name()) && e.contains(b.name()) && e.contains("same type and settings"), "{e}");
        assert_eq!((a.state(), a.result()), (state, result), "a refused merge changes nothing");
    }
    let e = Precision::new(C, Average::Macro).merge(&Precision::new(C, Average::Micro)).unwrap_err().to_string();
    assert!(e.contains("Macro") && e.contains("Micro"), "the settings are shown: {e}");
}

/// A metric, the batch it holds (if any), a malformed state and words its error must contain.
type MalformedCase = (Box<dyn Metric>, Option<(Tensor, Tensor)>, Vec<f64>, &'static [&'static str]);

#[test]
fn malformed_states_are_refused_and_change_nothing() {
    let (y, p) = batch(Source::Sparse, 5, &mut seeded_rng(4));
    let classes = Some((y.clone(), p));
    let values = Some((y.clone(), y));
    #[rustfmt::skip]
    let cases: Vec<MalformedCase> = vec![
        (Box::new(Accuracy::new()), classes.clone(), vec![1.0, 2.0, 3.0], &["accuracy", "3 numbers", "2 numbers"]),
        (Box::new(Accuracy::new()), classes.clone(), vec![1.0, -2.0], &["accuracy", "-2", "count"]),
        (Box::new(Accuracy::new()), classes.clone(), vec![0.5, 2.0], &["accuracy", "0.5", "count"]),
        (Box::new(Accuracy::new()), classes.clone(), vec![f64::NAN, 2.0], &["accuracy", "NaN", "count"]),
        (Box::new(Precision::new(C, Average::Macro)), classes, vec![1.0; 4], &["precision", "4 numbers", "9 numbers", "3 × 3"]),
        (Box::new(RocAuc::new()), None, vec![0.5, 1.0, 0.2], &["auc", "3 numbers", "even"]),
        (Box::new(RocAuc::new()), None, vec![0.5, 1.0, 0.7, 2.0], &["auc", "label 0 or 1"]),
        (Box::new(AveragePrecision::new()), None, vec![f64::INFINITY, 1.0], &["average_precision", "finite"]),
        (Box::new(R2Score::new()), values.clone(), vec![1.0; 5], &["r2_score", "5 numbers", "6 numbers"]),
        (Box::new(MeanSquaredError::new()), values.clone(), vec![2.0, -1.0, 0.0, 0.0, 0.0, 0.0], &["mse", "-1", "sum"]),
        (Box::new(MeanAbsoluteError::new()), values, vec![1.5, 1.0, 0.0, 0.0, 0.0, 0.0], &["mae", "1.5", "count"]),
    ];
    for (mut m, data, state, words) in cases {
        if let Some((y, p)) = data {
            m.update(&y, &p).unwrap();
        }
        let (before, result) = (m.state(), m.result());
        let e = m.merge_state(&state).unwrap_err().to_string();
        for w in words {
            assert!(e.contains(w), "{:?}: {e:?} should mention {w:?}", m.config());
        }
        assert_eq!((m.state(), m.result().to_bits()), (before, result.to_bits()), "{e}");
    }
}

/// A user-defined metric that implements neither `config` nor the state methods.
struct Counted(u64);

impl Metric for Counted {
    fn name(&self) -> &str {
        "counted"
    }
    fn update(&mut self, y_true: &Tensor, _y_pred: &Tensor) -> Result<()> {
        self.0 += y_true.len() as u64;
        Ok(())
    }
    fn result(&self) -> f32 {
        self.0 as f32
    }
    fn reset(&mut self) {
        self.0 = 0;
    }
    fn clone_box(&self) -> Box<dyn Metric> {
        Box::new(Counted(0))
    }
}

#[test]
fn a_user_metric_without_state_refuses_to_merge() {
    let mut a = Counted(3);
    assert!(a.state().is_empty());
    let e = a.merge(&Counted(4)).unwrap_err().to_string();
    assert!(e.contains("counted") && e.contains("Metric::merge_state"), "{e}");
    let e = a.merge(&Accuracy::new()).unwrap_err().to_string();
    assert!(e.contains("counted") && e.contains("(no config)") && e.contains("\"accuracy\""), "{e}");
    assert_eq!(a.result(), 3.0);
}
