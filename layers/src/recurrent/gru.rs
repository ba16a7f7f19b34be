//! [`Gru`]: the gated recurrent unit layer (Keras' `GRU`, with its default `reset_after`).

use super::sequence::CellKind;
use super::{recurrent_layer_methods, recurrent_setters, sequence_view, RecurrentOptions, RecurrentWeights};
use crate::kernel::kernel_setters;
use crate::{Activation, KernelOptions, Layer};
use serde::{Deserialize, Serialize};

/// The configuration of a [`Gru`] layer (Keras' names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GruConfig {
    /// Layer name.
    pub name: String,
    /// The size of the state and of the output.
    pub units: usize,
    /// The activation of the candidate (default tanh), the bias, and the input kernel's and
    /// bias's initializers and regularizer (flattened into the config's JSON).
    #[serde(flatten)]
    pub kernel: KernelOptions,
    /// The gates' activation, the recurrent kernel, dropout and the choice of outputs.
    #[serde(flatten)]
    pub recurrent: RecurrentOptions,
    /// Whether the reset gate multiplies the recurrent product after it is computed (Keras'
    /// default and PyTorch's formula, the only form supported: `false` is an error at build).
    #[serde(default = "crate::layer::yes")]
    pub reset_after: bool,
}

/// Gated recurrent unit (Cho et al., 2014) with Keras' formulas and gate order `z, r, h`
/// (PyTorch's `r, z, n`), the reset gate applied after the recurrent product:
/// `z, r = σ(x W + b + h U + rb)` per gate, `hh = tanh(x W_h + b_h + r (h U_h + rb_h))`,
/// `h' = z h + (1 - z) hh`. It has two biases, `bias` (input) and `recurrent_bias`.
///
/// # Shapes
/// Input `[batch, time, features]`, then optionally the initial state `[batch, units]`.
/// Output `[batch, units]` or, with `return_sequences`, `[batch, time, units]`; with
/// `return_state`, then the last state.
#[doc(alias = "GRU")]
#[derive(Clone, Debug)]
pub struct Gru {
    config: GruConfig,
    weights: RecurrentWeights,
}

impl Gru {
    /// A GRU of `units` with Keras' defaults: tanh, sigmoid gates, `reset_after`, biases,
    /// Glorot-uniform kernel, orthogonal recurrent kernel, the last output only.
    pub fn new(units: usize) -> Gru {
        let kernel = KernelOptions { activation: Activation::Tanh, ..KernelOptions::default() };
        let config =
            GruConfig { name: String::new(), units, kernel, recurrent: RecurrentOptions::default(), reset_after: true };
        Gru::from_config(config)
    }

    /// A GRU from its configuration (unbuilt).
    pub fn from_config(config: GruConfig) -> Gru {
        Gru { config, weights: RecurrentWeights::default() }
    }

    /// Keras' `reset_after` (default true; `false` is not supported and fails at build).
    pub fn reset_after(mut self, on: bool) -> Self {
        self.config.reset_after = on;
        self
    }

    kernel_setters!();
    recurrent_setters!();
    sequence_view!();

    fn cell_kind(&self) -> CellKind {
        CellKind::Gru { reset_after: self.config.reset_after }
    }
}

impl Layer for Gru {
    recurrent_layer_methods!("GRU", GRU);
}
