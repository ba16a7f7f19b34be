//! [`SimpleRnn`]: the fully connected recurrent layer (Keras' `SimpleRNN`).

use super::sequence::CellKind;
use super::{recurrent_layer_methods, recurrent_setters, sequence_view, RecurrentOptions, RecurrentWeights};
use crate::kernel::kernel_setters;
use crate::{Activation, KernelOptions, Layer};
use serde::{Deserialize, Serialize};

/// The configuration of a [`SimpleRnn`] layer (Keras' names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimpleRnnConfig {
    /// Layer name.
    pub name: String,
    /// The size of the state and of the output.
    pub units: usize,
    /// The activation (default tanh), the bias, and the input kernel's and bias's
    /// initializers and regularizer (flattened into the config's JSON).
    #[serde(flatten)]
    pub kernel: KernelOptions,
    /// The recurrent kernel, dropout and the choice of outputs (`recurrent_activation` is
    /// unused: the cell has no gates).
    #[serde(flatten)]
    pub recurrent: RecurrentOptions,
}

/// The fully connected recurrent layer: `h' = tanh(x W + h U + b)`.
///
/// # Shapes
/// Input `[batch, time, features]`, then optionally the initial state `[batch, units]`.
/// Output `[batch, units]` or, with `return_sequences`, `[batch, time, units]`; with
/// `return_state`, then the last state.
#[doc(alias = "SimpleRNN")]
#[derive(Clone, Debug)]
pub struct SimpleRnn {
    config: SimpleRnnConfig,
    weights: RecurrentWeights,
}

impl SimpleRnn {
    /// A recurrent layer of `units` with Keras' defaults: tanh, a bias, Glorot-uniform
    /// kernel, orthogonal recurrent kernel, the last output only.
    pub fn new(units: usize) -> SimpleRnn {
        let kernel = KernelOptions { activation: Activation::Tanh, ..KernelOptions::default() };
        SimpleRnn::from_config(SimpleRnnConfig {
            name: String::new(),
            units,
            kernel,
            recurrent: RecurrentOptions::default(),
        })
    }

    /// A recurrent layer from its configuration (unbuilt).
    pub fn from_config(config: SimpleRnnConfig) -> SimpleRnn {
        SimpleRnn { config, weights: RecurrentWeights::default() }
    }

    kernel_setters!();
    recurrent_setters!();
    sequence_view!();

    fn cell_kind(&self) -> CellKind {
        CellKind::SimpleRnn
    }
}

impl Layer for SimpleRnn {
    recurrent_layer_methods!("SimpleRNN", SimpleRNN);
}
