//! [`RecurrentOptions`]: the options every recurrent layer has besides its kernel options
//! (Keras' names and defaults), flattened into each layer's config, and their builder setters
//! (`recurrent_setters!`).

use crate::{Activation, Regularizer};
use kensho_core::Initializer;
use serde::{Deserialize, Serialize};

/// The options of a recurrent layer that are not those of its input kernel (which are a
/// [`KernelOptions`](crate::KernelOptions): `activation`, `use_bias`, `kernel_initializer`, ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecurrentOptions {
    /// The activation of the gates (default sigmoid; SimpleRNN has no gates and ignores it).
    #[serde(default = "sigmoid")]
    pub recurrent_activation: Activation,
    /// How the recurrent kernel starts (default orthogonal).
    #[serde(default = "Initializer::orthogonal")]
    pub recurrent_initializer: Initializer,
    /// Optional penalty on the recurrent kernel.
    #[serde(default)]
    pub recurrent_regularizer: Option<Regularizer>,
    /// Fraction of the input features dropped in training (one mask per sequence, the same at
    /// every step).
    #[serde(default)]
    pub dropout: f32,
    /// Fraction of the previous state's units dropped in the recurrent projection in training
    /// (one mask per sequence, the same at every step and for every gate).
    #[serde(default)]
    pub recurrent_dropout: f32,
    /// Output the whole sequence of outputs `[batch, time, units]` instead of the last one.
    #[serde(default)]
    pub return_sequences: bool,
    /// Output the last states as well (`h`, and `c` for an LSTM), after the output.
    #[serde(default)]
    pub return_state: bool,
    /// Process the sequence from its last step to its first (the output sequence comes out
    /// in that order, as in Keras).
    #[serde(default)]
    pub go_backwards: bool,
    /// Give zeros, instead of the previous output, at masked steps of the output sequence
    /// (Keras' RNN option, which [`Bidirectional`](crate::Bidirectional) sets to
    /// `return_sequences`). The states carry over either way.
    #[serde(default)]
    pub zero_output_for_mask: bool,
}

fn sigmoid() -> Activation {
    Activation::Sigmoid
}

impl Default for RecurrentOptions {
    /// Keras' defaults: sigmoid gates, an orthogonal recurrent kernel, no dropout, the last
    /// output only.
    fn default() -> Self {
        RecurrentOptions {
            recurrent_activation: Activation::Sigmoid,
            recurrent_initializer: Initializer::orthogonal(),
            recurrent_regularizer: None,
            dropout: 0.0,
            recurrent_dropout: 0.0,
            return_sequences: false,
            return_state: false,
            go_backwards: false,
            zero_output_for_mask: false,
        }
    }
}

/// The builder setters of a recurrent layer whose config holds its [`RecurrentOptions`] in the
/// field `recurrent` (`self.config.recurrent`).
macro_rules! recurrent_setters {
    () => {
        /// Sets the activation of the gates (Keras' `recurrent_activation`).
        pub fn recurrent_activation(mut self, activation: $crate::Activation) -> Self {
            self.config.recurrent.recurrent_activation = activation;
            self
        }

        /// Sets the recurrent kernel's initializer (Keras' `recurrent_initializer`).
        pub fn recurrent_initializer(mut self, init: kensho_core::Initializer) -> Self {
            self.config.recurrent.recurrent_initializer = init;
            self
        }

        /// Adds an L1 / L2 penalty on the recurrent kernel (Keras' `recurrent_regularizer`).
        pub fn recurrent_regularizer(mut self, regularizer: $crate::Regularizer) -> Self {
            self.config.recurrent.recurrent_regularizer = Some(regularizer);
            self
        }

        /// Drops this fraction of the input features in training (Keras' `dropout`).
        pub fn dropout(mut self, rate: f32) -> Self {
            self.config.recurrent.dropout = rate;
            self
        }

        /// Drops this fraction of the previous state in the recurrent projection in training
        /// (Keras' `recurrent_dropout`).
        pub fn recurrent_dropout(mut self, rate: f32) -> Self {
            self.config.recurrent.recurrent_dropout = rate;
            self
        }

        /// Outputs the whole sequence `[batch, time, units]` (Keras' `return_sequences`).
        pub fn return_sequences(mut self, on: bool) -> Self {
            self.config.recurrent.return_sequences = on;
            self
        }

        /// Outputs the last states after the output (Keras' `return_state`).
        pub fn return_state(mut self, on: bool) -> Self {
            self.config.recurrent.return_state = on;
            self
        }

        /// Processes the sequence backwards (Keras' `go_backwards`).
        pub fn go_backwards(mut self, on: bool) -> Self {
            self.config.recurrent.go_backwards = on;
            self
        }
    };
}

pub(crate) use recurrent_setters;
