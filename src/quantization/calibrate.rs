//! Calibration: what range of values each quantized layer's input takes on sample data, and
//! the u8 scale and zero point that range gives.
//!
//! An [`Observer`] stands in for a layer while the model predicts on the calibration data: it
//! runs the layer unchanged and records its input's minimum and maximum (first pass) and, for
//! [`Calibration::Percentile`], a histogram over that range (second pass).

use kensho_autograd::{Param, Var};
use kensho_core::{Error, Result, Rng, Tensor};
use kensho_layers::{Ctx, Layer, LayerConfig, Shape};
use std::sync::{Arc, Mutex};

/// How the range of a layer's input is chosen from the calibration data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Calibration {
    /// From the smallest to the largest value seen (TensorFlow Lite's and PyTorch's
    /// `MinMaxObserver`): nothing seen is clipped.
    MinMax,
    /// The central `p` percent of the values seen (e.g. 99.99): the `(100 - p) / 2` percent
    /// at each end is clipped, which spends the 256 levels on the values that occur rather
    /// than on rare outliers.
    Percentile(f32),
}

impl Calibration {
    /// Checks the percentile.
    pub(crate) fn validate(self) -> Result<()> {
        match self {
            Calibration::Percentile(p) if !(p > 50.0 && p <= 100.0) => {
                Err(Error::invalid("quantize: Calibration::Percentile", p, "a percentage in (50, 100], such as 99.99"))
            }
            _ => Ok(()),
        }
    }
}

/// How a layer's f32 input becomes u8: `q = round(x / scale) + zero_point`, clamped to
/// `[0, 255]`; `x ≈ scale * (q - zero_point)`, and 0.0 is exactly `q = zero_point`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InputQuantization {
    /// The step between two levels.
    pub scale: f32,
    /// The level standing for 0.0.
    pub zero_point: i32,
}

impl InputQuantization {
    /// The levels spanning `[lo, hi]`, widened to hold 0.0 (so that zero padding and ReLU's
    /// zeros are exact).
    pub(crate) fn from_range(lo: f32, hi: f32) -> InputQuantization {
        let (lo, hi) = (lo.min(0.0), hi.max(0.0));
        if hi - lo <= f32::MIN_POSITIVE {
            return InputQuantization { scale: 1.0, zero_point: 0 };
        }
        let scale = (hi - lo) / 255.0;
        let zero_point = (-lo / scale).round_ties_even().clamp(0.0, 255.0) as i32;
        InputQuantization { scale, zero_point }
    }
}

/// The number of histogram bins of the percentile pass.
const BINS: usize = 2048;

/// What an observer has seen.
#[derive(Debug)]
pub(crate) struct Observed {
    min: f32,
    max: f32,
    /// Counts over `[min, max]` in [`BINS`] bins, during the second pass.
    histogram: Option<Vec<u64>>,
}

impl Observed {
    fn new() -> Observed {
        Observed { min: f32::INFINITY, max: f32::NEG_INFINITY, histogram: None }
    }

    fn record(&mut self, values: &[f32]) {
        match &mut self.histogram {
            None => {
                for &v in values.iter().filter(|v| v.is_finite()) {
                    self.min = self.min.min(v);
                    self.max = self.max.max(v);
                }
            }
            Some(counts) => {
                let width = (self.max - self.min).max(f32::MIN_POSITIVE);
                for &v in values.iter().filter(|v| v.is_finite()) {
                    let bin = (((v - self.min) / width) * BINS as f32) as usize;
                    counts[bin.min(BINS - 1)] += 1;
                }
            }
        }
    }

    /// Whether the first pass saw any value.
    pub(crate) fn seen(&self) -> bool {
        self.min <= self.max
    }

    /// Starts the histogram pass.
    pub(crate) fn start_histogram(&mut self) {
        self.histogram = Some(vec![0; BINS]);
    }

    /// The range to quantize: the whole range, or the central `p` percent of the histogram.
    pub(crate) fn range(&self, calibration: Calibration) -> (f32, f32) {
        let (Calibration::Percentile(p), Some(counts)) = (calibration, &self.histogram) else {
            return (self.min, self.max);
        };
        let total: u64 = counts.iter().sum();
        let tail = ((100.0 - f64::from(p)) / 200.0 * total as f64).floor() as u64;
        let width = (self.max - self.min) / BINS as f32;
        // The first bin whose running count passes the lower tail, the last whose count from
        // the top passes the upper tail.
        let mut running = 0;
        let low_bin = counts.iter().position(|&c| {
            running += c;
            running > tail
        });
        running = 0;
        let high_bin = counts.iter().rposition(|&c| {
            running += c;
            running > tail
        });
        match (low_bin, high_bin) {
            (Some(l), Some(h)) => (self.min + l as f32 * width, self.min + (h + 1) as f32 * width),
            _ => (self.min, self.max),
        }
    }
}

/// A layer run unchanged while its input's values are recorded.
pub(crate) struct Observer {
    pub(crate) inner: Box<dyn Layer>,
    pub(crate) observed: Arc<Mutex<Observed>>,
}

impl Observer {
    /// Wraps `inner`; the returned handle reads what it sees.
    pub(crate) fn wrap(inner: Box<dyn Layer>) -> (Observer, Arc<Mutex<Observed>>) {
        let observed = Arc::new(Mutex::new(Observed::new()));
        (Observer { inner, observed: Arc::clone(&observed) }, observed)
    }
}

impl Layer for Observer {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn set_name(&mut self, name: &str) {
        self.inner.set_name(name);
    }
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn config(&self) -> LayerConfig {
        self.inner.config()
    }
    fn build_inputs(&mut self, inputs: &[Shape], rng: &mut Rng) -> Result<Vec<Shape>> {
        self.inner.build_inputs(inputs, rng)
    }
    fn call<'t>(&self, inputs: &[Var<'t>], masks: &[Option<Tensor>], cx: &Ctx<'t>) -> Vec<Var<'t>> {
        let input = inputs[0].value().to_contiguous();
        let values = input.as_slice().expect("a contiguous tensor");
        self.observed.lock().unwrap_or_else(|e| e.into_inner()).record(values);
        self.inner.call(inputs, masks, cx)
    }
    fn compute_mask(&self, inputs: &[Var<'_>], masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        self.inner.compute_mask(inputs, masks)
    }
    fn makes_mask(&self) -> bool {
        self.inner.makes_mask()
    }
    fn params(&self) -> Vec<&Param> {
        self.inner.params()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.inner.params_mut()
    }
    fn state(&self) -> Vec<&Param> {
        self.inner.state()
    }
    fn state_mut(&mut self) -> Vec<&mut Param> {
        self.inner.state_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zero_point_makes_zero_exact() {
        let q = InputQuantization::from_range(-1.0, 3.0);
        assert!((q.scale - 4.0 / 255.0).abs() < 1e-9);
        // 1.0 / (4 / 255) = 63.75 levels below zero.
        assert_eq!(q.zero_point, 64);
        // A range above zero is widened down to it.
        assert_eq!(InputQuantization::from_range(2.0, 5.1), InputQuantization { scale: 0.02, zero_point: 0 });
        assert_eq!(InputQuantization::from_range(0.0, 0.0), InputQuantization { scale: 1.0, zero_point: 0 });
    }

    #[test]
    fn percentile_clips_the_tails() {
        let mut observed = Observed::new();
        // 10,000 values 0..1 and one outlier at 100.
        let mut values: Vec<f32> = (0..10_000).map(|i| i as f32 / 10_000.0).collect();
        values.push(100.0);
        observed.record(&values);
        assert_eq!(observed.range(Calibration::MinMax), (0.0, 100.0));
        observed.start_histogram();
        observed.record(&values);
        let (lo, hi) = observed.range(Calibration::Percentile(99.9));
        // The outlier is one value in 10,001: the upper 0.05 % tail drops it; every other
        // value lies in the first 21 bins of 100 / 2048 each.
        assert_eq!(lo, 0.0);
        assert!(hi > 0.99 && hi < 1.03, "{hi}");
        // At 100 % nothing is clipped.
        assert_eq!(observed.range(Calibration::Percentile(100.0)), (0.0, 100.0));
        assert!(Calibration::Percentile(20.0).validate().is_err());
    }
}
