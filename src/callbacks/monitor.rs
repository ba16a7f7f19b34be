//! [`Monitor`]: which logged figure a callback watches, and whether lower or higher is better.

use crate::{Error, Logs, Result};

/// Whether improvement means a smaller or a larger value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// `max` for figures that grow when the model improves (accuracy, AUC, precision, recall,
    /// F-scores, R²), `min` otherwise, as Keras infers.
    #[default]
    Auto,
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

/// A watched figure (`val_loss` by default) with its [`Mode`] and minimum improvement.
#[derive(Clone, Debug, PartialEq)]
pub struct Monitor {
    /// The name in the epoch logs, such as `val_loss` or `val_accuracy`.
    pub name: String,
    /// Whether lower or higher is better.
    pub mode: Mode,
    /// The smallest change that counts as an improvement.
    pub min_delta: f32,
}

impl Monitor {
    /// Watches `name` with mode `Auto` and no minimum improvement.
    pub fn new(name: &str) -> Monitor {
        Monitor { name: name.to_string(), mode: Mode::Auto, min_delta: 0.0 }
    }

    /// Whether higher values are better for this figure.
    pub fn higher_is_better(&self) -> bool {
        match self.mode {
            Mode::Min => false,
            Mode::Max => true,
            Mode::Auto => {
                let base = self.name.strip_prefix("val_").unwrap_or(&self.name);
                ["acc", "auc", "precision", "recall", "f1", "fbeta", "r2"].iter().any(|k| base.contains(k))
            }
        }
    }

    /// Whether `value` improves on `best` by more than `min_delta`.
    pub fn improves(&self, value: f32, best: Option<f32>) -> bool {
        match best {
            None => value.is_finite(),
            Some(best) if self.higher_is_better() => value > best + self.min_delta.abs(),
            Some(best) => value < best - self.min_delta.abs(),
        }
    }

    /// A value as Keras prints it in callback lines: five decimals, and before the first value
    /// the starting best, `inf` for a figure to minimise or `-inf` for one to maximise.
    pub(crate) fn show(&self, value: Option<f32>) -> String {
        let value = value.unwrap_or(if self.higher_is_better() { f32::NEG_INFINITY } else { f32::INFINITY });
        format!("{value:.5}")
    }

    /// The watched value in `logs`.
    ///
    /// # Errors
    /// If the figure is not logged; the message lists the figures that are.
    pub fn value(&self, logs: &Logs) -> Result<f32> {
        logs.get(&self.name).ok_or_else(|| {
            Error::invalid(
                "callback monitor",
                &self.name,
                format!(
                    "one of the logged figures {:?} (val_ figures need validation_split or validation_data)",
                    logs.names()
                ),
            )
        })
    }
}

/// Adds the builder setters `min_delta` and `mode` to a callback that watches a figure through
/// a field `monitor: Monitor`.
macro_rules! monitor_setters {
    ($ty:ty) => {
        impl $ty {
            /// The smallest change that counts as an improvement.
            pub fn min_delta(mut self, min_delta: f32) -> Self {
                self.monitor.min_delta = min_delta;
                self
            }

            /// Whether lower or higher is better (default: inferred from the figure's name).
            pub fn mode(mut self, mode: $crate::callbacks::Mode) -> Self {
                self.monitor.mode = mode;
                self
            }
        }
    };
}
pub(crate) use monitor_setters;
