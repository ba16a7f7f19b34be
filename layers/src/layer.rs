//! The [`Layer`] trait, the forward-pass context [`Ctx`], and [`LayerConfig`], the serializable
//! description of any layer (for `summary()` and for saving a model's architecture).

use crate::Activation;
use kensho_autograd::{Param, Tape, Var};
use kensho_core::{Result, Rng};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;

/// What a layer's forward pass needs besides its input: the tape, whether this is training
/// (Dropout is active only then), and a random generator (seeded by the model).
pub struct Ctx<'t> {
    /// The tape the forward pass records on.
    pub tape: &'t Tape,
    /// True inside `fit`'s train step, false in `evaluate` and `predict`.
    pub training: bool,
    /// Randomness for layers such as Dropout.
    pub rng: RefCell<Rng>,
}

impl<'t> Ctx<'t> {
    /// A context on `tape`.
    pub fn new(tape: &'t Tape, training: bool, rng: Rng) -> Ctx<'t> {
        Ctx { tape, training, rng: RefCell::new(rng) }
    }
}

/// A layer: built lazily from its per-sample input shape (parameters are created then, as in
/// Keras), then called on batches.
///
/// Shapes given to and returned by [`Layer::build`] are per sample (without the batch axis);
/// [`Layer::forward`] sees the batch axis first.
pub trait Layer: Send + Sync {
    /// The layer's name (unique in its model, such as `dense_1`); empty until the model names it.
    fn name(&self) -> &str;
    /// Renames the layer and its parameters (`{name}.kernel`, ...).
    fn set_name(&mut self, name: &str);
    /// The Keras class name, such as `Dense`.
    fn kind(&self) -> &'static str;
    /// Creates the parameters for a per-sample input shape and returns the per-sample output
    /// shape. Errors name the layer, the shape received and what would fit.
    fn build(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<Vec<usize>>;
    /// The forward pass on a batch. Panics only on internal bugs: shapes were checked by `build`.
    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t>;
    /// The forward pass split before the final activation, if the layer ends with one:
    /// `(pre_activation, activation)`. Losses use it to fuse softmax / sigmoid with the
    /// cross-entropy in a numerically stable way.
    fn forward_parts<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> (Var<'t>, Activation) {
        (self.forward(x, cx), Activation::Linear)
    }
    /// The serializable configuration (enough to rebuild the layer without its weights).
    fn config(&self) -> LayerConfig;
    /// The parameters, in a fixed order (e.g. kernel then bias).
    fn params(&self) -> Vec<&Param> {
        Vec::new()
    }
    /// The parameters, mutable, in the same order as [`Layer::params`].
    fn params_mut(&mut self) -> Vec<&mut Param> {
        Vec::new()
    }
    /// A penalty to add to the loss (L1 / L2 regularization), if the layer has one.
    fn regularization<'t>(&self, _tape: &'t Tape) -> Option<Var<'t>> {
        None
    }
    /// The per-sample input shape the layer declares (an `Input` or `input_shape`), if any.
    fn declared_input_shape(&self) -> Option<Vec<usize>> {
        None
    }
    /// Whether, in training, each sample's output depends on that sample alone (true for every
    /// layer here). A layer whose training output depends on the whole batch (such as batch
    /// normalization) returns false, and the model then never splits a batch across threads.
    fn per_sample(&self) -> bool {
        true
    }
    /// Whether every parameter of the layer is trainable.
    fn trainable(&self) -> bool {
        self.params().iter().all(|p| p.trainable)
    }
    /// Freezes (`false`) or unfreezes (`true`) every parameter of the layer. Layers with
    /// parameters keep the flag in their config, so a freeze before `build` holds after it.
    fn set_trainable(&mut self, trainable: bool) {
        for p in self.params_mut() {
            p.trainable = trainable;
        }
    }
}

/// The configuration of any layer, tagged by its Keras class name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class_name", content = "config")]
#[non_exhaustive]
pub enum LayerConfig {
    /// [`crate::Input`].
    InputLayer(crate::input::InputConfig),
    /// [`crate::Dense`].
    Dense(crate::dense::DenseConfig),
    /// [`crate::ActivationLayer`].
    Activation(crate::activation_layer::ActivationConfig),
    /// [`crate::Dropout`].
    Dropout(crate::dropout::DropoutConfig),
    /// [`crate::Flatten`].
    Flatten(crate::flatten::FlattenConfig),
    /// [`crate::Reshape`].
    Reshape(crate::reshape::ReshapeConfig),
}

impl LayerConfig {
    /// A new, unbuilt layer with this configuration.
    pub fn to_layer(&self) -> Box<dyn Layer> {
        match self {
            LayerConfig::InputLayer(c) => Box::new(crate::Input::from_config(c.clone())),
            LayerConfig::Dense(c) => Box::new(crate::Dense::from_config(c.clone())),
            LayerConfig::Activation(c) => Box::new(crate::ActivationLayer::from_config(c.clone())),
            LayerConfig::Dropout(c) => Box::new(crate::Dropout::from_config(c.clone())),
            LayerConfig::Flatten(c) => Box::new(crate::Flatten::from_config(c.clone())),
            LayerConfig::Reshape(c) => Box::new(crate::Reshape::from_config(c.clone())),
        }
    }
}

/// Serde default for flags that are on unless a config says otherwise.
pub(crate) fn yes() -> bool {
    true
}
