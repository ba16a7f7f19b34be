//! [`Lstm`]: the long short-term memory layer (Keras' `LSTM`).

use super::sequence::CellKind;
use super::{recurrent_layer_methods, recurrent_setters, sequence_view, RecurrentOptions, RecurrentWeights};
use crate::kernel::kernel_setters;
use crate::{Activation, KernelOptions, Layer};
use serde::{Deserialize, Serialize};

/// The configuration of an [`Lstm`] layer (Keras' names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LstmConfig {
    /// Layer name.
    pub name: String,
    /// The size of the state and of the output.
    pub units: usize,
    /// The activation of the candidate and the output (default tanh), the bias, and the input
    /// kernel's and bias's initializers and regularizer (flattened into the config's JSON).
    #[serde(flatten)]
    pub kernel: KernelOptions,
    /// The gates' activation, the recurrent kernel, dropout and the choice of outputs.
    #[serde(flatten)]
    pub recurrent: RecurrentOptions,
    /// Whether the forget gate's bias starts at one (default true).
    #[serde(default = "crate::layer::yes")]
    pub unit_forget_bias: bool,
}

/// Long short-term memory (Hochreiter and Schmidhuber, 1997), with Keras' formulas and gate
/// order `i, f, c, o` (PyTorch's `i, f, g, o`):
/// `i, f, o = σ(x W + h U + b)` per gate, `c' = f c + i tanh(x W_c + h U_c + b_c)`,
/// `h' = o tanh(c')`.
///
/// # Shapes
/// Input `[batch, time, features]`, then optionally the initial states `h` and `c`,
/// `[batch, units]` each. Output `[batch, units]` (the last output) or, with
/// `return_sequences`, `[batch, time, units]`; with `return_state`, then the last `h` and `c`.
///
/// ```
/// use kensho_autograd::Tape;
/// use kensho_core::Tensor;
/// use kensho_layers::{Ctx, Layer, Lstm};
/// let mut lstm = Lstm::new(8).return_sequences(true).with_name("lstm");
/// // Sequences of 5 steps of 3 features.
/// assert_eq!(lstm.build(&[5, 3].into(), &mut kensho_core::seeded_rng(0))?, vec![5, 8]);
/// let names: Vec<&str> = lstm.params().iter().map(|p| p.name()).collect();
/// assert_eq!(names, ["lstm.kernel", "lstm.recurrent_kernel", "lstm.bias"]);
/// assert_eq!(lstm.params()[0].value.shape(), &[3, 32]); // four gates of 8 units
///
/// let tape = Tape::no_grad();
/// let cx = Ctx::new(&tape, false, kensho_core::seeded_rng(1));
/// let y = lstm.forward(tape.constant(Tensor::ones(&[2, 5, 3])), &cx);
/// assert_eq!(y.shape(), vec![2, 5, 8]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[doc(alias = "LSTM")]
#[derive(Clone, Debug)]
pub struct Lstm {
    config: LstmConfig,
    weights: RecurrentWeights,
}

impl Lstm {
    /// An LSTM of `units` with Keras' defaults: tanh, sigmoid gates, a bias with the forget
    /// gate's at one, Glorot-uniform kernel, orthogonal recurrent kernel, the last output only.
    pub fn new(units: usize) -> Lstm {
        let kernel = KernelOptions { activation: Activation::Tanh, ..KernelOptions::default() };
        let config = LstmConfig {
            name: String::new(),
            units,
            kernel,
            recurrent: RecurrentOptions::default(),
            unit_forget_bias: true,
        };
        Lstm::from_config(config)
    }

    /// An LSTM from its configuration (unbuilt).
    pub fn from_config(config: LstmConfig) -> Lstm {
        Lstm { config, weights: RecurrentWeights::default() }
    }

    /// Whether the forget gate's bias starts at one (Keras' `unit_forget_bias`, default true).
    pub fn unit_forget_bias(mut self, on: bool) -> Self {
        self.config.unit_forget_bias = on;
        self
    }

    kernel_setters!();
    recurrent_setters!();
    sequence_view!();

    fn cell_kind(&self) -> CellKind {
        CellKind::Lstm { unit_forget_bias: self.config.unit_forget_bias }
    }
}

impl Layer for Lstm {
    recurrent_layer_methods!("LSTM", LSTM);
}
