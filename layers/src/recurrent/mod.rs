//! Recurrent layers (Keras' `keras.layers.rnn`): [`SimpleRnn`], [`Lstm`] and [`Gru`], and the
//! [`Bidirectional`] wrapper.
//!
//! - The three cells share one driver (`sequence.rs`: shapes, weights, dropout, masks, the
//!   choice of outputs, the PyTorch layout) and one weight set (`weights.rs`); each layer's
//!   file holds its config and setters only.
//! - A whole sequence is one fused op on the tape ([`Var::recurrent`](kensho_autograd::Var::recurrent)),
//!   whose backward pass is backpropagation through time in kensho-core: no op per step, no
//!   weight-sized buffer per step.
//! - Inputs `[batch, time, features]` (the time may be unknown until data arrives); the
//!   output is the last output `[batch, units]` or, with `return_sequences`, the sequence
//!   `[batch, time, units]`; with `return_state` the last states follow (`h`, and `c` for an
//!   LSTM). Initial states can be given as extra inputs (Keras' `initial_state`).
//! - Masks (Keras semantics): at a step where a sample's mask is 0, its states carry over
//!   unchanged and its output repeats the previous one (zeros inside [`Bidirectional`] with
//!   `return_sequences`); the mask passes on with an output sequence only.
//! - Dropout: one mask per sequence for the inputs and one for the previous state, the same
//!   at every step and for every gate (Keras draws one per gate when `recurrent_dropout` is
//!   set; the distribution of each gate's input is the same).

mod bidirectional;
mod gru;
mod lstm;
mod options;
mod sequence;
mod simple_rnn;
mod weights;

pub use bidirectional::{Bidirectional, BidirectionalConfig, MergeMode};
pub use gru::{Gru, GruConfig};
pub use lstm::{Lstm, LstmConfig};
pub use options::RecurrentOptions;
pub use simple_rnn::{SimpleRnn, SimpleRnnConfig};

pub(crate) use options::recurrent_setters;
pub(crate) use weights::RecurrentWeights;

/// The [`Layer`](crate::Layer) methods the three recurrent layers share: `$kind` is the Keras
/// class name and `$variant` the [`LayerConfig`](crate::LayerConfig) variant. The layer's
/// config holds `name`, `units`, `kernel` ([`KernelOptions`](crate::KernelOptions)) and
/// `recurrent` ([`RecurrentOptions`]); the layer holds `weights` and a `cell_kind()` method.
macro_rules! recurrent_layer_methods {
    ($kind:literal, $variant:ident) => {
        $crate::kernel::kernel_layer_methods!();

        fn kind(&self) -> &'static str {
            $kind
        }

        fn config(&self) -> $crate::LayerConfig {
            $crate::LayerConfig::$variant(self.config.clone())
        }

        fn build_inputs(
            &mut self,
            inputs: &[$crate::Shape],
            rng: &mut kensho_core::Rng,
        ) -> kensho_core::Result<Vec<$crate::Shape>> {
            let mut weights = std::mem::take(&mut self.weights);
            let shapes = self.sequence().build(inputs, &mut weights, rng);
            self.weights = weights;
            shapes
        }

        fn build(
            &mut self,
            input_shape: &$crate::Shape,
            rng: &mut kensho_core::Rng,
        ) -> kensho_core::Result<$crate::Shape> {
            Ok(self.build_inputs(std::slice::from_ref(input_shape), rng)?.swap_remove(0))
        }

        fn call<'t>(
            &self,
            inputs: &[kensho_autograd::Var<'t>],
            masks: &[Option<kensho_core::Tensor>],
            cx: &$crate::Ctx<'t>,
        ) -> Vec<kensho_autograd::Var<'t>> {
            self.sequence().call(&self.weights, inputs, masks, cx)
        }

        fn forward<'t>(&self, x: kensho_autograd::Var<'t>, cx: &$crate::Ctx<'t>) -> kensho_autograd::Var<'t> {
            self.call(&[x], &[None], cx).swap_remove(0)
        }

        fn compute_mask(
            &self,
            _inputs: &[kensho_autograd::Var<'_>],
            masks: &[Option<kensho_core::Tensor>],
        ) -> Vec<Option<kensho_core::Tensor>> {
            self.sequence().output_masks(masks)
        }

        fn regularization<'t>(&self, tape: &'t kensho_autograd::Tape) -> Option<kensho_autograd::Var<'t>> {
            self.weights.penalty(&self.config.kernel, &self.config.recurrent, tape)
        }

        fn torch_layout(&self) -> Option<$crate::TorchLayout> {
            self.sequence().torch_layout("")
        }
    };
}

/// The shared driver's view of a recurrent layer (`self.sequence()`), for a layer whose config
/// has the fields `recurrent_layer_methods!` expects.
macro_rules! sequence_view {
    () => {
        /// The shared driver's view of the layer.
        fn sequence(&self) -> $crate::recurrent::sequence::Sequence<'_> {
            $crate::recurrent::sequence::Sequence {
                cell: self.cell_kind(),
                name: &self.config.name,
                units: self.config.units,
                kernel: &self.config.kernel,
                recurrent: &self.config.recurrent,
            }
        }
    };
}

use recurrent_layer_methods;
use sequence_view;

/// The recurrent options inside a layer config, if it is a recurrent layer's (for
/// [`Bidirectional`], which makes its two directions from the wrapped layer's config).
pub(crate) fn options(config: &crate::LayerConfig) -> Option<&RecurrentOptions> {
    match config {
        crate::LayerConfig::SimpleRNN(c) => Some(&c.recurrent),
        crate::LayerConfig::LSTM(c) => Some(&c.recurrent),
        crate::LayerConfig::GRU(c) => Some(&c.recurrent),
        _ => None,
    }
}

/// [`options`], mutable.
pub(crate) fn options_mut(config: &mut crate::LayerConfig) -> Option<&mut RecurrentOptions> {
    match config {
        crate::LayerConfig::SimpleRNN(c) => Some(&mut c.recurrent),
        crate::LayerConfig::LSTM(c) => Some(&mut c.recurrent),
        crate::LayerConfig::GRU(c) => Some(&mut c.recurrent),
        _ => None,
    }
}
