//! The [`Layer`] trait, the forward-pass context [`Ctx`], and [`LayerConfig`], the serializable
//! description of any layer (for `summary()` and for saving a model's architecture).

use crate::{Shape, TorchLayout};
use kensho_autograd::{Param, ParamId, Tape, Var};
use kensho_core::registry::{RegisteredConfig, Registry};
use kensho_core::{Error, Result, Rng, Tensor};
use serde::Serialize;
use std::cell::RefCell;

/// A new value for a layer's state, recorded by the forward pass.
#[derive(Clone, Debug)]
pub struct StateUpdate {
    /// The state parameter to change.
    pub id: ParamId,
    /// Its new value.
    pub value: Tensor,
}

/// What a layer's forward pass needs besides its inputs: the tape, whether this is training
/// (Dropout is active only then), a random generator (seeded by the model), and the state
/// updates the pass records.
pub struct Ctx<'t> {
    /// The tape the forward pass records on.
    pub tape: &'t Tape,
    /// True inside `fit`'s train step, false in `evaluate` and `predict`.
    pub training: bool,
    /// Randomness for layers such as Dropout.
    pub rng: RefCell<Rng>,
    /// The replicas of data-parallel training, if the batch is split across processes
    /// (see [`crate::replica_sum`]).
    pub replicas: Option<crate::Replicas>,
    updates: RefCell<Vec<StateUpdate>>,
}

impl<'t> Ctx<'t> {
    /// A context on `tape`.
    pub fn new(tape: &'t Tape, training: bool, rng: Rng) -> Ctx<'t> {
        Ctx { tape, training, rng: RefCell::new(rng), replicas: None, updates: RefCell::new(Vec::new()) }
    }

    /// The context with the replicas of data-parallel training (none: one process).
    pub fn with_replicas(mut self, replicas: Option<crate::Replicas>) -> Ctx<'t> {
        self.replicas = replicas;
        self
    }

    /// Records a new value for a state parameter of a layer (such as a moving mean). It is
    /// applied after the optimizer step of the train step; a later update of the same state in
    /// the same pass replaces an earlier one.
    pub fn update_state(&self, state: &Param, value: Tensor) {
        let mut updates = self.updates.borrow_mut();
        updates.retain(|u| u.id != state.id());
        updates.push(StateUpdate { id: state.id(), value });
    }

    /// The state updates recorded so far, leaving none.
    pub fn take_updates(&self) -> Vec<StateUpdate> {
        std::mem::take(&mut self.updates.borrow_mut())
    }
}

/// Sets each state parameter that an update names to the update's value.
pub fn apply_state_updates<'a>(states: impl IntoIterator<Item = &'a mut Param>, updates: &[StateUpdate]) {
    for state in states {
        if let Some(update) = updates.iter().rev().find(|u| u.id == state.id()) {
            state.value = update.value.clone();
        }
    }
}

/// A layer: built lazily from its per-sample input shapes (parameters are created then, as in
/// Keras), then called on batches. Shapes given to and returned by the build methods are per
/// sample (without the batch axis); the forward methods see the batch axis first.
///
/// A layer takes one or several inputs and gives one or several outputs. Most layers take one:
/// they implement the one-input form, [`build`](Layer::build) and [`Layer::forward`], and the general
/// form ([`Layer::build_inputs`], [`Layer::call`]) follows from it. A layer with several inputs
/// implements the general form instead:
///
/// ```
/// use kensho_autograd::{Tape, Var};
/// use kensho_core::{Error, Result, Rng, Tensor};
/// use kensho_layers::{Ctx, Layer, LayerConfig, Shape};
///
/// /// `a * b + a`, elementwise, for two inputs of one shape.
/// struct Gate { name: String }
///
/// impl Layer for Gate {
///     fn name(&self) -> &str { &self.name }
///     fn set_name(&mut self, name: &str) { self.name = name.to_string() }
///     fn kind(&self) -> &'static str { "Gate" }
///     fn config(&self) -> LayerConfig { LayerConfig::registered("Gate", &self.name) }
///     fn build_inputs(&mut self, inputs: &[Shape], _rng: &mut Rng) -> Result<Vec<Shape>> {
///         match inputs {
///             [a, b] if a == b => Ok(vec![a.clone()]),
///             _ => Err(Error::invalid("Gate inputs", format!("{inputs:?}"), "two inputs of one shape")),
///         }
///     }
///     fn call<'t>(&self, x: &[Var<'t>], _masks: &[Option<Tensor>], _cx: &Ctx<'t>) -> Vec<Var<'t>> {
///         vec![x[0].mul(x[1]).add(x[0])]
///     }
/// }
///
/// let mut gate = Gate { name: "gate".into() };
/// assert_eq!(gate.build_inputs(&[Shape::from([2]), Shape::from([2])], &mut kensho_core::seeded_rng(0))?, [Shape::from([2])]);
/// let tape = Tape::no_grad();
/// let cx = Ctx::new(&tape, false, kensho_core::seeded_rng(0));
/// let a = tape.constant(Tensor::from_vec(vec![1.0, 2.0], &[1, 2])?);
/// let b = tape.constant(Tensor::from_vec(vec![3.0, 4.0], &[1, 2])?);
/// assert_eq!(gate.call(&[a, b], &[None, None], &cx)[0].value().to_vec(), [4.0, 10.0]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
///
/// A layer with state (BatchNormalization's moving statistics) keeps it in non-trainable
/// [`Param`]s listed by [`Layer::state`]; its forward pass keeps `&self` and records the new
/// values through [`Ctx::update_state`], and the train step applies them after the optimizer
/// step (so models stay shareable across threads):
///
/// ```
/// use kensho_autograd::{Param, Tape, Var};
/// use kensho_core::{Initializer, Result, Rng, Tensor};
/// use kensho_layers::{Ctx, Layer, LayerConfig, Shape};
///
/// /// The identity, keeping a moving average of its inputs' per-feature means.
/// struct MovingMean { name: String, mean: Option<Param> }
///
/// impl Layer for MovingMean {
///     fn name(&self) -> &str { &self.name }
///     fn set_name(&mut self, name: &str) { self.name = name.to_string() }
///     fn kind(&self) -> &'static str { "MovingMean" }
///     fn config(&self) -> LayerConfig { LayerConfig::registered("MovingMean", &self.name) }
///     fn build(&mut self, input: &Shape, rng: &mut Rng) -> Result<Shape> {
///         // Weights go through `Initializer::init`: it checks the shape's size and, when a
///         // model file is loaded, that the file holds that many values.
///         let weight = format!("{}.mean", self.name);
///         let shape = input.require_known("MovingMean")?;
///         let mut mean = Param::new(&weight, Initializer::Zeros.init(&weight, &shape, 1, 1, rng)?);
///         mean.trainable = false;
///         self.mean = Some(mean);
///         Ok(input.clone())
///     }
///     fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
///         let mean = self.mean.as_ref().expect("built");
///         if cx.training {
///             let batch = x.value().mean_axes(&[0], false);
///             cx.update_state(mean, mean.value.mul_scalar(0.9).add(&batch.mul_scalar(0.1)));
///         }
///         x
///     }
///     fn state(&self) -> Vec<&Param> { self.mean.iter().collect() }
///     fn state_mut(&mut self) -> Vec<&mut Param> { self.mean.iter_mut().collect() }
/// }
///
/// let mut layer = MovingMean { name: "mm".into(), mean: None };
/// layer.build(&Shape::from([2]), &mut kensho_core::seeded_rng(0))?;
/// let tape = Tape::new();
/// let cx = Ctx::new(&tape, true, kensho_core::seeded_rng(0));
/// layer.forward(tape.constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?), &cx);
/// let updates = cx.take_updates();
/// kensho_layers::apply_state_updates(layer.state_mut(), &updates);
/// assert_eq!(layer.state()[0].value.to_vec(), [0.2, 0.3]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
pub trait Layer: Send + Sync {
    /// The layer's name (unique in its model, such as `dense_1`); empty until the model names it.
    fn name(&self) -> &str;
    /// Renames the layer and its parameters (`{name}.kernel`, ...).
    fn set_name(&mut self, name: &str);
    /// The Keras class name, such as `Dense`.
    fn kind(&self) -> &'static str;
    /// The serializable configuration (enough to rebuild the layer without its weights).
    fn config(&self) -> LayerConfig;

    /// One-input form of [`Layer::build_inputs`]: creates the parameters for a per-sample input
    /// shape and returns the per-sample output shape. Errors name the layer, the shape
    /// received and what would fit.
    ///
    /// # Errors
    /// The default says the layer takes several inputs.
    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        Err(Error::invalid(
            format!("{} \"{}\" inputs", self.kind(), self.name()),
            format!("one input of shape {input_shape}"),
            "the number of inputs the layer takes (it has no one-input form)",
        ))
    }

    /// One-input form of [`Layer::call`]: the forward pass on a batch. Panics only on internal
    /// bugs: shapes were checked by `build`.
    ///
    /// # Panics
    /// The default panics: a layer without a one-input form is run through [`Layer::call`].
    fn forward<'t>(&self, _x: Var<'t>, _cx: &Ctx<'t>) -> Var<'t> {
        panic!("{} \"{}\" takes several inputs: run it with call()", self.kind(), self.name())
    }

    /// Creates the parameters for the per-sample shapes of the inputs and returns those of
    /// the outputs. The default accepts exactly one input and calls [`Layer::build`].
    ///
    /// # Errors
    /// If the inputs do not fit the layer (the message names the layer and the shapes).
    fn build_inputs(&mut self, inputs: &[Shape], rng: &mut Rng) -> Result<Vec<Shape>> {
        match inputs {
            [one] => Ok(vec![self.build(one, rng)?]),
            _ => Err(Error::invalid(
                format!("{} \"{}\" inputs", self.kind(), self.name()),
                inputs.len(),
                "exactly one input",
            )),
        }
    }

    /// The forward pass on a batch: the outputs for the inputs, given each input's mask
    /// (`None` where the input has none). The default runs [`Layer::forward`] on the one input.
    fn call<'t>(&self, inputs: &[Var<'t>], _masks: &[Option<Tensor>], cx: &Ctx<'t>) -> Vec<Var<'t>> {
        vec![self.forward(inputs[0], cx)]
    }

    /// The mask of each output (Keras' `compute_mask`): per sample and position, 1 where the
    /// value is real and 0 where it is padding. The default passes the first input's mask on
    /// to the one output; layers that change the positions (Flatten, pooling) override it.
    /// Models call it only when an input has a mask or [`Layer::makes_mask`] is true.
    fn compute_mask(&self, _inputs: &[Var<'_>], masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        vec![masks.first().cloned().flatten()]
    }

    /// Whether the layer can give a mask when no input has one (Keras' `Masking`, `Embedding`
    /// with `mask_zero`): such a layer returns true so that models ask its
    /// [`compute_mask`](Layer::compute_mask) on unmasked inputs too. A model holding such a
    /// layer trains each batch whole (the loss divides by the whole batch's mask sum).
    fn makes_mask(&self) -> bool {
        false
    }
    /// The trainable parameters, in a fixed order (e.g. kernel then bias).
    fn params(&self) -> Vec<&Param> {
        Vec::new()
    }
    /// The parameters, mutable, in the same order as [`Layer::params`].
    fn params_mut(&mut self) -> Vec<&mut Param> {
        Vec::new()
    }
    /// The non-trainable state (moving statistics), saved with the weights and changed only
    /// through [`Ctx::update_state`].
    fn state(&self) -> Vec<&Param> {
        Vec::new()
    }
    /// The state, mutable, in the same order as [`Layer::state`].
    fn state_mut(&mut self) -> Vec<&mut Param> {
        Vec::new()
    }
    /// A penalty to add to the loss (L1 / L2 regularization), if the layer has one.
    fn regularization<'t>(&self, _tape: &'t Tape) -> Option<Var<'t>> {
        None
    }
    /// Checks the values of a model input this layer reads directly, before any work (token
    /// ids in range for an embedding). Models call it on every batch they are given, so bad
    /// data is an error naming the layer rather than a panic inside the forward pass.
    ///
    /// # Errors
    /// If the values cannot be this layer's input.
    fn validate_input(&self, _x: &Tensor) -> Result<()> {
        Ok(())
    }
    /// The per-sample input shape the layer declares (an `Input` or `input_shape`), if any.
    fn declared_input_shape(&self) -> Option<Shape> {
        None
    }
    /// Whether the layer is only an input declaration ([`Input`](crate::Input)): it passes
    /// its input on unchanged, and summaries and diagrams leave it out, as Keras does.
    fn is_input(&self) -> bool {
        false
    }
    /// Whether, in training, each sample's output depends on that sample alone (true for every
    /// layer here). A layer whose training output depends on the whole batch (such as batch
    /// normalization) returns false, and the model then never splits a batch across threads.
    fn per_sample(&self) -> bool {
        true
    }
    /// What the layer is in `torch.nn.Sequential`, for checkpoints in PyTorch's layout; `None`
    /// if it has no PyTorch equivalent. The default: a layer without weights is one module.
    fn torch_layout(&self) -> Option<TorchLayout> {
        (self.params().is_empty() && self.state().is_empty()).then(|| TorchLayout::modules(1))
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
    /// The layer as [`Any`](std::any::Any), for a container that must see its concrete type
    /// again (the facade's nested models, whose inner graph the ONNX export inlines); `None`,
    /// the default, for every other layer.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// The configuration of any layer, tagged by its Keras class name.
#[derive(Clone, Debug, PartialEq, Serialize)]
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
    /// [`crate::Conv1d`].
    Conv1D(crate::conv::ConvConfig),
    /// [`crate::Conv2d`].
    Conv2D(crate::conv::ConvConfig),
    /// [`crate::Conv2dTranspose`].
    Conv2DTranspose(crate::conv::Conv2dTransposeConfig),
    /// [`crate::DepthwiseConv2d`].
    DepthwiseConv2D(crate::conv::DepthwiseConv2dConfig),
    /// [`crate::SeparableConv2d`].
    SeparableConv2D(crate::conv::SeparableConv2dConfig),
    /// [`crate::ZeroPadding2d`].
    ZeroPadding2D(crate::conv::ZeroPadding2dConfig),
    /// [`crate::UpSampling2d`].
    UpSampling2D(crate::conv::UpSampling2dConfig),
    /// [`crate::Cropping2d`].
    Cropping2D(crate::conv::Cropping2dConfig),
    /// [`crate::MaxPooling1d`].
    MaxPooling1D(crate::pooling::PoolConfig),
    /// [`crate::MaxPooling2d`].
    MaxPooling2D(crate::pooling::PoolConfig),
    /// [`crate::AveragePooling1d`].
    AveragePooling1D(crate::pooling::PoolConfig),
    /// [`crate::AveragePooling2d`].
    AveragePooling2D(crate::pooling::PoolConfig),
    /// [`crate::GlobalMaxPooling1d`].
    GlobalMaxPooling1D(crate::pooling::GlobalPoolConfig),
    /// [`crate::GlobalMaxPooling2d`].
    GlobalMaxPooling2D(crate::pooling::GlobalPoolConfig),
    /// [`crate::GlobalAveragePooling1d`].
    GlobalAveragePooling1D(crate::pooling::GlobalPoolConfig),
    /// [`crate::GlobalAveragePooling2d`].
    GlobalAveragePooling2D(crate::pooling::GlobalPoolConfig),
    /// [`crate::BatchNormalization`].
    BatchNormalization(crate::normalization::BatchNormalizationConfig),
    /// [`crate::LayerNormalization`].
    LayerNormalization(crate::normalization::LayerNormalizationConfig),
    /// [`crate::MultiHeadAttention`].
    MultiHeadAttention(crate::attention::MultiHeadAttentionConfig),
    /// [`crate::PositionEmbedding`].
    PositionEmbedding(crate::attention::PositionEmbeddingConfig),
    /// [`crate::Rescaling`].
    Rescaling(crate::preprocessing::RescalingConfig),
    /// [`crate::RandomFlip`].
    RandomFlip(crate::preprocessing::RandomFlipConfig),
    /// [`crate::RandomTranslation`].
    RandomTranslation(crate::preprocessing::RandomTranslationConfig),
    /// [`crate::RandomRotation`].
    RandomRotation(crate::preprocessing::RandomRotationConfig),
    /// [`crate::RandomZoom`].
    RandomZoom(crate::preprocessing::RandomZoomConfig),
    /// [`crate::RandomContrast`].
    RandomContrast(crate::preprocessing::RandomContrastConfig),
    /// [`crate::StftSpectrogram`].
    #[allow(clippy::upper_case_acronyms)]
    STFTSpectrogram(crate::audio::StftSpectrogramConfig),
    /// [`crate::MelSpectrogram`].
    MelSpectrogram(crate::audio::MelSpectrogramConfig),
    /// [`crate::Mfcc`].
    #[allow(clippy::upper_case_acronyms)]
    MFCC(crate::audio::MfccConfig),
    /// [`crate::RandomTimeShift`].
    RandomTimeShift(crate::audio::RandomTimeShiftConfig),
    /// [`crate::RandomNoise`].
    RandomNoise(crate::audio::RandomNoiseConfig),
    /// [`crate::SpecAugment`].
    SpecAugment(crate::audio::SpecAugmentConfig),
    /// [`crate::SpatialDropout2d`].
    SpatialDropout2D(crate::spatial_dropout::SpatialDropout2dConfig),
    /// [`crate::Add`].
    Add(crate::merge::MergeConfig),
    /// [`crate::Subtract`].
    Subtract(crate::merge::MergeConfig),
    /// [`crate::Multiply`].
    Multiply(crate::merge::MergeConfig),
    /// [`crate::Average`].
    Average(crate::merge::MergeConfig),
    /// [`crate::Maximum`].
    Maximum(crate::merge::MergeConfig),
    /// [`crate::Minimum`].
    Minimum(crate::merge::MergeConfig),
    /// [`crate::Concatenate`].
    Concatenate(crate::merge::ConcatenateConfig),
    /// [`crate::Dot`].
    Dot(crate::merge::DotConfig),
    /// [`crate::Embedding`].
    Embedding(crate::text::EmbeddingConfig),
    /// [`crate::Masking`].
    Masking(crate::text::MaskingConfig),
    /// [`crate::TimeDistributed`].
    TimeDistributed(crate::time_distributed::TimeDistributedConfig),
    /// [`crate::SimpleRnn`].
    SimpleRNN(crate::recurrent::SimpleRnnConfig),
    /// [`crate::Lstm`].
    #[allow(clippy::upper_case_acronyms)]
    LSTM(crate::recurrent::LstmConfig),
    /// [`crate::Gru`].
    #[allow(clippy::upper_case_acronyms)]
    GRU(crate::recurrent::GruConfig),
    /// [`crate::Bidirectional`].
    Bidirectional(crate::recurrent::BidirectionalConfig),
    /// A user-defined layer, rebuilt by the factory given to [`register_layer`].
    #[serde(untagged)]
    Registered(RegisteredConfig),
}

kensho_core::deserialize_by_class_name!(LayerConfig {
    InputLayer,
    Embedding,
    Masking,
    TimeDistributed,
    SimpleRNN,
    LSTM,
    GRU,
    Bidirectional,
    Dense,
    Activation,
    Dropout,
    Flatten,
    Reshape,
    Conv1D,
    Conv2D,
    Conv2DTranspose,
    DepthwiseConv2D,
    SeparableConv2D,
    ZeroPadding2D,
    UpSampling2D,
    Cropping2D,
    MaxPooling1D,
    MaxPooling2D,
    AveragePooling1D,
    AveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    BatchNormalization,
    LayerNormalization,
    MultiHeadAttention,
    PositionEmbedding,
    Rescaling,
    RandomFlip,
    RandomTranslation,
    RandomRotation,
    RandomZoom,
    RandomContrast,
    STFTSpectrogram,
    MelSpectrogram,
    MFCC,
    RandomTimeShift,
    RandomNoise,
    SpecAugment,
    SpatialDropout2D,
    Add,
    Subtract,
    Multiply,
    Average,
    Maximum,
    Minimum,
    Concatenate,
    Dot,
});

/// User-defined layers, by class name.
static LAYERS: Registry<dyn Layer> = Registry::new("layer");

/// Registers a user-defined layer class, so that models holding it can be loaded: `factory`
/// rebuilds an unbuilt layer from the JSON its [`Layer::config`] wrote with
/// [`LayerConfig::registered`].
pub fn register_layer(
    class_name: &str,
    factory: impl Fn(&serde_json::Value) -> Result<Box<dyn Layer>> + Send + Sync + 'static,
) {
    LAYERS.register(class_name, factory);
}

impl LayerConfig {
    /// The configuration of a user-defined layer of class `class_name` with settings `config`.
    ///
    /// # Panics
    /// If `config` cannot be represented as JSON (a map with non-string keys).
    pub fn registered(class_name: &str, config: &impl Serialize) -> LayerConfig {
        let config = serde_json::to_value(config).expect("a layer config serializes to JSON");
        LayerConfig::Registered(RegisteredConfig { class_name: class_name.to_string(), config })
    }

    /// A new, unbuilt layer with this configuration.
    ///
    /// # Errors
    /// For a user-defined class that is not registered, or whose factory rejects the settings.
    pub fn to_layer(&self) -> Result<Box<dyn Layer>> {
        Ok(match self {
            LayerConfig::InputLayer(c) => Box::new(crate::Input::from_config(c.clone())),
            LayerConfig::Dense(c) => Box::new(crate::Dense::from_config(c.clone())),
            LayerConfig::Embedding(c) => Box::new(crate::Embedding::from_config(c.clone())),
            LayerConfig::Masking(c) => Box::new(crate::Masking::from_config(c.clone())),
            LayerConfig::TimeDistributed(c) => Box::new(crate::TimeDistributed::from_config(c.clone())?),
            LayerConfig::SimpleRNN(c) => Box::new(crate::SimpleRnn::from_config(c.clone())),
            LayerConfig::LSTM(c) => Box::new(crate::Lstm::from_config(c.clone())),
            LayerConfig::GRU(c) => Box::new(crate::Gru::from_config(c.clone())),
            LayerConfig::Bidirectional(c) => Box::new(crate::Bidirectional::from_config(c.clone())?),
            LayerConfig::Activation(c) => Box::new(crate::ActivationLayer::from_config(c.clone())),
            LayerConfig::Dropout(c) => Box::new(crate::Dropout::from_config(c.clone())),
            LayerConfig::Flatten(c) => Box::new(crate::Flatten::from_config(c.clone())),
            LayerConfig::Reshape(c) => Box::new(crate::Reshape::from_config(c.clone())),
            LayerConfig::Conv1D(c) => Box::new(crate::Conv1d::from_config(c.clone())),
            LayerConfig::Conv2D(c) => Box::new(crate::Conv2d::from_config(c.clone())),
            LayerConfig::Conv2DTranspose(c) => Box::new(crate::Conv2dTranspose::from_config(c.clone())),
            LayerConfig::DepthwiseConv2D(c) => Box::new(crate::DepthwiseConv2d::from_config(c.clone())),
            LayerConfig::SeparableConv2D(c) => Box::new(crate::SeparableConv2d::from_config(c.clone())),
            LayerConfig::ZeroPadding2D(c) => Box::new(crate::ZeroPadding2d::from_config(c.clone())),
            LayerConfig::UpSampling2D(c) => Box::new(crate::UpSampling2d::from_config(c.clone())),
            LayerConfig::Cropping2D(c) => Box::new(crate::Cropping2d::from_config(c.clone())),
            LayerConfig::MaxPooling1D(c) => Box::new(crate::MaxPooling1d::from_config(c.clone())),
            LayerConfig::MaxPooling2D(c) => Box::new(crate::MaxPooling2d::from_config(c.clone())),
            LayerConfig::AveragePooling1D(c) => Box::new(crate::AveragePooling1d::from_config(c.clone())),
            LayerConfig::AveragePooling2D(c) => Box::new(crate::AveragePooling2d::from_config(c.clone())),
            LayerConfig::GlobalMaxPooling1D(c) => Box::new(crate::GlobalMaxPooling1d::from_config(c.clone())),
            LayerConfig::GlobalMaxPooling2D(c) => Box::new(crate::GlobalMaxPooling2d::from_config(c.clone())),
            LayerConfig::GlobalAveragePooling1D(c) => Box::new(crate::GlobalAveragePooling1d::from_config(c.clone())),
            LayerConfig::GlobalAveragePooling2D(c) => Box::new(crate::GlobalAveragePooling2d::from_config(c.clone())),
            LayerConfig::BatchNormalization(c) => Box::new(crate::BatchNormalization::from_config(c.clone())),
            LayerConfig::LayerNormalization(c) => Box::new(crate::LayerNormalization::from_config(c.clone())),
            LayerConfig::MultiHeadAttention(c) => Box::new(crate::MultiHeadAttention::from_config(c.clone())),
            LayerConfig::PositionEmbedding(c) => Box::new(crate::PositionEmbedding::from_config(c.clone())),
            LayerConfig::Rescaling(c) => Box::new(crate::Rescaling::from_config(c.clone())),
            LayerConfig::RandomFlip(c) => Box::new(crate::RandomFlip::from_config(c.clone())),
            LayerConfig::RandomTranslation(c) => Box::new(crate::RandomTranslation::from_config(c.clone())),
            LayerConfig::RandomRotation(c) => Box::new(crate::RandomRotation::from_config(c.clone())),
            LayerConfig::RandomZoom(c) => Box::new(crate::RandomZoom::from_config(c.clone())),
            LayerConfig::RandomContrast(c) => Box::new(crate::RandomContrast::from_config(c.clone())),
            LayerConfig::STFTSpectrogram(c) => Box::new(crate::StftSpectrogram::from_config(c.clone())),
            LayerConfig::MelSpectrogram(c) => Box::new(crate::MelSpectrogram::from_config(c.clone())),
            LayerConfig::MFCC(c) => Box::new(crate::Mfcc::from_config(c.clone())),
            LayerConfig::RandomTimeShift(c) => Box::new(crate::RandomTimeShift::from_config(c.clone())),
            LayerConfig::RandomNoise(c) => Box::new(crate::RandomNoise::from_config(c.clone())),
            LayerConfig::SpecAugment(c) => Box::new(crate::SpecAugment::from_config(c.clone())),
            LayerConfig::SpatialDropout2D(c) => Box::new(crate::SpatialDropout2d::from_config(c.clone())),
            LayerConfig::Add(c) => Box::new(crate::Add::from_config(c.clone())),
            LayerConfig::Subtract(c) => Box::new(crate::Subtract::from_config(c.clone())),
            LayerConfig::Multiply(c) => Box::new(crate::Multiply::from_config(c.clone())),
            LayerConfig::Average(c) => Box::new(crate::Average::from_config(c.clone())),
            LayerConfig::Maximum(c) => Box::new(crate::Maximum::from_config(c.clone())),
            LayerConfig::Minimum(c) => Box::new(crate::Minimum::from_config(c.clone())),
            LayerConfig::Concatenate(c) => Box::new(crate::Concatenate::from_config(c.clone())),
            LayerConfig::Dot(c) => Box::new(crate::Dot::from_config(c.clone())),
            LayerConfig::Registered(r) => return LAYERS.make(&r.class_name, &r.config),
        })
    }
}

/// Serde default for flags that are on unless a config says otherwise.
pub(crate) fn yes() -> bool {
    true
}
