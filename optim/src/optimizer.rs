//! The [`Optimizer`] trait, the serializable [`OptimizerConfig`], and everything the optimizers
//! share: the options common to all of them ([`OptimizerOptions`]: learning rate or schedule,
//! clipping, weight decay), the step loop, and checkpointing of the per-parameter state.
//!
//! Each optimizer file only supplies its update rule, a function of (parameter, gradient, state
//! slots, per-step hyperparameters), through the crate-private `Rule` trait; the blanket
//! `impl Optimizer for R: Rule` here does the rest once.

use crate::{Adagrad, AdagradConfig, Adam, AdamConfig, AdamW, LearningRateSchedule, RmsProp, RmsPropConfig};
use crate::{Sgd, SgdConfig};
use kensho_autograd::{Grads, Param, ParamId};
use kensho_core::{Error, Result, Tensor};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;

/// An optimizer: updates parameters in place from their gradients.
///
/// Implemented by [`Sgd`], [`Adam`], [`AdamW`], [`RmsProp`] and [`Adagrad`].
pub trait Optimizer: Send {
    /// Keras name: "sgd", "adam", "adamw", "rmsprop", "adagrad".
    fn name(&self) -> &str;
    /// One update of every trainable param that has a gradient in `grads` (others untouched),
    /// in place; the only allocations are the state slots of a parameter on its first update.
    ///
    /// The order of the work per parameter follows Keras 3: gradient clipping, decoupled
    /// weight decay `w -= w * weight_decay * lr`, then the optimizer's rule. `iterations` grows by
    /// one per call.
    ///
    /// # Panics
    /// If a gradient's shape differs from its parameter's (a programmer error).
    fn step(&mut self, params: &mut [&mut Param], grads: &Grads);
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
/// assert_eq!(back.build().name(), "adam");
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
    /// A fresh optimizer (no state, zero iterations) with this configuration.
    ///
    /// The values are used as given; call [`validate`](OptimizerConfig::validate) first on a
    /// configuration that came from a file.
    pub fn build(&self) -> Box<dyn Optimizer> {
        match self.clone() {
            OptimizerConfig::Sgd(c) => Box::new(Sgd::from_config(c)),
            OptimizerConfig::Adam(c) => Box::new(Adam::from_config(c)),
            OptimizerConfig::AdamW(c) => Box::new(AdamW::from_config(c)),
            OptimizerConfig::RmsProp(c) => Box::new(RmsProp::from_config(c)),
            OptimizerConfig::Adagrad(c) => Box::new(Adagrad::from_config(c)),
        }
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

    /// Checks the schedule and the common options (clipping thresholds and weight decay must
    /// be positive and finite where set).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the offending field.
    pub fn validate(&self) -> Result<()> {
        let o = self.options();
        o.learning_rate.validate()?;
        let fields = [
            ("clipnorm", o.clipnorm),
            ("clipvalue", o.clipvalue),
            ("global_clipnorm", o.global_clipnorm),
            ("weight_decay", o.weight_decay),
        ];
        for (what, value) in fields {
            if let Some(v) = value.filter(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(Error::invalid(format!("optimizer option {what}"), v, "a finite non-negative number"));
            }
        }
        Ok(())
    }
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

/// The hyperparameters of one step for one parameter, handed to an update rule.
pub struct Hyper {
    /// The learning rate of this step.
    pub lr: f32,
    /// The 1-based number of this step (Keras `iterations + 1`), for bias corrections.
    pub step: u64,
    scale: f32,
    clip: f32,
    weight_decay: f32,
}

impl Hyper {
    /// The gradient element after clipping.
    #[inline(always)]
    pub fn grad(&self, g: f32) -> f32 {
        (g * self.scale).clamp(-self.clip, self.clip)
    }

    /// The parameter element after decoupled weight decay.
    #[inline(always)]
    pub fn decay(&self, w: f32) -> f32 {
        if self.weight_decay == 0.0 {
            w
        } else {
            w - w * self.weight_decay * self.lr
        }
    }
}

/// The mutable run-time part of every optimizer: the step count and the per-parameter slots.
#[derive(Clone, Debug, Default)]
pub struct Runtime {
    iterations: u64,
    slots: HashMap<ParamId, Vec<Tensor>>,
}

pub(crate) mod sealed {
    use super::*;

    /// What an optimizer file supplies; the blanket [`Optimizer`] impl does the rest.
    pub trait Rule: Send {
        /// Keras name.
        fn rule_name(&self) -> &'static str;
        fn options(&self) -> &OptimizerOptions;
        fn options_mut(&mut self) -> &mut OptimizerOptions;
        fn runtime(&self) -> &Runtime;
        fn runtime_mut(&mut self) -> &mut Runtime;
        fn rule_config(&self) -> OptimizerConfig;
        /// The names of the state slots per parameter, in the order `update` receives them.
        fn slot_names(&self) -> &'static [&'static str];
        /// The initial value of every element of a slot.
        fn slot_init(&self) -> f32 {
            0.0
        }
        /// Fresh slots for a parameter of this value's shape.
        fn fresh_slots(&self, value: &Tensor) -> Vec<Tensor> {
            self.slot_names().iter().map(|_| Tensor::full(value.shape(), self.slot_init())).collect()
        }
        /// The update of one parameter: `w` and `g` have the same length, each slot too.
        /// Apply `h.grad` to every gradient element and `h.decay` to every parameter element first.
        fn update(&self, w: &mut [f32], g: &[f32], slots: &mut [Tensor], h: &Hyper);
    }
}
use sealed::Rule;

impl<R: Rule> Optimizer for R {
    fn name(&self) -> &str {
        self.rule_name()
    }

    fn step(&mut self, params: &mut [&mut Param], grads: &Grads) {
        let lr = self.learning_rate();
        let opts = self.options();
        let (clipnorm, global) = (opts.clipnorm.filter(|&c| c > 0.0), opts.global_clipnorm.filter(|&c| c > 0.0));
        let clip = opts.clipvalue.filter(|&c| c > 0.0 && clipnorm.is_none() && global.is_none());
        let global_scale = match global.filter(|_| clipnorm.is_none()) {
            Some(c) => {
                let norm = params.iter().filter_map(|p| trainable_grad(p, grads)).map(sum_squares).sum::<f64>().sqrt();
                clip_scale(norm, c)
            }
            None => 1.0,
        };
        let weight_decay = opts.weight_decay.unwrap_or(0.0);
        let mut rt = std::mem::take(self.runtime_mut());
        for p in params.iter_mut() {
            let Some(g) = trainable_grad(p, grads) else { continue };
            assert_eq!(
                p.value.shape(),
                g.shape(),
                "{}::step: the gradient of parameter \"{}\" has the wrong shape",
                self.rule_name(),
                p.name()
            );
            let scale = clipnorm.map_or(global_scale, |c| clip_scale(sum_squares(g).sqrt(), c));
            let clip = clip.unwrap_or(f32::INFINITY);
            let h = Hyper { lr, step: rt.iterations + 1, scale, clip, weight_decay };
            let slots = rt.slots.entry(p.id()).or_insert_with(|| self.fresh_slots(&p.value));
            let g: Cow<[f32]> = g.as_slice().map_or_else(|| Cow::Owned(g.to_vec()), Cow::Borrowed);
            self.update(p.value.as_mut_slice(), &g, slots, &h);
        }
        rt.iterations += 1;
        *self.runtime_mut() = rt;
    }

    fn learning_rate(&self) -> f32 {
        self.options().learning_rate.at(self.runtime().iterations)
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.options_mut().learning_rate = lr.into();
    }

    fn iterations(&self) -> u64 {
        self.runtime().iterations
    }

    fn config(&self) -> OptimizerConfig {
        self.rule_config()
    }

    fn state(&self, params: &[&Param]) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for p in params.iter().filter(|p| p.trainable) {
            let saved = self.runtime().slots.get(&p.id());
            for (i, slot) in self.slot_names().iter().enumerate() {
                let t = saved.map_or_else(|| Tensor::full(p.value.shape(), self.slot_init()), |s| s[i].clone());
                out.push((format!("{}/{slot}", p.name()), t));
            }
        }
        let it = self.runtime().iterations;
        let it = Tensor::from_vec(vec![(it >> 24) as f32, (it & 0xFF_FFFF) as f32], &[2]).expect("2 values");
        out.push(("iterations".to_string(), it));
        out
    }

    fn load_state(&mut self, params: &[&Param], state: &[(String, Tensor)]) -> Result<()> {
        let find = |name: &str| {
            state.iter().find(|(n, _)| n == name).map(|(_, t)| t).ok_or_else(|| {
                Error::invalid(
                    format!("optimizer state: entry \"{name}\""),
                    "nothing (the entry is missing)",
                    format!("an entry saved by Optimizer::state of a {} optimizer for the same model", self.name()),
                )
            })
        };
        let iterations = decode_iterations(find("iterations")?)?;
        let mut slots = HashMap::new();
        for p in params.iter().filter(|p| p.trainable) {
            let mut ts = Vec::with_capacity(self.slot_names().len());
            for slot in self.slot_names() {
                let name = format!("{}/{slot}", p.name());
                let t = find(&name)?;
                if t.shape() != p.value.shape() {
                    let expected = format!("the shape {:?} of parameter \"{}\"", p.value.shape(), p.name());
                    return Err(Error::shape(format!("optimizer state: entry \"{name}\""), expected, t.shape()));
                }
                ts.push(t.to_contiguous());
            }
            slots.insert(p.id(), ts);
        }
        *self.runtime_mut() = Runtime { iterations, slots };
        Ok(())
    }
}

fn trainable_grad<'g>(p: &Param, grads: &'g Grads) -> Option<&'g Tensor> {
    p.trainable.then(|| grads.get(p.id())).flatten()
}

fn sum_squares(g: &Tensor) -> f64 {
    g.as_array().iter().map(|&v| f64::from(v) * f64::from(v)).sum()
}

/// The factor `c / max(norm, c)` that brings an L2 norm down to at most `c` (exactly 1 below `c`).
fn clip_scale(norm: f64, c: f32) -> f32 {
    (f64::from(c) / norm.max(f64::from(c))) as f32
}

fn decode_iterations(t: &Tensor) -> Result<u64> {
    let bad = || {
        Error::invalid(
            "optimizer state: entry \"iterations\"",
            format!("{t:?}"),
            "a tensor [iterations / 2^24, iterations % 2^24] of two non-negative integers, or a scalar",
        )
    };
    let v = t.to_vec();
    let (hi, lo) = match (t.shape(), v.as_slice()) {
        ([2], &[hi, lo]) => (hi, lo),
        ([] | [1], &[lo]) => (0.0, lo),
        _ => return Err(bad()),
    };
    let whole = |x: f32| x >= 0.0 && x.fract() == 0.0 && x < 16_777_216.0;
    if !(whole(hi) && whole(lo)) {
        return Err(bad());
    }
    Ok(((hi as u64) << 24) + lo as u64)
}

/// Implements the common-option setters for an optimizer type (which implements `Rule`).
macro_rules! common_setters {
    ($ty:ident) => {
        impl $ty {
            /// Uses a learning-rate schedule (or a constant `f32`) instead of the rate given to `new`.
            pub fn learning_rate_schedule(mut self, schedule: impl Into<$crate::LearningRateSchedule>) -> Self {
                self.options_mut().learning_rate = schedule.into();
                self
            }

            /// Rescales each parameter's gradient to L2 norm at most `c` (replaces other clipping).
            ///
            /// # Panics
            /// If `c` is not positive and finite.
            #[track_caller]
            pub fn clipnorm(mut self, c: f32) -> Self {
                $crate::optimizer::set_clip(self.options_mut(), "clipnorm", c).clipnorm = Some(c);
                self
            }

            /// Clips each gradient element to `[-c, c]` (replaces other clipping).
            ///
            /// # Panics
            /// If `c` is not positive and finite.
            #[track_caller]
            pub fn clipvalue(mut self, c: f32) -> Self {
                $crate::optimizer::set_clip(self.options_mut(), "clipvalue", c).clipvalue = Some(c);
                self
            }

            /// Rescales all gradients together to global L2 norm at most `c` (replaces other clipping).
            ///
            /// # Panics
            /// If `c` is not positive and finite.
            #[track_caller]
            pub fn global_clipnorm(mut self, c: f32) -> Self {
                $crate::optimizer::set_clip(self.options_mut(), "global_clipnorm", c).global_clipnorm = Some(c);
                self
            }

            /// Decoupled weight decay `w -= w * wd * lr` before each update (0 turns it off).
            ///
            /// # Panics
            /// If `wd` is negative or not finite.
            #[track_caller]
            pub fn weight_decay(mut self, wd: f32) -> Self {
                assert!(
                    wd.is_finite() && wd >= 0.0,
                    "{}: weight_decay must be finite and >= 0, got {wd}",
                    stringify!($ty)
                );
                self.options_mut().weight_decay = (wd > 0.0).then_some(wd);
                self
            }
        }
    };
}
pub(crate) use common_setters;

#[track_caller]
pub(crate) fn set_clip<'a>(o: &'a mut OptimizerOptions, what: &str, c: f32) -> &'a mut OptimizerOptions {
    assert!(c.is_finite() && c > 0.0, "{what} must be positive and finite, got {c}");
    o.clipnorm = None;
    o.clipvalue = None;
    o.global_clipnorm = None;
    o
}
