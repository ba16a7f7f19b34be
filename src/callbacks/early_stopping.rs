//! [`EarlyStopping`]: stops training when a watched figure stops improving.

use super::{Callback, Control, Monitor};
use crate::{History, Logs, Model, Result, Tensor};

/// Stops training after `patience` epochs without improvement of the watched figure, and can
/// restore the weights of the best epoch (Keras' `EarlyStopping`).
///
/// With `restore_best_weights`, the best epoch's weights are put back when training ends,
/// whether it was stopped early or ran all its epochs.
///
/// ```
/// use kensho::callbacks::EarlyStopping;
/// let stop = EarlyStopping::new("val_loss").patience(3).restore_best_weights(true);
/// ```
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    monitor: Monitor,
    patience: usize,
    restore_best_weights: bool,
    wait: usize,
    best: Option<f32>,
    best_weights: Option<Vec<Tensor>>,
    /// The epoch at which training was stopped, if it was.
    pub stopped_epoch: Option<usize>,
    /// The epoch with the best watched value so far.
    pub best_epoch: Option<usize>,
}

impl EarlyStopping {
    /// Watches `monitor` (such as `val_loss`) with patience 0, mode auto, min_delta 0.
    pub fn new(monitor: &str) -> EarlyStopping {
        EarlyStopping {
            monitor: Monitor::new(monitor),
            patience: 0,
            restore_best_weights: false,
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
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _model: &mut Model) -> Result<()> {
        (self.wait, self.best, self.best_weights, self.stopped_epoch, self.best_epoch) = (0, None, None, None, None);
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, model: &mut Model) -> Result<Control> {
        let value = self.monitor.value(logs)?;
        if self.monitor.improves(value, self.best) {
            self.best = Some(value);
            self.best_epoch = Some(epoch);
            self.wait = 0;
            if self.restore_best_weights {
                self.best_weights = Some(model.get_weights());
            }
            return Ok(Control::Continue);
        }
        self.wait += 1;
        if self.wait >= self.patience {
            self.stopped_epoch = Some(epoch);
            return Ok(Control::Stop);
        }
        Ok(Control::Continue)
    }

    fn on_train_end(&mut self, _history: &History, model: &mut Model) -> Result<()> {
        match self.best_weights.take() {
            Some(weights) => model.set_weights(&weights),
            None => Ok(()),
        }
    }
}

super::monitor::monitor_setters!(EarlyStopping);
