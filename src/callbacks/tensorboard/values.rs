//! Summary values TensorBoard shows: scalars, weight histograms and text.

use super::proto::{
    Data, HistogramProto, PluginData, SummaryMetadata, TensorProto, TensorShapeProto, Value, DT_STRING,
};

/// Buckets of a weight histogram (TensorFlow 2's `tf.summary.histogram` default).
const BUCKETS: usize = 30;

/// A scalar, shown by TensorBoard's scalars dashboard.
pub(crate) fn scalar(tag: &str, value: f32) -> Value {
    Value { tag: tag.to_string(), metadata: None, data: Some(Data::SimpleValue(value)) }
}

/// A histogram of `values` with [`BUCKETS`] equal-width buckets from the smallest to the
/// largest finite value (one bucket when they are all equal). Non-finite values are left out;
/// `None` when no value is finite.
pub(crate) fn histogram(tag: &str, values: &[f32]) -> Option<Value> {
    let finite: Vec<f64> = values.iter().filter(|v| v.is_finite()).map(|&v| v as f64).collect();
    let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if finite.is_empty() {
        return None;
    }
    let buckets = if max > min { BUCKETS } else { 1 };
    let width = (max - min) / buckets as f64;
    let mut counts = vec![0.0; buckets];
    for &v in &finite {
        let i = if width > 0.0 { (((v - min) / width) as usize).min(buckets - 1) } else { 0 };
        counts[i] += 1.0;
    }
    let mut limits: Vec<f64> = (1..buckets).map(|i| min + width * i as f64).collect();
    limits.push(max);
    let histo = HistogramProto {
        min,
        max,
        num: finite.len() as f64,
        sum: finite.iter().sum(),
        sum_squares: finite.iter().map(|v| v * v).sum(),
        bucket_limit: limits,
        bucket: counts,
    };
    Some(Value { tag: tag.to_string(), metadata: None, data: Some(Data::Histo(histo)) })
}

/// Text (markdown), shown by TensorBoard's text dashboard: a scalar string tensor marked for
/// the `text` plugin.
pub(crate) fn text(tag: &str, markdown: &str) -> Value {
    let tensor = TensorProto {
        dtype: DT_STRING,
        tensor_shape: Some(TensorShapeProto { dim: Vec::new() }),
        string_val: vec![markdown.as_bytes().to_vec()],
    };
    let plugin = PluginData { plugin_name: "text".to_string(), content: Vec::new() };
    Value {
        tag: tag.to_string(),
        metadata: Some(SummaryMetadata { plugin_data: Some(plugin) }),
        data: Some(Data::Tensor(tensor)),
    }
}
