//! Adam and AdamW (Keras 3 `Adam`, `AdamW`): one update rule; AdamW is Adam whose decoupled
//! weight decay defaults to 0.004.

use crate::optimizer::check_range;
use crate::plumbing::{config_setters, optimizer_plumbing};
use crate::rule::{sealed::Rule, Hyper, Runtime};
use crate::OptimizerOptions;
use serde::{Deserialize, Serialize};

/// The hyperparameters of [`Adam`] and [`AdamW`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Learning rate (default 1e-3), clipping and weight decay.
    #[serde(flatten)]
    pub options: OptimizerOptions,
    /// Decay of the first-moment average (default 0.9).
    pub beta_1: f32,
    /// Decay of the second-moment average (default 0.999).
    pub beta_2: f32,
    /// Added to the denominator (default 1e-7, the Keras value).
    pub epsilon: f32,
    /// Use the running maximum of the second moment (AMSGrad; default false).
    pub amsgrad: bool,
}

impl AdamConfig {
    fn new(learning_rate: f32) -> Self {
        AdamConfig {
            options: OptimizerOptions::new(learning_rate),
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
        }
    }
}

/// Adam (Keras `Adam`), with the bias correction folded into the step size as Keras does:
///
/// ```text
/// alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)        (t = iterations + 1)
/// m += (g - m) * (1 - beta_1);  v += (g² - v) * (1 - beta_2)
/// w -= alpha * m / (sqrt(v) + epsilon)                    (AMSGrad: v_hat = max(v_hat, v) in place of v)
/// ```
///
/// State slots: `"m"`, `"v"`, and `"v_hat"` with AMSGrad.
///
/// ```
/// use kensho_autograd::{Grads, Param};
/// use kensho_core::Tensor;
/// use kensho_optim::{Adam, Optimizer};
/// let mut w = Param::new("w", Tensor::from_vec(vec![1.0, -1.0], &[2])?);
/// let mut grads = Grads::new();
/// grads.insert(w.id(), Tensor::from_vec(vec![0.5, -2.0], &[2])?);
/// let mut opt = Adam::new(0.1).beta_1(0.8);
/// opt.step(&mut [&mut w], &grads);
/// // The first Adam step moves each element by about lr against the sign of its gradient.
/// assert!((w.value.to_vec()[0] - 0.9).abs() < 1e-5 && (w.value.to_vec()[1] + 0.9).abs() < 1e-5);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Adam {
    config: AdamConfig,
    runtime: Runtime,
}

impl Adam {
    /// Adam with the given learning rate and the Keras defaults for the rest.
    ///
    /// # Panics
    /// If `learning_rate` is negative or not finite (a configuration from a file goes through
    /// the fallible [`OptimizerConfig::build`](crate::OptimizerConfig::build) instead).
    #[track_caller]
    pub fn new(learning_rate: f32) -> Self {
        Adam::checked(AdamConfig::new(learning_rate))
    }
}

impl Default for Adam {
    /// Keras defaults: 1e-3, 0.9, 0.999, 1e-7, no AMSGrad, no weight decay.
    fn default() -> Self {
        Adam::new(1e-3)
    }
}

optimizer_plumbing!(Adam(AdamConfig), Adam, "adam");

/// AdamW (Keras `AdamW`): [`Adam`] with decoupled weight decay `w -= w * weight_decay * lr`
/// before each update, `weight_decay` defaulting to 0.004.
///
/// ```
/// use kensho_optim::{AdamW, Optimizer};
/// let opt = AdamW::new(1e-3).weight_decay(0.01).amsgrad(true);
/// assert_eq!(opt.name(), "adamw");
/// ```
#[derive(Clone, Debug)]
pub struct AdamW {
    config: AdamConfig,
    runtime: Runtime,
}

impl AdamW {
    /// AdamW with the given learning rate, weight decay 0.004 and the Adam defaults.
    ///
    /// # Panics
    /// If `learning_rate` is negative or not finite (a configuration from a file goes through
    /// the fallible [`OptimizerConfig::build`](crate::OptimizerConfig::build) instead).
    #[track_caller]
    pub fn new(learning_rate: f32) -> Self {
        AdamW::checked(AdamConfig::new(learning_rate)).weight_decay(0.004)
    }
}

impl Default for AdamW {
    /// Keras defaults: 1e-3, weight decay 0.004, 0.9, 0.999, 1e-7.
    fn default() -> Self {
        AdamW::new(1e-3)
    }
}

optimizer_plumbing!(AdamW(AdamConfig), AdamW, "adamw");
config_setters!(
    Adam,
    AdamW {
        /// Sets `beta_1`.
        beta_1: f32,
        /// Sets `beta_2`.
        beta_2: f32,
        /// Sets `epsilon`.
        epsilon: f32,
        /// Turns AMSGrad on or off.
        amsgrad: bool,
    }
);

/// The one update rule of [`Adam`] and [`AdamW`].
impl Rule for AdamConfig {
    fn check(&self) -> kensho_core::Result<()> {
        check_range("Adam beta_1", self.beta_1, 0.0, 1.0, false)?;
        check_range("Adam beta_2", self.beta_2, 0.0, 1.0, false)?;
        check_range("Adam epsilon", self.epsilon, 0.0, f32::INFINITY, false)
    }

    fn slot_names(&self) -> &'static [&'static str] {
        if self.amsgrad {
            &["m", "v", "v_hat"]
        } else {
            &["m", "v"]
        }
    }

    #[inline(always)]
    fn update(&self, w: &mut [f32], g: &[f32], slots: &mut [&mut [f32]], h: &Hyper) {
        let t = h.step as f64;
        let (b1t, b2t) = (f64::from(self.beta_1).powf(t), f64::from(self.beta_2).powf(t));
        let alpha = (f64::from(h.lr) * (1.0 - b2t).sqrt() / (1.0 - b1t)) as f32;
        let (k1, k2, eps) = (1.0 - self.beta_1, 1.0 - self.beta_2, self.epsilon);
        let moments = |g: f32, m: &mut f32, v: &mut f32| {
            *m += (g - *m) * k1;
            *v += (g * g - *v) * k2;
        };
        match slots {
            [m, v] => {
                for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                    let g = h.grad(g);
                    *w = h.decay(*w);
                    moments(g, m, v);
                    *w -= *m * alpha / (v.sqrt() + eps);
                }
            }
            [m, v, v_hat] => {
                let mv = m.iter_mut().zip(v.iter_mut());
                for (((w, &g), (m, v)), v_hat) in w.iter_mut().zip(g).zip(mv).zip(v_hat.iter_mut()) {
                    let g = h.grad(g);
                    *w = h.decay(*w);
                    moments(g, m, v);
                    *v_hat = v_hat.max(*v);
                    *w -= *m * alpha / (v_hat.sqrt() + eps);
                }
            }
            _ => unreachable!("Adam has 2 or 3 slots"),
        }
    }
}
