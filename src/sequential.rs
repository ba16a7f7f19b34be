//! [`Sequential`]: a stack of layers; building (shape inference), the forward pass, weights
//! access, and `predict`.
//!
//! Training (`compile`, `fit`, `evaluate`) lives in `training.rs`, the printed views (`summary`,
//! `to_mermaid`) in `summary.rs`.

use crate::compile::Compiled;
use kensho_autograd::{Param, Tape, Var};
use kensho_core::{seeded_rng, Error, Result, Tensor};
use kensho_layers::{Activation, Ctx, Layer, Prediction};
use rayon::prelude::*;

/// A linear stack of layers with Keras' `compile` / `fit` / `evaluate` / `predict`.
///
/// ```
/// use kensho::prelude::*;
/// let mut model = Sequential::new()
///     .add(Input::new(&[4]))
///     .add(Dense::new(8).activation(Activation::Relu))
///     .add(Dense::new(3).activation(Activation::Softmax));
/// model.build_model()?;
/// assert_eq!(model.layers()[1].name(), "dense");
/// assert_eq!(model.layers()[2].name(), "dense_1");
/// assert_eq!(model.count_params(), 4 * 8 + 8 + 8 * 3 + 3);
/// # Ok::<(), kensho::Error>(())
/// ```
pub struct Sequential {
    layers: Vec<Box<dyn Layer>>,
    input_shape: Option<Vec<usize>>,
    /// Each layer's per-sample output shape, once built.
    shapes: Option<Vec<Vec<usize>>>,
    seed: u64,
    pub(crate) compiled: Option<Compiled>,
}

impl std::fmt::Debug for Sequential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let layers: Vec<String> = self.layers.iter().map(|l| format!("{} ({})", l.name(), l.kind())).collect();
        f.debug_struct("Sequential")
            .field("layers", &layers)
            .field("input_shape", &self.input_shape)
            .field("compiled", &self.compiled.is_some())
            .finish()
    }
}

impl Default for Sequential {
    fn default() -> Self {
        Sequential::new()
    }
}

/// The most rows `predict` runs through the layers at once.
const PREDICT_PIECE_ROWS: usize = 256;

/// Keras' automatic layer name for a class name: `Dense` → `dense`, `MaxPooling2D` → `max_pooling2d`.
fn snake_case(kind: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = kind.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 && chars[i - 1].is_lowercase() {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

impl Sequential {
    /// An empty model with random seed 0 (weights are reproducible by default).
    pub fn new() -> Sequential {
        Sequential { layers: Vec::new(), input_shape: None, shapes: None, seed: 0, compiled: None }
    }

    /// Sets the seed used for weight initialization, shuffling and dropout.
    pub fn seed(mut self, seed: u64) -> Sequential {
        self.seed = seed;
        self
    }

    /// The model's seed.
    pub fn get_seed(&self) -> u64 {
        self.seed
    }

    /// Appends a layer, naming it as Keras does (`dense`, `dense_1`, ...) unless it has a name.
    #[allow(clippy::should_implement_trait)] // Keras' name; a builder, not arithmetic
    pub fn add(mut self, layer: impl Layer + 'static) -> Sequential {
        self.push(Box::new(layer));
        self
    }

    /// Appends a boxed layer (see [`Sequential::add`]).
    pub fn push(&mut self, mut layer: Box<dyn Layer>) {
        if layer.name().is_empty() {
            let base = snake_case(layer.kind());
            let taken = |name: &str| self.layers.iter().any(|l| l.name() == name);
            let name = (0..)
                .map(|i| if i == 0 { base.clone() } else { format!("{base}_{i}") })
                .find(|n| !taken(n))
                .expect("an unused name exists");
            layer.set_name(&name);
        }
        self.layers.push(layer);
        self.shapes = None;
        // As in Keras, a model whose input shape is declared is built as layers are added, so
        // summary() works at once. A layer that rejects its input is reported by compile / fit.
        if self.layers[0].declared_input_shape().is_some() {
            let _ = self.build_model();
        }
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    /// The layer called `name`, mutable (for example to freeze it with `set_trainable(false)`).
    pub fn layer_mut(&mut self, name: &str) -> Option<&mut Box<dyn Layer>> {
        self.layers.iter_mut().find(|l| l.name() == name)
    }

    /// The per-sample input shape, once known.
    pub fn input_shape(&self) -> Option<&[usize]> {
        self.input_shape.as_deref()
    }

    /// The per-sample output shape, once built.
    pub fn output_shape(&self) -> Option<&[usize]> {
        self.shapes.as_ref().and_then(|s| s.last()).map(Vec::as_slice)
    }

    /// Each layer's per-sample output shape, once built.
    pub fn layer_output_shapes(&self) -> Option<&[Vec<usize>]> {
        self.shapes.as_deref()
    }

    /// Builds the model from the input shape its first layer declares ([`kensho_layers::Input`]
    /// or `input_shape`).
    ///
    /// # Errors
    /// If no layer declares an input shape, or a layer rejects its input shape.
    pub fn build_model(&mut self) -> Result<()> {
        let declared = self.layers.first().and_then(|l| l.declared_input_shape()).ok_or_else(|| {
            Error::invalid(
                "Sequential::build_model",
                "a model without a declared input shape",
                "an Input::new(&[..]) first layer, or `.input_shape(..)` on the first layer, or call build(shape)",
            )
        })?;
        self.build(&declared)
    }

    /// Builds every layer for the per-sample input shape, creating the parameters (once: a built
    /// model keeps its weights when built again with the same shape).
    ///
    /// # Errors
    /// If the model has no layers, two layers share a name, or a layer rejects its input shape
    /// (the message names the layer).
    pub fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        if self.layers.is_empty() {
            return Err(Error::invalid("Sequential", "a model with no layers", "at least one layer; use .add(..)"));
        }
        for (i, layer) in self.layers.iter().enumerate() {
            if self.layers[..i].iter().any(|l| l.name() == layer.name()) {
                return Err(Error::invalid("layer name", layer.name(), "names unique within the model"));
            }
        }
        let mut shapes = Vec::with_capacity(self.layers.len());
        let mut shape = input_shape.to_vec();
        for (i, layer) in self.layers.iter_mut().enumerate() {
            // Each layer draws from its own stream, so adding a layer never changes the others.
            let mut rng = seeded_rng(self.seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            shape = layer.build(&shape, &mut rng)?;
            shapes.push(shape.clone());
        }
        self.input_shape = Some(input_shape.to_vec());
        self.shapes = Some(shapes);
        Ok(())
    }

    /// Builds from the data's shape if needed, then checks that `x` is `[batch, input_shape..]`.
    pub(crate) fn ensure_built_for(&mut self, x: &Tensor, context: &str) -> Result<()> {
        if self.shapes.is_none() {
            match self.layers.first().and_then(|l| l.declared_input_shape()) {
                Some(shape) => self.build(&shape)?,
                None if x.ndim() >= 1 => self.build(&x.shape()[1..])?,
                None => {}
            }
        }
        self.check_input(x, context)
    }

    /// Checks that `x` is `[batch, input_shape..]` for a built model.
    pub(crate) fn check_input(&self, x: &Tensor, context: &str) -> Result<()> {
        let Some(input) = &self.input_shape else {
            return Err(Error::invalid(
                context,
                "an unbuilt model",
                "a built model: declare Input::new(&[..]) as the first layer, or call build(shape) or fit first",
            ));
        };
        if x.ndim() != input.len() + 1 || &x.shape()[1..] != input.as_slice() {
            let first = self.layers.iter().find(|l| l.kind() != "InputLayer").map_or("", |l| l.name());
            return Err(Error::shape(
                format!("{context}: the model's first layer \"{first}\""),
                format!(
                    "inputs of shape [batch, {}]",
                    input.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
                ),
                x.shape(),
            ));
        }
        if x.is_empty() {
            return Err(Error::invalid(format!("{context}: x"), "an empty data set", "at least one sample"));
        }
        Ok(())
    }

    /// The forward pass on a batch, keeping the last layer's pre-activation for fused losses
    /// (for custom training loops; `predict` and `fit` check their inputs and call this).
    ///
    /// # Panics
    /// If the model is not built or `x` does not have the model's input shape: check first with
    /// a built model (`build`, `build_model`) and data of shape `[batch, input_shape..]`.
    pub fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Prediction<'t> {
        forward_layers(&self.layers, x, cx)
    }

    /// Runs the model on `x` in inference mode (no gradients, dropout off), at most `batch_size`
    /// rows at a time (batches above 256 rows run in pieces of 256, which keeps activations in
    /// cache; rows are independent, so the result is the same for any batch size).
    ///
    /// # Errors
    /// If the model is not built, `x` does not match the input shape, or `batch_size` is 0.
    pub fn predict_batched(&self, x: &Tensor, batch_size: usize) -> Result<Tensor> {
        self.check_input(x, "predict")?;
        if batch_size == 0 {
            return Err(Error::invalid("predict: batch_size", 0, "a positive number of samples per batch"));
        }
        let n = x.shape()[0];
        // Rows are independent, so large batches run as pieces that keep their activations in
        // cache; the result does not depend on the piece size.
        let batch_size = batch_size.min(PREDICT_PIECE_ROWS);
        let starts: Vec<usize> = (0..n).step_by(batch_size).collect();
        let (layers, seed) = (&self.layers, self.seed);
        let run = |&start: &usize| predict_on_batch(layers, seed, &x.slice_axis(0, start, (start + batch_size).min(n)));
        // Batches are independent: with several threads they run side by side (each batch's
        // result is the same either way).
        let outputs: Vec<Tensor> = if starts.len() > 1 && kensho_core::num_threads() > 1 {
            kensho_core::threads::pool().install(|| starts.par_iter().map(run).collect())
        } else {
            starts.iter().map(run).collect()
        };
        if outputs.len() == 1 {
            return Ok(outputs.into_iter().next().expect("one batch"));
        }
        Tensor::try_concat(&outputs, 0)
    }

    /// Runs the model on `x` in inference mode, 32 rows at a time (Keras' default).
    ///
    /// # Errors
    /// If the model is not built or `x` does not match the input shape.
    pub fn predict(&self, x: &Tensor) -> Result<Tensor> {
        self.predict_batched(x, 32)
    }

    /// Every parameter, layer by layer.
    pub fn params(&self) -> Vec<&Param> {
        self.layers.iter().flat_map(|l| l.params()).collect()
    }

    /// Every parameter, mutable.
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        self.layers.iter_mut().flat_map(|l| l.params_mut()).collect()
    }

    /// The number of scalar parameters.
    pub fn count_params(&self) -> usize {
        self.params().iter().map(|p| p.value.len()).sum()
    }

    /// Copies of every parameter's value, layer by layer (Keras' `get_weights`).
    pub fn get_weights(&self) -> Vec<Tensor> {
        self.params().iter().map(|p| p.value.to_contiguous()).collect()
    }

    /// Replaces every parameter's value (Keras' `set_weights`); nothing changes unless the count
    /// and every shape match.
    ///
    /// # Errors
    /// If the count or a shape differs (the message names the parameter).
    pub fn set_weights(&mut self, weights: &[Tensor]) -> Result<()> {
        let params = self.params();
        if weights.len() != params.len() {
            return Err(Error::invalid("set_weights: number of tensors", weights.len(), format!("{}", params.len())));
        }
        for (p, w) in params.iter().zip(weights) {
            if p.value.shape() != w.shape() {
                return Err(Error::shape(
                    format!("set_weights: {}", p.name()),
                    format!("{:?}", p.value.shape()),
                    w.shape(),
                ));
            }
        }
        for (p, w) in self.params_mut().into_iter().zip(weights) {
            p.value = w.clone();
        }
        Ok(())
    }
}

/// The forward pass of a stack of layers, keeping the last layer's pre-activation for fused
/// losses.
pub(crate) fn forward_layers<'t>(layers: &[Box<dyn Layer>], x: Var<'t>, cx: &Ctx<'t>) -> Prediction<'t> {
    let (last, rest) = layers.split_last().expect("a built model has layers");
    let hidden = rest.iter().fold(x, |h, layer| layer.forward(h, cx));
    let (z, activation) = last.forward_parts(hidden, cx);
    match activation {
        Activation::Linear => Prediction::new(z),
        act => Prediction { output: act.apply(z), pre_activation: Some((z, act)) },
    }
}

/// The output of the layers for one batch, in inference mode (inputs assumed checked).
fn predict_on_batch(layers: &[Box<dyn Layer>], seed: u64, x: &Tensor) -> Tensor {
    let tape = Tape::no_grad();
    let cx = Ctx::new(&tape, false, seeded_rng(seed));
    forward_layers(layers, tape.constant(x.clone()), &cx).output.value()
}
