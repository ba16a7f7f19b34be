//! [`MetricConfig`]: the settings of every built-in metric as serde data, so that a saved model
//! can rebuild its metrics (Keras' `get_config` / `from_config`).

use serde::{Deserialize, Serialize};

use crate::{
    Accuracy, Average, AveragePrecision, BinaryAccuracy, CategoricalAccuracy, F1Score, FBetaScore, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredError, Metric, Precision, R2Score, Recall, RocAuc, RootMeanSquaredError,
    SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy, ZeroDivision,
};
use kensho_core::registry::{RegisteredConfig, Registry};
use kensho_core::Result;

/// The settings shared by [`Precision`], [`Recall`], [`F1Score`] and [`FBetaScore`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrfConfig {
    /// The classes are `0..num_classes`.
    pub num_classes: usize,
    /// How per-class scores are combined (with `pos_label` for [`Average::Binary`]).
    pub average: Average,
    /// The threshold of binary scores (`with_threshold`).
    pub threshold: f32,
    /// The value of undefined ratios (`with_zero_division`).
    pub zero_division: ZeroDivision,
}

/// The type and settings of a metric (built-in, or user-defined and registered with
/// [`register_metric`]), as returned by [`Metric::config`]. In JSON, Keras
/// style: `{"class_name": "Precision", "config": {"num_classes": 3, "average": "macro", ...}}`;
/// parameterless metrics have no `config`.
///
/// ```
/// use kensho_metrics::{Average, Metric, MetricConfig, Precision};
///
/// let precision = Precision::new(3, Average::Macro).with_threshold(0.0);
/// let config = precision.config().expect("a built-in metric");
/// let json = serde_json::to_string(&config)?;
/// let rebuilt = serde_json::from_str::<MetricConfig>(&json)?.to_metric()?;
/// assert_eq!(rebuilt.name(), "precision");
/// assert_eq!(rebuilt.config(), Some(config));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class_name", content = "config")]
pub enum MetricConfig {
    /// [`Accuracy`] (sparse categorical).
    Accuracy,
    /// [`CategoricalAccuracy`].
    CategoricalAccuracy,
    /// [`BinaryAccuracy`].
    BinaryAccuracy {
        /// The decision threshold.
        threshold: f32,
    },
    /// [`TopKCategoricalAccuracy`].
    TopKCategoricalAccuracy {
        /// How many top scores count.
        k: usize,
    },
    /// [`SparseTopKCategoricalAccuracy`].
    SparseTopKCategoricalAccuracy {
        /// How many top scores count.
        k: usize,
    },
    /// [`Precision`].
    Precision(PrfConfig),
    /// [`Recall`].
    Recall(PrfConfig),
    /// [`F1Score`].
    F1Score(PrfConfig),
    /// [`FBetaScore`].
    FBetaScore {
        /// The shared settings.
        #[serde(flatten)]
        prf: PrfConfig,
        /// The weight of recall.
        beta: f32,
    },
    /// [`RocAuc`].
    RocAuc,
    /// [`AveragePrecision`].
    AveragePrecision,
    /// [`MeanSquaredError`].
    MeanSquaredError,
    /// [`RootMeanSquaredError`].
    RootMeanSquaredError,
    /// [`MeanAbsoluteError`].
    MeanAbsoluteError,
    /// [`MeanAbsolutePercentageError`].
    MeanAbsolutePercentageError,
    /// [`R2Score`].
    R2Score,
    /// A user-defined metric, rebuilt by the factory given to [`register_metric`].
    #[serde(untagged)]
    Registered(RegisteredConfig),
}

/// User-defined metrics, by class name.
static METRICS: Registry<dyn Metric> = Registry::new("metric");

/// Registers a user-defined metric class, so that a loaded model restores it: `factory`
/// rebuilds a fresh metric from the JSON its [`Metric::config`] wrote with
/// [`MetricConfig::registered`].
pub fn register_metric(
    class_name: &str,
    factory: impl Fn(&serde_json::Value) -> Result<Box<dyn Metric>> + Send + Sync + 'static,
) {
    METRICS.register(class_name, factory);
}

impl MetricConfig {
    /// The configuration of a user-defined metric of class `class_name` with settings `config`.
    ///
    /// # Panics
    /// If `config` cannot be represented as JSON (a map with non-string keys).
    pub fn registered(class_name: &str, config: &impl Serialize) -> MetricConfig {
        let config = serde_json::to_value(config).expect("a metric config serializes to JSON");
        MetricConfig::Registered(RegisteredConfig { class_name: class_name.to_string(), config })
    }

    /// A fresh (reset) metric with exactly these settings.
    ///
    /// # Errors
    /// For a user-defined class that is not registered, or whose factory rejects the settings.
    pub fn to_metric(&self) -> Result<Box<dyn Metric>> {
        use MetricConfig as C;
        Ok(match *self {
            C::Accuracy => Box::new(Accuracy::new()),
            C::CategoricalAccuracy => Box::new(CategoricalAccuracy::new()),
            C::BinaryAccuracy { threshold } => Box::new(BinaryAccuracy::new(threshold)),
            C::TopKCategoricalAccuracy { k } => Box::new(TopKCategoricalAccuracy::new(k)),
            C::SparseTopKCategoricalAccuracy { k } => Box::new(SparseTopKCategoricalAccuracy::new(k)),
            C::Precision(p) => Box::new(
                Precision::new(p.num_classes, p.average)
                    .with_threshold(p.threshold)
                    .with_zero_division(p.zero_division),
            ),
            C::Recall(p) => Box::new(
                Recall::new(p.num_classes, p.average).with_threshold(p.threshold).with_zero_division(p.zero_division),
            ),
            C::F1Score(p) => Box::new(
                F1Score::new(p.num_classes, p.average).with_threshold(p.threshold).with_zero_division(p.zero_division),
            ),
            C::FBetaScore { prf: p, beta } => Box::new(
                FBetaScore::new(p.num_classes, p.average, beta)
                    .with_threshold(p.threshold)
                    .with_zero_division(p.zero_division),
            ),
            C::RocAuc => Box::new(RocAuc::new()),
            C::AveragePrecision => Box::new(AveragePrecision::new()),
            C::MeanSquaredError => Box::new(MeanSquaredError::new()),
            C::RootMeanSquaredError => Box::new(RootMeanSquaredError::new()),
            C::MeanAbsoluteError => Box::new(MeanAbsoluteError::new()),
            C::MeanAbsolutePercentageError => Box::new(MeanAbsolutePercentageError::new()),
            C::R2Score => Box::new(R2Score::new()),
            C::Registered(ref r) => return METRICS.make(&r.class_name, &r.config),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kensho_core::Tensor;

    fn t(values: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_vec(values.to_vec(), shape).unwrap()
    }

    /// Every built-in metric, with non-default settings where it has any, and a valid batch.
    fn cases() -> Vec<(Box<dyn Metric>, Tensor, Tensor)> {
        let idx = t(&[0.0, 1.0, 2.0, 2.0, 2.0, 0.0], &[6]);
        let pred_idx = t(&[0.0, 2.0, 2.0, 0.0, 1.0, 2.0], &[6]);
        let probs =
            t(&[0.6, 0.3, 0.1, 0.2, 0.3, 0.5, 0.1, 0.2, 0.7, 0.5, 0.4, 0.1, 0.6, 0.3, 0.1, 0.2, 0.1, 0.7], &[6, 3]);
        let one_hot =
            t(&[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0], &[6, 3]);
        let labels = t(&[1.0, 0.0, 1.0, 1.0, 0.0, 0.0], &[6]);
        let scores = t(&[0.9, 0.4, 0.35, 0.2, 0.1, 0.45], &[6]);
        let y = t(&[1.0, -2.0, 3.0, 0.5], &[4]);
        let p = t(&[1.5, -1.0, 2.0, 0.5], &[4]);
        let weighted = Average::Weighted;
        let pos0 = Average::Binary { pos_label: 0 };
        let mut cases: Vec<(Box<dyn Metric>, Tensor, Tensor)> = vec![
            (Box::new(Accuracy::new()), idx.clone(), probs.clone()),
            (Box::new(SparseTopKCategoricalAccuracy::new(2)), idx.clone(), probs.clone()),
            (Box::new(CategoricalAccuracy::new()), one_hot.clone(), probs.clone()),
            (Box::new(TopKCategoricalAccuracy::new(2)), one_hot, probs.clone()),
            (Box::new(Precision::new(3, Average::Macro)), idx.clone(), probs.clone()),
            (Box::new(Recall::new(3, Average::Macro)), idx.clone(), probs.clone()),
            (Box::new(Precision::new(4, Average::Macro).with_zero_division(ZeroDivision::One)), idx.clone(), pred_idx),
            (Box::new(F1Score::new(3, pos0)), idx.clone(), probs.clone()),
            (Box::new(FBetaScore::new(3, Average::Macro, 0.5)), idx.clone(), probs.clone()),
            (Box::new(FBetaScore::new(3, weighted, 2.0)), idx, probs),
            (Box::new(BinaryAccuracy::new(0.3)), labels.clone(), scores.clone()),
            (Box::new(Precision::binary().with_threshold(0.3)), labels.clone(), scores.clone()),
            (Box::new(RocAuc::new()), labels.clone(), scores.clone()),
            (Box::new(AveragePrecision::new()), labels, scores),
        ];
        let regression: Vec<Box<dyn Metric>> = vec![
            Box::new(MeanSquaredError::new()),
            Box::new(RootMeanSquaredError::new()),
            Box::new(MeanAbsoluteError::new()),
            Box::new(MeanAbsolutePercentageError::new()),
            Box::new(R2Score::new()),
        ];
        cases.extend(regression.into_iter().map(|m| (m, y.clone(), p.clone())));
        cases
    }

    #[test]
    fn every_builtin_metric_round_trips_through_json() {
        let cases = cases();
        let classes: std::collections::HashSet<_> =
            cases.iter().map(|(m, _, _)| std::mem::discriminant(&m.config().unwrap())).collect();
        assert_eq!(classes.len(), 16, "every MetricConfig variant is covered");
        for (mut original, y, p) in cases {
            let config = original.config().expect("a built-in metric has a config");
            let json = serde_json::to_string(&config).unwrap();
            let mut rebuilt = serde_json::from_str::<MetricConfig>(&json).unwrap().to_metric().unwrap();
            assert_eq!(rebuilt.name(), original.name(), "{json}");
            assert_eq!(rebuilt.config(), Some(config), "{json}");
            assert_eq!(rebuilt.result(), 0.0, "fresh: {json}");
            original.update(&y, &p).unwrap();
            rebuilt.update(&y, &p).unwrap();
            assert_eq!(rebuilt.result().to_bits(), original.result().to_bits(), "{json}");
        }
    }

    #[test]
    fn the_chosen_settings_change_the_results() {
        // Guards the round trip above: with default settings these figures would differ.
        let mut differ = 0;
        for (mut m, y, p) in cases() {
            let default: Option<Box<dyn Metric>> = match m.config().unwrap() {
                MetricConfig::BinaryAccuracy { .. } => Some(Box::new(BinaryAccuracy::default())),
                MetricConfig::SparseTopKCategoricalAccuracy { .. } => {
                    Some(Box::new(SparseTopKCategoricalAccuracy::new(1)))
                }
                MetricConfig::TopKCategoricalAccuracy { .. } => Some(Box::new(TopKCategoricalAccuracy::new(1))),
                MetricConfig::Precision(c) if c.num_classes == 3 => Some(Box::new(Precision::new(3, Average::Micro))),
                MetricConfig::Precision(c) if c.num_classes == 4 => Some(Box::new(Precision::new(4, c.average))),
                MetricConfig::Precision(_) => Some(Box::new(Precision::binary())),
                MetricConfig::Recall(_) => Some(Box::new(Recall::new(3, Average::Micro))),
                MetricConfig::F1Score(_) => Some(Box::new(F1Score::new(3, Average::Micro))),
                MetricConfig::FBetaScore { prf, .. } => Some(Box::new(FBetaScore::new(3, prf.average, 1.0))),
                _ => None,
            };
            if let Some(mut d) = default {
                m.update(&y, &p).unwrap();
                d.update(&y, &p).unwrap();
                assert_ne!(m.result(), d.result(), "{:?}", m.config());
                differ += 1;
            }
        }
        assert_eq!(differ, 10);
    }

    #[test]
    fn json_is_keras_like() {
        let f = FBetaScore::new(3, Average::Binary { pos_label: 2 }, 2.0).with_zero_division(ZeroDivision::One);
        let json = serde_json::to_value(f.config().unwrap()).unwrap();
        let expected = serde_json::json!({
            "class_name": "FBetaScore",
            "config": {"num_classes": 3, "average": {"binary": {"pos_label": 2}}, "threshold": 0.5,
                       "zero_division": "one", "beta": 2.0}
        });
        assert_eq!(json, expected);
        let acc = serde_json::to_value(Accuracy::new().config().unwrap()).unwrap();
        assert_eq!(acc, serde_json::json!({"class_name": "Accuracy"}));
    }
}
