//! [`RecurrentWeights`]: a recurrent layer's parameters, named as Keras names its variables:
//! `{layer}.kernel` `[features, gates * units]`, `{layer}.recurrent_kernel`
//! `[units, gates * units]`, `{layer}.bias` `[gates * units]`, and for a GRU
//! `{layer}.recurrent_bias` `[gates * units]` (Keras keeps the GRU's two biases as one
//! `[2, 3 * units]` variable; kensho keeps its rows apart so that each is one PyTorch tensor).

use super::sequence::CellKind;
use super::RecurrentOptions;
use crate::KernelOptions;
use kensho_autograd::{Param, Tape, Var};
use kensho_core::{Result, Rng, Tensor};

/// The parameters of a recurrent layer (none before it is built).
#[derive(Clone, Debug, Default)]
pub(crate) struct RecurrentWeights {
    pub(crate) kernel: Option<Param>,
    pub(crate) recurrent_kernel: Option<Param>,
    pub(crate) bias: Option<Param>,
    pub(crate) recurrent_bias: Option<Param>,
}

impl RecurrentWeights {
    /// Whether the weights exist for inputs of `features` (a built layer keeps its weights).
    pub(crate) fn fits(&self, features: usize, width: usize) -> bool {
        self.kernel.as_ref().is_some_and(|k| k.value.shape() == [features, width])
    }

    /// Creates the weights of a layer named `name`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create(
        &mut self,
        name: &str,
        cell: CellKind,
        units: usize,
        features: usize,
        kernel: &KernelOptions,
        recurrent: &RecurrentOptions,
        rng: &mut Rng,
    ) -> Result<()> {
        let width = cell.core().gates().saturating_mul(units);
        let weight = |suffix: &str| format!("{name}.{suffix}");
        let param = |suffix: &str, value: Tensor| Some(Param::new(weight(suffix), value));
        let kernel_value =
            kernel.kernel_initializer.init(&weight("kernel"), &[features, width], features, width, rng)?;
        let recurrent_kernel =
            recurrent.recurrent_initializer.init(&weight("recurrent_kernel"), &[units, width], units, width, rng)?;
        let mut bias = |suffix: &str, n: usize| kernel.bias_initializer.init(&weight(suffix), &[n], n, n, rng);
        let (b, recurrent_b) = match (kernel.use_bias, cell) {
            (false, _) => (None, None),
            // Keras' unit_forget_bias: the forget gate's block starts at one.
            (true, CellKind::Lstm { unit_forget_bias: true }) => {
                let blocks = [bias("bias", units)?, Tensor::ones(&[units]), bias("bias", 2 * units)?];
                (param("bias", Tensor::concat(&blocks, 0)), None)
            }
            (true, CellKind::Gru { .. }) => {
                (param("bias", bias("bias", width)?), param("recurrent_bias", bias("recurrent_bias", width)?))
            }
            (true, _) => (param("bias", bias("bias", width)?), None),
        };
        self.kernel = param("kernel", kernel_value);
        self.recurrent_kernel = param("recurrent_kernel", recurrent_kernel);
        (self.bias, self.recurrent_bias) = (b, recurrent_b);
        self.set_trainable(kernel.trainable);
        Ok(())
    }

    /// Renames the weights after the layer.
    pub(crate) fn rename(&mut self, name: &str) {
        let names = ["kernel", "recurrent_kernel", "bias", "recurrent_bias"];
        let slots = [&mut self.kernel, &mut self.recurrent_kernel, &mut self.bias, &mut self.recurrent_bias];
        for (slot, suffix) in slots.into_iter().zip(names) {
            if let Some(p) = slot {
                p.set_name(format!("{name}.{suffix}"));
            }
        }
    }

    /// Kernel, recurrent kernel, bias, recurrent bias (those that exist).
    pub(crate) fn params(&self) -> Vec<&Param> {
        [&self.kernel, &self.recurrent_kernel, &self.bias, &self.recurrent_bias].into_iter().flatten().collect()
    }

    /// [`RecurrentWeights::params`], mutable.
    pub(crate) fn params_mut(&mut self) -> Vec<&mut Param> {
        [&mut self.kernel, &mut self.recurrent_kernel, &mut self.bias, &mut self.recurrent_bias]
            .into_iter()
            .flatten()
            .collect()
    }

    /// Freezes or unfreezes every weight.
    pub(crate) fn set_trainable(&mut self, trainable: bool) {
        for p in self.params_mut() {
            p.trainable = trainable;
        }
    }

    /// The weights on `tape`, with the initial states.
    ///
    /// # Panics
    /// Before the layer is built.
    pub(crate) fn on_tape<'t>(
        &self,
        tape: &'t Tape,
        initial_state: Vec<Var<'t>>,
    ) -> kensho_autograd::RecurrentWeights<'t> {
        let built = |p: &Option<Param>| tape.param(p.as_ref().expect("a recurrent layer used before build"));
        kensho_autograd::RecurrentWeights {
            kernel: built(&self.kernel),
            recurrent_kernel: built(&self.recurrent_kernel),
            bias: self.bias.as_ref().map(|b| tape.param(b)),
            recurrent_bias: self.recurrent_bias.as_ref().map(|b| tape.param(b)),
            initial_state,
        }
    }

    /// The penalties on the kernel and the recurrent kernel, if regularizers are set and the
    /// weights train.
    pub(crate) fn penalty<'t>(
        &self,
        kernel: &KernelOptions,
        recurrent: &RecurrentOptions,
        tape: &'t Tape,
    ) -> Option<Var<'t>> {
        let pairs =
            [(kernel.kernel_regularizer, &self.kernel), (recurrent.recurrent_regularizer, &self.recurrent_kernel)];
        pairs
            .into_iter()
            .filter_map(|(reg, p)| Some((reg?, p.as_ref()?)))
            .filter(|(_, p)| p.trainable)
            .map(|(reg, p)| reg.penalty(tape.param(p)))
            .reduce(Var::add)
    }
}
