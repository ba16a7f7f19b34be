//! Stochastic gradient descent with optional (Nesterov) momentum, as Keras 3 `SGD`.

use crate::optimizer::check_range;
use crate::plumbing::{config_setters, optimizer_plumbing};
use crate::rule::{sealed::Rule, Hyper, Runtime};
use crate::OptimizerOptions;
use serde::{Deserialize, Serialize};

/// The hyperparameters of [`Sgd`] (its [`OptimizerConfig::Sgd`](crate::OptimizerConfig::Sgd) payload).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SgdConfig {
    /// Learning rate (default 0.01), clipping and weight decay.
    #[serde(flatten)]
    pub options: OptimizerOptions,
    /// Momentum factor in `[0, 1)` (default 0: plain SGD, no state).
    pub momentum: f32,
    /// Use Nesterov momentum (default false).
    pub nesterov: bool,
}

/// Stochastic gradient descent (Keras `SGD`).
///
/// Without momentum `w -= lr * g`. With momentum `v = momentum * v - lr * g`, then `w += v`,
/// or with Nesterov `w += momentum * v - lr * g` (using the new `v`). State slot: `"momentum"`.
///
/// ```
/// use kensho_optim::{Optimizer, Sgd};
/// let opt = Sgd::new(0.1).momentum(0.9).nesterov(true);
/// assert_eq!(opt.name(), "sgd");
/// assert_eq!(opt.learning_rate(), 0.1);
/// ```
#[doc(alias = "SGD")]
#[derive(Clone, Debug)]
pub struct Sgd {
    config: SgdConfig,
    runtime: Runtime,
}

impl Sgd {
    /// Plain SGD with the given learning rate.
    ///
    /// # Panics
    /// If `learning_rate` is negative or not finite (a configuration from a file goes through
    /// the fallible [`OptimizerConfig::build`](crate::OptimizerConfig::build) instead).
    #[track_caller]
    pub fn new(learning_rate: f32) -> Self {
        Sgd::checked(SgdConfig { options: OptimizerOptions::new(learning_rate), momentum: 0.0, nesterov: false })
    }

    /// Sets the momentum factor.
    ///
    /// # Panics
    /// If `momentum` is not in `[0, 1]`.
    #[track_caller]
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.config.momentum = momentum;
        crate::optimizer::or_panic(self.config.check());
        self
    }
}

impl Default for Sgd {
    /// Keras defaults: learning rate 0.01, no momentum.
    fn default() -> Self {
        Sgd::new(0.01)
    }
}

optimizer_plumbing!(Sgd(SgdConfig), Sgd, "sgd");
config_setters!(Sgd {
    /// Uses Nesterov momentum.
    nesterov: bool,
});

impl Rule for SgdConfig {
    fn check(&self) -> kensho_core::Result<()> {
        check_range("Sgd momentum", self.momentum, 0.0, 1.0, true)
    }

    fn slot_names(&self) -> &'static [&'static str] {
        if self.momentum != 0.0 {
            &["momentum"]
        } else {
            &[]
        }
    }

    #[inline(always)]
    fn update(&self, w: &mut [f32], g: &[f32], slots: &mut [&mut [f32]], h: &Hyper) {
        let (lr, momentum) = (h.lr, self.momentum);
        let [v] = slots else {
            for (w, &g) in w.iter_mut().zip(g) {
                *w = h.decay(*w) - h.grad(g) * lr;
            }
            return;
        };
        for ((w, &g), v) in w.iter_mut().zip(g).zip(v.iter_mut()) {
            let g = h.grad(g);
            *v = *v * momentum - g * lr;
            let delta = if self.nesterov { *v * momentum - g * lr } else { *v };
            *w = h.decay(*w) + delta;
        }
    }
}
