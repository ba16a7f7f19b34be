//! Callbacks: the [`Callback`] trait (hooks at fixed points of `fit`, no-op by default) and the
//! callbacks Keras users expect.
//!
//! A callback never sets a flag on the model to stop training: its hooks return a [`Control`].
//! Hooks that need the model (to read or restore weights, or change the learning rate) receive it
//! as `&mut Model`.

mod csv_logger;
mod early_stopping;
mod lr_scheduler;
mod model_checkpoint;
mod monitor;
mod prune_low_magnitude;
mod reduce_lr;
pub mod tensorboard;
mod terminate_on_nan;

pub use csv_logger::CsvLogger;
pub use early_stopping::EarlyStopping;
pub use lr_scheduler::LearningRateScheduler;
pub use model_checkpoint::ModelCheckpoint;
pub use monitor::{Mode, Monitor};
pub use prune_low_magnitude::PruneLowMagnitude;
pub use reduce_lr::ReduceLROnPlateau;
pub use tensorboard::{TensorBoard, UpdateFreq};
pub use terminate_on_nan::TerminateOnNaN;

use crate::{History, Logs, Model, Result};

/// What `fit` does after a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Go on training.
    Continue,
    /// Stop after this batch or epoch (as Keras' `model.stop_training = True`).
    Stop,
}

/// Hooks called by `fit` at fixed points. Every hook does nothing by default.
///
/// Epoch numbers are 0-based; logs hold `loss`, the metrics and, at epoch end, the `val_`
/// figures.
pub trait Callback {
    /// Before the first epoch.
    fn on_train_begin(&mut self, _model: &mut Model) -> Result<()> {
        Ok(())
    }
    /// Before each epoch (a learning-rate schedule sets the rate here).
    fn on_epoch_begin(&mut self, _epoch: usize, _model: &mut Model) -> Result<()> {
        Ok(())
    }
    /// Before each training batch (0-based within the epoch).
    fn on_batch_begin(&mut self, _epoch: usize, _batch: usize) {}
    /// Right after each train step (the optimizer update), before
    /// [`on_batch_end`](Self::on_batch_end), with the model. `step` is the global step: the
    /// optimizer's `iterations` before this step, so 0 for the first step of a fresh model, and
    /// counting on across epochs and calls of `fit`. A callback that edits weights during
    /// training ([`PruneLowMagnitude`]) does it here.
    fn on_train_step_end(&mut self, _step: u64, _model: &mut Model) -> Result<()> {
        Ok(())
    }
    /// After each training batch, with the batch's loss.
    fn on_batch_end(&mut self, _epoch: usize, _batch: usize, _logs: &Logs) -> Control {
        Control::Continue
    }
    /// After each epoch (and its validation), with the epoch's figures.
    fn on_epoch_end(&mut self, _epoch: usize, _logs: &Logs, _model: &mut Model) -> Result<Control> {
        Ok(Control::Continue)
    }
    /// After the last epoch, or after a callback stopped training.
    fn on_train_end(&mut self, _history: &History, _model: &mut Model) -> Result<()> {
        Ok(())
    }
}
