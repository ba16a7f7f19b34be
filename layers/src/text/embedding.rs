//! [`Embedding`]: maps integer token ids to learned vectors (Keras' `Embedding`), with the
//! padding mask of `mask_zero`.

use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Shape, TorchLayout, TorchTransform, TorchWeight};
use kensho_autograd::{Param, Var};
use kensho_core::{Error, Initializer, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// The configuration of an [`Embedding`] layer (Keras' names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingConfig {
    /// Layer name.
    pub name: String,
    /// The number of token ids (the vocabulary size): ids are `0..input_dim`.
    pub input_dim: usize,
    /// The size of each vector.
    pub output_dim: usize,
    /// Whether id 0 is padding: the layer then gives a mask that is 0 where the id is 0, and
    /// later layers (recurrent layers, pooling, attention) ignore those positions.
    #[serde(default)]
    pub mask_zero: bool,
    /// How the vectors start (Keras: uniform on [-0.05, 0.05)).
    #[serde(default = "default_initializer")]
    pub embeddings_initializer: Initializer,
    /// Whether the vectors train.
    #[serde(default = "yes")]
    pub trainable: bool,
}

fn default_initializer() -> Initializer {
    Initializer::RandomUniform { min: -0.05, max: 0.05 }
}

fn yes() -> bool {
    true
}

/// Token ids in, vectors out: an input `[batch, ..]` of ids (stored as `f32`, each a whole
/// number in `0..input_dim`) gives `[batch, .., output_dim]`.
///
/// ```
/// use kensho_layers::{Embedding, Layer};
/// let mut embedding = Embedding::new(1000, 16).mask_zero(true);
/// embedding.set_name("embedding");
/// assert_eq!(embedding.build(&[20].into(), &mut kensho_core::seeded_rng(0))?, vec![20, 16]);
/// assert_eq!(embedding.params()[0].value.shape(), &[1000, 16]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Embedding {
    config: EmbeddingConfig,
    embeddings: Option<Param>,
}

impl Embedding {
    /// Vectors of `output_dim` for the ids `0..input_dim`.
    pub fn new(input_dim: usize, output_dim: usize) -> Embedding {
        Embedding::from_config(EmbeddingConfig {
            name: String::new(),
            input_dim,
            output_dim,
            mask_zero: false,
            embeddings_initializer: default_initializer(),
            trainable: true,
        })
    }

    /// An embedding from its configuration (unbuilt).
    pub fn from_config(config: EmbeddingConfig) -> Embedding {
        Embedding { config, embeddings: None }
    }

    /// Treats id 0 as padding and gives the mask of the real positions (default false).
    pub fn mask_zero(mut self, mask_zero: bool) -> Embedding {
        self.config.mask_zero = mask_zero;
        self
    }

    /// How the vectors start.
    pub fn embeddings_initializer(mut self, init: Initializer) -> Embedding {
        self.config.embeddings_initializer = init;
        self
    }

    /// Names the layer.
    pub fn with_name(mut self, name: &str) -> Embedding {
        self.set_name(name);
        self
    }

    /// Checks that every id is a whole number in `0..input_dim`.
    fn check_ids(&self, ids: &Tensor) -> Result<()> {
        let limit = self.config.input_dim as f32;
        match ids.iter().enumerate().find(|(_, v)| !(v.fract() == 0.0 && (0.0..limit).contains(v))) {
            Some((i, v)) => Err(Error::invalid(
                format!("Embedding \"{}\" input (flat position {i})", self.config.name),
                v,
                format!("token ids that are whole numbers in 0..{} (input_dim)", self.config.input_dim),
            )),
            None => Ok(()),
        }
    }
}

impl Layer for Embedding {
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
        "Embedding"
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::Embedding(self.config.clone())
    }
    fn build(&mut self, input_shape: &Shape, rng: &mut Rng) -> Result<Shape> {
        let (input_dim, output_dim) = (self.config.input_dim, self.config.output_dim);
        if input_dim == 0 || output_dim == 0 {
            return Err(Error::invalid(
                format!("Embedding \"{}\" input_dim / output_dim", self.config.name),
                format!("{input_dim} / {output_dim}"),
                "positive sizes",
            ));
        }
        let shape = [input_dim, output_dim];
        if self.embeddings.as_ref().is_none_or(|p| p.value.shape() != shape) {
            let name = format!("{}.embeddings", self.config.name);
            let value = self.config.embeddings_initializer.init(&name, &shape, input_dim, output_dim, rng)?;
            let mut param = Param::new(name, value);
            param.trainable = self.config.trainable;
            self.embeddings = Some(param);
        }
        Ok(Shape::new(input_shape.dims().iter().copied().chain([Some(output_dim)]).collect()))
    }
    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        let ids = x.value();
        let rows: Vec<usize> = ids.iter().map(|v| v as usize).collect();
        let table = cx.tape.param(self.embeddings.as_ref().expect("Embedding: built before it runs"));
        let shape: Vec<usize> = ids.shape().iter().copied().chain([self.config.output_dim]).collect();
        table.index_select(0, &rows).reshape(&shape)
    }
    fn validate_input(&self, x: &Tensor) -> Result<()> {
        self.check_ids(x)
    }
    fn makes_mask(&self) -> bool {
        self.config.mask_zero
    }
    fn compute_mask(&self, inputs: &[Var<'_>], masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        if !self.config.mask_zero {
            return vec![masks.first().cloned().flatten()];
        }
        vec![Some(inputs[0].value().map(|id| if id == 0.0 { 0.0 } else { 1.0 }))]
    }
    fn params(&self) -> Vec<&Param> {
        self.embeddings.iter().collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.embeddings.iter_mut().collect()
    }
    fn torch_layout(&self) -> Option<TorchLayout> {
        // `nn.Embedding(input_dim, output_dim)`: `weight` [input_dim, output_dim], as here.
        let mut layout = TorchLayout::modules(1);
        layout.weights.push(TorchWeight::new("weight", TorchTransform::Identity));
        Some(layout)
    }
    fn trainable(&self) -> bool {
        self.config.trainable
    }
    fn set_trainable(&mut self, trainable: bool) {
        self.config.trainable = trainable;
        if let Some(p) = &mut self.embeddings {
            p.trainable = trainable;
        }
    }
}
