//! [`EarlyStopping`]: stops training when a watched figure stops improving.

use super::{Callback, Control, Monitor};
use crate::progress::print_line;
use crate::{History, Logs, Model, Result, Tensor};

/// Stops training after `patience` epochs without improvement of the watched figure, and can
/// restore the weights of the best epoch (Keras' `EarlyStopping`, with its options `patience`,
/// `min_delta`, `mode`, `verbose`, `baseline`, `restore_best_weights` and `start_from_epoch`).
///
/// With `restore_best_weights`, the best epoch's weights are put back when training ends,
/// whether it was stopped early or ran all its epochs. With `verbose(1)` it prints Keras' lines
/// on stdout, with the other training output: `Epoch 9: early stopping` when it stops training
/// and `Restoring model weights from the end of the best epoch: 7.` when it restores.
///
/// ```
/// use kensho::callbacks::EarlyStopping;
/// let stop = EarlyStopping::new("val_loss").patience(3).restore_best_weights(true).verbose(1);
/// // Stop unless val_accuracy exceeds 0.9 within 5 epochs; ignore the first 2 epochs (warm-up).
/// let reach = EarlyStopping::new("val_accuracy").baseline(0.9).patience(5).start_from_epoch(2);
/// ```
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    monitor: Monitor,
    patience: usize,
    verbose: u8,
    baseline: Option<f32>,
    restore_best_weights: bool,
    start_from_epoch: usize,
    wait: usize,
    best: Option<f32>,
    best_weights: Option<Vec<Tensor>>,
    /// The epoch (0-based) at which training was stopped, if it was.
    pub stopped_epoch: Option<usize>,
    /// The epoch (0-based) with the best watched value so far.
    pub best_epoch: Option<usize>,
}

impl EarlyStopping {
    /// Watches `monitor` (such as `val_loss`) with Keras' defaults: patience 0, mode auto,
    /// min_delta 0, silent, no baseline, no restore, from the first epoch.
    pub fn new(monitor: &str) -> EarlyStopping {
        EarlyStopping {
            monitor: Monitor::new(monitor),
            patience: 0,
            verbose: 0,
            baseline: None,
            restore_best_weights: false,
            start_from_epoch: 0,
            wait: 0,
            best: None,
            best_weights: None,
            stopped_epoch: None,
            best_epoch: None,
        }
    }

    /// Epochs without improvement before stopping.
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }

    /// Whether to put back the best epoch's weights when training ends.
    pub fn restore_best_weights(mut self, restore: bool) -> Self {
        self.restore_best_weights = restore;
        self
    }

    /// 1 prints a line when the callback stops training or restores weights (default 0, silent).
    pub fn verbose(mut self, verbose: u8) -> Self {
        self.verbose = verbose;
        self
    }

    /// A value the figure must beat: an epoch that improves on the best so far but not on the
    /// baseline does not reset the patience, so training stops after `patience` epochs unless
    /// the figure gets past the baseline (default: none).
    pub fn baseline(mut self, baseline: f32) -> Self {
        self.baseline = Some(baseline);
        self
    }

    /// Epochs (0-based epoch numbers below this) to wait before watching: a warm-up in which
    /// training is never stopped (default 0).
    pub fn start_from_epoch(mut self, epoch: usize) -> Self {
        self.start_from_epoch = epoch;
        self
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _model: &mut Model) -> Result<()> {
        (self.wait, self.best, self.best_weights, self.stopped_epoch, self.best_epoch) = (0, None, None, None, None);
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, model: &mut Model) -> Result<Control> {
        let value = self.monitor.value(logs)?;
        if epoch < self.start_from_epoch {
            return Ok(Control::Continue);
        }
        if self.restore_best_weights && self.best_weights.is_none() {
            // Until an epoch improves, the first watched epoch is the best.
            self.best_weights = Some(model.get_weights());
            self.best_epoch = Some(epoch);
        }
        self.wait += 1;
        if self.monitor.improves(value, self.best) {
            self.best = Some(value);
            self.best_epoch = Some(epoch);
            if self.restore_best_weights {
                self.best_weights = Some(model.get_weights());
            }
            // The patience restarts only when the value beats the baseline too.
            if self.baseline.is_none_or(|b| self.monitor.improves(value, Some(b))) {
                self.wait = 0;
            }
            return Ok(Control::Continue);
        }
        if self.wait >= self.patience {
            self.stopped_epoch = Some(epoch);
            return Ok(Control::Stop);
        }
        Ok(Control::Continue)
    }

    fn on_train_end(&mut self, _history: &History, model: &mut Model) -> Result<()> {
        if let (Some(epoch), true) = (self.stopped_epoch, self.verbose > 0) {
            print_line(&format!("Epoch {}: early stopping", epoch + 1));
        }
        let Some(weights) = self.best_weights.take() else { return Ok(()) };
        if let (Some(epoch), true) = (self.best_epoch, self.verbose > 0) {
            print_line(&format!("Restoring model weights from the end of the best epoch: {}.", epoch + 1));
        }
        model.set_weights(&weights)
    }
}

super::monitor::monitor_setters!(EarlyStopping);
