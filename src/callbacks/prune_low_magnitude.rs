//! [`PruneLowMagnitude`]: magnitude pruning during `fit` (tfmot's `prune_low_magnitude` with
//! its `UpdatePruningStep` callback), as one callback that holds the masks.

use super::Callback;
use crate::pruning::{is_kernel, PRUNABLE_KINDS};
use crate::{Model, PolynomialDecay};
use kensho_core::{Error, Result};

/// Sets the smallest-magnitude weights of kernels to zero while training, following a
/// [`PolynomialDecay`] schedule, and keeps them at zero.
///
/// After each train step where the schedule gives a sparsity `s`, each pruned kernel of `n`
/// weights gets exactly `round(s * n)` zeros: its weights sorted by magnitude (ties by index)
/// and the first ones zeroed; a mask remembers them. After every other step the masks are
/// applied again, so the optimizer cannot bring pruned weights back. By default every
/// Dense, Conv1D, Conv2D and Conv2DTranspose kernel is pruned (never biases);
/// [`layers`](Self::layers) restricts pruning to named layers (all of their kernels).
///
/// The masks live in the callback, never in the model: after `fit` the model is an ordinary
/// model whose pruned weights are zeros, so it needs no `strip_pruning`; it saves, loads and
/// predicts as before. [`strip`](Self::strip) drops the masks, for a later `fit` that should
/// let pruned weights grow back. Use [`sparsity`](crate::sparsity) to check the result.
///
/// ```
/// use kensho::prelude::*;
/// use kensho::{callbacks::PruneLowMagnitude, PolynomialDecay};
/// let mut model = Sequential::new().add(Input::new(&[4])).add(Dense::new(10)).add(Dense::new(1)).into_model();
/// model.compile(Adam::new(1e-2), losses::MeanSquaredError, vec![])?;
/// let x = Tensor::rand_uniform(&[64, 4], -1.0, 1.0, &mut kensho::core::seeded_rng(0));
/// let y = Tensor::zeros(&[64, 1]);
/// // 2 steps per epoch; prune at steps 0, 2 and 4, reaching 50 % at step 4.
/// let mut prune = PruneLowMagnitude::new(PolynomialDecay::new(0.0, 0.5, 0, 4)?.frequency(2)?);
/// model.fit(&x, &y, FitOptions { epochs: 4, verbose: 0, callbacks: vec![&mut prune], ..Default::default() })?;
/// for (name, zeros) in kensho::sparsity(&model) {
///     assert_eq!(zeros, 0.5, "{name}");
/// }
/// # Ok::<(), kensho::Error>(())
/// ```
#[doc(alias = "prune_low_magnitude")]
#[derive(Debug)]
pub struct PruneLowMagnitude {
    schedule: PolynomialDecay,
    layers: Option<Vec<String>>,
    /// Per pruned parameter (by name): `true` where the weight is kept.
    masks: Vec<(String, Vec<bool>)>,
}

impl PruneLowMagnitude {
    /// Prunes every Dense and convolution kernel of the model along `schedule`.
    pub fn new(schedule: PolynomialDecay) -> Self {
        PruneLowMagnitude { schedule, layers: None, masks: Vec::new() }
    }

    /// Prunes only the kernels of these layers (by name; any layer with a parameter named
    /// `kernel` or `..._kernel`). `fit` fails at its start if a name is not a layer with a
    /// kernel.
    pub fn layers(mut self, names: &[&str]) -> Self {
        self.layers = Some(names.iter().map(|n| n.to_string()).collect());
        self
    }

    /// Drops the masks: weights pruned so far stay zero, but a later `fit` may change them.
    pub fn strip(&mut self) {
        self.masks.clear();
    }

    /// The names of the parameters that have a mask (after the first pruning step).
    pub fn masked(&self) -> Vec<&str> {
        self.masks.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Whether this callback prunes layer `index` of the model.
    fn selects(&self, model: &Model, index: usize) -> bool {
        let layer = &model.layers()[index];
        match &self.layers {
            Some(names) => names.iter().any(|n| n == layer.name()),
            None => PRUNABLE_KINDS.contains(&layer.kind()),
        }
    }

    /// Calls `f` on every kernel this callback prunes.
    fn for_each_kernel(&self, model: &mut Model, mut f: impl FnMut(&mut kensho_autograd::Param)) {
        let chosen: Vec<bool> = (0..model.layers().len()).map(|i| self.selects(model, i)).collect();
        for (layer, chosen) in model.graph.layers.iter_mut().zip(chosen) {
            if chosen {
                layer.params_mut().into_iter().filter(|p| is_kernel(p)).for_each(&mut f);
            }
        }
    }

    /// Prunes each kernel to `sparsity` and records the masks.
    fn prune(&mut self, model: &mut Model, sparsity: f32) {
        let mut masks = Vec::new();
        self.for_each_kernel(model, |p| {
            let values = p.value.as_mut_slice();
            let mut order: Vec<usize> = (0..values.len()).collect();
            order.sort_by(|&a, &b| values[a].abs().total_cmp(&values[b].abs()));
            let count = (sparsity as f64 * values.len() as f64).round() as usize;
            let mut mask = vec![true; values.len()];
            for &i in &order[..count.min(values.len())] {
                mask[i] = false;
                values[i] = 0.0;
            }
            masks.push((p.name().to_string(), mask));
        });
        self.masks = masks;
    }

    /// Sets the masked weights to zero again.
    fn reapply(&self, model: &mut Model) {
        if self.masks.is_empty() {
            return;
        }
        self.for_each_kernel(model, |p| {
            let mask = self.masks.iter().find(|(n, _)| n == p.name()).map(|(_, m)| m);
            if let Some(mask) = mask.filter(|m| m.len() == p.value.len()) {
                for (v, keep) in p.value.as_mut_slice().iter_mut().zip(mask) {
                    if !keep {
                        *v = 0.0;
                    }
                }
            }
        });
    }
}

impl Callback for PruneLowMagnitude {
    fn on_train_begin(&mut self, model: &mut Model) -> Result<()> {
        if let Some(names) = &self.layers {
            for name in names {
                let has_kernel = model.layer(name).map(|l| l.params().into_iter().any(is_kernel));
                match has_kernel {
                    Some(true) => {}
                    Some(false) => {
                        return Err(Error::invalid("PruneLowMagnitude: layer", name, "a layer with a kernel to prune"))
                    }
                    None => {
                        let known: Vec<&str> = model.layers().iter().map(|l| l.name()).collect();
                        return Err(Error::invalid(
                            "PruneLowMagnitude: layer",
                            name,
                            format!("one of the model's layers: {}", known.join(", ")),
                        ));
                    }
                }
            }
        } else if !(0..model.layers().len()).any(|i| self.selects(model, i)) {
            return Err(Error::invalid(
                "PruneLowMagnitude: model",
                "no Dense or convolution layer",
                "a model with a Dense/Conv kernel, or name the layers to prune with .layers(..)",
            ));
        }
        Ok(())
    }

    fn on_train_step_end(&mut self, step: u64, model: &mut Model) -> Result<()> {
        match self.schedule.sparsity_at(step) {
            Some(sparsity) => self.prune(model, sparsity),
            None => self.reapply(model),
        }
        Ok(())
    }
}
