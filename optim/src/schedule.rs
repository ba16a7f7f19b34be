//! Learning-rate schedules: the learning rate as a function of the optimizer's step count.
//!
//! The formulas follow `keras.optimizers.schedules` (Keras 3). The step passed in is the
//! optimizer's [`iterations`](crate::Optimizer::iterations) before the update, so the first update
//! uses the rate at step 0. Values are computed in `f64` and rounded to `f32` once.

use crate::optimizer::check_range;
use kensho_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// A learning rate that depends on the step: a constant or one of the Keras decay schedules.
///
/// Optimizers take an `f32` (a constant) in `new` and any schedule through their
/// `learning_rate_schedule` setter; every schedule type converts into this enum with `into()`.
///
/// ```
/// use kensho_optim::{ExponentialDecay, LearningRateSchedule};
/// let s: LearningRateSchedule = ExponentialDecay::new(0.1, 10, 0.5).into();
/// assert!((s.at(10) - 0.05).abs() < 1e-7);
/// assert_eq!(LearningRateSchedule::from(0.01).at(1_000), 0.01);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LearningRateSchedule {
    /// The same rate at every step.
    Constant {
        /// The learning rate.
        learning_rate: f32,
    },
    /// See [`ExponentialDecay`].
    ExponentialDecay(ExponentialDecay),
    /// See [`PiecewiseConstantDecay`].
    PiecewiseConstantDecay(PiecewiseConstantDecay),
    /// See [`CosineDecay`].
    CosineDecay(CosineDecay),
}

impl LearningRateSchedule {
    /// The learning rate at `step` (the number of updates already made).
    pub fn at(&self, step: u64) -> f32 {
        match self {
            LearningRateSchedule::Constant { learning_rate } => *learning_rate,
            LearningRateSchedule::ExponentialDecay(s) => s.at(step),
            LearningRateSchedule::PiecewiseConstantDecay(s) => s.at(step),
            LearningRateSchedule::CosineDecay(s) => s.at(step),
        }
    }

    /// Checks a schedule (the optimizers' constructors and `from_config` run it; a schedule
    /// from a file goes through it before use).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the field: a learning rate (constant, initial, piecewise
    /// value or warmup target) or `decay_rate` that is negative or not finite, `alpha` outside
    /// `[0, 1]`, `decay_steps == 0`, or piecewise `values` not one longer than strictly
    /// increasing `boundaries`.
    pub fn validate(&self) -> Result<()> {
        let rate = |what: &str, v: f32| check_range(what, v, 0.0, f32::INFINITY, false);
        match self {
            LearningRateSchedule::Constant { learning_rate } => rate("optimizer learning_rate", *learning_rate),
            LearningRateSchedule::ExponentialDecay(s) => {
                rate("ExponentialDecay: initial_learning_rate", s.initial_learning_rate)?;
                rate("ExponentialDecay: decay_rate", s.decay_rate)?;
                positive_steps("ExponentialDecay: decay_steps", s.decay_steps)
            }
            LearningRateSchedule::PiecewiseConstantDecay(s) => {
                s.values.iter().try_for_each(|&v| rate("PiecewiseConstantDecay: value", v))?;
                check_piecewise(&s.boundaries, &s.values)
            }
            LearningRateSchedule::CosineDecay(s) => {
                rate("CosineDecay: initial_learning_rate", s.initial_learning_rate)?;
                check_range("CosineDecay: alpha", s.alpha, 0.0, 1.0, true)?;
                s.warmup_target.map_or(Ok(()), |t| rate("CosineDecay: warmup_target", t))?;
                positive_steps("CosineDecay: decay_steps", s.decay_steps)
            }
        }
    }
}

impl From<f32> for LearningRateSchedule {
    fn from(learning_rate: f32) -> Self {
        LearningRateSchedule::Constant { learning_rate }
    }
}

/// `initial_learning_rate * decay_rate ^ (step / decay_steps)`, with the exponent floored when
/// `staircase` is set (Keras `ExponentialDecay`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExponentialDecay {
    /// The rate at step 0.
    pub initial_learning_rate: f32,
    /// The number of steps over which the rate is multiplied by `decay_rate` once.
    pub decay_steps: u64,
    /// The factor per `decay_steps` steps.
    pub decay_rate: f32,
    /// Decay in discrete jumps every `decay_steps` steps instead of continuously.
    pub staircase: bool,
}

impl ExponentialDecay {
    /// A continuous exponential decay (`staircase` off).
    ///
    /// # Panics
    /// If `decay_steps` is 0.
    #[track_caller]
    pub fn new(initial_learning_rate: f32, decay_steps: u64, decay_rate: f32) -> Self {
        assert!(decay_steps > 0, "ExponentialDecay: decay_steps must be positive, got 0");
        ExponentialDecay { initial_learning_rate, decay_steps, decay_rate, staircase: false }
    }

    /// Floors the exponent so the rate drops in steps.
    pub fn staircase(mut self, staircase: bool) -> Self {
        self.staircase = staircase;
        self
    }

    /// The rate at `step`.
    pub fn at(&self, step: u64) -> f32 {
        let mut p = step as f64 / self.decay_steps as f64;
        if self.staircase {
            p = p.floor();
        }
        (f64::from(self.initial_learning_rate) * f64::from(self.decay_rate).powf(p)) as f32
    }
}

/// A piecewise-constant rate: `values[0]` while `step <= boundaries[0]`, `values[i]` while
/// `boundaries[i-1] < step <= boundaries[i]`, and `values[n]` after the last boundary (Keras
/// `PiecewiseConstantDecay`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PiecewiseConstantDecay {
    /// Strictly increasing step boundaries.
    pub boundaries: Vec<u64>,
    /// One more value than boundaries.
    pub values: Vec<f32>,
}

impl PiecewiseConstantDecay {
    /// A piecewise-constant schedule.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `values.len() != boundaries.len() + 1` or the boundaries are
    /// not strictly increasing.
    pub fn new(boundaries: Vec<u64>, values: Vec<f32>) -> Result<Self> {
        check_piecewise(&boundaries, &values)?;
        Ok(PiecewiseConstantDecay { boundaries, values })
    }

    /// The rate at `step`.
    pub fn at(&self, step: u64) -> f32 {
        let i = self.boundaries.iter().take_while(|&&b| step > b).count();
        // `get` keeps an unvalidated (deserialized) schedule from panicking; `validate` reports it.
        self.values.get(i).or(self.values.last()).copied().unwrap_or(0.0)
    }
}

/// Cosine decay with an optional linear warmup (Keras 3 `CosineDecay`).
///
/// Without warmup: `initial * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)` with
/// `s = min(step, decay_steps)`. With `warmup_target`, the rate first goes linearly from
/// `initial_learning_rate` to `warmup_target` over `warmup_steps` steps, then decays from
/// `warmup_target` as above with `s = min(step, warmup_steps + decay_steps) - warmup_steps`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CosineDecay {
    /// The rate at step 0.
    pub initial_learning_rate: f32,
    /// The number of decay steps (after the warmup).
    pub decay_steps: u64,
    /// The final rate as a fraction of the rate the decay starts from.
    pub alpha: f32,
    /// The rate reached at the end of the warmup; `None` for no warmup.
    pub warmup_target: Option<f32>,
    /// The number of warmup steps (used only with `warmup_target`).
    pub warmup_steps: u64,
}

impl CosineDecay {
    /// Cosine decay to 0 (`alpha = 0`) with no warmup.
    ///
    /// # Panics
    /// If `decay_steps` is 0.
    #[track_caller]
    pub fn new(initial_learning_rate: f32, decay_steps: u64) -> Self {
        assert!(decay_steps > 0, "CosineDecay: decay_steps must be positive, got 0");
        CosineDecay { initial_learning_rate, decay_steps, alpha: 0.0, warmup_target: None, warmup_steps: 0 }
    }

    /// The final rate as a fraction of the start of the decay.
    pub fn alpha(mut self, alpha: f32) -> Self {
        self.alpha = alpha;
        self
    }

    /// A linear warmup from `initial_learning_rate` to `target` over `steps` steps.
    pub fn warmup(mut self, target: f32, steps: u64) -> Self {
        self.warmup_target = Some(target);
        self.warmup_steps = steps;
        self
    }

    /// The rate at `step`.
    pub fn at(&self, step: u64) -> f32 {
        let initial = f64::from(self.initial_learning_rate);
        let decay_steps = self.decay_steps as f64;
        let decay = |s: f64, from: f64| {
            let cosine = 0.5 * (1.0 + (std::f64::consts::PI * s / decay_steps).cos());
            from * ((1.0 - f64::from(self.alpha)) * cosine + f64::from(self.alpha))
        };
        let Some(target) = self.warmup_target else {
            return decay((step as f64).min(decay_steps), initial) as f32;
        };
        let (target, warmup) = (f64::from(target), self.warmup_steps as f64);
        let s = (step as f64).min(warmup + decay_steps);
        let rate = if s < warmup { (target - initial) * (s / warmup) + initial } else { decay(s - warmup, target) };
        rate as f32
    }
}

macro_rules! into_schedule {
    ($($ty:ident),*) => {$(
        impl From<$ty> for LearningRateSchedule {
            fn from(s: $ty) -> Self {
                LearningRateSchedule::$ty(s)
            }
        }
    )*};
}
into_schedule!(ExponentialDecay, PiecewiseConstantDecay, CosineDecay);

fn positive_steps(what: &str, steps: u64) -> Result<()> {
    if steps == 0 {
        return Err(Error::invalid(what, 0, "a positive number of steps"));
    }
    Ok(())
}

fn check_piecewise(boundaries: &[u64], values: &[f32]) -> Result<()> {
    if values.len() != boundaries.len() + 1 {
        return Err(Error::invalid(
            "PiecewiseConstantDecay: number of values",
            values.len(),
            format!("{} (one more than the {} boundaries)", boundaries.len() + 1, boundaries.len()),
        ));
    }
    if boundaries.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::invalid(
            "PiecewiseConstantDecay: boundaries",
            format!("{boundaries:?}"),
            "strictly increasing",
        ));
    }
    Ok(())
}
