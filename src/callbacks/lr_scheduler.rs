//! [`LearningRateScheduler`]: sets the learning rate at the start of each epoch from a function.

use super::Callback;
use crate::{Model, Result};

/// Calls `schedule(epoch, current_rate)` before each epoch and uses its result as the rate
/// (Keras' `LearningRateScheduler`).
///
/// ```
/// use kensho::callbacks::LearningRateScheduler;
/// let halve_after_5 = LearningRateScheduler::new(|epoch, lr| if epoch < 5 { lr } else { lr * 0.5 });
/// ```
pub struct LearningRateScheduler {
    schedule: Box<dyn FnMut(usize, f32) -> f32>,
}

impl LearningRateScheduler {
    /// A scheduler from `schedule(epoch, current_rate) -> new_rate`.
    pub fn new(schedule: impl FnMut(usize, f32) -> f32 + 'static) -> Self {
        LearningRateScheduler { schedule: Box::new(schedule) }
    }
}

impl Callback for LearningRateScheduler {
    fn on_epoch_begin(&mut self, epoch: usize, model: &mut Model) -> Result<()> {
        let lr = (self.schedule)(epoch, model.learning_rate()?);
        model.set_learning_rate(lr)
    }
}
