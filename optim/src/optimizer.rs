//! The [`Optimizer`] trait, the serializable [`OptimizerConfig`], and the options common to all
//! optimizers ([`OptimizerOptions`]: learning rate or schedule, clipping, weight decay).
//!
//! The trait is implemented once, in `rule.rs`, for every optimizer: each optimizer file only
//! supplies its update rule through the crate-private `Rule` trait, and the `optimizer_plumbing!`
//! macro of `plumbing.rs` wires its configuration and run-time state to that implementation.

use crate::rule::sealed::Rule;
use crate::{Adagrad, AdagradConfig, Adam, AdamConfig, AdamW, LearningRateSchedule, RmsProp, RmsPropConfig};
use crate::{Sgd, SgdConfig};
use kensho_autograd::{Grads, Param};
use kensho_core::{Error, Result, Tensor};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// An optimizer: updates parameters in place from their gradients.
///
/// Implemented by [`Sgd`], [`Adam`], [`AdamW`], [`RmsProp`] and [`Adagrad`]. Optimizers are
/// `Send + Sync` so that a compiled model can be shared between threads.
pub trait Optimizer: Send + Sync {
    /// Keras name: "sgd", "adam", "adamw", "rmsprop", "adagrad".
    fn name(&self) -> &str;
    /// One update of every trainable param that has a gradient in `grads` (others untouched),
    /// in place; the only allocations are the state slots of a parameter on its first update
    /// (and, when a large parameter is split across the kernel threads, the thread pool's
    /// queue takes a 1.5 KiB block every 63 hand-offs).
    ///
    /// The order of the work per parameter follows Keras 3: gradient clipping, decoupled
    /// weight decay `w -= w * weight_decay * lr`, then the optimizer's rule. `iterations` grows by
    /// one per call.
    ///
    /// # Panics
    /// If a gradient's shape differs from its parameter's (a programmer error).
    fn step(&mut self, params: &mut [&mut Param], grads: &Grads);
    /// Whether each element's update depends on that element alone (no clipping by norm), so
    /// that [`Optimizer::step_part`] may update a part of each parameter. The default is false.
    fn updates_elementwise(&self) -> bool {
        false
    }
    /// [`Optimizer::step`] on the elements `part(len)` of each parameter of `len` elements only,
    /// leaving the other elements of the parameter and of its state as they are: the sharded
    /// step of data-parallel training, where each rank updates its share and the ranks then
    /// exchange the shares. `iterations` grows by one. The default updates every element, which
    /// is right only if the gradients are whole.
    ///
    /// # Panics
    /// As [`Optimizer::step`], or if a part is out of its parameter's range.
    fn step_part(&mut self, params: &mut [&mut Param], grads: &Grads, part: &dyn Fn(usize) -> Range<usize>) {
        let _ = part;
        self.step(params, grads);
    }
    /// The learning rate that the next step will use (after the schedule).
    fn learning_rate(&self) -> f32;
    /// Replace the learning rate (or schedule) by a constant (callbacks like ReduceLROnPlateau use this).
    fn set_learning_rate(&mut self, lr: f32);
    /// Steps taken so far (Keras `iterations`).
    fn iterations(&self) -> u64;
    /// Serializable configuration (type + hyperparameters + schedule), for saving a model.
    fn config(&self) -> OptimizerConfig;
    /// The state as named tensors for checkpoints: one entry per slot per trainable param, named
    /// `"{param_name}/{slot}"` (e.g. `"dense.kernel/m"`), plus `"iterations"`.
    ///
    /// Slots of a parameter not updated yet are written with their initial values. `iterations`
    /// is the shape-`[2]` tensor `[iterations / 2^24, iterations % 2^24]`, exact in `f32` up to 2^48.
    fn state(&self, params: &[&Param]) -> Vec<(String, Tensor)>;
    /// Restore state saved by [`state`](Optimizer::state), matching by parameter name. Entries
    /// for other names are ignored. On error nothing is changed.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming a missing entry (or a malformed `iterations`), and
    /// [`Error::Shape`] naming an entry whose shape differs from its parameter's.
    fn load_state(&mut self, params: &[&Param], state: &[(String, Tensor)]) -> Result<()>;
}

/// The configuration of any optimizer: what [`Optimizer::config`] returns and a saved model holds.
///
/// Serialized with a `"type"` tag holding the Keras name, e.g.
/// `{"type":"adam","learning_rate":{"type":"constant","learning_rate":0.001},"beta_1":0.9,...}`.
///
/// ```
/// use kensho_optim::{Adam, Optimizer, OptimizerConfig};
/// let config = Adam::new(0.01).beta_1(0.8).config();
/// let json = serde_json::to_string(&config).unwrap();
/// let back: OptimizerConfig = serde_json::from_str(&json).unwrap();
/// assert_eq!(back, config);
/// assert_eq!(back.build()?.name(), "adam");
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum OptimizerConfig {
    /// [`Sgd`].
    Sgd(SgdConfig),
    /// [`Adam`].
    Adam(AdamConfig),
    /// [`AdamW`] (the same fields as Adam; its weight decay defaults to 0.004).
    AdamW(AdamConfig),
    /// [`RmsProp`].
    RmsProp(RmsPropConfig),
    /// [`Adagrad`].
    Adagrad(AdagradConfig),
}

impl OptimizerConfig {
    /// A fresh optimizer (no state, zero iterations) with this configuration, checked as the
    /// constructors check it (see [`validate`](OptimizerConfig::validate)).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the optimizer, the field, the value and the valid range.
    pub fn build(&self) -> Result<Box<dyn Optimizer>> {
        Ok(match self.clone() {
            OptimizerConfig::Sgd(c) => Box::new(Sgd::from_config(c)?),
            OptimizerConfig::Adam(c) => Box::new(Adam::from_config(c)?),
            OptimizerConfig::AdamW(c) => Box::new(AdamW::from_config(c)?),
            OptimizerConfig::RmsProp(c) => Box::new(RmsProp::from_config(c)?),
            OptimizerConfig::Adagrad(c) => Box::new(Adagrad::from_config(c)?),
        })
    }

    /// The options shared by all optimizers.
    pub fn options(&self) -> &OptimizerOptions {
        match self {
            OptimizerConfig::Sgd(c) => &c.options,
            OptimizerConfig::Adam(c) | OptimizerConfig::AdamW(c) => &c.options,
            OptimizerConfig::RmsProp(c) => &c.options,
            OptimizerConfig::Adagrad(c) => &c.options,
        }
    }

    /// Checks every value as the constructors and setters do: the learning rate or schedule
    /// ([`LearningRateSchedule::validate`]), the common options
    /// ([`OptimizerOptions::validate`]) and the optimizer's own hyperparameters (Adam's
    /// `beta_1` and `beta_2` in `[0, 1)`, `epsilon` finite and `>= 0`, SGD's `momentum` in
    /// `[0, 1]`, RMSprop's `rho` in `[0, 1)`, ...). [`build`](OptimizerConfig::build) runs it.
    ///
    /// ```
    /// use kensho_optim::OptimizerConfig;
    /// let json = r#"{"type":"adam","learning_rate":{"type":"constant","learning_rate":0.001},
    ///     "clipnorm":null,"clipvalue":null,"global_clipnorm":null,"weight_decay":null,
    ///     "beta_1":5.0,"beta_2":0.999,"epsilon":1e-7,"amsgrad":false}"#;
    /// let config: OptimizerConfig = serde_json::from_str(json).unwrap();
    /// assert!(config.validate().unwrap_err().to_string().contains("beta_1"));
    /// assert!(config.build().is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the optimizer, the field, the value and the valid range.
    pub fn validate(&self) -> Result<()> {
        self.options().validate()?;
        match self {
            OptimizerConfig::Sgd(c) => c.check(),
            OptimizerConfig::Adam(c) | OptimizerConfig::AdamW(c) => c.check(),
            OptimizerConfig::RmsProp(c) => c.check(),
            OptimizerConfig::Adagrad(c) => c.check(),
        }
    }
}

/// `Ok` if `value` lies in the range (`low` included, `high` included if `closed`), else the
/// error naming `what`. The one range check of the crate.
pub(crate) fn check_range(what: &str, value: f32, low: f32, high: f32, closed: bool) -> Result<()> {
    let inside = value.is_finite() && value >= low && (value < high || (closed && value == high));
    if inside {
        return Ok(());
    }
    let range = match (high.is_infinite(), closed) {
        (true, _) => format!("a finite number >= {low}"),
        (false, true) => format!("a number in [{low}, {high}]"),
        (false, false) => format!("a number in [{low}, {high})"),
    };
    Err(Error::invalid(what, value, range))
}

/// A checked value for a builder: the value, or a panic with the message of the error.
#[track_caller]
pub(crate) fn or_panic<T>(checked: Result<T>) -> T {
    checked.unwrap_or_else(|e| panic!("{e}"))
}

/// The options every optimizer has (Keras 3 `BaseOptimizer` arguments).
///
/// At most one of the three clipping options is set: the setters (`.clipnorm(..)`,
/// `.clipvalue(..)`, `.global_clipnorm(..)`) replace each other. If a hand-written
/// configuration sets several, `clipnorm` wins over `global_clipnorm`, which wins over
/// `clipvalue`, as in Keras `_clip_gradients`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerOptions {
    /// The learning rate, constant or scheduled.
    pub learning_rate: LearningRateSchedule,
    /// Rescale each parameter's gradient to L2 norm at most this: `g * c / max(|g|, c)`.
    pub clipnorm: Option<f32>,
    /// Clip each gradient element to `[-c, c]`.
    pub clipvalue: Option<f32>,
    /// Rescale all gradients together to global L2 norm at most this: `g * c / max(|G|, c)`.
    pub global_clipnorm: Option<f32>,
    /// Decoupled weight decay, `w -= w * weight_decay * lr`, applied before the update.
    pub weight_decay: Option<f32>,
}

impl OptimizerOptions {
    /// Checks the learning rate or schedule ([`LearningRateSchedule::validate`]), the clipping
    /// thresholds (positive and finite where set) and the weight decay (finite and `>= 0`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the field.
    pub fn validate(&self) -> Result<()> {
        self.learning_rate.validate()?;
        for (what, value) in
            [("clipnorm", self.clipnorm), ("clipvalue", self.clipvalue), ("global_clipnorm", self.global_clipnorm)]
        {
            if let Some(c) = value {
                check_clip(what, c)?;
            }
        }
        if let Some(wd) = self.weight_decay {
            check_range("optimizer option weight_decay", wd, 0.0, f32::INFINITY, false)?;
        }
        Ok(())
    }

    /// Options with the given learning rate and nothing else set.
    pub fn new(learning_rate: impl Into<LearningRateSchedule>) -> Self {
        OptimizerOptions {
            learning_rate: learning_rate.into(),
            clipnorm: None,
            clipvalue: None,
            global_clipnorm: None,
            weight_decay: None,
        }
    }
}

/// A clipping threshold must be positive and finite.
pub(crate) fn check_clip(what: &str, c: f32) -> Result<()> {
    if c.is_finite() && c > 0.0 {
        return Ok(());
    }
    Err(Error::invalid(format!("optimizer option {what}"), c, "a positive finite number"))
}
