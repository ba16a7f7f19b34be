//! Magnitude pruning's schedule and report: [`PolynomialDecay`] (how sparse the kernels should
//! be at a training step, as the Keras Model Optimization toolkit's schedule of that name) and
//! [`sparsity`] (how sparse they are). The callback that prunes is
//! [`PruneLowMagnitude`](crate::callbacks::PruneLowMagnitude).

use crate::Model;
use kensho_autograd::Param;
use kensho_core::{Error, Result};

/// The kinds of layer whose `kernel` is pruned by default.
pub(crate) const PRUNABLE_KINDS: [&str; 4] = ["Dense", "Conv1D", "Conv2D", "Conv2DTranspose"];

/// A sparsity that rises from `initial_sparsity` at `begin_step` to `final_sparsity` at
/// `end_step` along a polynomial (tfmot's `PolynomialDecay`):
///
/// ```text
/// s(step) = final + (initial - final) * (1 - (step - begin) / (end - begin))^power
/// ```
///
/// Pruning happens only at steps in `[begin_step, end_step]` that are a multiple of
/// `frequency` steps after `begin_step`; [`sparsity_at`](Self::sparsity_at) gives `None` at
/// the others. Choose `end_step - begin_step` as a multiple of `frequency` so that the last
/// pruning happens at `end_step` with exactly `final_sparsity`. Defaults: `power` 3,
/// `frequency` 100. Steps count train steps from 0 (the optimizer's `iterations` before the
/// step).
///
/// ```
/// use kensho::PolynomialDecay;
/// let schedule = PolynomialDecay::new(0.0, 0.8, 0, 100)?.frequency(10)?;
/// assert_eq!(schedule.sparsity_at(0), Some(0.0));
/// assert_eq!(schedule.sparsity_at(5), None); // not on the frequency
/// assert!((schedule.sparsity_at(100).unwrap() - 0.8).abs() < 1e-6);
/// assert_eq!(schedule.sparsity_at(110), None); // after the end
/// # Ok::<(), kensho::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PolynomialDecay {
    initial_sparsity: f32,
    final_sparsity: f32,
    begin_step: u64,
    end_step: u64,
    power: f32,
    frequency: u64,
}

/// Checks that a sparsity is a fraction in `[0, 1)`.
fn check_sparsity(what: &str, value: f32) -> Result<()> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("PolynomialDecay: {what}"),
            value,
            "a fraction of weights in [0, 1) (0.8 prunes 80 %)",
        ))
    }
}

impl PolynomialDecay {
    /// A schedule from `initial_sparsity` at `begin_step` to `final_sparsity` at `end_step`,
    /// with `power` 3 and `frequency` 100.
    ///
    /// # Errors
    /// If a sparsity is outside `[0, 1)` or `end_step <= begin_step`.
    pub fn new(initial_sparsity: f32, final_sparsity: f32, begin_step: u64, end_step: u64) -> Result<Self> {
        check_sparsity("initial_sparsity", initial_sparsity)?;
        check_sparsity("final_sparsity", final_sparsity)?;
        if end_step <= begin_step {
            return Err(Error::invalid(
                "PolynomialDecay: end_step",
                end_step,
                format!("a step after begin_step ({begin_step})"),
            ));
        }
        Ok(PolynomialDecay { initial_sparsity, final_sparsity, begin_step, end_step, power: 3.0, frequency: 100 })
    }

    /// The exponent of the polynomial (default 3; 1 is a straight line).
    ///
    /// # Errors
    /// If `power` is not a positive finite number.
    pub fn power(mut self, power: f32) -> Result<Self> {
        if !(power.is_finite() && power > 0.0) {
            return Err(Error::invalid("PolynomialDecay: power", power, "a positive finite exponent (default 3)"));
        }
        self.power = power;
        Ok(self)
    }

    /// Prune only every `frequency` steps (default 100).
    ///
    /// # Errors
    /// If `frequency` is 0.
    pub fn frequency(mut self, frequency: u64) -> Result<Self> {
        if frequency == 0 {
            return Err(Error::invalid("PolynomialDecay: frequency", 0, "a positive number of steps (default 100)"));
        }
        self.frequency = frequency;
        Ok(self)
    }

    /// The sparsity to prune to after train step `step`, or `None` when no pruning happens at
    /// that step (before `begin_step`, after `end_step`, or off the frequency).
    pub fn sparsity_at(&self, step: u64) -> Option<f32> {
        if step < self.begin_step || step > self.end_step || !(step - self.begin_step).is_multiple_of(self.frequency) {
            return None;
        }
        let progress = (step - self.begin_step) as f64 / (self.end_step - self.begin_step) as f64;
        let (initial, last) = (self.initial_sparsity as f64, self.final_sparsity as f64);
        Some((last + (initial - last) * (1.0 - progress).powf(self.power as f64)) as f32)
    }

    /// The sparsity reached at `end_step`.
    pub fn final_sparsity(&self) -> f32 {
        self.final_sparsity
    }
}

/// Each prunable kernel's name and fraction of weights that are exactly zero, in layer order.
/// The prunable kernels are the `kernel` of every Dense, Conv1D, Conv2D and Conv2DTranspose
/// layer of the model (not biases, and not the layers of a nested model).
///
/// ```
/// use kensho::prelude::*;
/// let mut model = Sequential::new().add(Input::new(&[4])).add(Dense::new(2)).into_model();
/// model.build_model()?;
/// assert_eq!(kensho::sparsity(&model), vec![("dense.kernel".to_string(), 0.0)]);
/// # Ok::<(), kensho::Error>(())
/// ```
pub fn sparsity(model: &Model) -> Vec<(String, f32)> {
    kernel_zeros(model, |kind| PRUNABLE_KINDS.contains(&kind))
        .into_iter()
        .map(|(name, zeros, len)| (name, zeros as f32 / len.max(1) as f32))
        .collect()
}

/// Each kernel's name, count of exact zeros and size, for the layers (of the model itself, in
/// order) whose kind `of_kind` accepts.
pub(crate) fn kernel_zeros(model: &Model, of_kind: impl Fn(&str) -> bool) -> Vec<(String, usize, usize)> {
    model
        .layers()
        .iter()
        .filter(|l| of_kind(l.kind()))
        .flat_map(|l| l.params())
        .filter(|p| is_kernel(p))
        .map(|p| {
            let zeros = p.value.to_vec().iter().filter(|v| **v == 0.0).count();
            (p.name().to_string(), zeros, p.value.len())
        })
        .collect()
}

/// Whether a parameter is a kernel (named `kernel` or `..._kernel`), not a bias.
pub(crate) fn is_kernel(p: &Param) -> bool {
    let last = p.name().rsplit('.').next().unwrap_or("");
    last == "kernel" || last.ends_with("_kernel")
}
