//! [`ReduceLROnPlateau`]: lowers the learning rate when a watched figure stops improving.

use super::{Callback, Control, Monitor};
use crate::progress::print_line;
use crate::{Logs, Model, Result};

/// Multiplies the learning rate by `factor` after `patience` epochs without improvement, then
/// waits `cooldown` epochs before watching again; never goes below `min_lr` (Keras' defaults:
/// factor 0.1, patience 10, min_delta 1e-4, cooldown 0, min_lr 0). With `verbose(1)` each
/// reduction prints Keras' line on stdout, with the other training output:
/// `Epoch 12: ReduceLROnPlateau reducing learning rate to 0.0005.`
///
/// ```
/// use kensho::callbacks::ReduceLROnPlateau;
/// let reduce = ReduceLROnPlateau::new("val_loss").factor(0.5).patience(2);
/// ```
#[derive(Clone, Debug)]
pub struct ReduceLROnPlateau {
    monitor: Monitor,
    factor: f32,
    patience: usize,
    cooldown: usize,
    min_lr: f32,
    verbose: u8,
    wait: usize,
    cooldown_left: usize,
    best: Option<f32>,
}

impl ReduceLROnPlateau {
    /// Watches `monitor` with Keras' defaults.
    pub fn new(monitor: &str) -> ReduceLROnPlateau {
        let mut monitor = Monitor::new(monitor);
        monitor.min_delta = 1e-4;
        ReduceLROnPlateau {
            monitor,
            factor: 0.1,
            patience: 10,
            cooldown: 0,
            min_lr: 0.0,
            verbose: 0,
            wait: 0,
            cooldown_left: 0,
            best: None,
        }
    }

    /// The factor the rate is multiplied by (in (0, 1)).
    pub fn factor(mut self, factor: f32) -> Self {
        self.factor = factor;
        self
    }

    /// Epochs without improvement before the rate is lowered.
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }

    /// Epochs to wait after a reduction before watching again.
    pub fn cooldown(mut self, cooldown: usize) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// The lowest rate.
    pub fn min_lr(mut self, min_lr: f32) -> Self {
        self.min_lr = min_lr;
        self
    }

    /// 1 prints a line at each reduction (default 0, silent).
    pub fn verbose(mut self, verbose: u8) -> Self {
        self.verbose = verbose;
        self
    }
}

impl Callback for ReduceLROnPlateau {
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, model: &mut Model) -> Result<Control> {
        let value = self.monitor.value(logs)?;
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.wait = 0;
        }
        if self.monitor.improves(value, self.best) {
            self.best = Some(value);
            self.wait = 0;
        } else if self.cooldown_left == 0 {
            self.wait += 1;
            if self.wait >= self.patience {
                let lr = model.learning_rate()?;
                let new_lr = (lr * self.factor).max(self.min_lr);
                if new_lr < lr {
                    model.set_learning_rate(new_lr)?;
                    self.cooldown_left = self.cooldown;
                    if self.verbose > 0 {
                        print_line(&format!(
                            "Epoch {}: ReduceLROnPlateau reducing learning rate to {new_lr}.",
                            epoch + 1
                        ));
                    }
                }
                self.wait = 0;
            }
        }
        Ok(Control::Continue)
    }
}

super::monitor::monitor_setters!(ReduceLROnPlateau);
