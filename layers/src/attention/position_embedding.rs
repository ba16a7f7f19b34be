//! [`PositionEmbedding`]: keras_hub's learned position embedding, one trained vector per
//! position, returned broadcast to the input's shape (the caller adds it to the tokens).

use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Shape, TorchLayout, TorchTransform, TorchWeight};
use kensho_autograd::{Param, Var};
use kensho_core::{Error, Initializer, Result, Rng};
use serde::{Deserialize, Serialize};

/// The configuration of a [`PositionEmbedding`] layer (keras_hub's names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PositionEmbeddingConfig {
    /// Layer name.
    pub name: String,
    /// The longest sequence the layer embeds (the number of position vectors).
    pub sequence_length: usize,
    /// Initializer of the position vectors (default Glorot uniform).
    pub initializer: Initializer,
    /// Optional declared per-sample input shape (Keras' `input_shape` on a first layer).
    pub input_shape: Option<Shape>,
    /// Whether the position vectors are updated in training.
    pub trainable: bool,
}

impl Default for PositionEmbeddingConfig {
    fn default() -> PositionEmbeddingConfig {
        PositionEmbeddingConfig {
            name: String::new(),
            sequence_length: 0,
            initializer: Initializer::GlorotUniform,
            input_shape: None,
            trainable: true,
        }
    }
}

/// A learned position embedding (keras_hub's `PositionEmbedding`, as in BERT): a trained
/// vector per position `0..sequence_length`. Called on a sequence `[batch, T, features]`, it
/// returns the first `T` vectors broadcast to the input's shape; only the input's shape is
/// used, and the usual next step adds the result to the input (`Add`), giving each token its
/// position.
///
/// The input's mask passes through (keras_hub's layer drops it, and its
/// `TokenAndPositionEmbedding` keeps it): token and position embeddings summed with `Add`
/// then keep an `Embedding`'s padding mask.
///
/// Weight: `{name}.embeddings` `[sequence_length, features]`. **PyTorch**: the `weight` of an
/// `nn.Embedding(sequence_length, features)` applied to `torch.arange(T)`.
///
/// # Shapes
/// Input `[batch, .., T, features]` with `T <= sequence_length`; output of the same shape.
///
/// # Panics
/// In the forward pass, on a sequence longer than `sequence_length` (declare the input's
/// length so that the model rejects it at build instead).
///
/// ```
/// use kensho_autograd::Tape;
/// use kensho_core::Tensor;
/// use kensho_layers::{Ctx, Layer, PositionEmbedding};
/// let mut positions = PositionEmbedding::new(10).with_name("pos");
/// positions.build(&[6, 16].into(), &mut kensho_core::seeded_rng(0))?;
/// assert_eq!(positions.params()[0].value.shape(), &[10, 16]);
/// let tape = Tape::no_grad();
/// let cx = Ctx::new(&tape, false, kensho_core::seeded_rng(0));
/// let tokens = tape.constant(Tensor::ones(&[2, 6, 16]));
/// let y = positions.forward(tokens, &cx).value();
/// assert_eq!(y.shape(), &[2, 6, 16]);
/// // Every sample gets the same vectors: the first 6 rows of the table.
/// let table = positions.params()[0].value.slice_axis(0, 0, 6).to_contiguous();
/// assert_eq!(y.slice_axis(0, 1, 2).reshape_to(&[6, 16]), table);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct PositionEmbedding {
    config: PositionEmbeddingConfig,
    embeddings: Option<Param>,
}

impl PositionEmbedding {
    /// Position vectors for sequences of up to `sequence_length` steps.
    pub fn new(sequence_length: usize) -> PositionEmbedding {
        PositionEmbedding::from_config(PositionEmbeddingConfig { sequence_length, ..Default::default() })
    }

    /// A layer from its configuration (unbuilt).
    pub fn from_config(config: PositionEmbeddingConfig) -> PositionEmbedding {
        PositionEmbedding { config, embeddings: None }
    }

    /// Sets the initializer of the position vectors.
    pub fn initializer(mut self, init: Initializer) -> PositionEmbedding {
        self.config.initializer = init;
        self
    }

    /// Declares the per-sample input shape (on the first layer of a model).
    pub fn input_shape(mut self, shape: &[usize]) -> PositionEmbedding {
        self.config.input_shape = Some(Shape::known(shape));
        self
    }

    /// Gives the layer a name instead of the automatic one (Keras' `name=`).
    pub fn with_name(mut self, name: &str) -> PositionEmbedding {
        self.set_name(name);
        self
    }
}

impl Layer for PositionEmbedding {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
        if let Some(p) = &mut self.embeddings {
            p.set_name(format!("{name}.embeddings"));
        }
    }

    fn kind(&self) -> &'static str {
        "PositionEmbedding"
    }

    fn build(&mut self, input_shape: &Shape, rng: &mut Rng) -> Result<Shape> {
        let (name, max_len) = (&self.config.name, self.config.sequence_length);
        if max_len == 0 {
            return Err(Error::invalid(
                format!("PositionEmbedding \"{name}\" sequence_length"),
                0,
                "a positive number",
            ));
        }
        let rank = input_shape.rank();
        let (Some(features), true) = (input_shape.last(), rank >= 2) else {
            return Err(Error::invalid(
                format!("PositionEmbedding \"{name}\" input shape"),
                input_shape,
                "sequences [batch, time, features] with known features",
            ));
        };
        if let Some(len) = input_shape.dims()[rank - 2].filter(|&len| len > max_len) {
            return Err(Error::invalid(
                format!("PositionEmbedding \"{name}\" input shape"),
                input_shape,
                format!("sequences of at most sequence_length = {max_len} steps (got {len}); raise sequence_length"),
            ));
        }
        let shape = [max_len, features];
        if self.embeddings.as_ref().is_none_or(|e| e.value.shape() != shape) {
            let weight = format!("{name}.embeddings");
            let value = self.config.initializer.init(&weight, &shape, max_len, features, rng)?;
            self.embeddings = Some(Param::new(weight, value));
        }
        self.set_trainable(self.config.trainable);
        Ok(input_shape.clone())
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        let embeddings = self.embeddings.as_ref().expect("PositionEmbedding used before build");
        let shape = x.shape();
        let len = shape[shape.len() - 2];
        let max_len = self.config.sequence_length;
        assert!(
            len <= max_len,
            "PositionEmbedding \"{}\": a sequence of {len} steps is longer than sequence_length = {max_len}",
            self.config.name
        );
        cx.tape.param(embeddings).slice_axis(0, 0, len).broadcast_to(&shape)
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::PositionEmbedding(self.config.clone())
    }

    fn params(&self) -> Vec<&Param> {
        self.embeddings.iter().collect()
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.embeddings.iter_mut().collect()
    }

    fn declared_input_shape(&self) -> Option<Shape> {
        self.config.input_shape.clone()
    }

    fn torch_layout(&self) -> Option<TorchLayout> {
        Some(TorchLayout {
            modules: 1,
            weights: vec![TorchWeight::new("weight", TorchTransform::Identity)],
            ..TorchLayout::default()
        })
    }

    fn trainable(&self) -> bool {
        self.config.trainable
    }

    fn set_trainable(&mut self, trainable: bool) {
        self.config.trainable = trainable;
        for p in self.params_mut() {
            p.trainable = trainable;
        }
    }
}
