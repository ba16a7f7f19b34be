//! Adagrad (Keras 3 `Adagrad`).

use crate::optimizer::check_range;
use crate::plumbing::{config_setters, optimizer_plumbing};
use crate::rule::{sealed::Rule, Hyper, Runtime};
use crate::OptimizerOptions;
use serde::{Deserialize, Serialize};

/// The hyperparameters of [`Adagrad`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdagradConfig {
    /// Learning rate (default 1e-3), clipping and weight decay.
    #[serde(flatten)]
    pub options: OptimizerOptions,
    /// The starting value of every accumulator element (default 0.1).
    pub initial_accumulator_value: f32,
    /// Added inside the square root (default 1e-7).
    pub epsilon: f32,
}

/// Adagrad (Keras `Adagrad`): `acc += g²; w -= lr * g / sqrt(acc + epsilon)`.
///
/// State slot: `"accumulator"`.
///
/// ```
/// use kensho_optim::{Adagrad, Optimizer};
/// let opt = Adagrad::new(0.01).initial_accumulator_value(0.5);
/// assert_eq!(opt.name(), "adagrad");
/// ```
#[derive(Clone, Debug)]
pub struct Adagrad {
    config: AdagradConfig,
    runtime: Runtime,
}

impl Adagrad {
    /// Adagrad with the given learning rate and the Keras defaults for the rest.
    ///
    /// # Panics
    /// If `learning_rate` is negative or not finite (a configuration from a file goes through
    /// the fallible [`OptimizerConfig::build`](crate::OptimizerConfig::build) instead).
    #[track_caller]
    pub fn new(learning_rate: f32) -> Self {
        let options = OptimizerOptions::new(learning_rate);
        Adagrad::checked(AdagradConfig { options, initial_accumulator_value: 0.1, epsilon: 1e-7 })
    }
}

impl Default for Adagrad {
    /// Keras defaults: 1e-3, initial accumulator 0.1, 1e-7.
    fn default() -> Self {
        Adagrad::new(1e-3)
    }
}

optimizer_plumbing!(Adagrad(AdagradConfig), Adagrad, "adagrad");
config_setters!(Adagrad {
    /// Sets the initial accumulator value.
    initial_accumulator_value: f32,
    /// Sets `epsilon`.
    epsilon: f32,
});

impl Rule for AdagradConfig {
    fn check(&self) -> kensho_core::Result<()> {
        check_range("Adagrad initial_accumulator_value", self.initial_accumulator_value, 0.0, f32::INFINITY, false)?;
        check_range("Adagrad epsilon", self.epsilon, 0.0, f32::INFINITY, false)
    }

    fn slot_names(&self) -> &'static [&'static str] {
        &["accumulator"]
    }
    fn slot_init(&self) -> f32 {
        self.initial_accumulator_value
    }

    #[inline(always)]
    fn update(&self, w: &mut [f32], g: &[f32], slots: &mut [&mut [f32]], h: &Hyper) {
        let [acc] = slots else { unreachable!("Adagrad has one slot") };
        for ((w, &g), acc) in w.iter_mut().zip(g).zip(acc.iter_mut()) {
            let g = h.grad(g);
            *w = h.decay(*w);
            *acc += g * g;
            *w -= h.lr * g / (*acc + self.epsilon).sqrt();
        }
    }
}
