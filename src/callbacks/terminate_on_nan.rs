//! [`TerminateOnNaN`]: stops training as soon as the loss is NaN or infinite.

use super::{Callback, Control};
use crate::progress::print_line;
use crate::Logs;

/// Stops training at the first batch whose loss is NaN or infinite, and says where on stdout,
/// with the other training output.
///
/// ```
/// use kensho::callbacks::TerminateOnNaN;
/// let mut guard = TerminateOnNaN::new();
/// assert!(guard.terminated_at.is_none());
/// ```
#[derive(Clone, Debug, Default)]
pub struct TerminateOnNaN {
    /// The (epoch, batch) at which training was stopped, 0-based, if it was.
    pub terminated_at: Option<(usize, usize)>,
}

impl TerminateOnNaN {
    /// A new guard.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Callback for TerminateOnNaN {
    fn on_batch_end(&mut self, epoch: usize, batch: usize, logs: &Logs) -> Control {
        match logs.get("loss") {
            Some(loss) if !loss.is_finite() => {
                print_line(&format!(
                    "TerminateOnNaN: the loss became {loss} at epoch {}, batch {}; training stopped. \
                     Lower the learning rate, clip gradients (clipnorm), or check the data for NaN.",
                    epoch + 1,
                    batch + 1
                ));
                self.terminated_at = Some((epoch, batch));
                Control::Stop
            }
            _ => Control::Continue,
        }
    }
}
