//! RMSprop (Keras 3 `RMSprop`), optionally centered and with momentum.

use crate::optimizer::check_range;
use crate::plumbing::{config_setters, optimizer_plumbing};
use crate::rule::{sealed::Rule, Hyper, Runtime};
use crate::OptimizerOptions;
use serde::{Deserialize, Serialize};

/// The hyperparameters of [`RmsProp`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RmsPropConfig {
    /// Learning rate (default 1e-3), clipping and weight decay.
    #[serde(flatten)]
    pub options: OptimizerOptions,
    /// Decay of the squared-gradient average (default 0.9).
    pub rho: f32,
    /// Momentum factor (default 0: no momentum slot).
    pub momentum: f32,
    /// Added inside the square root (default 1e-7).
    pub epsilon: f32,
    /// Normalize by the variance instead of the second moment (default false).
    pub centered: bool,
}

/// RMSprop (Keras `RMSprop`):
///
/// ```text
/// v = rho * v + (1 - rho) * g²
/// centered: a = rho * a + (1 - rho) * g;  d = v - a² + epsilon,   else d = v + epsilon
/// step = lr * g / sqrt(d)
/// momentum > 0: mom = momentum * mom + step; w -= mom,            else w -= step
/// ```
///
/// State slots: `"velocity"`, then `"momentum"` and `"average_gradient"` when used.
///
/// ```
/// use kensho_optim::{Optimizer, RmsProp};
/// let opt = RmsProp::new(1e-3).rho(0.95).centered(true);
/// assert_eq!(opt.name(), "rmsprop");
/// ```
#[doc(alias = "RMSprop")]
#[derive(Clone, Debug)]
pub struct RmsProp {
    config: RmsPropConfig,
    runtime: Runtime,
}

impl RmsProp {
    /// RMSprop with the given learning rate and the Keras defaults for the rest.
    ///
    /// # Panics
    /// If `learning_rate` is negative or not finite (a configuration from a file goes through
    /// the fallible [`OptimizerConfig::build`](crate::OptimizerConfig::build) instead).
    #[track_caller]
    pub fn new(learning_rate: f32) -> Self {
        let options = OptimizerOptions::new(learning_rate);
        RmsProp::checked(RmsPropConfig { options, rho: 0.9, momentum: 0.0, epsilon: 1e-7, centered: false })
    }
}

impl Default for RmsProp {
    /// Keras defaults: 1e-3, rho 0.9, no momentum, 1e-7, not centered.
    fn default() -> Self {
        RmsProp::new(1e-3)
    }
}

optimizer_plumbing!(RmsProp(RmsPropConfig), RmsProp, "rmsprop");
config_setters!(RmsProp {
    /// Sets `rho`.
    rho: f32,
    /// Sets the momentum factor.
    momentum: f32,
    /// Sets `epsilon`.
    epsilon: f32,
    /// Turns the centered variant on or off.
    centered: bool,
});

impl Rule for RmsPropConfig {
    fn check(&self) -> kensho_core::Result<()> {
        check_range("RmsProp rho", self.rho, 0.0, 1.0, false)?;
        check_range("RmsProp momentum", self.momentum, 0.0, 1.0, true)?;
        check_range("RmsProp epsilon", self.epsilon, 0.0, f32::INFINITY, false)
    }

    fn slot_names(&self) -> &'static [&'static str] {
        match (self.momentum > 0.0, self.centered) {
            (false, false) => &["velocity"],
            (true, false) => &["velocity", "momentum"],
            (false, true) => &["velocity", "average_gradient"],
            (true, true) => &["velocity", "momentum", "average_gradient"],
        }
    }

    #[inline(always)]
    fn update(&self, w: &mut [f32], g: &[f32], slots: &mut [&mut [f32]], h: &Hyper) {
        let n = w.len();
        let (velocity, rest) = slots.split_first_mut().expect("RMSprop has a velocity slot");
        let (g, velocity) = (&g[..n], &mut velocity[..n]);
        let (mut momentum, mut average) = match rest {
            [] => (None, None),
            [t] if self.momentum > 0.0 => (Some(&mut t[..n]), None),
            [t] => (None, Some(&mut t[..n])),
            [m, a] => (Some(&mut m[..n]), Some(&mut a[..n])),
            _ => unreachable!("RMSprop has at most 3 slots"),
        };
        for i in 0..n {
            let grad = h.grad(g[i]);
            w[i] = h.decay(w[i]);
            let v = self.rho * velocity[i] + (1.0 - self.rho) * (grad * grad);
            velocity[i] = v;
            let denominator = match average.as_deref_mut() {
                Some(a) => {
                    a[i] = self.rho * a[i] + (1.0 - self.rho) * grad;
                    v - a[i] * a[i] + self.epsilon
                }
                None => v + self.epsilon,
            };
            let increment = h.lr * grad / denominator.sqrt();
            match momentum.as_deref_mut() {
                Some(m) => {
                    m[i] = self.momentum * m[i] + increment;
                    w[i] -= m[i];
                }
                None => w[i] -= increment,
            }
        }
    }
}
