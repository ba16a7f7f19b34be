//! The activation functions a layer can apply to its output, as one serializable enum.

use kensho_autograd::Var;
use serde::{Deserialize, Serialize};

/// An activation function (Keras' names in snake case when serialized).
///
/// Softmax applies along the last axis.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Activation {
    /// The identity.
    #[default]
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// `x` for positive inputs, `alpha * x` otherwise (Keras' default `alpha` is 0.2).
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// `x` for positive inputs, `alpha * (e^x - 1)` otherwise (Keras' default `alpha` is 1).
    Elu {
        /// Scale of the negative part.
        alpha: f32,
    },
    /// The logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// Softmax along the last axis.
    Softmax,
    /// Gaussian error linear unit (exact).
    Gelu,
    /// `x * sigmoid(x)`, also called swish.
    #[serde(alias = "swish")]
    Silu,
    /// `log(1 + e^x)`.
    Softplus,
}

impl Activation {
    /// Leaky ReLU with Keras' default slope 0.2.
    pub fn leaky_relu() -> Activation {
        Activation::LeakyRelu { alpha: 0.2 }
    }

    /// ELU with Keras' default `alpha = 1`.
    pub fn elu() -> Activation {
        Activation::Elu { alpha: 1.0 }
    }

    /// Applies the activation on the tape.
    pub fn apply<'t>(&self, x: Var<'t>) -> Var<'t> {
        match *self {
            Activation::Linear => x,
            Activation::Relu => x.relu(),
            Activation::LeakyRelu { alpha } => x.leaky_relu(alpha),
            Activation::Elu { alpha } => x.elu(alpha),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
            Activation::Softmax => {
                let last = x.shape().len().saturating_sub(1);
                x.softmax(last)
            }
            Activation::Gelu => x.gelu(),
            Activation::Silu => x.silu(),
            Activation::Softplus => x.softplus(),
        }
    }

    /// The Keras name, for summaries and diagrams.
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Elu { .. } => "elu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
            Activation::Gelu => "gelu",
            Activation::Silu => "silu",
            Activation::Softplus => "softplus",
        }
    }
}
